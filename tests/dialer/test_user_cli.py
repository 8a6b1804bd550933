"""`dialer user|token|audit ...`: in process on a real SQLite file (passwords from stdin
or the terminal, never argv; refusals before a password is asked; every change audited
as "cli" in its own transaction, never with a secret), then the real command line as
subprocesses: a token printed once that works, a password that appears nowhere, and
the audit export's CSV."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dialer.campaign.export import iso_utc
from dialer.commands import token as token_commands
from dialer.commands import user as user_commands
from dialer.commands.audit import EXPORT_COLUMNS
from dialer.store.repository import AuditEntry, StoreError
from dialer.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SECRET = re.compile(r"dlr_[A-Za-z0-9_-]{43}")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (user_commands, token_commands):
        monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: NOW))


@pytest.fixture
def alice(run: Any, stdin: Any) -> int:
    stdin(PASSWORD + "\n")
    ran = run("user", "add", "alice", "--role", "manager", "--password-stdin", "--json")
    assert ran.code == 0, ran.err
    user_id: int = ran.json()["id"]
    return user_id


def actions(store: SqliteStore) -> list[str]:
    return [entry.action for entry in reversed(store.list_audit())]


def assert_cli_entry(entry: AuditEntry, action: str, target: str) -> None:
    assert (entry.action, entry.target, entry.at) == (action, target, NOW)
    assert (entry.actor, entry.role, entry.source) == ("cli", "", "cli")


# -- users ----------------------------------------------------------------------------


def test_add_reads_the_password_from_stdin_and_is_audited(
    run: Any, store: SqliteStore, stdin: Any
) -> None:
    stdin(PASSWORD + "\r\n")
    ran = run("user", "add", "alice", "--role", "manager", "--password-stdin")
    assert ran.code == 0, ran.err
    assert re.search(r"^username +alice$", ran.out, re.MULTILINE)
    assert re.search(r"^role +manager$", ran.out, re.MULTILINE)
    user = store.check_user_login("alice", PASSWORD)  # the line ending was dropped
    assert user is not None
    (entry,) = store.list_audit()
    assert_cli_entry(entry, "user.add", "user:alice")
    assert entry.before is None
    assert entry.after == {"id": user.id, "username": "alice", "role": "manager", "disabled": False}
    assert PASSWORD not in ran.out + ran.err


def test_add_asks_twice_on_a_terminal(run: Any, store: SqliteStore, terminal: Any) -> None:
    terminal.answers = [PASSWORD, PASSWORD]
    ran = run("user", "add", "alice", "--role", "admin")
    assert ran.code == 0, ran.err
    assert len(terminal.asked) == 2 and "user alice" in terminal.asked[0]
    assert store.check_user_login("alice", PASSWORD) is not None


def test_two_different_answers_add_nothing(run: Any, store: SqliteStore, terminal: Any) -> None:
    terminal.answers = [PASSWORD, PASSWORD + "!"]
    ran = run("user", "add", "alice", "--role", "admin")
    assert ran.code == 1 and "the two passwords differ" in ran.err
    assert store.list_users() == [] and store.list_audit() == []


def test_no_terminal_and_no_stdin_flag_adds_nothing(
    run: Any, store: SqliteStore, stdin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin(PASSWORD + "\n")  # piped, but without --password-stdin: not read, not asked
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or PASSWORD)
    ran = run("user", "add", "alice", "--role", "admin")
    assert ran.code == 1 and "--password-stdin" in ran.err
    assert asked == [] and store.list_users() == []


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("ALICE", "user 'ALICE' already exists"),
        ("al ice", "a username is 1 to 64"),
        ("cli", "reserved"),
    ],
)
def test_a_bad_or_taken_username_is_refused_before_the_password_is_asked(
    run: Any, store: SqliteStore, alice: int, terminal: Any, username: str, reason: str
) -> None:
    ran = run("user", "add", username, "--role", "agent")
    assert ran.code == 1 and reason in ran.err
    assert terminal.asked == []
    assert actions(store) == ["user.add"]  # alice's only


@pytest.mark.parametrize(
    ("password", "reason"),
    [("1234567", "at least 8 characters"), ("x" * 1025, "at most 1024 characters")],
)
def test_a_password_the_policy_refuses_adds_nothing(
    run: Any, store: SqliteStore, stdin: Any, password: str, reason: str
) -> None:
    stdin(password + "\n")
    ran = run("user", "add", "alice", "--role", "admin", "--password-stdin")
    assert ran.code == 1 and reason in ran.err
    assert store.list_users() == [] and store.list_audit() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--password", PASSWORD],
        [f"--password={PASSWORD}"],
        ["--passw", PASSWORD],
        ["--password-s"],  # no abbreviations at all: none can swallow a secret
        ["--role", "root"],
    ],
)
def test_usage_errors_add_nothing(run: Any, store: SqliteStore, argv: list[str]) -> None:
    ran = run("user", "add", "alice", *(argv if "--role" in argv else ["--role", "admin", *argv]))
    assert ran.code == 2
    assert store.list_users() == []


def test_list_and_show(run: Any, store: SqliteStore, alice: int, stdin: Any) -> None:
    stdin(PASSWORD)
    assert run("user", "add", "bob", "--role", "agent", "--password-stdin").code == 0
    store.create_api_token(alice, "ci", now=NOW)
    lines = run("user", "list").out.splitlines()
    assert lines[0] == "users: 2"
    assert lines[1].split() == ["id", "username", "role", "disabled", "created_at", "updated_at"]
    assert lines[2].split()[:4] == [str(alice), "alice", "manager", "no"]
    rows = run("user", "list", "--json").json()["users"]
    assert [(row["username"], row["role"]) for row in rows] == [
        ("alice", "manager"),
        ("bob", "agent"),
    ]
    shown = run("user", "show", "ALICE", "--json").json()
    assert (shown["id"], shown["created_at"]) == (alice, iso_utc(NOW))
    assert [(t["name"], t["status"]) for t in shown["tokens"]] == [("ci", "active")]
    assert "password" not in json.dumps(shown) and "hash" not in json.dumps(shown)


def test_edit_is_audited_with_before_and_after(run: Any, store: SqliteStore, alice: int) -> None:
    ran = run("user", "edit", "alice", "--role", "admin", "--disable", "--json")
    assert ran.code == 0, ran.err
    assert (ran.json()["role"], ran.json()["disabled"]) == ("admin", True)
    assert store.check_user_login("alice", PASSWORD) is None
    entry = store.list_audit()[0]
    assert_cli_entry(entry, "user.edit", "user:alice")
    assert entry.before == {"id": alice, "username": "alice", "role": "manager", "disabled": False}
    assert entry.after == {"id": alice, "username": "alice", "role": "admin", "disabled": True}
    assert run("user", "edit", "alice", "--enable").code == 0
    assert store.check_user_login("alice", PASSWORD) is not None
    assert run("user", "edit", "alice", "--role", "admin").code == 0  # no change: not audited
    assert actions(store) == ["user.add", "user.edit", "user.edit"]
    assert run("user", "edit", "alice", "--disable", "--enable").code == 2


def test_a_new_password_is_audited_without_it(
    run: Any, store: SqliteStore, alice: int, stdin: Any
) -> None:
    stdin("a new password\n")
    ran = run("user", "password", "alice", "--password-stdin")
    assert ran.code == 0, ran.err
    assert store.check_user_login("alice", "a new password") is not None
    assert store.check_user_login("alice", PASSWORD) is None
    entry = store.list_audit()[0]
    assert_cli_entry(entry, "user.password", "user:alice")
    assert (entry.before, entry.after) == (None, None)
    stdin("short\n")
    assert run("user", "password", "alice", "--password-stdin").code == 1
    assert actions(store) == ["user.add", "user.password"]


def test_remove_revokes_the_tokens_and_is_audited(
    run: Any, store: SqliteStore, alice: int, terminal: Any
) -> None:
    _, secret = store.create_api_token(alice, "ci", now=NOW)
    ran = run("user", "remove", "alice", "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"id": alice, "username": "alice", "removed": True, "tokens_revoked": 1}
    assert store.check_api_token(secret, now=NOW + 1) is None
    entry = store.list_audit()[0]
    assert_cli_entry(entry, "user.remove", "user:alice")
    assert entry.before == {"id": alice, "username": "alice", "role": "manager", "disabled": False}
    assert entry.after is None
    for argv in (["show"], ["remove"], ["edit", "--disable"], ["password"]):
        again = run("user", argv[0], "alice", *argv[1:])
        assert again.code == 1 and "no user 'alice'" in again.err
    assert terminal.asked == []  # not even for `password`


def test_a_change_whose_audit_entry_fails_is_not_made(
    run: Any, store: SqliteStore, alice: int, stdin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: SqliteStore, **entry: Any) -> AuditEntry:
        raise StoreError("the audit log is unavailable")

    monkeypatch.setattr(SqliteStore, "record_audit", broken)
    stdin(PASSWORD)
    assert run("user", "add", "bob", "--role", "agent", "--password-stdin").code == 1
    assert run("user", "edit", "alice", "--disable").code == 1
    assert run("token", "create", "alice", "--name", "ci").code == 1
    ran = run("user", "remove", "alice")
    assert ran.code == 1 and "the audit log is unavailable" in ran.err
    assert [user.username for user in store.list_users()] == ["alice"]
    assert store.find_user("alice") is not None and not store.get_user(alice).disabled
    assert store.list_api_tokens() == []


# -- tokens ---------------------------------------------------------------------------


def test_create_shows_the_token_once_and_warns(run: Any, store: SqliteStore, alice: int) -> None:
    ran = run("token", "create", "alice", "--name", "nightly export", "--expires-days", "30")
    assert ran.code == 0, ran.err
    (secret,) = SECRET.findall(ran.out)
    assert "never shown again" in ran.err
    user = store.check_api_token(secret, now=NOW + 1)
    assert user is not None and user.id == alice
    assert store.check_api_token(secret, now=NOW + 30 * 86400) is None  # expired
    (token,) = store.list_api_tokens(alice)
    assert token.expires_at == NOW + 30 * 86400 and token.name == "nightly export"
    entry = store.list_audit()[0]
    assert_cli_entry(entry, "token.create", f"token:{token.id}")
    assert entry.before is None and entry.after is not None
    assert entry.after["username"] == "alice" and entry.after["prefix"] == secret[:8]
    listed = run("token", "list", "--json")
    assert secret not in listed.out + json.dumps([e.after for e in store.list_audit()])
    assert listed.json()["tokens"][0]["prefix"] == secret[:8]


def test_create_as_json(run: Any, store: SqliteStore, alice: int) -> None:
    ran = run("token", "create", "alice", "--name", "ci", "--json")
    assert ran.code == 0 and ran.err == ""
    shown = ran.json()
    assert SECRET.fullmatch(shown["token"]) and shown["token"].startswith(shown["prefix"])
    assert (shown["user"], shown["status"], shown["expires_at"]) == ("alice", "active", None)
    assert store.check_api_token(shown["token"], now=NOW) is not None


def test_list_by_user(run: Any, store: SqliteStore, alice: int, stdin: Any) -> None:
    stdin(PASSWORD)
    run("user", "add", "bob", "--role", "agent", "--password-stdin")
    for user in ("alice", "bob", "alice"):
        assert run("token", "create", user, "--name", f"{user}'s").code == 0
    everyone = run("token", "list", "--json").json()["tokens"]
    assert [t["user"] for t in everyone] == ["alice", "bob", "alice"]
    mine = run("token", "list", "ALICE", "--json").json()["tokens"]
    assert [t["id"] for t in mine] == [everyone[0]["id"], everyone[2]["id"]]
    lines = run("token", "list").out.splitlines()
    assert lines[0] == "tokens: 3" and lines[1].split()[:5] == [
        "id",
        "user",
        "name",
        "prefix",
        "status",
    ]
    unknown = run("token", "list", "carol")
    assert unknown.code == 1 and "no user 'carol'" in unknown.err


def test_revoke_is_audited_once(run: Any, store: SqliteStore, alice: int) -> None:
    token, secret = store.create_api_token(alice, "ci", now=NOW - 60)
    ran = run("token", "revoke", str(token.id), "--json")
    assert ran.code == 0, ran.err
    assert (ran.json()["status"], ran.json()["revoked_at"]) == ("revoked", iso_utc(NOW))
    assert store.check_api_token(secret, now=NOW + 1) is None
    entry = store.list_audit()[0]
    assert_cli_entry(entry, "token.revoke", f"token:{token.id}")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["revoked_at"], entry.after["revoked_at"]) == (None, NOW)
    assert run("token", "revoke", str(token.id)).code == 0  # already revoked: nothing to record
    assert actions(store) == ["user.add", "token.revoke"]
    missing = run("token", "revoke", "99")
    assert missing.code == 1 and "no api token 99" in missing.err


@pytest.mark.parametrize("days", ["0", "-1", "1.5", "x", "36501"])
def test_a_bad_expiry_is_a_usage_error(run: Any, store: SqliteStore, alice: int, days: str) -> None:
    assert run("token", "create", "alice", "--name", "ci", "--expires-days", days).code == 2
    assert store.list_api_tokens() == []


def test_a_token_for_nobody_or_without_a_name_is_refused(
    run: Any, store: SqliteStore, alice: int
) -> None:
    nobody = run("token", "create", "carol", "--name", "ci")
    assert nobody.code == 1 and "no user 'carol'" in nobody.err
    blank = run("token", "create", "alice", "--name", "  ")
    assert blank.code == 1 and "a token's name" in blank.err
    assert store.list_api_tokens() == [] and actions(store) == ["user.add"]


# -- the audit log --------------------------------------------------------------------


def entries(store: SqliteStore) -> list[AuditEntry]:
    """Four entries an hour apart from NOW, a web user's and the command line's."""
    made = []
    for hour, (actor, role, action, target, source) in enumerate(
        [
            ("alice", "manager", "campaign.start", "campaign:3", "192.0.2.7"),
            ("cli", "", "user.add", "user:bob", "cli"),
            ("alice", "manager", "campaign.stop", "campaign:3", "192.0.2.7"),
            ("bob", "admin", "campaign.start", "=HYPERLINK(1)", "2001:db8::1"),
        ]
    ):
        made.append(
            store.record_audit(
                at=NOW + hour * 3600,
                actor=actor,
                role=role,
                action=action,
                target=target,
                source=source,
                before={"state": "draft"} if hour == 0 else None,
                after={"state": "running"},
            )
        )
    return made


def ids(ran: Any) -> list[int]:
    assert ran.code == 0, ran.err
    return [entry["id"] for entry in ran.json()["entries"]]


def test_list_filters_newest_first(run: Any, store: SqliteStore) -> None:
    a, b, c, d = (entry.id for entry in entries(store))
    assert ids(run("audit", "list", "--json")) == [d, c, b, a]
    assert ids(run("audit", "list", "--since", "2027-01-15T09:00:00Z", "--json")) == [d, c, b]
    assert ids(run("audit", "list", "--until", "2027-01-15T09:00:00", "--json")) == [a]  # UTC
    window = ["--since", "2027-01-15T10:00:00+01:00", "--until", "2027-01-15T11:00Z"]
    assert ids(run("audit", "list", *window, "--json")) == [c, b]
    assert ids(run("audit", "list", "--since", "2027-01-16", "--json")) == []
    assert ids(run("audit", "list", "--actor", "alice", "--json")) == [c, a]
    assert ids(run("audit", "list", "--action", "campaign.start", "--json")) == [d, a]
    assert ids(run("audit", "list", "--target", "campaign:3", "--json")) == [c, a]
    assert ids(run("audit", "list", "--limit", "2", "--json")) == [d, c]
    shown = run("audit", "list", "--target", "user:bob", "--json").json()["entries"][0]
    assert shown == {
        "id": b, "at": "2027-01-15T09:00:00Z", "actor": "cli", "role": "", "action": "user.add",
        "target": "user:bob", "source": "cli", "before": None, "after": {"state": "running"},
    }  # fmt: skip
    text = run("audit", "list").out.splitlines()
    assert text[0] == "entries: 4" and "campaign.stop" in text[3]


@pytest.mark.parametrize(
    "argv", [["--since", "yesterday"], ["--until", "2027-13-01"], ["--limit", "0"]]
)
def test_bad_filters_are_usage_errors(run: Any, argv: list[str]) -> None:
    assert run("audit", "list", *argv).code == 2


def test_export_writes_every_matching_entry_oldest_first(
    run: Any, store: SqliteStore, tmp_path: Path
) -> None:
    entries(store)
    out = tmp_path / "audit.csv"
    ran = run("audit", "export", "--out", str(out), "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"file": str(out), "rows": 4}
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[1] == [
        "2027-01-15T08:00:00Z", "alice", "manager", "campaign.start", "campaign:3",
        '{"state": "draft"}', '{"state": "running"}', "192.0.2.7",
    ]  # fmt: skip
    assert [row[3] for row in rows[1:]] == [
        "campaign.start",
        "user.add",
        "campaign.stop",
        "campaign.start",
    ]
    assert rows[2][2] == "" and rows[2][5] == ""  # the command line has no role; no before
    assert rows[4][4] == "'=HYPERLINK(1)"  # inert in a spreadsheet
    run("audit", "export", "--out", str(out), "--actor", "alice")
    assert len(list(csv.reader(out.open(newline="")))) == 3


def test_export_to_an_unwritable_place_fails(run: Any, store: SqliteStore, tmp_path: Path) -> None:
    ran = run("audit", "export", "--out", str(tmp_path / "no such folder" / "audit.csv"))
    assert ran.code == 1 and "cannot write" in ran.err


# -- the real command line --------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Session:
    """One scenario run as subprocesses, each command's output kept."""

    db: Path
    export: Path
    ran: dict[str, Process]

    def everything_printed(self) -> str:
        return "".join(p.out + p.err for p in self.ran.values())


NEW_PASSWORD = "another horse battery"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    folder = tmp_path_factory.mktemp("cli")
    db, export = folder / "var" / "dialer.db", folder / "audit.csv"
    steps = {
        "add": (["user", "add", "alice", "--role", "admin", "--password-stdin"], PASSWORD + "\n"),
        "password": (["user", "password", "alice", "--password-stdin"], NEW_PASSWORD + "\n"),
        "create": (["token", "create", "alice", "--name", "ci", "--json"], ""),
        "second": (["token", "create", "alice", "--name", "spare", "--json"], ""),
        "revoke": (["token", "revoke", "2", "--json"], ""),
        "edit": (["user", "edit", "alice", "--role", "manager"], ""),
        "list": (["token", "list", "--json"], ""),
        "audit": (["audit", "list", "--json"], ""),
        "export": (["audit", "export", "--out", str(export)], ""),
    }
    ran = {}
    for name, (argv, given) in steps.items():
        done = subprocess.run(
            [sys.executable, "-m", "dialer.cli", *argv, "--db", str(db)],
            input=given,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        ran[name] = Process(tuple(argv), done.returncode, done.stdout, done.stderr)
        assert done.returncode == 0, (argv, done.stderr)
    return Session(db, export, ran)


def test_the_real_cli_prints_a_token_once_and_it_works(session: Session) -> None:
    secret = json.loads(session.ran["create"].out)["token"]
    assert SECRET.fullmatch(secret)
    assert session.everything_printed().count(secret) == 1  # in the create's answer only
    spare = json.loads(session.ran["second"].out)["token"]
    store = SqliteStore(session.db)
    try:
        (token, revoked) = store.list_api_tokens()
        user = store.check_api_token(secret, now=token.created_at + 1)
        assert user is not None and user.username == "alice"
        assert store.check_api_token(spare, now=token.created_at + 1) is None  # revoked
        assert revoked.revoked_at is not None
    finally:
        store.close()
    on_disk = b"".join(p.read_bytes() for p in session.db.parent.iterdir())
    assert secret.encode() not in on_disk and spare.encode() not in on_disk
    assert secret not in session.export.read_text()


def test_the_real_cli_never_shows_or_records_a_password(session: Session) -> None:
    printed = session.everything_printed() + session.export.read_text()
    for password in (PASSWORD, NEW_PASSWORD):
        assert password not in printed
    assert "scrypt$" not in printed
    on_disk = b"".join(p.read_bytes() for p in session.db.parent.iterdir())
    assert PASSWORD.encode() not in on_disk and NEW_PASSWORD.encode() not in on_disk
    store = SqliteStore(session.db)
    try:
        assert store.check_user_login("alice", NEW_PASSWORD) is not None
        assert "password" not in json.dumps([(e.before, e.after) for e in store.list_audit()])
    finally:
        store.close()


def test_the_real_cli_exports_the_audit_log_as_csv(session: Session) -> None:
    assert session.ran["export"].out.split() == ["file", str(session.export), "rows", "6"]
    rows = list(csv.DictReader(session.export.open(newline="", encoding="utf-8")))
    assert [row["action"] for row in rows] == [
        "user.add", "user.password", "token.create", "token.create", "token.revoke", "user.edit"
    ]  # fmt: skip
    assert {(row["actor"], row["role"], row["source"]) for row in rows} == {("cli", "", "cli")}
    times = [row["at"] for row in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at) for at in times)
    assert times == sorted(times)
    edit = rows[-1]
    assert edit["target"] == "user:alice"
    assert json.loads(edit["before"])["role"] == "admin"
    assert json.loads(edit["after"])["role"] == "manager"
    revoke = next(row for row in rows if row["action"] == "token.revoke")
    assert revoke["target"] == "token:2"
    assert json.loads(revoke["before"])["revoked_at"] is None
    assert json.loads(revoke["after"])["revoked_at"] is not None
    listed = json.loads(session.ran["audit"].out)["entries"]
    assert [entry["action"] for entry in reversed(listed)] == [row["action"] for row in rows]
