"""Campaign schedules with explicit instants only (2026: US DST Mar 8 / Nov 1, UK Mar 29)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.schedule import (
    Daily,
    Monthly,
    Recurring,
    ScheduleError,
    StartAt,
    StartNow,
    Weekly,
    first_run,
    next_round,
    next_run,
    occurrences,
)
from tests.campaign.clock import ny, utc

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
EARLY = datetime(2026, 1, 1, tzinfo=UTC)


def in_utc(runs: tuple[datetime, ...]) -> list[datetime]:
    """Ambiguous local times compare unequal across zones (PEP 495): compare in UTC."""
    return [run.astimezone(UTC) for run in runs]


def test_start_now_runs_at_after() -> None:
    now = utc(2026, 6, 1, 12, 0, 5)
    assert next_run(StartNow(), now) == now
    assert occurrences(StartNow(), now, limit=5) == (now,)


def test_start_at_runs_once_strictly_after() -> None:
    at = ny(2026, 6, 1, 9)
    assert next_run(StartAt(at), ny(2026, 6, 1, 8)) == at
    assert next_run(StartAt(at), at) is None
    assert occurrences(StartAt(at), EARLY, limit=3) == (at,)


def test_daily_every_two_days_through_ends_on() -> None:
    schedule = Recurring(Daily(2), time(10), NY, starts=date(2026, 6, 1), ends_on=date(2026, 6, 7))
    assert occurrences(schedule, EARLY, limit=10) == (
        ny(2026, 6, 1, 10),
        ny(2026, 6, 3, 10),
        ny(2026, 6, 5, 10),
        ny(2026, 6, 7, 10),
    )
    assert next_run(schedule, ny(2026, 6, 7, 10)) is None


def test_next_run_is_strictly_after_and_limit_cuts() -> None:
    schedule = Recurring(Daily(), time(10), NY, starts=date(2026, 6, 1))
    assert next_run(schedule, ny(2026, 6, 3, 10)) == ny(2026, 6, 4, 10)
    assert next_run(schedule, ny(2026, 6, 3, 9, 59)) == ny(2026, 6, 3, 10)
    assert len(occurrences(schedule, EARLY, limit=4)) == 4
    assert occurrences(schedule, EARLY, limit=0) == ()


def test_occurrences_count_from_the_first_run_not_from_after() -> None:
    schedule = Recurring(Daily(), time(10), NY, starts=date(2026, 6, 1), occurrences=3)
    assert occurrences(schedule, EARLY, limit=10) == (
        ny(2026, 6, 1, 10),
        ny(2026, 6, 2, 10),
        ny(2026, 6, 3, 10),
    )
    assert occurrences(schedule, ny(2026, 6, 1, 12), limit=10) == (
        ny(2026, 6, 2, 10),
        ny(2026, 6, 3, 10),
    )
    assert next_run(schedule, ny(2026, 6, 3, 10)) is None


def test_weekly_mondays_and_wednesdays_from_a_thursday() -> None:
    schedule = Recurring(
        Weekly(frozenset({0, 2})), time(9, 30), NY, starts=date(2026, 6, 4), occurrences=3
    )
    assert occurrences(schedule, EARLY, limit=10) == (
        ny(2026, 6, 8, 9, 30),
        ny(2026, 6, 10, 9, 30),
        ny(2026, 6, 15, 9, 30),
    )


def test_weekly_ends_on_is_inclusive() -> None:
    schedule = Recurring(
        Weekly(frozenset({4})), time(9), NY, starts=date(2026, 6, 1), ends_on=date(2026, 6, 12)
    )
    assert occurrences(schedule, EARLY, limit=10) == (ny(2026, 6, 5, 9), ny(2026, 6, 12, 9))


def test_monthly_day_31_clamps_to_the_last_day() -> None:
    schedule = Recurring(Monthly(31), time(12), NY, starts=date(2026, 1, 1))
    assert occurrences(schedule, EARLY, limit=4) == (
        ny(2026, 1, 31, 12),
        ny(2026, 2, 28, 12),
        ny(2026, 3, 31, 12),
        ny(2026, 4, 30, 12),
    )
    leap = Recurring(Monthly(30), time(12), NY, starts=date(2028, 2, 1), occurrences=2)
    assert occurrences(leap, EARLY, limit=5) == (ny(2028, 2, 29, 12), ny(2028, 3, 30, 12))


def test_monthly_starting_after_its_day_waits_for_next_month_and_crosses_the_year() -> None:
    schedule = Recurring(
        Monthly(10), time(8), NY, starts=date(2026, 11, 15), ends_on=date(2027, 1, 10)
    )
    assert occurrences(schedule, EARLY, limit=5) == (ny(2026, 12, 10, 8), ny(2027, 1, 10, 8))


def test_daily_in_the_spring_forward_gap_runs_at_three() -> None:
    schedule = Recurring(Daily(), time(2, 30), NY, starts=date(2026, 3, 7))
    assert in_utc(occurrences(schedule, EARLY, limit=3)) == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7),  # 03:00 EDT: 02:30 does not exist
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]


def test_daily_on_the_fall_back_day_runs_once_at_the_first_occurrence() -> None:
    schedule = Recurring(Daily(), time(1, 30), NY, starts=date(2026, 10, 31))
    assert in_utc(occurrences(schedule, EARLY, limit=3)) == [
        utc(2026, 10, 31, 5, 30),  # 01:30 EDT
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, not again at 01:30 EST
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
    ]
    assert next_run(schedule, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)


def test_london_spring_forward_gap() -> None:
    schedule = Recurring(Daily(), time(1, 30), LONDON, starts=date(2026, 3, 29), occurrences=1)
    assert in_utc(occurrences(schedule, EARLY, limit=2)) == [utc(2026, 3, 29, 1)]  # 02:00 BST


def test_runs_stop_quietly_at_the_end_of_the_calendar() -> None:
    schedule = Recurring(Weekly(frozenset(range(7))), time(12), NY, starts=date(9999, 12, 29))
    runs = occurrences(schedule, utc(9999, 12, 1), limit=10)
    assert [run.date() for run in runs] == [
        date(9999, 12, 29),
        date(9999, 12, 30),
        date(9999, 12, 31),
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Daily(0),
        lambda: Weekly(frozenset()),
        lambda: Weekly(frozenset({7})),
        lambda: Monthly(0),
        lambda: Monthly(32),
        lambda: StartAt(datetime(2026, 6, 1)),
        lambda: Recurring(Daily(), time(9), NY, date(2026, 6, 2), ends_on=date(2026, 6, 1)),
        lambda: Recurring(Daily(), time(9), NY, date(2026, 6, 1), occurrences=0),
        lambda: Recurring(Daily(), time(9, tzinfo=UTC), NY, date(2026, 6, 1)),
        lambda: Recurring(Daily(), time(9), "America/New_York", date(2026, 6, 1)),  # type: ignore[arg-type]
    ],
)
def test_invalid_schedules_are_schedule_errors(build: object) -> None:
    assert callable(build)
    with pytest.raises(ScheduleError):
        build()


def test_naive_after_and_negative_limit_are_schedule_errors() -> None:
    schedule = Recurring(Daily(), time(9), NY, date(2026, 6, 1))
    with pytest.raises(ScheduleError):
        next_run(schedule, datetime(2026, 6, 1))
    with pytest.raises(ScheduleError):
        occurrences(schedule, EARLY, limit=-1)
    assert next_run(schedule, EARLY + timedelta(days=365)) == ny(2027, 1, 1, 9)


def test_first_run_of_a_started_campaign() -> None:
    now = utc(2026, 6, 1, 12)
    assert first_run(StartNow(), now) == now
    assert first_run(StartAt(utc(2026, 6, 1, 11)), now) == now  # already due: at once
    assert first_run(StartAt(utc(2026, 6, 2, 9)), now) == utc(2026, 6, 2, 9)
    weekly = Recurring(Weekly(frozenset({0})), time(9), NY, starts=date(2026, 6, 1))
    assert first_run(weekly, now) == ny(2026, 6, 1, 9)  # 09:00 EDT is 13:00 UTC: still ahead
    assert first_run(weekly, utc(2026, 6, 1, 13, 0, 1)) == ny(2026, 6, 8, 9)
    ended = Recurring(Daily(), time(9), NY, starts=date(2026, 5, 1), ends_on=date(2026, 5, 31))
    assert first_run(ended, now) is None


def test_next_round_only_for_recurring_schedules_and_skips_missed_runs() -> None:
    now = utc(2026, 6, 10, 15)
    assert next_round(StartNow(), now) is None
    assert next_round(StartAt(utc(2026, 6, 1)), now) is None
    daily = Recurring(Daily(), time(9), NY, starts=date(2026, 6, 1), occurrences=12)
    # Runs of 3..10 June were missed while a long run dialled: the next is 11 June.
    assert next_round(daily, now) == ny(2026, 6, 11, 9)
    assert next_round(daily, utc(2026, 6, 12, 14)) is None  # the 12th run was the last
