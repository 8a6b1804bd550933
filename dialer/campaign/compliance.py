"""Calling-hours compliance, sans-IO: may this number be called at `now`, and if not, when?

Two rules must both hold at the instant of the call:

- the campaign's `CallingWindow`: weekdays and a wall-clock span in the campaign's zone;
- the recipient's legal hours (`RecipientHours`, 08:00-21:00 by default, TCPA-style) in
  EVERY zone the number may be in. A number that maps to several zones is callable only
  while the hours are open in all of them; a number with no known zone is judged in the
  campaign's zone (the best guess we have, and the one the campaign manager chose).

Wall-clock semantics: an instant is inside a span when its local wall time is. So on a
fall-back day a 01:00-01:30 span is open twice (01:30 happens twice), and a span that
starts inside a spring-forward gap opens at the first valid instant after the gap.

`next_allowed` is exact: the allowed set only becomes true at a span start (either
occurrence of an ambiguous time) or at a UTC-offset transition, so it checks just those
instants, never steps minute by minute.

Zone names are checked when a lead or campaign is validated (`resolve_zones`), so a typo
is a `ComplianceError` at import time; `may_call` raises the same error if one slips by.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers says when it cannot place a number
_OFFSET_SAMPLE = timedelta(hours=6)  # tzdb never changes a zone's offset twice within this


class ComplianceError(ValueError):
    """A calling window, hours, zone name, number or instant that cannot be judged."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class CallingWindow:
    """The campaign's calling window: `days` (0=Mon..6=Sun), `start`-`end` wall time in `zone`.

    `end <= start` means the window crosses midnight and belongs to the day it starts on:
    days={4}, 18:00-02:00 is Friday 18:00 to Saturday 02:00. `start == end` is a full
    24-hour window.
    """

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if not isinstance(self.zone, ZoneInfo):
            raise ComplianceError(f"window zone must be a ZoneInfo, not {self.zone!r}")
        if not self.days or not self.days <= frozenset(range(7)):
            raise ComplianceError(f"window days must be a non-empty subset of 0..6: {self.days}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ComplianceError("window start and end are wall times: no tzinfo")

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def contains(self, local: datetime) -> bool:
        """Whether a wall time in the window's zone is inside the window."""
        wall, weekday = local.time(), local.weekday()
        if not self.crosses_midnight:
            return weekday in self.days and self.start <= wall < self.end
        started_today = weekday in self.days and wall >= self.start
        started_yesterday = (weekday - 1) % 7 in self.days and wall < self.end
        return started_today or started_yesterday

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[day] for day in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} {self.zone.key}"


@dataclass(frozen=True)
class RecipientHours:
    """Legal hours in the recipient's own zone, every day: `start` <= wall time < `end`."""

    start: time = time(8)
    end: time = time(21)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ComplianceError("recipient hours are wall times: no tzinfo")
        if not self.start < self.end:
            raise ComplianceError(
                f"recipient hours must not cross midnight: {self.start:%H:%M}-{self.end:%H:%M}"
            )

    def contains(self, local: datetime) -> bool:
        return self.start <= local.time() < self.end

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DEFAULT_HOURS = RecipientHours()


def resolve_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ComplianceError(f"unknown time zone {_shown(name)}") from exc


def resolve_zones(names: Sequence[str]) -> tuple[ZoneInfo, ...]:
    """Validate a recipient's zone names once (at lead import), raising `ComplianceError`."""
    if isinstance(names, str):  # a bare string is a sequence of letters, never meant
        raise ComplianceError(f"recipient zones must be a sequence of names, not {names!r}")
    return tuple(resolve_zone(name) for name in names)


def zones_for_number(e164: str) -> tuple[str, ...]:
    """The zones phonenumbers places an E.164 number in; () when it cannot tell."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ComplianceError(f"not an E.164 number: {_shown(e164)}") from exc
    zones: tuple[str, ...] = tuple(phone_timezone.time_zones_for_number(number))
    return tuple(zone for zone in zones if zone != UNKNOWN_ZONE)


def may_call(
    now: datetime,
    window: CallingWindow,
    recipient_zones: Sequence[str],
    hours: RecipientHours = DEFAULT_HOURS,
) -> Decision:
    _require_aware(now)
    return _decide(now, window, _judged_zones(recipient_zones, window), hours)


def next_allowed(
    now: datetime,
    window: CallingWindow,
    recipient_zones: Sequence[str],
    hours: RecipientHours = DEFAULT_HOURS,
    horizon: timedelta = timedelta(days=14),
) -> datetime | None:
    """The earliest instant in [now, now + horizon] when `may_call` allows, in now's zone.

    None when nothing opens by the horizon. Pass `now` in UTC (or compare the result in
    UTC): PEP 495 makes an ambiguous local time unequal to every instant in another zone.
    """
    _require_aware(now)
    if horizon < timedelta(0):
        raise ComplianceError(f"horizon must not be negative: {horizon}")
    zones = _judged_zones(recipient_zones, window)
    deadline = now + horizon
    candidates = {now.astimezone(UTC)}
    candidates.update(_openings(window.zone, window.start, now, deadline))
    for zone in zones:
        candidates.update(_openings(zone, hours.start, now, deadline))
    for instant in sorted(candidates):
        if now <= instant <= deadline and _decide(instant, window, zones, hours).allowed:
            return instant.astimezone(now.tzinfo)
    return None


def wall_time_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant whose wall time in `zone` is `wall` on `day`.

    Ambiguous (fall-back) times give their first occurrence; times inside a spring-forward
    gap give the first valid instant after the gap (02:30 on a New York spring-forward
    day -> 03:00 EDT).
    """
    naive = datetime.combine(day, wall)
    first = _existing_instant(naive, zone, fold=0)
    if first is not None:
        return first.astimezone(zone)
    # In the gap: the two folds map to instants either side of the transition.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _first_instant_with_offset(zone, min(early, late), max(early, late)).astimezone(zone)


def _decide(
    now: datetime, window: CallingWindow, zones: tuple[ZoneInfo, ...], hours: RecipientHours
) -> Decision:
    local = now.astimezone(window.zone)
    if not window.contains(local):
        return Decision(
            False,
            f"outside campaign window: {local:%a %H:%M} not in {window.describe()}",
        )
    for zone in zones:
        recipient_local = now.astimezone(zone)
        if not hours.contains(recipient_local):
            return Decision(
                False,
                f"outside recipient hours: {recipient_local:%a %H:%M} {zone.key}"
                f" not in {hours.describe()}",
            )
    names = ", ".join(zone.key for zone in zones)
    return Decision(True, f"inside campaign window and recipient hours in {names}")


def _judged_zones(names: Sequence[str], window: CallingWindow) -> tuple[ZoneInfo, ...]:
    zones = resolve_zones(names)
    return zones if zones else (window.zone,)


def _shown(text: object) -> str:
    """Bad input quoted in an error, cut short: an error message is not a data dump."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ComplianceError(f"now must be an aware datetime: {now!r}")


def _openings(zone: ZoneInfo, start: time, low: datetime, high: datetime) -> Iterator[datetime]:
    """Every instant in or near [low, high] where a span starting at `start` in `zone` may open.

    That is each existing occurrence of `start` (both, on a fall-back day) and each offset
    transition (a start inside a gap, or a repeated hour, opens there).
    """
    first_day = low.astimezone(zone).date() - timedelta(days=1)
    last_day = high.astimezone(zone).date() + timedelta(days=1)
    day = first_day
    while day <= last_day:
        naive = datetime.combine(day, start)
        for fold in (0, 1):
            instant = _existing_instant(naive, zone, fold=fold)
            if instant is not None:
                yield instant
        day += timedelta(days=1)
    yield from _offset_transitions(zone, low - _OFFSET_SAMPLE, high + _OFFSET_SAMPLE)


def _existing_instant(naive: datetime, zone: ZoneInfo, *, fold: int) -> datetime | None:
    """`naive` in `zone` as a UTC instant, or None when that wall time does not exist."""
    instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    return instant if instant.astimezone(zone).replace(tzinfo=None) == naive else None


def _offset_transitions(zone: ZoneInfo, low: datetime, high: datetime) -> Iterator[datetime]:
    sample = low.astimezone(UTC)
    while sample < high:
        following = sample + _OFFSET_SAMPLE
        if _offset(zone, sample) != _offset(zone, following):
            yield _first_instant_with_offset(zone, sample, following)
        sample = following


def _first_instant_with_offset(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first whole second in (low, high] that has high's UTC offset (one change between)."""
    target = _offset(zone, high)
    below = math.floor(low.timestamp())
    above = math.floor(high.timestamp())
    while above - below > 1:
        middle = (below + above) // 2
        if _offset(zone, datetime.fromtimestamp(middle, UTC)) == target:
            above = middle
        else:
            below = middle
    return datetime.fromtimestamp(above, UTC)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()
