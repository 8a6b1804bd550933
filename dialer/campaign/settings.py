"""A campaign's own settings, stored with it as JSON, validated key by key.

`dialer campaign create` (and later the API) writes them; `dialer serve` and
`campaign run` read them back to build the running campaign, so a campaign
behaves the same whichever process dials it. The settings hold the domain's
own frozen objects (`RetryRules`, `CallingWindow`, `RecipientHours`, a
`Schedule`); this module is their JSON codec. A stored value that is wrong is
refused with its dotted key and the reason, like config.toml:
`window.start: must be a wall time HH:MM (got '9am')`.

The JSON shape, every key optional (defaults shown):

    {"trunk": "default", "max_concurrent": 10, "prompt_file": null, "flow": null,
     "ring_timeout_s": null, "max_duration_s": null,
     "retry": {"max_attempts": 3, "delay_s": 3600, "delay_by_outcome": {"busy": 600},
               "outcomes": ["no_answer", "busy", "failed"], "goal": "confirmed=true"},
     "window": {"days": ["Mon", "Tue"], "start": "09:00", "end": "17:00",
                "zone": "America/New_York"},
     "recipient_hours": "08:00-21:00",
     "schedule": {"kind": "weekly", "days": ["Mon"], "at": "09:00",
                  "zone": "America/New_York", "starts": "2027-01-04",
                  "ends_on": null, "occurrences": 10}}

`window` null means no campaign window (only the recipient's hours apply);
`recipient_hours` null means any hour (lab trunks and tests only: the law
still applies to real recipients). `voicemail` among the retry outcomes retries
calls an answering machine took. Schedule kinds: `now`, `at` (with `at`
and `zone`), `daily` (with `every`), `weekly` (with `days`), `monthly` (with
`day`, clamped to short months).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dialer.campaign.answering import AnsweringPolicy, AnsweringPolicyError
from dialer.campaign.compliance import (
    DAY_NAMES,
    DEFAULT_HOURS,
    CallingWindow,
    ComplianceError,
    RecipientHours,
    resolve_zone,
)
from dialer.campaign.policy import ABANDONED, DEFAULT_RETRY_OUTCOMES, RetryRules, RulesError
from dialer.campaign.predictive import DialingMode
from dialer.campaign.schedule import (
    Daily,
    Monthly,
    Recurring,
    Schedule,
    ScheduleError,
    StartAt,
    StartNow,
    Weekly,
)
from media.amd import AmdSettings

T = TypeVar("T")
VOICEMAIL = "voicemail"  # in retry outcomes: an answering machine counts as not reached
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_HTTP_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
# A call's progress a status_callback can hear of (Twilio's names); and, always, the
# campaign's completion.
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
MAX_REPORT_EMAILS = 10
MAX_SAFE_HARBOR_CHARS = 500  # said in a few seconds, or it is not a safe harbor
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s.,;<>\"]+(?:\.[^@\s.,;<>\"]+)+")
_DAY_NUMBERS = {name.lower(): number for number, name in enumerate(DAY_NAMES)}
_DAY_GROUPS = {
    "all": range(7),
    "daily": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
}


_DEFAULT_HOURS: RecipientHours | None = DEFAULT_HOURS
_NOW: Schedule = StartNow()


class SettingsError(ValueError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class CampaignSettings:
    trunk: str = "default"
    max_concurrent: int = 10
    prompt_file: str | None = None  # played on answer (a campaign without a flow)
    flow: str | None = None  # a TwiML flow: a file, or the URL of a webhook
    ring_timeout_s: float | None = None  # None: limits.ring_timeout_s
    max_duration_s: float | None = None  # hang up answered calls after this long
    retry: RetryRules = field(default_factory=RetryRules)
    window: CallingWindow | None = None
    recipient_hours: RecipientHours | None = DEFAULT_HOURS
    schedule: Schedule = field(default_factory=StartNow)
    answering: AnsweringPolicy = field(default_factory=AnsweringPolicy)
    mode: str = DialingMode.BROADCAST  # who takes the people who answer: see predictive.py
    dial_ratio: float = 2.0  # calls per ready agent, in ratio mode
    abandon_limit: float = 0.03  # of live answers, over 30 days and today (predictive)
    # Who called and how to opt out, to a person no agent took in time (None: [agents]'s)
    safe_harbor_message: str | None = None
    safe_harbor_file: str | None = None  # a recording instead (WAV, MP3 or raw .ulaw)
    status_callback: str | None = None  # an http(s) URL: each call's progress, POSTed
    status_events: tuple[str, ...] = ("completed",)  # which (STATUS_EVENTS), as Twilio's
    report_emails: tuple[str, ...] = ()  # mailed the report when it completes (at most 10)

    def __post_init__(self) -> None:
        if not self.trunk:
            raise SettingsError("trunk", "must name a trunk")
        if self.mode not in set(DialingMode):
            modes = ", ".join(DialingMode)
            raise SettingsError("mode", f"must be one of {modes} (got {self.mode!r})")
        if self.status_callback is not None and not _HTTP_URL.fullmatch(self.status_callback):
            raise SettingsError(
                "status_callback",
                f"must be an http:// or https:// URL (got {self.status_callback!r})",
            )
        unknown = [e for e in self.status_events if e not in STATUS_EVENTS]
        if unknown:
            raise SettingsError(
                "status_events", f"must be among {', '.join(STATUS_EVENTS)} (got {unknown[0]!r})"
            )
        if len(self.report_emails) > MAX_REPORT_EMAILS:
            raise SettingsError("report_emails", f"at most {MAX_REPORT_EMAILS} addresses")
        wrong = [a for a in self.report_emails if not _EMAIL.fullmatch(a)]
        if wrong:
            raise SettingsError("report_emails", f"not an email address: {wrong[0]!r}")
        if self.dial_ratio < 1.0:
            raise SettingsError("dial_ratio", f"must be at least 1 (got {self.dial_ratio!r})")
        if not 0.0 < self.abandon_limit < 1.0:
            raise SettingsError(
                "abandon_limit", f"must be a share in (0, 1) (got {self.abandon_limit!r})"
            )
        if self.max_concurrent < 1:
            raise SettingsError("max_concurrent", "must be at least 1")
        message = self.safe_harbor_message
        if message is not None and not 0 < len(message.strip()) <= MAX_SAFE_HARBOR_CHARS:
            raise SettingsError(
                "safe_harbor_message", f"must be 1 to {MAX_SAFE_HARBOR_CHARS} characters"
            )
        if message is not None and self.safe_harbor_file is not None:
            raise SettingsError(
                "safe_harbor_file", "a message or a recording, not both: say which one plays"
            )
        for key in ("ring_timeout_s", "max_duration_s"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise SettingsError(key, f"must be positive (got {value!r})")

    def changed(self, **changes: Any) -> CampaignSettings:
        return replace(self, **changes)

    def rules(self) -> RetryRules:
        """The retry rules as they apply: AMD's `retry_later` retries machines, and its
        UK rule keeps a machine's number waiting a day."""
        answering = self.answering
        rules = replace(self.retry, agent_guaranteed=self.mode == DialingMode.PROGRESSIVE)
        if not answering.enabled:
            return rules
        return replace(
            rules,
            retry_voicemail=self.retry.retry_voicemail or answering.retries_machines,
            machine_cooldown_s=max(self.retry.machine_cooldown_s, answering.machine_cooldown_s),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trunk": self.trunk,
            "max_concurrent": self.max_concurrent,
            "prompt_file": self.prompt_file,
            "flow": self.flow,
            "ring_timeout_s": self.ring_timeout_s,
            "max_duration_s": self.max_duration_s,
            "retry": _retry_to_dict(self.retry),
            "window": _window_to_dict(self.window) if self.window else None,
            "recipient_hours": _hours_to_text(self.recipient_hours),
            "schedule": _schedule_to_dict(self.schedule),
            "amd": _answering_to_dict(self.answering),
            "mode": self.mode,
            "dial_ratio": self.dial_ratio,
            "abandon_limit": self.abandon_limit,
            "safe_harbor_message": self.safe_harbor_message,
            "safe_harbor_file": self.safe_harbor_file,
            "status_callback": self.status_callback,
            "status_events": list(self.status_events),
            "report_emails": list(self.report_emails),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, object]) -> CampaignSettings:
        if not isinstance(stored, Mapping):
            raise SettingsError("settings", f"must be an object (got {type(stored).__name__})")
        values = _Reader(stored, "")
        settings = cls(
            trunk=values.get("trunk", str, cls.trunk),
            max_concurrent=values.get("max_concurrent", int, cls.max_concurrent),
            prompt_file=values.optional("prompt_file", str),
            flow=values.optional("flow", str),
            ring_timeout_s=values.optional("ring_timeout_s", float),
            max_duration_s=values.optional("max_duration_s", float),
            retry=values.nested("retry", _retry_from_dict, RetryRules()),
            window=values.nested("window", _window_from_dict, None),
            recipient_hours=values.parsed(
                "recipient_hours", parse_hours, _DEFAULT_HOURS, null_is_default=False
            ),
            schedule=values.nested("schedule", _schedule_from_dict, _NOW),
            answering=values.nested("amd", _answering_from_dict, AnsweringPolicy()),
            mode=values.get("mode", str, cls.mode),
            dial_ratio=values.get("dial_ratio", float, cls.dial_ratio),
            abandon_limit=values.get("abandon_limit", float, cls.abandon_limit),
            safe_harbor_message=values.optional("safe_harbor_message", str),
            safe_harbor_file=values.optional("safe_harbor_file", str),
            status_callback=values.optional("status_callback", str),
            status_events=tuple(values.parsed("status_events", _event_names, cls.status_events)),
            report_emails=values.parsed("report_emails", _addresses, cls.report_emails),
        )
        values.refuse_unknown()
        return settings


# -- text forms shared by the command line and the JSON codec ---------------------


def parse_clock(text: str) -> time:
    """'09:00' -> 09:00 (24-hour wall time)."""
    match = _CLOCK.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"must be a wall time HH:MM (got {text!r})")
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(text: str | list[str]) -> frozenset[int]:
    """'Mon-Fri', 'Mon,Wed,Fri', 'weekdays', 'weekends', 'all' or a list of names -> 0..6."""
    parts = text if isinstance(text, list) else str(text).replace(" ", "").split(",")
    days: set[int] = set()
    for part in parts:
        key = str(part).strip().lower()
        if key in _DAY_GROUPS:
            days.update(_DAY_GROUPS[key])
        elif "-" in key:
            first, _, last = key.partition("-")
            start, end = _day(first), _day(last)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_day(key))
    if not days:
        raise ValueError("must name at least one day")
    return frozenset(days)


def format_days(days: frozenset[int]) -> list[str]:
    return [DAY_NAMES[day] for day in sorted(days)]


def parse_hours(text: str | None) -> RecipientHours | None:
    """'08:00-21:00' -> RecipientHours; None (JSON null) -> any hour."""
    if text is None:
        return None
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"must be HH:MM-HH:MM (got {text!r})")
    start, end = text.split("-")
    try:
        return RecipientHours(parse_clock(start), parse_clock(end))
    except ComplianceError as exc:
        raise ValueError(str(exc)) from None


def parse_goal(text: str) -> tuple[str, str]:
    """'confirmed=true' -> ('confirmed', 'true')."""
    if not isinstance(text, str):
        raise ValueError(f"must be variable=value, such as confirmed=true (got {text!r})")
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise ValueError(f"must be variable=value, such as confirmed=true (got {text!r})")
    return name.strip(), value.strip()


def _addresses(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"must be a list of email addresses (got {value!r})")
    return tuple(item.strip() for item in value)


def _event_names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"must be a list of event names (got {value!r})")
    return tuple(value)


def _day(name: str) -> int:
    try:
        return _DAY_NUMBERS[name[:3].lower()]
    except KeyError:
        raise ValueError(f"unknown day {name!r} (days are {', '.join(DAY_NAMES)})") from None


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str):
        raise ValueError(f"must be a time zone name such as Europe/Paris (got {name!r})")
    try:
        return resolve_zone(name)
    except ComplianceError as exc:
        raise ValueError(str(exc)) from None


def _hours_to_text(hours: RecipientHours | None) -> str | None:
    return None if hours is None else f"{hours.start:%H:%M}-{hours.end:%H:%M}"


# -- retry rules ----------------------------------------------------------------


def _retry_to_dict(rules: RetryRules) -> dict[str, Any]:
    outcomes = sorted(rules.retry_outcomes) + ([VOICEMAIL] if rules.retry_voicemail else [])
    outcomes += [ABANDONED] if rules.retry_abandoned else []
    goal = f"{rules.goal_variable}={rules.goal_value}" if rules.goal_variable else None
    return {
        "max_attempts": rules.max_attempts,
        "delay_s": rules.retry_delay_s,
        "delay_by_outcome": dict(rules.delay_by_outcome),
        "outcomes": outcomes,
        "goal": goal,
        "abandoned_cooldown_s": rules.abandoned_cooldown_s,
    }


def _retry_from_dict(values: _Reader) -> RetryRules:
    defaults = RetryRules()
    outcomes = values.get("outcomes", list, sorted(DEFAULT_RETRY_OUTCOMES))
    if not all(isinstance(outcome, str) for outcome in outcomes):
        raise SettingsError(values.key("outcomes"), "must be a list of outcome names")
    delays = values.get("delay_by_outcome", dict, {})
    for outcome, delay in delays.items():
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise SettingsError(values.key(f"delay_by_outcome.{outcome}"), "must be seconds")
    goal = values.parsed("goal", parse_goal, None)
    max_attempts = values.get("max_attempts", int, defaults.max_attempts)
    delay_s = values.get("delay_s", float, defaults.retry_delay_s)
    cooldown_s = values.get("abandoned_cooldown_s", float, defaults.abandoned_cooldown_s)
    values.refuse_unknown()
    try:
        return RetryRules(
            max_attempts=max_attempts,
            retry_delay_s=delay_s,
            delay_by_outcome={key: float(delay) for key, delay in delays.items()},
            retry_outcomes=frozenset(o for o in outcomes if o not in (VOICEMAIL, ABANDONED)),
            retry_voicemail=VOICEMAIL in outcomes,
            retry_abandoned=ABANDONED in outcomes,
            abandoned_cooldown_s=cooldown_s,
            goal_variable=goal[0] if goal else None,
            goal_value=goal[1] if goal else defaults.goal_value,
        )
    except RulesError as exc:
        raise SettingsError(values.key(""), str(exc)) from None


# -- calling window ---------------------------------------------------------------


def _window_to_dict(window: CallingWindow) -> dict[str, Any]:
    return {
        "days": format_days(window.days),
        "start": f"{window.start:%H:%M}",
        "end": f"{window.end:%H:%M}",
        "zone": window.zone.key,
    }


def _window_from_dict(values: _Reader) -> CallingWindow:
    window = CallingWindow(
        days=values.parsed("days", parse_days, frozenset(range(7))),
        start=values.parsed("start", parse_clock, time(9)),
        end=values.parsed("end", parse_clock, time(17)),
        zone=values.parsed("zone", _zone, ZoneInfo("UTC")),
    )
    values.refuse_unknown()
    return window


# -- schedule -----------------------------------------------------------------------


def _schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    if isinstance(schedule, StartNow):
        return {"kind": "now"}
    if isinstance(schedule, StartAt):
        zone = schedule.at.tzinfo
        if isinstance(zone, ZoneInfo):  # kept as a wall time in its zone, as it was written
            return {
                "kind": "at",
                "at": schedule.at.replace(tzinfo=None).isoformat(),
                "zone": zone.key,
            }
        return {"kind": "at", "at": schedule.at.isoformat()}
    described: dict[str, Any] = {"at": f"{schedule.at:%H:%M}", "zone": schedule.zone.key}
    kind = schedule.kind
    if isinstance(kind, Daily):
        described |= {"kind": "daily", "every": kind.every_n_days}
    elif isinstance(kind, Weekly):
        described |= {"kind": "weekly", "days": format_days(kind.days)}
    else:
        described |= {"kind": "monthly", "day": kind.day_of_month}
    return described | {
        "starts": schedule.starts.isoformat(),
        "ends_on": schedule.ends_on.isoformat() if schedule.ends_on else None,
        "occurrences": schedule.occurrences,
    }


def _schedule_from_dict(values: _Reader) -> Schedule:
    kind = values.get("kind", str, "now")
    zone = values.parsed("zone", _zone, ZoneInfo("UTC"))
    try:
        schedule = _build_schedule(kind, values, zone)
    except ScheduleError as exc:
        raise SettingsError(values.key(""), str(exc)) from None
    values.refuse_unknown()
    return schedule


def _build_schedule(kind: str, values: _Reader, zone: ZoneInfo) -> Schedule:
    if kind == "now":
        return StartNow()
    if kind == "at":
        at = values.parsed("at", datetime.fromisoformat, None)
        if at is None:
            raise SettingsError(values.key("at"), "is required for a schedule of kind 'at'")
        return StartAt(at if at.tzinfo else at.replace(tzinfo=zone))
    recurrence: Daily | Weekly | Monthly
    if kind == "daily":
        recurrence = Daily(values.get("every", int, 1))
    elif kind == "weekly":
        recurrence = Weekly(values.parsed("days", parse_days, frozenset()))
    elif kind == "monthly":
        recurrence = Monthly(values.get("day", int, 1))
    else:
        raise SettingsError(
            values.key("kind"), f"must be now, at, daily, weekly or monthly (got {kind!r})"
        )
    starts = values.parsed("starts", date.fromisoformat, None)
    if starts is None:
        raise SettingsError(values.key("starts"), f"is required for a {kind} schedule")
    return Recurring(
        recurrence,
        at=values.parsed("at", parse_clock, time(9)),
        zone=zone,
        starts=starts,
        ends_on=values.parsed("ends_on", date.fromisoformat, None),
        occurrences=values.optional("occurrences", int),
    )


# -- answering-machine detection -----------------------------------------------------


def _answering_to_dict(policy: AnsweringPolicy) -> dict[str, Any]:
    described = {f.name: getattr(policy, f.name) for f in fields(policy) if f.name != "detector"}
    return described | {"detector": asdict(policy.detector)}


def _answering_from_dict(values: _Reader) -> AnsweringPolicy:
    read = _plain_fields(values, AnsweringPolicy, skip="detector")
    detector = values.nested("detector", _detector_from_dict, AmdSettings())
    values.refuse_unknown()
    try:
        return AnsweringPolicy(**read, detector=detector)
    except AnsweringPolicyError as exc:
        raise SettingsError(values.key(""), str(exc)) from None


def _detector_from_dict(values: _Reader) -> AmdSettings:
    read = _plain_fields(values, AmdSettings)
    values.refuse_unknown()
    try:
        return AmdSettings(**read)
    except ValueError as exc:
        raise SettingsError(values.key(""), str(exc)) from None


def _plain_fields(values: _Reader, cls: type[Any], skip: str = "") -> dict[str, Any]:
    """Each field of a dataclass of scalars, typed by its default (None: an optional str)."""
    defaults = cls()
    read: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name == skip:
            continue
        default = getattr(defaults, spec.name)
        if default is None:
            read[spec.name] = values.optional(spec.name, str)
        else:
            read[spec.name] = values.get(spec.name, type(default), default)
    return read


# -- reading one JSON object, key by key ---------------------------------------------


class _Reader:
    """Typed reads from one JSON object that name the dotted key when a value is wrong."""

    _TYPES: Mapping[type, tuple[type, ...]] = {
        str: (str,),
        int: (int,),
        float: (int, float),
        bool: (bool,),
        list: (list,),
        dict: (dict,),
    }

    def __init__(self, data: Mapping[str, object], prefix: str) -> None:
        self.data = data
        self.prefix = prefix
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        joined = f"{self.prefix}.{name}" if self.prefix and name else self.prefix or name
        return joined or "settings"

    def get(self, name: str, kind: type[T], default: T) -> T:
        value = self.optional(name, kind)
        return default if value is None else value

    def optional(self, name: str, kind: type[T]) -> T | None:
        self.read.add(name)
        value = self.data.get(name)
        if value is None:
            return None
        accepted = self._TYPES[kind]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, accepted):
            raise SettingsError(
                self.key(name), f"must be {kind.__name__} (got {type(value).__name__} {value!r})"
            )
        return kind(value)  # type: ignore[call-arg]

    def parsed(
        self, name: str, parse: Callable[[Any], T], default: T, *, null_is_default: bool = True
    ) -> T:
        """A value turned into a domain object by `parse`, whose ValueError names the key.

        An absent key is the default; so is null, unless null means something of its own."""
        self.read.add(name)
        if name not in self.data or (null_is_default and self.data[name] is None):
            return default
        try:
            return parse(self.data[name])
        except (ValueError, TypeError) as exc:
            raise SettingsError(self.key(name), str(exc)) from None

    def nested(self, name: str, build: Callable[[_Reader], T], default: T) -> T:
        self.read.add(name)
        value = self.data.get(name, ...)
        if value is ...:
            return default
        if value is None and default is None:
            return default
        if not isinstance(value, Mapping):
            raise SettingsError(self.key(name), f"must be an object (got {value!r})")
        return build(_Reader(value, self.key(name)))

    def refuse_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise SettingsError(
                self.key(unknown[0]), f"unknown setting (expected one of {sorted(self.read)})"
            )
