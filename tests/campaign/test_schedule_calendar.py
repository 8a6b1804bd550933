"""A schedule's runs over a calendar's range, with fixed instants (2026: US DST Mar 8 / Nov 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from dialer.campaign.schedule import (
    Daily,
    Monthly,
    Recurring,
    ScheduleError,
    StartAt,
    StartNow,
    Weekly,
    runs_between,
)
from tests.campaign.clock import NY, ny, utc


def in_utc(runs: tuple[datetime, ...]) -> list[datetime]:
    return [run.astimezone(UTC) for run in runs]


def test_weekly_runs_keep_their_wall_time_across_the_spring_change() -> None:
    schedule = Recurring(Weekly(frozenset({0, 2})), time(9), NY, starts=date(2026, 3, 1))
    runs = runs_between(schedule, utc(2026, 3, 1), utc(2026, 3, 15))
    assert [f"{run:%a %d %H:%M %Z}" for run in runs] == [
        "Mon 02 09:00 EST",
        "Wed 04 09:00 EST",
        "Mon 09 09:00 EDT",
        "Wed 11 09:00 EDT",
    ]
    assert in_utc(runs) == [
        utc(2026, 3, 2, 14),
        utc(2026, 3, 4, 14),
        utc(2026, 3, 9, 13),  # an hour earlier in UTC: the offset changed, not the wall time
        utc(2026, 3, 11, 13),
    ]


def test_a_wall_time_in_the_spring_gap_runs_at_the_first_instant_after_it() -> None:
    schedule = Recurring(Daily(), time(2, 30), NY, starts=date(2026, 3, 7))
    runs = runs_between(schedule, ny(2026, 3, 7), ny(2026, 3, 10))
    assert in_utc(runs) == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 0),  # 03:00 EDT: 02:30 does not exist that day
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]


def test_an_ambiguous_fall_back_time_runs_once() -> None:
    schedule = Recurring(Daily(), time(1, 30), NY, starts=date(2026, 10, 31))
    runs = runs_between(schedule, ny(2026, 10, 31), ny(2026, 11, 3))
    assert in_utc(runs) == [
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, not again at 01:30 EST
        utc(2026, 11, 2, 6, 30),
    ]


def test_the_range_takes_its_start_and_leaves_its_end() -> None:
    schedule = Recurring(Daily(), time(9), NY, starts=date(2026, 6, 1))
    runs = runs_between(schedule, ny(2026, 6, 2, 9), ny(2026, 6, 4, 9))
    assert runs == (ny(2026, 6, 2, 9), ny(2026, 6, 3, 9))


def test_occurrences_count_from_the_first_run_not_from_the_range() -> None:
    schedule = Recurring(Daily(), time(9), NY, starts=date(2026, 6, 1), occurrences=3)
    assert runs_between(schedule, ny(2026, 6, 2), ny(2026, 6, 30)) == (
        ny(2026, 6, 2, 9),
        ny(2026, 6, 3, 9),
    )
    assert runs_between(schedule, ny(2026, 6, 4), ny(2026, 6, 30)) == ()


def test_runs_stop_at_ends_on_and_start_no_earlier_than_starts() -> None:
    schedule = Recurring(
        Daily(2), time(10), NY, starts=date(2026, 6, 10), ends_on=date(2026, 6, 14)
    )
    assert runs_between(schedule, ny(2026, 6, 1), ny(2026, 7, 1)) == (
        ny(2026, 6, 10, 10),
        ny(2026, 6, 12, 10),
        ny(2026, 6, 14, 10),
    )


def test_monthly_runs_clamp_to_short_months() -> None:
    schedule = Recurring(Monthly(31), time(9), NY, starts=date(2026, 1, 1))
    assert runs_between(schedule, ny(2026, 1, 15), ny(2026, 4, 15)) == (
        ny(2026, 1, 31, 9),
        ny(2026, 2, 28, 9),
        ny(2026, 3, 31, 9),
    )


def test_a_start_at_is_in_a_range_or_not_and_start_now_never_is() -> None:
    at = ny(2026, 3, 8, 12)  # 16:00Z: EDT since 02:00 that day
    assert runs_between(StartAt(at), utc(2026, 3, 8, 16), utc(2026, 3, 9)) == (at,)
    assert runs_between(StartAt(at), utc(2026, 3, 1), utc(2026, 3, 8, 16)) == ()
    assert runs_between(StartAt(at), utc(2026, 3, 8, 16, 0, 1), utc(2026, 3, 9)) == ()
    assert runs_between(StartNow(), utc(2026, 1, 1), utc(2027, 1, 1)) == ()


def test_the_range_must_be_aware() -> None:
    with pytest.raises(ScheduleError):
        runs_between(StartNow(), datetime(2026, 1, 1), utc(2026, 2, 1))  # naive
