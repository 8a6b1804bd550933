"""The abandonment meter: live answers, and those no agent took in time, per day.

An abandoned call is a live person who answered and had no agent within the
safe-harbor limit (then heard the safe-harbor message). Regulators count it over
live answers: the FTC over 30 days per campaign, Ofcom per day. A campaign keeps
both below its limit, so the meter answers both: the last 30 days (today
included) and today alone.

Memory is one bucket per day, and only 30 of them: a day's counts are all the
rate needs. The dialer seeds the meter at start from the store's history with
`record(day, live, abandoned)`; after that the pacer counts as calls happen.

Days are integers from `day_of(now)`: the shell passes a function that gives
the campaign's local date ordinal (the core never reads a clock or a zone
database itself); by default, days are UTC days of the epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WINDOW_DAYS = 30
DEFAULT_LIMIT = 0.03  # the FTC's 3% (Ofcom's too)
_DAY_S = 86_400.0


def utc_day(now: float) -> int:
    return int(now // _DAY_S)


@dataclass(frozen=True)
class AbandonmentReading:
    """What the dashboard shows and /metrics exports."""

    live: int  # last 30 days, today included
    abandoned: int
    live_today: int
    abandoned_today: int
    limit: float

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def today_rate(self) -> float:
        return self.abandoned_today / self.live_today if self.live_today else 0.0

    @property
    def worst(self) -> float:
        """The rate the limit binds: the higher of the two windows."""
        return max(self.rate, self.today_rate)


class AbandonmentMeter:
    def __init__(
        self, limit: float = DEFAULT_LIMIT, day_of: Callable[[float], int] = utc_day
    ) -> None:
        if not 0.0 < limit < 1.0:
            raise ValueError(f"the abandonment limit must be in (0, 1), got {limit}")
        self.limit = limit
        self.day_of = day_of
        self._days: dict[int, tuple[int, int]] = {}  # day -> (live, abandoned)

    def record(self, day: int, live: int, abandoned: int) -> None:
        """Add a day's counts (seeding from history, or merging another node's)."""
        if live < 0 or abandoned < 0:
            raise ValueError(f"counts cannot be negative (live {live}, abandoned {abandoned})")
        if abandoned > live:
            raise ValueError(f"{abandoned} abandoned out of only {live} live answers")
        old_live, old_abandoned = self._days.get(day, (0, 0))
        self._days[day] = (old_live + live, old_abandoned + abandoned)
        self._expire(max(self._days))

    def bridged(self, now: float) -> None:
        """A live person reached an agent in time."""
        self.record(self.day_of(now), 1, 0)

    def abandoned(self, now: float) -> None:
        """A live person had no agent in time (or hung up waiting for one)."""
        self.record(self.day_of(now), 1, 1)

    def reading(self, now: float) -> AbandonmentReading:
        today = self.day_of(now)
        live = abandoned = 0
        for day, (day_live, day_abandoned) in self._days.items():
            if today - WINDOW_DAYS < day <= today:
                live += day_live
                abandoned += day_abandoned
        live_today, abandoned_today = self._days.get(today, (0, 0))
        return AbandonmentReading(live, abandoned, live_today, abandoned_today, self.limit)

    def rate(self, now: float) -> float:
        """Abandoned over live answers in the last 30 days, today included."""
        return self.reading(now).rate

    def today_rate(self, now: float) -> float:
        return self.reading(now).today_rate

    def days(self) -> dict[int, tuple[int, int]]:
        """The buckets kept, day -> (live, abandoned): for tests and for saving."""
        return dict(self._days)

    def _expire(self, today: int) -> None:
        # A day older than the window never counts again: drop it so memory stays 30 buckets.
        for day in [d for d in self._days if d <= today - WINDOW_DAYS]:
            del self._days[day]
