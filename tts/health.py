"""An engine's recent failures: when to skip it, and logging each cause once.

When the primary engine fails (gTTS offline), every prompt in the next
`retry_after_s` goes straight to the fallback instead of waiting out the same
failure again, so a storm of prompts costs one timeout, not one each. A cause
(the error's message) is logged the first time it is seen in an
outage; repeats are only counted, and the recovery is logged with that count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("tts")


class EngineHealth:
    def __init__(
        self,
        engine: str,
        *,
        fallback: str | None,
        retry_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.fallback = fallback
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._skip_until = float("-inf")
        self._causes: set[str] = set()
        self.failures = 0  # in the current outage

    def available(self) -> bool:
        """False while the engine is being skipped after a failure."""
        with self._lock:
            return self._clock() >= self._skip_until

    def failed(self, error: BaseException) -> None:
        reason = str(error) or type(error).__name__
        with self._lock:
            self.failures += 1
            self._skip_until = self._clock() + self.retry_after_s
            first = reason not in self._causes
            self._causes.add(reason)
        if first:
            instead = f"using {self.fallback} meanwhile" if self.fallback else "no fallback"
            log.warning(
                "%s failed: %s; %s, trying it again after %g s (each cause logged once)",
                self.engine, reason, instead, self.retry_after_s,
            )  # fmt: skip

    def succeeded(self) -> None:
        with self._lock:
            if not self.failures:
                return
            failures, self.failures = self.failures, 0
            self._causes.clear()
        log.info("%s works again after %d failure(s)", self.engine, failures)
