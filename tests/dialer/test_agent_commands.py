"""`dialer agent ...` end to end, in process, on a real SQLite file: passwords from stdin
or the terminal (never argv), the policy's refusals, listing and showing (by id or
extension), editing, a realm change and its mend, removal; no hash ever printed."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dialer.agents.states import AgentState, AgentStateChange
from dialer.campaign.export import iso_utc
from dialer.commands import agent as agent_commands
from dialer.store.sqlite import SqliteStore

PASSWORD = "Circle Of Life"
T0 = 1_800_000_000.0


@pytest.fixture
def ann(run: Any, stdin: Any) -> int:
    stdin(PASSWORD + "\n")
    ran = run("agent", "add", "Ann Lee", "--extension", "1001", "--password-stdin", "--json")
    assert ran.code == 0, ran.err
    agent_id: int = ran.json()["id"]
    return agent_id


def secrets_of(store: SqliteStore) -> list[str]:
    row = store._db.execute("SELECT password_hash, ha1_md5, ha1_sha256 FROM agents").fetchone()
    return [row[0], row[0].split("$")[-1], row[1], row[2]]


def assert_no_secret(store: SqliteStore, *texts: str) -> None:
    for text in texts:
        for secret in [*secrets_of(store), PASSWORD, "scrypt$"]:
            assert secret not in text


# -- add ----------------------------------------------------------------------------


def test_add_reads_the_password_from_stdin_and_prints_no_secret(
    run: Any, store: SqliteStore, stdin: Any
) -> None:
    campaign = store.create_campaign("spring", now=T0)
    stdin(PASSWORD + "\r\n")
    ran = run(
        "agent", "add", "Ann Lee", "--extension", "1001", "--campaign", str(campaign),
        "--skill", "spanish", "--skill", "billing", "--password-stdin",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert "Ann Lee" in ran.out and "1001" in ran.out and "spanish, billing" in ran.out
    assert "ok (realm 'dialer')" in ran.out
    agent = store.agent_by_extension("1001")
    assert agent is not None and agent.campaigns == (campaign,)
    assert store.check_agent_login("1001", PASSWORD) == agent  # the line ending was dropped
    assert_no_secret(store, ran.out, ran.err)


def test_add_as_json(run: Any, store: SqliteStore, stdin: Any) -> None:
    stdin(PASSWORD)
    ran = run("agent", "add", "Ann", "--extension", "1001", "--password-stdin", "--json")
    assert ran.code == 0
    shown = ran.json()
    assert shown["extension"] == "1001" and shown["campaigns"] == [] and shown["any_campaign"]
    assert shown["created_at"].endswith("Z") and shown["removed_at"] is None
    assert not {"password", "password_hash", "ha1_md5", "ha1_sha256"} & set(shown)
    assert_no_secret(store, ran.out, ran.err)


def test_add_asks_on_the_terminal_twice(run: Any, store: SqliteStore, terminal: Any) -> None:
    terminal.answers = [PASSWORD, PASSWORD]
    ran = run("agent", "add", "Ann", "--extension", "1001")
    assert ran.code == 0, ran.err
    assert len(terminal.asked) == 2 and "extension 1001" in terminal.asked[0]
    assert store.check_agent_login("1001", PASSWORD) is not None


def test_two_different_answers_add_nothing(run: Any, store: SqliteStore, terminal: Any) -> None:
    terminal.answers = [PASSWORD, PASSWORD + "!"]
    ran = run("agent", "add", "Ann", "--extension", "1001")
    assert ran.code == 1
    assert "the two passwords differ" in ran.err
    assert store.list_agents() == []


def test_no_terminal_and_no_stdin_flag_adds_nothing(
    run: Any, store: SqliteStore, terminal: Any
) -> None:
    ran = run("agent", "add", "Ann", "--extension", "1001")
    assert ran.code == 1 and "--password-stdin" in ran.err
    assert store.list_agents() == []


def test_a_short_password_is_refused(run: Any, store: SqliteStore, stdin: Any) -> None:
    stdin("1234567\n")
    ran = run("agent", "add", "Ann", "--extension", "1001", "--password-stdin")
    assert ran.code == 1
    assert "a password needs at least 8 characters" in ran.err
    assert store.list_agents() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--password", "Circle Of Life"],
        ["--password=Circle Of Life"],
        ["--passw", "Circle Of Life"],
        ["--password-s"],  # no abbreviations at all: none can swallow a secret
    ],
)
def test_a_password_is_never_taken_from_the_command_line(
    run: Any, store: SqliteStore, argv: list[str]
) -> None:
    ran = run("agent", "add", "Ann", "--extension", "1001", *argv)
    assert ran.code == 2
    assert store.list_agents() == []


def test_a_bad_extension_is_a_usage_error(run: Any, store: SqliteStore, terminal: Any) -> None:
    ran = run("agent", "add", "Ann", "--extension", "10a")
    assert ran.code == 2
    assert "an extension is 2 to 10 digits" in ran.err
    assert terminal.asked == []


def test_a_taken_extension_is_refused_before_the_password_is_asked(
    run: Any, store: SqliteStore, ann: int, terminal: Any
) -> None:
    ran = run("agent", "add", "Bob", "--extension", "1001")
    assert ran.code == 1
    assert "extension 1001 is already an agent's" in ran.err
    assert terminal.asked == []


def test_an_unknown_campaign_is_refused(run: Any, store: SqliteStore, stdin: Any) -> None:
    stdin(PASSWORD)
    ran = run("agent", "add", "Ann", "--extension", "1001", "--campaign", "9", "--password-stdin")
    assert ran.code == 1 and "no campaign 9" in ran.err
    assert store.list_agents() == []


# -- list and show --------------------------------------------------------------------


def test_list_as_a_table_and_as_json(run: Any, store: SqliteStore, ann: int, stdin: Any) -> None:
    stdin(PASSWORD)
    assert run("agent", "add", "Bob", "--extension", "1002", "--password-stdin").code == 0
    ran = run("agent", "list")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[0] == "agents: 2"
    header = ["id", "name", "extension", "campaigns", "skills", "credentials", "removed_at"]
    assert lines[1].split() == header
    assert "Ann Lee" in lines[2] and "1002" in lines[3]
    rows = run("agent", "list", "--json").json()["agents"]
    assert [(row["id"], row["extension"], row["credentials"]) for row in rows] == [
        (ann, "1001", "ok"),
        (ann + 1, "1002", "ok"),
    ]
    assert_no_secret(store, ran.out)


def test_show_by_id_or_extension_with_state_and_today(
    run: Any, store: SqliteStore, ann: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = T0 - T0 % 86_400 + 15  # 15 s into a UTC day: the lunch before it is not today's
    monkeypatch.setattr(agent_commands, "time", SimpleNamespace(time=lambda: now))
    store.record_agent_states([AgentStateChange(ann, AgentState.PAUSED, now - 60, "lunch")])
    store.record_agent_states(
        [
            AgentStateChange(ann, AgentState.PAUSED, now - 15),
            AgentStateChange(ann, AgentState.READY, now - 10),
        ]
    )
    by_id, by_extension = run("agent", "show", str(ann), "--json"), run("agent", "show", "1001")
    assert by_id.code == by_extension.code == 0
    shown = by_id.json()
    assert (shown["id"], shown["state"]) == (ann, "ready")
    assert [change["state"] for change in shown["recent_states"]] == ["paused", "ready"]
    assert shown["today"]["calls"] == 0
    assert shown["today"]["seconds_in"] == {
        "logged_out": 0.0, "paused": 5.0, "ready": 10.0, "reserved": 0.0, "on_call": 0.0,
        "wrap_up": 0.0,
    }  # fmt: skip
    assert shown["today"]["since"] == iso_utc(now - 15)
    assert re.search(r"^state +ready$", by_extension.out, re.MULTILINE)
    assert "\ntoday:\n" in by_extension.out
    assert_no_secret(store, by_id.out, by_extension.out)


def test_an_id_that_is_another_agent_s_extension_is_refused_as_ambiguous(
    run: Any, store: SqliteStore, stdin: Any
) -> None:
    stdin(PASSWORD)
    assert run("agent", "add", "Ann", "--extension", "22", "--password-stdin").code == 0
    for _ in range(20):  # agent 22 will be Bob
        store.remove_agent(store.add_agent("x", "99", PASSWORD, "dialer", now=T0).id, now=T0)
    stdin(PASSWORD)
    assert run("agent", "add", "Bob", "--extension", "1002", "--password-stdin").code == 0
    ran = run("agent", "show", "22")
    assert ran.code == 1
    assert "22 is agent 22's id and agent 1's extension: say id:22 or ext:22" in ran.err
    assert run("agent", "show", "id:22", "--json").json()["name"] == "Bob"
    assert run("agent", "show", "ext:22", "--json").json()["name"] == "Ann"
    assert run("agent", "show", "1002", "--json").json()["name"] == "Bob"


def test_unknown_agents(run: Any, store: SqliteStore, ann: int) -> None:
    assert run("agent", "show", "404").err.strip() == "dialer: no agent with id or extension 404"
    assert run("agent", "show", "ext:404").code == 1
    assert run("agent", "remove", "id:404").code == 1
    assert run("agent", "show", "bob").code == 2
    assert run("agent", "show", "pin:1001").code == 2


# -- edit, password, remove -------------------------------------------------------------


def test_edit_renames_and_reassigns(run: Any, store: SqliteStore, ann: int) -> None:
    first, second = (store.create_campaign(n, now=T0) for n in ("a", "b"))
    ran = run(
        "agent", "edit", "1001", "--name", "Ann Smith", "--campaign", str(second),
        "--campaign", str(first), "--skill", "french", "--json",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    shown = ran.json()
    assert (shown["name"], shown["campaigns"], shown["skills"]) == (
        "Ann Smith",
        [first, second],
        ["french"],
    )
    cleared = run("agent", "edit", str(ann), "--any-campaign", "--no-skills", "--json").json()
    assert (cleared["campaigns"], cleared["skills"], cleared["name"]) == ([], [], "Ann Smith")
    both = run("agent", "edit", str(ann), "--campaign", str(first), "--any-campaign")
    assert both.code == 1 and "not both" in both.err
    assert run("agent", "edit", str(ann), "--campaign", "99").code == 1
    assert store.get_agent(ann).campaigns == ()


def test_a_realm_change_is_shown_as_stale_and_a_new_password_mends_it(
    run: Any, store: SqliteStore, ann: int, stdin: Any, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[agents]\nrealm = "sip.example"\n')
    stale = run("agent", "show", "1001", "--config", str(config), "--json").json()
    assert stale["credentials"].startswith("stale: set in realm 'dialer'")
    assert f"dialer agent password id:{ann}" in stale["credentials"]
    listed = run("agent", "list", "--config", str(config), "--json").json()["agents"]
    assert listed[0]["credentials"] == "stale"

    stdin("a new password\n")
    ran = run("agent", "password", "1001", "--password-stdin", "--config", str(config))
    assert ran.code == 0, ran.err
    assert "ok (realm 'sip.example')" in ran.out
    assert store.check_agent_login("1001", "a new password") is not None
    assert store.check_agent_login("1001", PASSWORD) is None
    secrets = store.agent_secrets("1001")
    assert secrets is not None and secrets.realm == "sip.example"
    assert_no_secret(store, ran.out, ran.err)


def test_password_refusals_change_nothing(
    run: Any, store: SqliteStore, ann: int, stdin: Any, terminal: Any
) -> None:
    stdin("short\n")
    assert run("agent", "password", str(ann), "--password-stdin").code == 1
    terminal.answers = ["a new password", "another one!"]
    assert run("agent", "password", str(ann)).code == 1
    assert store.check_agent_login("1001", PASSWORD) is not None


def test_remove_keeps_the_history_and_frees_the_extension(
    run: Any, store: SqliteStore, ann: int, stdin: Any, terminal: Any
) -> None:
    ran = run("agent", "remove", "1001", "--json")
    assert ran.code == 0
    assert ran.json() == {"agent": ann, "extension": "1001", "removed": True}
    assert run("agent", "list", "--json").json()["agents"] == []
    everyone = run("agent", "list", "--all", "--json").json()["agents"]
    assert [row["id"] for row in everyone] == [ann] and everyone[0]["removed_at"]
    assert run("agent", "show", str(ann), "--json").json()["removed_at"] is not None
    assert run("agent", "remove", str(ann)).code == 1
    assert run("agent", "password", str(ann)).code == 1 and terminal.asked == []
    stdin(PASSWORD)
    again = run("agent", "add", "Ann again", "--extension", "1001", "--password-stdin", "--json")
    assert again.code == 0 and again.json()["id"] != ann


def test_agent_changes_are_audited_without_their_passwords(
    run: Any, stdin: Any, ann: int, db: Path
) -> None:
    stdin("a.new.password\n")
    assert run("agent", "password", str(ann), "--password-stdin").code == 0
    assert run("agent", "edit", str(ann), "--name", "Ann Smith").code == 0
    assert run("agent", "remove", str(ann)).code == 0
    store = SqliteStore(db)
    entries = list(reversed(store.list_audit(target=f"agent:{ann}")))
    store.close()
    assert [e.action for e in entries] == ["agent.add", "agent.password", "agent.edit",
                                          "agent.remove"]  # fmt: skip
    edited = entries[2]
    assert edited.before is not None and edited.after is not None
    assert (edited.before["name"], edited.after["name"]) == ("Ann Lee", "Ann Smith")
    logged = repr([(e.before, e.after) for e in entries])
    assert PASSWORD not in logged and "a.new.password" not in logged
