"""Failed console logins, limited per source address and per extension, in memory.

Each login try counts as a failure before the password is checked (so a burst
of parallel tries cannot run ahead of the count) and is forgiven on success.
Past `max_failures` within `window_s` for either key, tries are refused without
checking anything, until the oldest failures age out. The table is bounded: a
spray of made-up extensions cannot grow it without end.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_S = 300.0
MAX_KEYS = 10_000


class LoginLimiter:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def try_login(self, source: str, extension: str) -> float:
        """Count a try: 0 when it may go ahead, else the seconds until it may."""
        now = self.clock()
        keys = (("source", source), ("extension", extension))
        wait = max(self._wait(key, now) for key in keys)
        if wait > 0:
            return wait
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > MAX_KEYS:
            del self._failures[next(iter(self._failures))]
        return 0.0

    def succeeded(self, source: str, extension: str) -> None:
        """The try was good: it was no failure."""
        for key in (("source", source), ("extension", extension)):
            times = self._failures.get(key)
            if times:
                times.pop()

    def _wait(self, key: tuple[str, str], now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < self.max_failures:
            return 0.0
        return times[0] + self.window_s - now
