"""When a campaign runs, sans-IO: schedules as frozen data, run times computed from `after`.

- `StartNow`: one run, at whatever `after` the caller passes (ask once).
- `StartAt(at)`: one run at the aware instant `at`.
- `Recurring(kind, at, zone, starts, ends_on, occurrences)`: runs at wall time `at` in
  `zone` on the dates `kind` picks, from `starts`, through `ends_on` (inclusive), at most
  `occurrences` runs counted from the first one (not from `after`).
  `Daily(every_n_days)` counts from `starts`; `Weekly(days)` takes 0=Mon..6=Sun;
  `Monthly(day_of_month)` clamps to the month's last day (31 -> Apr 30, Feb 28/29), so a
  monthly campaign never skips a month.

DST: a wall time inside a spring-forward gap runs at the first valid instant after it
(02:30 on a New York spring-forward day runs at 03:00 EDT); an ambiguous wall time on a
fall-back day runs once, at its first occurrence (01:30 EDT, not again at 01:30 EST).

Runs come back as aware datetimes in the schedule's zone; compare them in UTC, since
PEP 495 makes an ambiguous local time unequal to every instant in another zone.

"After" means strictly after, as in cron and rrule: feed a run's own time back in to get
the next one. Occurrence dates are enumerated from `starts`, so the cost grows with the
number of runs since `starts` (a daily schedule ten years old is ~3,650 steps).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.campaign.compliance import wall_time_instant


class ScheduleError(ValueError):
    """A schedule or instant that cannot be used."""


@dataclass(frozen=True)
class StartNow:
    pass


@dataclass(frozen=True)
class StartAt:
    at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.at, "StartAt.at")


@dataclass(frozen=True)
class Daily:
    every_n_days: int = 1

    def __post_init__(self) -> None:
        if self.every_n_days < 1:
            raise ScheduleError(f"every_n_days must be at least 1: {self.every_n_days}")


@dataclass(frozen=True)
class Weekly:
    days: frozenset[int]

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ScheduleError(f"weekly days must be a non-empty subset of 0..6: {self.days}")


@dataclass(frozen=True)
class Monthly:
    day_of_month: int

    def __post_init__(self) -> None:
        if not 1 <= self.day_of_month <= 31:
            raise ScheduleError(f"day_of_month must be 1..31: {self.day_of_month}")


RecurrenceKind = Daily | Weekly | Monthly


@dataclass(frozen=True)
class Recurring:
    kind: RecurrenceKind
    at: time
    zone: ZoneInfo
    starts: date
    ends_on: date | None = None
    occurrences: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, Daily | Weekly | Monthly):
            raise ScheduleError(f"unknown recurrence kind: {self.kind!r}")
        if not isinstance(self.zone, ZoneInfo):
            raise ScheduleError(f"zone must be a ZoneInfo, not {self.zone!r}")
        if self.at.tzinfo is not None:
            raise ScheduleError("at is a wall time in zone: no tzinfo")
        if self.ends_on is not None and self.ends_on < self.starts:
            raise ScheduleError(f"ends_on {self.ends_on} is before starts {self.starts}")
        if self.occurrences is not None and self.occurrences < 1:
            raise ScheduleError(f"occurrences must be at least 1: {self.occurrences}")


Schedule = StartNow | StartAt | Recurring


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """The first run strictly after `after` (StartNow: `after` itself); None when done."""
    runs = occurrences(schedule, after, limit=1)
    return runs[0] if runs else None


def first_run(schedule: Schedule, now: datetime) -> datetime | None:
    """When a campaign started at `now` first dials: now for StartNow and for a StartAt
    already past, else the first run after now; None when the schedule has no run left."""
    if isinstance(schedule, StartAt) and schedule.at <= now:
        return now
    return next_run(schedule, now)


def next_round(schedule: Schedule, now: datetime) -> datetime | None:
    """After a run ended at `now`: when the next one starts, None when the campaign is done.

    Runs missed while the previous one was still dialling are skipped, not queued up.
    """
    return next_run(schedule, now) if isinstance(schedule, Recurring) else None


def occurrences(schedule: Schedule, after: datetime, limit: int) -> tuple[datetime, ...]:
    """Up to `limit` runs strictly after `after`, in order (StartNow: just `after`)."""
    _require_aware(after, "after")
    if limit < 0:
        raise ScheduleError(f"limit must not be negative: {limit}")
    if limit == 0:
        return ()
    if isinstance(schedule, StartNow):
        return (after,)
    if isinstance(schedule, StartAt):
        return (schedule.at,) if schedule.at > after else ()
    runs: list[datetime] = []
    for instant in _recurring_runs(schedule):
        if instant > after:
            runs.append(instant)
            if len(runs) == limit:
                break
    return tuple(runs)


def runs_between(schedule: Schedule, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """The runs at or after `start` and before `end`, in order: a calendar's page.

    StartNow has none: it runs whenever it is started, at no time of its own. Runs still
    count from `starts`, so an `occurrences` limit is honoured whatever the range."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if isinstance(schedule, StartNow):
        return ()
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)  # PEP 495: compare in UTC
    if isinstance(schedule, StartAt):
        return (schedule.at,) if start_utc <= schedule.at.astimezone(UTC) < end_utc else ()
    runs: list[datetime] = []
    for instant in _recurring_runs(schedule):
        moment = instant.astimezone(UTC)
        if moment >= end_utc:
            break
        if moment >= start_utc:
            runs.append(instant)
    return tuple(runs)


def _recurring_runs(schedule: Recurring) -> Iterator[datetime]:
    dates = _run_dates(schedule.kind, schedule.starts)
    for count, day in enumerate(dates, start=1):
        if schedule.ends_on is not None and day > schedule.ends_on:
            return
        try:
            instant = wall_time_instant(day, schedule.at, schedule.zone)
        except OverflowError:  # the last day of the calendar has no room for an offset
            return
        yield instant
        if schedule.occurrences is not None and count >= schedule.occurrences:
            return


def _run_dates(kind: RecurrenceKind, starts: date) -> Iterator[date]:
    """The run dates on or after `starts`, ending quietly at the end of the calendar."""
    try:
        if isinstance(kind, Daily):
            day = starts
            while True:
                yield day
                day += timedelta(days=kind.every_n_days)
        elif isinstance(kind, Weekly):
            day = starts
            while True:
                if day.weekday() in kind.days:
                    yield day
                day += timedelta(days=1)
        else:
            year, month = starts.year, starts.month
            while True:
                day = _clamped(year, month, kind.day_of_month)
                if day >= starts:
                    yield day
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    except (OverflowError, ValueError):  # past date.max: no more runs
        return


def _clamped(year: int, month: int, day_of_month: int) -> date:
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def _require_aware(instant: datetime, name: str) -> None:
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ScheduleError(f"{name} must be an aware datetime: {instant!r}")
