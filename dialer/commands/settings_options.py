"""Campaign settings as command-line options: added to a parser, applied over settings.

`create` applies them over the defaults, `edit` over the stored settings and
`run` over the stored settings for one run; an option not given leaves the
setting as it is. The text forms are the settings module's own (`Mon-Fri`,
`09:00-17:00`, `confirmed=true`), so the command line and the stored JSON
read alike.

    --window "Mon-Fri 09:00-17:00"   the campaign's calling window ("none": no window)
    --zone America/New_York          the window's and the schedule's time zone
    --hours 08:00-21:00              recipients' local hours; --any-hour for lab trunks
    --start-at 2027-01-04T09:00      one run at that wall time in --zone
    --repeat weekly --on Mon,Thu --at 09:00 --from 2027-01-04 [--until DATE] [--times N]
    --repeat daily --every 2 ...  |  --repeat monthly --day 15 ...  |  --start-now
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaign.answering import (
    ON_HUMAN,
    ON_MACHINE,
    UNKNOWN_AS,
    AnsweringPolicy,
    AnsweringPolicyError,
)
from dialer.campaign.compliance import CallingWindow, ComplianceError, resolve_zone
from dialer.campaign.model import CallOutcome
from dialer.campaign.policy import ABANDONED, RetryRules, RulesError
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
from dialer.campaign.settings import (
    STATUS_EVENTS,
    VOICEMAIL,
    CampaignSettings,
    SettingsError,
    parse_clock,
    parse_days,
    parse_goal,
    parse_hours,
)
from media.amd import AmdSettings

_OUTCOMES = sorted({*(o.value for o in CallOutcome), VOICEMAIL, ABANDONED})
_SCHEDULE_OPTIONS = ("start_at", "repeat", "start_now")
_RECURRENCE_OPTIONS = ("at", "every", "on", "day", "starts", "until", "times")
_OPTION_OF = {
    "trunk": "--trunk",
    "max_concurrent": "--max-concurrent",
    "ring_timeout_s": "--ring-timeout",
    "max_duration_s": "--duration",
    "mode": "--mode",
    "dial_ratio": "--dial-ratio",
    "abandon_limit": "--abandon-limit",
    "safe_harbor_message": "--safe-harbor-message",
    "safe_harbor_file": "--safe-harbor-file",
    "status_callback": "--status-callback",
    "status_events": "--status-events",
    "report_emails": "--report-email",
}


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Every option defaults to None: 'not given', so the setting keeps its value."""
    calls = parser.add_argument_group("calls")
    calls.add_argument("--trunk")
    calls.add_argument("--max-concurrent", type=int, help="calls at once for this campaign")
    calls.add_argument("--play", help="prompt played on answer (WAV, MP3 or raw .ulaw)")
    calls.add_argument("--flow", help="a TwiML flow run on answer: a file, or a webhook URL")
    calls.add_argument("--ring-timeout", type=float, help="seconds of ringing before CANCEL")
    calls.add_argument("--duration", type=float, help="hang up answered calls after N seconds")
    calls.add_argument(
        "--status-callback", help="an http(s) URL each call's progress is POSTed to (signed)"
    )
    calls.add_argument(
        "--report-email", action="append", metavar="ADDRESS",
        help="mailed the report when the campaign completes (repeat, up to 10; '' for none)",
    )  # fmt: skip
    calls.add_argument(
        "--status-events",
        help=f"which progress, comma-separated: {','.join(STATUS_EVENTS)} (default: completed)",
    )

    agents = parser.add_argument_group("agents")
    agents.add_argument(
        "--mode",
        help="broadcast (no agents), preview (the agent sees the contact and clicks to dial),"
        " progressive (a call per ready agent), ratio, predictive",
    )
    agents.add_argument("--dial-ratio", type=float, help="calls per ready agent (ratio mode)")
    agents.add_argument(
        "--abandon-limit", type=float, help="abandoned share of live answers (default 0.03)"
    )
    agents.add_argument(
        "--safe-harbor-message", metavar="TEXT",
        help="who called and how to opt out, to a person no agent took in time"
        " ('' for [agents]'s)",
    )  # fmt: skip
    agents.add_argument(
        "--safe-harbor-file", metavar="FILE",
        help="a recording of it instead (WAV, MP3 or raw .ulaw; '' for none)",
    )  # fmt: skip

    retry = parser.add_argument_group("retries")
    retry.add_argument("--max-attempts", type=int, help="calls per contact, either number")
    retry.add_argument("--retry-delay", type=float, help="seconds before a retry")
    retry.add_argument(
        "--retry-delay-for",
        action="append",
        metavar="OUTCOME=SECONDS",
        help="a delay of its own for one outcome (repeatable), e.g. busy=600",
    )
    retry.add_argument(
        "--retry-on", metavar="OUTCOMES", help=f"comma-separated, from {', '.join(_OUTCOMES)}"
    )
    retry.add_argument(
        "--goal", metavar="VAR=VALUE", help="retry until the flow sets this (none: any answer)"
    )
    retry.add_argument(
        "--abandoned-cooldown",
        type=float,
        metavar="SECONDS",
        help="with --retry-on abandoned: no recall sooner, unless progressive (default 72 h)",
    )

    hours = parser.add_argument_group("calling hours")
    hours.add_argument("--window", help='"DAYS HH:MM-HH:MM" such as "Mon-Fri 09:00-17:00"')
    hours.add_argument("--zone", help="time zone of the window and the schedule (default UTC)")
    hours.add_argument("--hours", help="recipients' local calling hours (default 08:00-21:00)")
    hours.add_argument(
        "--any-hour",
        action="store_true",
        default=None,
        help="ignore recipients' local hours (lab trunks and tests only)",
    )

    amd = parser.add_argument_group("answering-machine detection")
    amd.add_argument(
        "--amd",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="tell people from answering machines on every answered call",
    )
    amd.add_argument("--on-machine", choices=ON_MACHINE, help="hangup, leave a message, or retry")
    amd.add_argument(
        "--message-flow", help="with --on-machine message: the flow left after the beep"
    )
    amd.add_argument("--on-human", choices=ON_HUMAN, help="continue the flow or hand to an agent")
    amd.add_argument("--amd-unknown", choices=UNKNOWN_AS, help="what undecided calls count as")
    amd.add_argument(
        "--amd-wait",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the flow waits for AMD's verdict (default: it starts on answer)",
    )
    amd.add_argument(
        "--amd-param",
        action="append",
        metavar="NAME=VALUE",
        help="a detector setting (max_ms, human_pause_ms, machine_run_ms...; repeatable)",
    )
    amd.add_argument(
        "--uk-amd-rule",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a number AMD judged a machine is not called again within 24 h",
    )

    when = parser.add_argument_group("schedule")
    when.add_argument("--start-now", action="store_true", default=None, help="no schedule")
    when.add_argument("--start-at", metavar="YYYY-MM-DDTHH:MM", help="one run, then complete")
    when.add_argument("--repeat", choices=("daily", "weekly", "monthly"))
    when.add_argument("--at", help="wall time of each run (default 09:00)")
    when.add_argument("--every", type=int, help="daily: every N days")
    when.add_argument("--on", help="weekly: days such as Mon,Thu")
    when.add_argument("--day", type=int, help="monthly: day of the month (31: the last)")
    when.add_argument("--from", dest="starts", help="first date (YYYY-MM-DD, default today)")
    when.add_argument("--until", help="last date, inclusive")
    when.add_argument("--times", type=int, help="number of runs")


def apply_settings_options(
    args: argparse.Namespace, base: CampaignSettings, *, today: date
) -> CampaignSettings:
    """`base` with the options given applied; SettingsError names the option at fault."""
    changes: dict[str, Any] = {}
    for option, name in (
        ("trunk", "trunk"),
        ("max_concurrent", "max_concurrent"),
        ("ring_timeout", "ring_timeout_s"),
        ("duration", "max_duration_s"),
        ("mode", "mode"),
        ("dial_ratio", "dial_ratio"),
        ("abandon_limit", "abandon_limit"),
    ):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    if args.status_callback is not None:
        changes["status_callback"] = args.status_callback or None  # "": none any more
    if args.report_email is not None:
        changes["report_emails"] = tuple(a for a in args.report_email if a)
    if args.status_events is not None:
        changes["status_events"] = tuple(e.strip() for e in args.status_events.split(",") if e)
    if args.safe_harbor_message is not None:
        changes["safe_harbor_message"] = args.safe_harbor_message or None
    if args.safe_harbor_file is not None:
        changes["safe_harbor_file"] = (
            str(Path(args.safe_harbor_file).resolve()) if args.safe_harbor_file else None
        )
    if args.play is not None:
        changes["prompt_file"] = str(Path(args.play).resolve())
    if args.flow is not None:
        changes["flow"] = _resolved_flow(args.flow)
    changes["retry"] = _retry(args, base.retry)
    zone = _option("--zone", resolve_zone, args.zone) if args.zone else None
    changes["window"] = _window(args.window, zone, base.window)
    if args.any_hour:
        changes["recipient_hours"] = None
    elif args.hours is not None:
        changes["recipient_hours"] = _option("--hours", parse_hours, args.hours)
    changes["schedule"] = _schedule(args, zone, base.schedule, today)
    changes["answering"] = _answering(args, base.answering)
    try:
        return replace(base, **changes)
    except SettingsError as exc:
        raise SettingsError(_OPTION_OF.get(exc.key, exc.key), exc.reason) from None


def _retry(args: argparse.Namespace, rules: RetryRules) -> RetryRules:
    changes: dict[str, Any] = {}
    if args.max_attempts is not None:
        changes["max_attempts"] = args.max_attempts
    if args.retry_delay is not None:
        changes["retry_delay_s"] = args.retry_delay
    if args.retry_delay_for:
        delays = dict(rules.delay_by_outcome)
        for text in args.retry_delay_for:
            outcome, _, seconds = text.partition("=")
            delays[outcome.strip()] = _option("--retry-delay-for", float, seconds)
        changes["delay_by_outcome"] = delays
    if args.retry_on is not None:
        outcomes = {part.strip() for part in args.retry_on.split(",") if part.strip()}
        changes["retry_voicemail"] = VOICEMAIL in outcomes
        changes["retry_abandoned"] = ABANDONED in outcomes
        changes["retry_outcomes"] = frozenset(outcomes - {VOICEMAIL, ABANDONED})
    if args.abandoned_cooldown is not None:
        changes["abandoned_cooldown_s"] = args.abandoned_cooldown
    if args.goal is not None:
        if args.goal.lower() == "none":
            changes["goal_variable"] = None
        else:
            changes["goal_variable"], changes["goal_value"] = _option(
                "--goal", parse_goal, args.goal
            )
    try:
        return replace(rules, **changes)
    except RulesError as exc:
        raise SettingsError("retries", str(exc)) from None


def _answering(args: argparse.Namespace, policy: AnsweringPolicy) -> AnsweringPolicy:
    changes: dict[str, Any] = {}
    for option, name in (
        ("amd", "enabled"),
        ("on_machine", "on_machine"),
        ("on_human", "on_human"),
        ("amd_unknown", "unknown_as"),
        ("amd_wait", "wait"),
        ("uk_amd_rule", "uk_rule"),
    ):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    if args.message_flow is not None:
        changes["message_flow"] = _resolved_flow(args.message_flow)
    if args.amd_param:
        changes["detector"] = _detector(args.amd_param, policy.detector)
    try:
        return replace(policy, **changes)
    except AnsweringPolicyError as exc:
        raise SettingsError("--on-machine", str(exc)) from None


def _detector(params: list[str], detector: AmdSettings) -> AmdSettings:
    """`--amd-param NAME=VALUE`s applied to the detector's settings, each checked."""
    kinds = {f.name: f.type for f in fields(AmdSettings)}
    changes: dict[str, Any] = {}
    for param in params:
        name, _, value = param.partition("=")
        name = name.strip()
        if name not in kinds:
            raise SettingsError("--amd-param", f"no detector setting {name!r}: {', '.join(kinds)}")
        try:
            changes[name] = (int if kinds[name] in (int, "int") else float)(value)
        except ValueError:
            raise SettingsError("--amd-param", f"{name} must be a number (got {value!r})") from None
    try:
        return replace(detector, **changes)
    except ValueError as exc:
        raise SettingsError("--amd-param", str(exc)) from None


def _resolved_flow(text: str) -> str:
    """A flow as stored: a URL as given, a file by its absolute path."""
    flow = text.strip()
    is_url = flow.lower().startswith(("http://", "https://"))
    return flow if is_url or not flow else str(Path(flow).resolve())


def _window(
    text: str | None, zone: ZoneInfo | None, current: CallingWindow | None
) -> CallingWindow | None:
    if text is None:
        return replace(current, zone=zone) if current and zone else current
    if text.strip().lower() == "none":
        return None
    days, _, span = text.strip().rpartition(" ")
    start, dash, end = span.partition("-")
    if not days or not dash:
        raise SettingsError("--window", f'must be "DAYS HH:MM-HH:MM" (got {text!r})')
    try:
        return CallingWindow(
            _option("--window", parse_days, days),
            _option("--window", parse_clock, start),
            _option("--window", parse_clock, end),
            zone or (current.zone if current else ZoneInfo("UTC")),
        )
    except ComplianceError as exc:
        raise SettingsError("--window", str(exc)) from None


def _schedule(
    args: argparse.Namespace, zone: ZoneInfo | None, current: Schedule, today: date
) -> Schedule:
    chosen = [name for name in _SCHEDULE_OPTIONS if getattr(args, name)]
    if len(chosen) > 1:
        raise SettingsError(
            "--" + chosen[1].replace("_", "-"), "give one of --start-now, --start-at, --repeat"
        )
    extras = [name for name in _RECURRENCE_OPTIONS if getattr(args, name) is not None]
    if extras and not args.repeat:
        raise SettingsError(f"--{extras[0]}", "goes with --repeat")
    try:
        if args.start_now:
            return StartNow()
        if args.start_at:
            at = _option("--start-at", datetime.fromisoformat, args.start_at)
            return StartAt(at if at.tzinfo else at.replace(tzinfo=zone or ZoneInfo("UTC")))
        if args.repeat:
            return _recurring(args, zone or ZoneInfo("UTC"), today)
    except ScheduleError as exc:
        raise SettingsError("--repeat" if args.repeat else "--start-at", str(exc)) from None
    return _rezoned(current, zone) if zone else current


def _recurring(args: argparse.Namespace, zone: ZoneInfo, today: date) -> Recurring:
    kind: Daily | Weekly | Monthly
    if args.repeat == "daily":
        kind = Daily(args.every or 1)
    elif args.repeat == "weekly":
        if args.on is None:
            raise SettingsError("--on", "--repeat weekly needs the days, e.g. --on Mon,Thu")
        kind = Weekly(_option("--on", parse_days, args.on))
    else:
        if args.day is None:
            raise SettingsError("--day", "--repeat monthly needs the day of the month")
        kind = Monthly(args.day)
    return Recurring(
        kind,
        at=_option("--at", parse_clock, args.at) if args.at else time(9),
        zone=zone,
        starts=_option("--from", date.fromisoformat, args.starts) if args.starts else today,
        ends_on=_option("--until", date.fromisoformat, args.until) if args.until else None,
        occurrences=args.times,
    )


def _rezoned(schedule: Schedule, zone: ZoneInfo) -> Schedule:
    """The same wall-clock schedule in another zone (--zone given alone)."""
    if isinstance(schedule, Recurring):
        return replace(schedule, zone=zone)
    if isinstance(schedule, StartAt):
        return StartAt(schedule.at.replace(tzinfo=zone))
    return schedule


def _option(option: str, parse: Any, text: Any) -> Any:
    try:
        return parse(text)
    except (ValueError, ComplianceError) as exc:
        raise SettingsError(option, str(exc)) from None
