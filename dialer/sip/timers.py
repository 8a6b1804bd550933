"""RFC 3261 timer values and a small set of named deadlines for sans-IO state machines.

Nothing here reads a clock: callers pass `now` and ask for the next deadline.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

# Timer D (17.1.1.2) is "at least 32 s" on unreliable transports, independent of T1.
TIMER_D_UNRELIABLE = 32.0


@dataclass(frozen=True)
class TimerConfig:
    """T1 (RTT estimate), T2 (cap on non-INVITE and response retransmit interval), T4 (max
    lifetime of a message in the network), in seconds; RFC 3261 table 4 defaults."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        # A zero T1 would make retransmission timers fire forever at the same instant.
        if not (self.t1 > 0 and self.t2 >= self.t1 and self.t4 >= 0):
            raise ValueError(f"invalid SIP timers: t1={self.t1} t2={self.t2} t4={self.t4}")

    @property
    def transaction_timeout(self) -> float:
        """64*T1: timers B, F, H, J and L (RFC 6026)."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerConfig()

K = TypeVar("K", bound=Hashable)


class Deadlines(Generic[K]):
    """At most one pending deadline per name; the earliest due one pops first."""

    def __init__(self) -> None:
        self._at: dict[K, float] = {}

    def arm(self, name: K, at: float) -> None:
        self._at[name] = at

    def cancel(self, *names: K) -> None:
        for name in names:
            self._at.pop(name, None)

    def clear(self) -> None:
        self._at.clear()

    def is_armed(self, name: K) -> bool:
        return name in self._at

    def deadline(self, name: K) -> float | None:
        return self._at.get(name)

    def next(self) -> float | None:
        return min(self._at.values(), default=None)

    def pop_due(self, now: float) -> K | None:
        """Remove and return the earliest deadline at or before `now` (ties: first armed)."""
        due: K | None = None
        due_at = now
        for name, at in self._at.items():
            if at <= due_at and (due is None or at < due_at):
                due, due_at = name, at
        if due is not None:
            del self._at[due]
        return due

    def __repr__(self) -> str:
        armed = ", ".join(f"{name}@{at:g}" for name, at in sorted(self._at.items(), key=_by_time))
        return f"Deadlines({armed})"


def _by_time(item: tuple[object, float]) -> float:
    return item[1]
