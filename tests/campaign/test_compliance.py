"""Calling-hours compliance with explicit instants only (2026: US DST Mar 8 / Nov 1,
UK DST Mar 29 / Oct 25)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.compliance import (
    CallingWindow,
    ComplianceError,
    RecipientHours,
    may_call,
    next_allowed,
    resolve_zones,
    wall_time_instant,
    zones_for_number,
)
from tests.campaign.clock import ny, utc

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
DEFAULT = RecipientHours()
ANY_HOUR = RecipientHours(time(0), time(23, 59, 59))  # to test the campaign window alone


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=LONDON)


def in_utc(instant: datetime | None) -> datetime | None:
    """Ambiguous local times compare unequal across zones (PEP 495): compare in UTC."""
    return None if instant is None else instant.astimezone(UTC)


def window(
    start: time, end: time, zone: ZoneInfo = NY, days: frozenset[int] = EVERY_DAY
) -> CallingWindow:
    return CallingWindow(days=days, start=start, end=end, zone=zone)


# --- the campaign window ------------------------------------------------------------


def test_weekday_window_allows_inside_and_refuses_the_weekend() -> None:
    office = window(time(9), time(17), days=WEEKDAYS)
    assert may_call(ny(2026, 6, 1, 10), office, ["America/New_York"]).allowed  # Monday
    saturday = may_call(ny(2026, 6, 6, 10), office, ["America/New_York"])
    assert not saturday.allowed
    assert "campaign window" in saturday.reason and "Sat 10:00" in saturday.reason


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    office = window(time(9), time(17), days=WEEKDAYS)
    assert may_call(ny(2026, 6, 1, 9), office, []).allowed
    assert not may_call(ny(2026, 6, 1, 8, 59, 59), office, []).allowed
    assert not may_call(ny(2026, 6, 1, 17), office, []).allowed


def test_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = window(time(18), time(2), days=frozenset({4}))
    assert friday_night.crosses_midnight
    assert may_call(ny(2026, 6, 5, 18), friday_night, [], ANY_HOUR).allowed  # Fri
    assert may_call(ny(2026, 6, 6, 1, 59), friday_night, [], ANY_HOUR).allowed  # Sat
    assert not may_call(ny(2026, 6, 6, 2), friday_night, [], ANY_HOUR).allowed
    assert not may_call(ny(2026, 6, 5, 1), friday_night, [], ANY_HOUR).allowed  # Thu night
    assert not may_call(ny(2026, 6, 6, 18), friday_night, [], ANY_HOUR).allowed  # Sat
    assert next_allowed(ny(2026, 6, 6, 2), friday_night, [], ANY_HOUR) == ny(2026, 6, 12, 18)


def test_equal_start_and_end_is_a_whole_day() -> None:
    sundays = window(time(0), time(0), days=frozenset({6}))
    assert may_call(ny(2026, 6, 7, 0), sundays, [], ANY_HOUR).allowed
    assert may_call(ny(2026, 6, 7, 23, 59), sundays, [], ANY_HOUR).allowed
    assert not may_call(ny(2026, 6, 8, 0), sundays, [], ANY_HOUR).allowed


# --- recipient hours in the recipient's zones -----------------------------------------


def test_new_york_campaign_may_not_wake_los_angeles() -> None:
    long_day = window(time(9), time(20), days=WEEKDAYS)
    decision = may_call(ny(2026, 6, 1, 9), long_day, ["America/Los_Angeles"])
    assert not decision.allowed
    assert "recipient hours" in decision.reason
    assert "06:00 America/Los_Angeles" in decision.reason
    assert next_allowed(ny(2026, 6, 1, 9), long_day, ["America/Los_Angeles"]) == ny(2026, 6, 1, 11)


def test_recipient_hours_end_is_exclusive_and_next_day_follows() -> None:
    long_day = window(time(9), time(23), days=WEEKDAYS)
    assert may_call(ny(2026, 6, 1, 20, 59), long_day, ["America/New_York"]).allowed
    assert not may_call(ny(2026, 6, 1, 21), long_day, ["America/New_York"]).allowed
    assert next_allowed(ny(2026, 6, 1, 21), long_day, ["America/New_York"]) == ny(2026, 6, 2, 9)


def test_recipient_hours_are_configurable() -> None:
    late = RecipientHours(time(9), time(20))
    assert not may_call(ny(2026, 6, 1, 8, 30), window(time(8), time(22)), [], late).allowed
    assert next_allowed(ny(2026, 6, 1, 20), window(time(8), time(22)), [], late) == ny(
        2026, 6, 2, 9
    )


def test_number_in_several_zones_needs_hours_open_in_all() -> None:
    zones = zones_for_number("+17752345678")  # Nevada/Idaho area code: Pacific and Mountain
    assert set(zones) == {"America/Boise", "America/Los_Angeles"}
    early = window(time(7), time(22))
    # 10:00 NY = 08:00 Boise (open) = 07:00 Los Angeles (closed)
    decision = may_call(ny(2026, 6, 1, 10), early, zones)
    assert not decision.allowed and "America/Los_Angeles" in decision.reason
    assert may_call(ny(2026, 6, 1, 10), early, ["America/Boise"]).allowed
    assert next_allowed(ny(2026, 6, 1, 10), early, zones) == ny(2026, 6, 1, 11)
    # evening: 22:00 Boise closes before Los Angeles (21:00 Boise = 23:00 NY: window shut)
    late = window(time(7), time(2))
    assert may_call(ny(2026, 6, 1, 22, 59), late, zones).allowed
    assert not may_call(ny(2026, 6, 1, 23), late, zones).allowed


def test_unknown_zone_falls_back_to_campaign_zone() -> None:
    west = window(time(6), time(22), zone=LA)
    assert zones_for_number("+15551234567") == ()
    decision = may_call(utc(2026, 6, 1, 14), west, [])  # 07:00 Los Angeles
    assert not decision.allowed and "America/Los_Angeles" in decision.reason
    assert next_allowed(utc(2026, 6, 1, 14), west, []) == utc(2026, 6, 1, 15)


def test_allowed_now_is_its_own_next_allowed_in_the_callers_zone() -> None:
    office = window(time(9), time(17))
    now = utc(2026, 6, 1, 14, 7, 3, 500)
    found = next_allowed(now, office, ["America/New_York"])
    assert found == now and found is not None and found.tzinfo is UTC


# --- zones from numbers and zone validation ------------------------------------------


def test_zones_for_number() -> None:
    assert zones_for_number("+12125551234") == ("America/New_York",)
    assert "Europe/London" in zones_for_number("+447911123456")
    with pytest.raises(ComplianceError):
        zones_for_number("not a number")
    with pytest.raises(ComplianceError) as caught:
        zones_for_number("9" * 10_000)
    assert len(str(caught.value)) < 100


def test_every_zone_phonenumbers_gives_for_a_toll_free_number_resolves() -> None:
    zones = zones_for_number("+18005551234")
    assert len(zones) > 10
    assert len(resolve_zones(zones)) == len(zones)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "", "../etc/passwd", "Etc/Unknown", "a\0b", "America", "zone.tab"]
)
def test_invalid_zone_name_is_a_compliance_error(name: str) -> None:
    with pytest.raises(ComplianceError, match="time zone"):
        resolve_zones(["America/New_York", name])
    with pytest.raises(ComplianceError):
        may_call(ny(2026, 6, 1, 10), window(time(9), time(17)), [name])
    with pytest.raises(ComplianceError):
        next_allowed(ny(2026, 6, 1, 10), window(time(9), time(17)), [name])


def test_bare_string_of_zones_is_refused() -> None:
    with pytest.raises(ComplianceError):
        resolve_zones("America/New_York")


def test_bad_construction_and_naive_now_are_compliance_errors() -> None:
    with pytest.raises(ComplianceError):
        CallingWindow(days=frozenset(), start=time(9), end=time(17), zone=NY)
    with pytest.raises(ComplianceError):
        CallingWindow(days=frozenset({7}), start=time(9), end=time(17), zone=NY)
    with pytest.raises(ComplianceError):
        CallingWindow(days=WEEKDAYS, start=time(9, tzinfo=UTC), end=time(17), zone=NY)
    with pytest.raises(ComplianceError):
        RecipientHours(time(21), time(8))
    with pytest.raises(ComplianceError):
        may_call(datetime(2026, 6, 1, 10), window(time(9), time(17)), [])
    with pytest.raises(ComplianceError):
        next_allowed(ny(2026, 6, 1), window(time(9), time(17)), [], horizon=timedelta(-1))


# --- the horizon ---------------------------------------------------------------------


def test_opening_beyond_the_horizon_is_none_and_at_its_end_is_found() -> None:
    mondays = window(time(9), time(10), days=frozenset({0}))
    tuesday = ny(2026, 6, 2, 9)
    assert next_allowed(tuesday, mondays, []) == ny(2026, 6, 8, 9)
    assert next_allowed(tuesday, mondays, [], horizon=timedelta(days=6)) == ny(2026, 6, 8, 9)
    short = timedelta(days=6) - timedelta(seconds=1)
    assert next_allowed(tuesday, mondays, [], horizon=short) is None


def test_window_that_never_meets_recipient_hours_is_none() -> None:
    night = window(time(2), time(4))
    assert next_allowed(ny(2026, 6, 1), night, ["America/New_York"]) is None


# --- DST -----------------------------------------------------------------------------


def test_new_york_spring_forward_window_start_in_gap_opens_after_gap() -> None:
    gap_start = window(time(2, 30), time(5))  # 02:30 does not exist on 2026-03-08
    found = next_allowed(ny(2026, 3, 8, 1), gap_start, [], ANY_HOUR)
    assert found == utc(2026, 3, 8, 7)  # 03:00 EDT, the first instant after the gap
    assert not may_call(utc(2026, 3, 8, 6, 59, 59), gap_start, [], ANY_HOUR).allowed
    assert wall_time_instant(found.date(), time(2, 30), NY) == found


def test_new_york_spring_forward_recipient_hours_open_at_8_edt() -> None:
    found = next_allowed(ny(2026, 3, 7, 22), window(time(0), time(0)), ["America/New_York"])
    assert found == utc(2026, 3, 8, 12)  # 08:00 EDT; it was 13:00 UTC the day before
    assert next_allowed(ny(2026, 3, 6, 22), window(time(0), time(0)), []) == utc(2026, 3, 7, 13)


def test_new_york_fall_back_repeated_half_hour_is_open_twice() -> None:
    repeated = window(time(1), time(1, 30))  # 01:00-01:30 happens twice on 2026-11-01
    first = next_allowed(ny(2026, 11, 1, 0), repeated, [], ANY_HOUR)
    assert first is not None and first.fold == 0
    assert in_utc(first) == utc(2026, 11, 1, 5)  # 01:00 EDT
    assert not may_call(utc(2026, 11, 1, 5, 30), repeated, [], ANY_HOUR).allowed
    second = next_allowed(utc(2026, 11, 1, 5, 30), repeated, [], ANY_HOUR)
    assert second == utc(2026, 11, 1, 6)  # 01:00 EST
    assert not may_call(utc(2026, 11, 1, 6, 30), repeated, [], ANY_HOUR).allowed


def test_new_york_fall_back_reopens_at_the_transition_itself() -> None:
    straddle = window(time(0, 30), time(1, 30))
    # 01:30 EDT closes it; at 02:00 EDT the clock reads 01:00 EST, inside again
    assert next_allowed(utc(2026, 11, 1, 5, 30), straddle, [], ANY_HOUR) == utc(2026, 11, 1, 6)


def test_london_spring_forward_window_start_in_gap() -> None:
    gap_start = window(time(1, 30), time(3), zone=LONDON)  # 01:00-02:00 GMT skipped
    found = next_allowed(london(2026, 3, 29, 0), gap_start, [], ANY_HOUR)
    assert found == utc(2026, 3, 29, 1)  # 02:00 BST


def test_london_fall_back_repeated_quarter_hours() -> None:
    repeated = window(time(1, 15), time(1, 45), zone=LONDON)
    assert next_allowed(utc(2026, 10, 24, 23), repeated, [], ANY_HOUR) == utc(2026, 10, 25, 0, 15)
    second = next_allowed(utc(2026, 10, 25, 0, 45), repeated, [], ANY_HOUR)
    assert second == utc(2026, 10, 25, 1, 15)


def test_london_campaign_calling_new_york_while_only_the_us_is_on_summer_time() -> None:
    daytime = window(time(9), time(21), zone=LONDON)
    # 2026-03-16: New York on EDT (UTC-4), London still on GMT: 08:00 NY is 12:00 London
    assert next_allowed(london(2026, 3, 16, 9), daytime, ["America/New_York"]) == london(
        2026, 3, 16, 12
    )
    # 2026-04-06: both on summer time: 08:00 NY is 13:00 London
    assert next_allowed(london(2026, 4, 6, 9), daytime, ["America/New_York"]) == london(
        2026, 4, 6, 13
    )


def openings_by_minute(
    now: datetime, window: CallingWindow, zones: list[str], hours: RecipientHours, days: int
) -> list[datetime]:
    """Every instant where calling becomes allowed, found by stepping minute by minute."""
    found: list[datetime] = []
    before = False
    for minute in range(days * 24 * 60 + 1):
        instant = now + timedelta(minutes=minute)
        allowed = may_call(instant, window, zones, hours).allowed
        if allowed and not before:
            found.append(instant)
        before = allowed
    return found


def openings_by_next_allowed(
    now: datetime, window: CallingWindow, zones: list[str], hours: RecipientHours, days: int
) -> list[datetime]:
    deadline = now + timedelta(days=days)
    found: list[datetime] = []
    cursor = now
    while (opening := next_allowed(cursor, window, zones, hours, deadline - cursor)) is not None:
        found.append(opening)
        cursor = opening
        while cursor <= deadline and may_call(cursor, window, zones, hours).allowed:
            cursor += timedelta(minutes=1)
        if cursor > deadline:
            break
    return found


LATE = RecipientHours(time(0, 45), time(23))
HONOLULU = ["Pacific/Honolulu"]
BOISE = ["America/Boise"]


@pytest.mark.parametrize(
    ("now", "call_window", "zones", "hours"),
    [
        (utc(2026, 3, 7, 12), window(time(2, 30), time(8, 15)), ["Europe/London"], LATE),
        (utc(2026, 3, 7, 12), window(time(2, 30), time(8, 15)), ["Europe/London"], DEFAULT),
        (utc(2026, 3, 7, 12), window(time(20), time(3)), ["America/Los_Angeles"], LATE),
        (utc(2026, 3, 7, 12), window(time(20), time(3)), ["America/Los_Angeles"], DEFAULT),
        (utc(2026, 10, 31, 12), window(time(1, 10), time(1, 40)), ["America/New_York"], LATE),
        (utc(2026, 10, 24, 3), window(time(23), time(9), zone=LONDON), ["Pacific/Honolulu"], LATE),
        (utc(2026, 10, 24, 3), window(time(23), time(9), zone=LONDON), HONOLULU, DEFAULT),
        (utc(2026, 3, 28, 3), window(time(1), time(2, 30), zone=LONDON), ["America/Boise"], LATE),
        (utc(2026, 3, 28, 3), window(time(1), time(2, 30), zone=LONDON), BOISE, DEFAULT),
        (utc(2026, 10, 31, 20), window(time(0, 30), time(1, 30)), ["America/Boise"], LATE),
        (utc(2026, 10, 31, 20), window(time(0, 30), time(1, 30)), [], LATE),
    ],
)
def test_next_allowed_matches_minute_stepping_around_dst(
    now: datetime, call_window: CallingWindow, zones: list[str], hours: RecipientHours
) -> None:
    # every boundary here falls on a whole minute, so stepping by minutes is exact
    expected = openings_by_minute(now, call_window, zones, hours, days=3)
    assert expected  # the case must open at least once to test anything
    found = openings_by_next_allowed(now, call_window, zones, hours, days=3)
    assert [in_utc(instant) for instant in found] == [in_utc(instant) for instant in expected]
