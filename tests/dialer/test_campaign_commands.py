"""`dialer campaign ...` in process on a real SQLite file: settings from options, the editing
rules, start by schedule, what show and list print, and refusals with exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.campaign.settings import CampaignSettings
from dialer.store.sqlite import SqliteStore
from media.amd import AmdSettings


def test_create_takes_every_setting_from_options(run: Any) -> None:
    made = run(
        "campaign",
        "create",
        "March reminders",
        "--description",
        "appointments",
        "--max-concurrent",
        "30",
        "--ring-timeout",
        "25",
        "--max-attempts",
        "4",
        "--retry-delay",
        "1800",
        "--retry-delay-for",
        "busy=300",
        "--retry-on",
        "busy,no_answer,voicemail",
        "--goal",
        "confirmed=true",
        "--window",
        "Mon-Fri 09:00-17:30",
        "--hours",
        "09:00-20:00",
        "--zone",
        "America/New_York",
        "--repeat",
        "weekly",
        "--on",
        "Mon,Thu",
        "--at",
        "10:00",
        "--from",
        "2027-01-04",
        "--times",
        "6",
        "--json",
    )
    assert made.code == 0, made.err
    shown = made.json()
    assert (shown["campaign"], shown["state"], shown["name"]) == (1, "draft", "March reminders")
    settings = CampaignSettings.from_dict(shown["settings"])
    assert settings.max_concurrent == 30 and settings.ring_timeout_s == 25.0
    rules = settings.retry
    assert (rules.max_attempts, rules.retry_delay_s, dict(rules.delay_by_outcome)) == (
        4,
        1800.0,
        {"busy": 300.0},
    )
    assert rules.retry_outcomes == {"busy", "no_answer"} and rules.retry_voicemail
    assert (rules.goal_variable, rules.goal_value) == ("confirmed", "true")
    assert shown["settings"]["window"] == {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "start": "09:00",
        "end": "17:30",
        "zone": "America/New_York",
    }
    assert shown["settings"]["recipient_hours"] == "09:00-20:00"
    assert shown["settings"]["schedule"] == {
        "kind": "weekly",
        "days": ["Mon", "Thu"],
        "at": "10:00",
        "zone": "America/New_York",
        "starts": "2027-01-04",
        "ends_on": None,
        "occurrences": 6,
    }


def test_answering_machine_detection_is_set_with_its_detector(run: Any, tmp_path: Any) -> None:
    message = tmp_path / "message.xml"
    message.write_text("<Response><Say>Please call us back.</Say></Response>")
    made = run(
        "campaign", "create", "Reminders", "--amd", "--on-machine", "message",
        "--message-flow", str(message), "--on-human", "agent", "--amd-unknown", "machine",
        "--amd-wait", "--uk-amd-rule", "--amd-param", "max_ms=9000",
        "--amd-param", "human_pause_ms=900", "--json",
    )  # fmt: skip
    assert made.code == 0, made.err
    policy = CampaignSettings.from_dict(made.json()["settings"]).answering
    assert (policy.enabled, policy.on_machine) == (True, "message")
    assert policy.message_flow == str(message)
    assert (policy.on_human, policy.unknown_as, policy.wait, policy.uk_rule) == (
        "agent", "machine", True, True,
    )  # fmt: skip
    assert (policy.detector.max_ms, policy.detector.human_pause_ms) == (9000, 900)
    assert policy.detector.machine_run_ms == AmdSettings().machine_run_ms  # the rest kept
    off = run("campaign", "edit", "1", "--no-amd", "--json")
    assert off.code == 0, off.err
    assert not CampaignSettings.from_dict(off.json()["settings"]).answering.enabled


def test_the_safe_harbor_message_is_the_campaigns_own_until_cleared(
    run: Any, tmp_path: Any
) -> None:
    said = "Acme Roofing called about your quote. To opt out, press 9."
    made = run("campaign", "create", "Roofs", "--mode", "predictive",
               "--safe-harbor-message", said, "--json")  # fmt: skip
    assert made.code == 0, made.err
    assert CampaignSettings.from_dict(made.json()["settings"]).safe_harbor_message == said
    recording = tmp_path / "harbor.wav"
    swapped = run("campaign", "edit", "1", "--safe-harbor-message", "",
                  "--safe-harbor-file", str(recording), "--json")  # fmt: skip
    assert swapped.code == 0, swapped.err
    settings = CampaignSettings.from_dict(swapped.json()["settings"])
    assert (settings.safe_harbor_message, settings.safe_harbor_file) == (None, str(recording))


def test_wrong_options_are_refused_naming_the_option(run: Any, store: SqliteStore) -> None:
    for options, named in (
        (["--window", "Mon-Fri 9-5"], "--window"),
        (["--window", "Funday 09:00-17:00"], "--window"),
        (["--zone", "Mars/Base"], "--zone"),
        (["--hours", "22:00-06:00"], "--hours"),
        (["--retry-on", "busy,bored"], "retries"),
        (["--goal", "confirmed"], "--goal"),
        (["--max-concurrent", "0"], "--max-concurrent"),
        (["--repeat", "weekly"], "--on"),
        (["--on", "Mon"], "--on"),  # without --repeat
        (["--start-at", "2027-01-04T09:00", "--repeat", "daily"], "--repeat"),
        (["--start-at", "soon"], "--start-at"),
        (["--amd", "--on-machine", "message"], "--on-machine"),  # no --message-flow
        (["--amd-param", "max_wait=3"], "--amd-param"),
        (["--amd-param", "max_ms=soon"], "--amd-param"),
        (["--amd-param", "vad_aggressiveness=7"], "--amd-param"),
        (["--safe-harbor-message", " "], "--safe-harbor-message"),
        (["--safe-harbor-message", "Acme", "--safe-harbor-file", "a.wav"], "--safe-harbor-file"),
    ):
        refused = run("campaign", "create", "x", *options)
        assert refused.code == 1, options
        assert refused.err.startswith(f"dialer: {named}:"), (options, refused.err)
    assert store.list_campaigns() == []  # nothing half-created


def test_a_draft_is_edited_freely_a_started_one_only_renamed(run: Any, store: SqliteStore) -> None:
    assert run("campaign", "create", "spring").code == 0
    edited = run("campaign", "edit", "1", "--max-attempts", "5", "--name", "spring 2", "--json")
    assert edited.code == 0, edited.err
    assert edited.json()["name"] == "spring 2"
    assert edited.json()["settings"]["retry"]["max_attempts"] == 5
    assert run("campaign", "start", "1").code == 0
    refused = run("campaign", "edit", "1", "--max-attempts", "2")
    assert refused.code == 1
    assert "a running campaign cannot change its settings" in refused.err
    assert store.get_campaign(1).settings["retry"]["max_attempts"] == 5  # unchanged
    renamed = run("campaign", "edit", "1", "--description", "now dialling", "--json")
    assert renamed.code == 0 and renamed.json()["description"] == "now dialling"
    tagged = run("campaign", "edit", "1", "--tags", "renewals, Q1,q1", "--json")
    assert tagged.code == 0, tagged.err
    assert tagged.json()["tags"] == ["renewals", "Q1"]  # labels change in any state
    assert run("campaign", "edit", "1", "--tags", "x" * 41).code == 1
    assert run("campaign", "duplicate", "1").code == 0
    assert store.get_campaign(2).tags == ("renewals", "Q1")
    assert run("campaign", "edit", "2", "--tags", "").code == 0
    assert store.get_campaign(2).tags == ()


def test_start_follows_the_schedule(run: Any, store: SqliteStore) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0, tzinfo=None)
    assert run("campaign", "create", "later", "--start-at", soon.isoformat()).code == 0
    started = run("campaign", "start", "1", "--json")
    assert started.code == 0
    assert started.json()["state"] == "scheduled"
    assert store.get_campaign(1).next_run_at == soon.replace(tzinfo=UTC).timestamp()
    assert started.json()["next_run_at"] == soon.isoformat() + "Z"

    assert run("campaign", "create", "now").code == 0
    assert run("campaign", "start", "2", "--json").json()["state"] == "running"

    past = ["--repeat", "daily", "--from", "2020-01-01", "--until", "2020-01-31"]
    assert run("campaign", "create", "over", *past).code == 0
    ended = run("campaign", "start", "3")
    assert ended.code == 1 and "schedule: has no run left" in ended.err
    assert store.get_campaign(3).state == "draft"


def test_show_and_list_as_text_and_as_json(run: Any, store: SqliteStore, tmp_path: Any) -> None:
    assert run("campaign", "create", "spring", "--max-concurrent", "3").code == 0
    contacts = tmp_path / "c.csv"
    contacts.write_text("customerName,phone,email\nAnn,+14155550100,\nBob,+14155550101,\n")
    assert run("contacts", "import", "1", str(contacts)).code == 0
    shown = run("campaign", "show", "1", "--json").json()
    assert shown["progress"] | {"next_call": None} == {
        "total": 2,
        "called": 0,
        "completed": 0,
        "failed": 0,
        "remaining": 2,
        "in_progress": 0,
        "success_rate": 0.0,
        "next_call": None,
    }
    assert shown["progress"]["next_call"] == "now"
    text = run("campaign", "show", "1")
    assert text.code == 0
    lines = [line.split() for line in text.out.splitlines()]
    for expected in (["name", "spring"], ["max_concurrent", "3"], ["remaining", "2"]):
        assert expected in lines, text.out
    assert ["outcomes", "busy,", "failed,", "no_answer"] in lines and ["next_call", "now"] in lines
    listing = run("campaign", "list")
    assert listing.out.splitlines()[1].split()[:3] == ["campaign", "name", "state"]
    assert listing.out.splitlines()[2].split()[:3] == ["1", "spring", "draft"]


def test_controls_obey_the_state_table_and_unknown_campaigns_exit_1(run: Any) -> None:
    assert run("campaign", "create", "spring").code == 0
    paused = run("campaign", "pause", "1")
    assert paused.code == 1 and "no transition from 'draft' on 'pause'" in paused.err
    copy = run("campaign", "duplicate", "1", "--json")
    assert copy.code == 0 and copy.json()["campaign"] == 2 and copy.json()["copied_from"] == 1
    assert run("campaign", "stop", "2", "--json").json()["state"] == "stopped"
    assert run("campaign", "resume", "2").code == 1  # stop is final
    missing = run("campaign", "show", "9")
    assert missing.code == 1 and "no campaign 9" in missing.err


def test_every_change_from_the_command_line_is_audited_and_delete_waits_for_a_stop(
    run: Any, db: Any
) -> None:
    assert run("campaign", "create", "Spring").code == 0
    assert run("campaign", "start", "1").code == 0
    refused = run("campaign", "delete", "1")
    assert refused.code == 1 and "stop it first" in refused.err
    assert run("campaign", "stop", "1").code == 0
    assert run("campaign", "delete", "1").code == 0
    assert run("campaign", "show", "1").code == 1  # gone
    store = SqliteStore(db)
    entries = list(reversed(store.list_audit(target="campaign:1")))
    store.close()
    assert [e.action for e in entries] == [
        "campaign.create", "campaign.start", "campaign.stop", "campaign.delete"
    ]  # fmt: skip
    assert {(e.actor, e.source) for e in entries} == {("cli", "cli")}
    start, stop = entries[1], entries[2]
    assert start.before is not None and start.after is not None
    assert (start.before["state"], start.after["state"]) == ("draft", "running")
    assert stop.after is not None and stop.after["state"] == "stopped"
    assert entries[3].before is not None and entries[3].before["name"] == "Spring"


def test_contacts_leads_dnc_and_agents_changed_from_the_command_line_are_audited(
    run: Any, db: Any, tmp_path: Any
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("customerName,phone,email\nJane,+14155550100,\n")
    assert run("campaign", "create", "Spring").code == 0
    assert run("contacts", "import", "1", str(contacts)).code == 0
    assert run("contacts", "complete", "1").code == 0
    assert run("contacts", "reset", "999").code == 1  # refused: nothing to audit
    assert run("dnc", "add", "+14155550199").code == 0
    assert run("dnc", "add", "+14155550199").code == 0  # already listed: no change recorded
    store = SqliteStore(db)
    entries = list(reversed(store.list_audit()))
    store.close()
    assert [(e.action, e.target) for e in entries] == [
        ("campaign.create", "campaign:1"),
        ("contacts.import", "campaign:1"),
        ("lead.complete", "lead:1"),
        ("dnc.add", "dnc:+14155550199"),
        ("dnc.add", "dnc:+14155550199"),
    ]
    imported, completed, added, again = entries[1:]
    assert imported.after is not None and imported.after["new_leads"] == 1
    assert completed.before is not None and completed.after is not None
    assert (completed.before["state"], completed.after["state"]) == ("created", "completed")
    assert added.after == {"number": "+14155550199", "campaign_id": None}
    assert again.after is None and again.before is None
