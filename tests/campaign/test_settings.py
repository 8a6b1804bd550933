"""Campaign settings stored as JSON: round trips, defaults, and refusal with the dotted key."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.answering import AnsweringPolicy
from dialer.campaign.compliance import CallingWindow, RecipientHours
from dialer.campaign.policy import RetryRules
from dialer.campaign.schedule import Daily, Monthly, Recurring, StartAt, StartNow, Weekly
from dialer.campaign.settings import (
    CampaignSettings,
    SettingsError,
    parse_clock,
    parse_days,
    parse_goal,
    parse_hours,
)
from media.amd import AmdSettings

NY = ZoneInfo("America/New_York")
WINDOW = CallingWindow(frozenset(range(5)), time(9), time(17, 30), NY)


@pytest.mark.parametrize(
    "settings",
    [
        CampaignSettings(),
        CampaignSettings(max_concurrent=5, ring_timeout_s=25.0, recipient_hours=None),
        CampaignSettings(
            retry=RetryRules(
                max_attempts=5,
                retry_delay_s=1800.0,
                delay_by_outcome={"busy": 300.0, "voicemail": 7200.0},
                retry_outcomes=frozenset({"busy", "no_answer"}),
                retry_voicemail=True,
                goal_variable="confirmed",
                goal_value="yes",
            ),
            window=WINDOW,
            recipient_hours=RecipientHours(time(9), time(20)),
        ),
        CampaignSettings(schedule=StartAt(datetime(2027, 3, 14, 2, 30, tzinfo=NY))),
        CampaignSettings(mode="predictive", safe_harbor_message="Acme called; press 9."),
        CampaignSettings(mode="progressive", safe_harbor_file="/srv/prompts/acme-harbor.wav"),
        CampaignSettings(
            answering=AnsweringPolicy(
                enabled=True,
                wait=True,
                on_machine="message",
                message_flow="/srv/flows/voicemail.xml",
                on_human="agent",
                uk_rule=True,
                detector=AmdSettings(max_ms=4000, human_pause_ms=700),
            )
        ),
        CampaignSettings(schedule=Recurring(Daily(2), time(9), NY, date(2027, 1, 4))),
        CampaignSettings(
            schedule=Recurring(
                Weekly(frozenset({0, 3})), time(18), NY, date(2027, 1, 4), occurrences=6
            )
        ),
        CampaignSettings(
            schedule=Recurring(Monthly(31), time(8), NY, date(2027, 1, 1), date(2027, 12, 31))
        ),
    ],
)
def test_settings_survive_a_round_trip_through_json(settings: CampaignSettings) -> None:
    stored = json.loads(json.dumps(settings.to_dict()))
    assert CampaignSettings.from_dict(stored) == settings


def test_defaults_and_the_stored_shape() -> None:
    assert CampaignSettings.from_dict({}) == CampaignSettings()
    stored = CampaignSettings(window=WINDOW).to_dict()
    assert stored["window"] == {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "start": "09:00",
        "end": "17:30",
        "zone": "America/New_York",
    }
    assert stored["recipient_hours"] == "08:00-21:00"
    assert stored["retry"]["outcomes"] == ["busy", "failed", "no_answer"]
    assert stored["schedule"] == {"kind": "now"}
    assert CampaignSettings.from_dict({"retry": {"delay_s": 30}}).retry.retry_delay_s == 30.0
    assert CampaignSettings.from_dict({"recipient_hours": None}).recipient_hours is None
    assert CampaignSettings.from_dict({"window": None}).window is None
    assert isinstance(CampaignSettings.from_dict({"schedule": {"kind": "now"}}).schedule, StartNow)


def test_a_start_time_without_an_offset_is_a_wall_time_in_the_schedule_zone() -> None:
    stored = {"schedule": {"kind": "at", "at": "2027-03-14T09:00", "zone": "America/New_York"}}
    schedule = CampaignSettings.from_dict(stored).schedule
    assert isinstance(schedule, StartAt)
    assert (
        schedule.at.utcoffset() is not None and schedule.at.utcoffset().total_seconds() == -4 * 3600
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stored", "key", "reason"),
    [
        ({"max_concurent": 3}, "max_concurent", "unknown setting"),
        ({"max_concurrent": "3"}, "max_concurrent", "must be int"),
        ({"max_concurrent": True}, "max_concurrent", "must be int"),
        ({"max_concurrent": 0}, "max_concurrent", "at least 1"),
        ({"max_duration_s": -1}, "max_duration_s", "positive"),
        ({"prompt_file": 7}, "prompt_file", "must be str"),
        ({"retry": {"max_attempts": 0}}, "retry", "at least 1"),
        ({"retry": {"outcomes": ["busy", "bored"]}}, "retry", "unknown outcomes"),
        ({"retry": {"goal": "confirmed"}}, "retry.goal", "variable=value"),
        ({"retry": {"tries": 2}}, "retry.tries", "unknown setting"),
        ({"retry": 3}, "retry", "must be an object"),
        ({"window": {"start": "9am"}}, "window.start", "HH:MM"),
        ({"window": {"days": ["Funday"]}}, "window.days", "unknown day"),
        ({"window": {"zone": "Mars/Olympus"}}, "window.zone", "unknown time zone"),
        ({"recipient_hours": "21:00-08:00"}, "recipient_hours", "cross midnight"),
        ({"schedule": {"kind": "hourly"}}, "schedule.kind", "must be now, at"),
        ({"schedule": {"kind": "at"}}, "schedule.at", "required"),
        ({"schedule": {"kind": "at", "at": "soon"}}, "schedule.at", "soon"),
        ({"schedule": {"kind": "daily", "at": "09:00"}}, "schedule.starts", "required"),
        ({"schedule": {"kind": "monthly", "day": 32, "starts": "2027-01-01"}}, "schedule", "1..31"),
        ({"schedule": {"kind": "weekly", "starts": "2027-01-01"}}, "schedule", "non-empty"),
        ({"amd": {"on_machine": "shout"}}, "amd", "on_machine must be one of"),
        ({"amd": {"on_machine": "message"}}, "amd", "needs a message_flow"),
        ({"amd": {"detector": {"vad_aggressiveness": 7}}}, "amd.detector", "0..3"),
        ({"amd": {"detector": {"max_ms": "5s"}}}, "amd.detector.max_ms", "must be int"),
        ({"amd": {"enable": True}}, "amd.enable", "unknown setting"),
        ({"safe_harbor_message": "  "}, "safe_harbor_message", "1 to 500 characters"),
        ({"safe_harbor_message": "x" * 501}, "safe_harbor_message", "1 to 500 characters"),
        (
            {"safe_harbor_message": "Acme", "safe_harbor_file": "/a.wav"},
            "safe_harbor_file",
            "not both",
        ),
    ],
)
def test_wrong_settings_are_refused_with_the_key(
    stored: dict[str, object], key: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        CampaignSettings.from_dict(stored)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_text_forms() -> None:
    assert parse_days("Mon-Fri") == frozenset(range(5))
    assert parse_days("Fri-Mon") == frozenset({4, 5, 6, 0})  # wraps round the week
    assert parse_days("sat,Sunday") == frozenset({5, 6})
    assert parse_days("weekdays") == frozenset(range(5)) and parse_days("all") == frozenset(
        range(7)
    )
    assert parse_clock("7:05") == time(7, 5)
    assert parse_hours("09:00-20:00") == RecipientHours(time(9), time(20))
    assert parse_goal("confirmed = true") == ("confirmed", "true")
    for wrong in ("24:00", "9", "09:60"):
        with pytest.raises(ValueError):
            parse_clock(wrong)


def test_amd_shapes_the_retry_rules_that_apply() -> None:
    plain = CampaignSettings()
    assert plain.rules() == plain.retry
    later = CampaignSettings(answering=AnsweringPolicy(enabled=True, on_machine="retry_later"))
    assert later.rules().retry_voicemail and later.rules().machine_cooldown_s == 0
    uk = CampaignSettings(answering=AnsweringPolicy(enabled=True, uk_rule=True))
    assert uk.rules().machine_cooldown_s == 24 * 3600
    off = CampaignSettings(answering=AnsweringPolicy(enabled=False, uk_rule=True))
    assert off.rules().machine_cooldown_s == 0  # no AMD, no machine verdicts to wait out
