"""Accounts in the SQLite store: web users (unique live usernames without case, soft
removal, roles, disabling), logins that cost one scrypt whatever the refusal, API
tokens (stored as SHA-256 only, expiry, revocation, last use written at most once a
minute), the audit log (filters, newest first, append-only), `transaction()` (methods
commit or roll back together; a nested method stays all-or-nothing), campaign
deletion, and the migration of a version 4 database that has data."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import (
    AttemptOutcome,
    CallOutcome,
    CampaignEvent,
    CampaignState,
    LeadEvent,
)
from dialer.contacts.record import ContactRecord
from dialer.store.migrate import MIGRATIONS_DIR
from dialer.store.repository import (
    ApiToken,
    AuditEntry,
    CampaignBusy,
    ImportRejected,
    InvalidUser,
    NotFound,
    Role,
    User,
    UserExists,
)
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
PASSWORD = "correct horse battery"
E = CampaignEvent
ANSWERED = AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished")


@pytest.fixture
def alice(store: SqliteStore) -> User:
    return store.add_user("Alice", PASSWORD, "manager", now=T0)


def audit(store: SqliteStore, action: str = "campaign.start", **fields: Any) -> AuditEntry:
    entry: dict[str, Any] = {
        "at": T0,
        "actor": "alice",
        "role": "manager",
        "target": "campaign:1",
        "source": "192.0.2.7",
    }
    return store.record_audit(action=action, **(entry | fields))


def files_of(db_path: Path) -> bytes:
    """The database and its WAL, where a fresh commit lives until a checkpoint."""
    return b"".join(path.read_bytes() for path in db_path.parent.glob(db_path.name + "*"))


# -- users ----------------------------------------------------------------------------


def test_a_user_round_trips(store: SqliteStore) -> None:
    added = store.add_user("Alice", PASSWORD, "manager", now=T0)
    assert added == User(
        id=added.id,
        username="Alice",
        role=Role.MANAGER,
        disabled=False,
        created_at=T0,
        updated_at=T0,
        removed_at=None,
    )
    assert added.role == "manager"  # a str enum: the web may compare with text
    assert store.get_user(added.id) == added
    assert store.find_user("Alice") == store.find_user("alice") == store.find_user("ALICE") == added
    assert store.find_user("bob") is None
    assert store.list_users() == [added]
    with pytest.raises(NotFound, match="no user 99"):
        store.get_user(99)


def test_a_live_username_is_unique_without_regard_to_case(store: SqliteStore, alice: User) -> None:
    with pytest.raises(UserExists, match="'alice' already exists"):
        store.add_user("alice", "another password", "agent", now=T0)
    assert store.list_users() == [alice]


@pytest.mark.parametrize(
    ("username", "password", "role", "reason"),
    [
        ("", PASSWORD, "agent", "1 to 64"),
        ("a" * 65, PASSWORD, "agent", "1 to 64"),
        ("-alice", PASSWORD, "agent", "starting with a letter or digit"),
        ("=cmd", PASSWORD, "agent", "starting with a letter or digit"),
        ("al ice", PASSWORD, "agent", "letters, digits"),
        ("alice\n", PASSWORD, "agent", "letters, digits"),
        ("cli", PASSWORD, "admin", "reserved"),
        ("CLI", PASSWORD, "admin", "reserved"),
        ("alice", PASSWORD, "root", "a role is one of admin, manager, agent"),
        ("alice", "x" * 7, "agent", "at least 8 characters"),
        ("alice", "x" * 1025, "agent", "at most 1024 characters"),
        ("alice", "pass\tword1", "agent", "control characters"),
    ],
)
def test_bad_fields_are_refused_with_the_reason(
    store: SqliteStore, username: str, password: str, role: str, reason: str
) -> None:
    with pytest.raises(InvalidUser, match=reason):
        store.add_user(username, password, role, now=T0)
    assert store.list_users() == []


def test_the_password_bounds_are_inclusive(store: SqliteStore) -> None:
    short = store.add_user("a" * 64, "x" * 8, "agent", now=T0)
    long = store.add_user("u.s_e-r@example.com", "y" * 1024, "admin", now=T0)
    assert store.check_user_login("a" * 64, "x" * 8) == short
    assert store.check_user_login("u.s_e-r@example.com", "y" * 1024) == long


def test_the_database_itself_refuses_a_bad_role(store: SqliteStore, alice: User) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        store._db.execute("UPDATE users SET role = 'root' WHERE id = ?", (alice.id,))


def test_update_changes_only_what_is_given(store: SqliteStore, alice: User) -> None:
    promoted = store.update_user(alice.id, role="admin", now=T0 + 5)
    assert (promoted.role, promoted.disabled, promoted.updated_at) == (Role.ADMIN, False, T0 + 5)
    disabled = store.update_user(alice.id, disabled=True, now=T0 + 6)
    assert (disabled.role, disabled.disabled) == (Role.ADMIN, True)
    assert store.find_user("alice") == disabled  # still listed and found: only refused at login
    assert store.update_user(alice.id, disabled=False, now=T0 + 7).disabled is False
    with pytest.raises(InvalidUser, match="role"):
        store.update_user(alice.id, role="root", now=T0 + 8)
    assert store.get_user(alice.id).updated_at == T0 + 7
    with pytest.raises(NotFound):
        store.update_user(99, role="agent", now=T0)


def test_a_new_password_replaces_the_old_one(store: SqliteStore, alice: User) -> None:
    changed = store.set_user_password(alice.id, "a new password", now=T0 + 5)
    assert changed.updated_at == T0 + 5
    assert store.check_user_login("alice", "a new password") == changed
    assert store.check_user_login("alice", PASSWORD) is None
    with pytest.raises(InvalidUser, match="at least 8"):
        store.set_user_password(alice.id, "short", now=T0 + 6)
    assert store.check_user_login("alice", "a new password") is not None
    with pytest.raises(NotFound):
        store.set_user_password(99, "a new password", now=T0)


def test_removal_keeps_the_user_frees_the_name_and_revokes_the_tokens(
    store: SqliteStore, alice: User
) -> None:
    token, secret = store.create_api_token(alice.id, "ci", now=T0)
    done, _ = store.create_api_token(alice.id, "old", now=T0)
    store.revoke_api_token(done.id, now=T0 + 1)
    store.remove_user(alice.id, now=T0 + 10)
    gone = store.get_user(alice.id)
    assert gone.removed_at == T0 + 10 and gone.username == "Alice"
    assert store.find_user("alice") is None and store.list_users() == []
    assert store.check_user_login("alice", PASSWORD) is None
    assert store.check_api_token(secret, now=T0 + 11) is None
    revoked = {t.id: t.revoked_at for t in store.list_api_tokens(alice.id)}
    assert revoked == {token.id: T0 + 10, done.id: T0 + 1}  # an earlier revocation stands
    again = store.add_user("alice", "another password", "agent", now=T0 + 20)
    assert again.id != alice.id and store.find_user("ALICE") == again
    for change in (
        lambda: store.remove_user(alice.id, now=T0),
        lambda: store.update_user(alice.id, role="admin", now=T0),
        lambda: store.set_user_password(alice.id, PASSWORD, now=T0),
        lambda: store.create_api_token(alice.id, "new", now=T0),
    ):
        with pytest.raises(NotFound):
            change()


# -- logins ---------------------------------------------------------------------------


def test_login_checks_the_password(store: SqliteStore, alice: User) -> None:
    assert store.check_user_login("alice", PASSWORD) == alice
    assert store.check_user_login("ALICE", PASSWORD) == alice
    assert store.check_user_login("alice", PASSWORD.upper()) is None
    assert store.check_user_login("alice", "") is None


def test_a_disabled_user_cannot_log_in_until_enabled(store: SqliteStore, alice: User) -> None:
    store.update_user(alice.id, disabled=True, now=T0)
    assert store.check_user_login("alice", PASSWORD) is None
    store.update_user(alice.id, disabled=False, now=T0)
    assert store.check_user_login("alice", PASSWORD) is not None


def test_every_refused_login_costs_one_hash(
    store: SqliteStore, alice: User, scrypt_calls: list[bool]
) -> None:
    bob = store.add_user("bob", PASSWORD, "agent", now=T0)
    carol = store.add_user("carol", PASSWORD, "agent", now=T0)
    store.update_user(bob.id, disabled=True, now=T0)
    store.remove_user(carol.id, now=T0)
    scrypt_calls.clear()
    refusals = [
        ("alice", "wrong password"),  # wrong password
        ("bob", PASSWORD),  # disabled, right password
        ("carol", PASSWORD),  # removed
        ("dave", PASSWORD),  # unknown
        ("not a username!", PASSWORD),
        ("alice", "x" * 5000),  # longer than any password set
    ]
    for username, password in refusals:
        before = len(scrypt_calls)
        assert store.check_user_login(username, password) is None
        assert len(scrypt_calls) == before + 1, username
    assert store.check_user_login("alice", PASSWORD) == alice
    assert len(scrypt_calls) == len(refusals) + 1


def test_hashing_happens_outside_the_write_transaction(
    store: SqliteStore, scrypt_calls: list[bool]
) -> None:
    user = store.add_user("alice", PASSWORD, "admin", now=T0)
    store.set_user_password(user.id, "a new password", now=T0)
    store.check_user_login("alice", "a new password")
    assert scrypt_calls == [False, False, False]


def test_no_password_is_stored_and_no_secret_is_logged_or_shown(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    store = SqliteStore(db_path)
    user = store.add_user("alice", PASSWORD, "admin", now=T0)
    store.set_user_password(user.id, "a new password", now=T0)
    store.check_user_login("alice", "a wrong password")
    token, secret = store.create_api_token(user.id, "ci", now=T0)
    store.check_api_token(secret, now=T0)
    stored = store._db.execute("SELECT password_hash FROM users").fetchone()[0]
    token_hash = store._db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    shown = repr(store.get_user(user.id)) + repr(token) + repr(store.list_api_tokens())
    store.close()
    assert (
        stored.startswith("scrypt$") and token_hash == hashlib.sha256(secret.encode()).hexdigest()
    )
    on_disk = files_of(db_path)
    for secret_text in (PASSWORD, "a new password", secret):
        assert secret_text.encode() not in on_disk
    assert "user 1" in caplog.text
    for secret_text in (PASSWORD, "a new password", "a wrong password", secret, stored, token_hash):
        assert secret_text not in caplog.text
        assert secret_text not in shown
    assert "scrypt$" not in caplog.text + shown


# -- API tokens -----------------------------------------------------------------------


def test_a_token_is_shown_once_and_authenticates_its_user(store: SqliteStore, alice: User) -> None:
    token, secret = store.create_api_token(alice.id, "  nightly export ", now=T0)
    assert secret.startswith("dlr_") and len(secret) == 4 + 43  # 32 random bytes, URL-safe
    assert token == ApiToken(
        id=token.id,
        user_id=alice.id,
        name="nightly export",
        prefix=secret[:8],
        created_at=T0,
        last_used_at=None,
        revoked_at=None,
        expires_at=None,
    )
    assert store.check_api_token(secret, now=T0 + 1) == alice
    other, other_secret = store.create_api_token(alice.id, "nightly export", now=T0)
    assert other_secret != secret and other.id != token.id


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # one character off
        lambda s: s[4:],  # without the prefix
        lambda s: s.upper(),
        lambda s: s + "x",
        lambda s: "",
        lambda s: "dlr_" + "A" * 10_000,
    ],
)
def test_anything_but_the_exact_secret_is_refused(
    store: SqliteStore, alice: User, mangle: Any
) -> None:
    _, secret = store.create_api_token(alice.id, "ci", now=T0)
    assert store.check_api_token(mangle(secret), now=T0 + 1) is None
    assert store.check_api_token(secret, now=T0 + 1) == alice


def test_a_revoked_token_stops_working_and_revoking_again_changes_nothing(
    store: SqliteStore, alice: User
) -> None:
    token, secret = store.create_api_token(alice.id, "ci", now=T0)
    revoked = store.revoke_api_token(token.id, now=T0 + 5)
    assert revoked.revoked_at == T0 + 5 and revoked.status(T0 + 6) == "revoked"
    assert store.check_api_token(secret, now=T0 + 6) is None
    assert store.revoke_api_token(token.id, now=T0 + 9).revoked_at == T0 + 5
    with pytest.raises(NotFound, match="no api token 99"):
        store.revoke_api_token(99, now=T0)


def test_a_token_expires_at_its_time(store: SqliteStore, alice: User) -> None:
    token, secret = store.create_api_token(alice.id, "ci", now=T0, expires_at=T0 + 3600)
    assert token.expires_at == T0 + 3600
    assert store.check_api_token(secret, now=T0 + 3599) == alice
    assert store.check_api_token(secret, now=T0 + 3600) is None
    assert token.status(T0 + 3599) == "active" and token.status(T0 + 3600) == "expired"
    for past in (T0, T0 - 1):
        with pytest.raises(InvalidUser, match="expiry must be in the future"):
            store.create_api_token(alice.id, "ci", now=T0, expires_at=past)


def test_a_disabled_user_s_tokens_work_again_once_enabled(store: SqliteStore, alice: User) -> None:
    _, secret = store.create_api_token(alice.id, "ci", now=T0)
    store.update_user(alice.id, disabled=True, now=T0 + 1)
    assert store.check_api_token(secret, now=T0 + 2) is None
    store.update_user(alice.id, disabled=False, now=T0 + 3)
    assert store.check_api_token(secret, now=T0 + 4) is not None


def test_the_token_acts_with_the_user_s_current_role(store: SqliteStore, alice: User) -> None:
    _, secret = store.create_api_token(alice.id, "ci", now=T0)
    store.update_user(alice.id, role="agent", now=T0 + 1)
    user = store.check_api_token(secret, now=T0 + 2)
    assert user is not None and user.role is Role.AGENT


def test_last_use_is_written_at_most_once_a_minute(store: SqliteStore, alice: User) -> None:
    token, secret = store.create_api_token(alice.id, "ci", now=T0)

    def last_used() -> float | None:
        return store.get_api_token(token.id).last_used_at

    store.check_api_token(secret, now=T0 + 10)
    assert last_used() == T0 + 10
    changes = store._db.total_changes
    for now in (T0 + 11, T0 + 40, T0 + 69.9):
        assert store.check_api_token(secret, now=now) == alice
    assert last_used() == T0 + 10
    assert store._db.total_changes == changes  # no write at all for those requests
    store.check_api_token(secret, now=T0 + 70)
    assert last_used() == T0 + 70
    store.check_api_token(secret + "x", now=T0 + 500)  # a refused token is no use
    assert last_used() == T0 + 70


def test_a_token_needs_a_name_and_a_live_user(store: SqliteStore, alice: User) -> None:
    for name in ("", "   ", "a\nb", "x" * 101):
        with pytest.raises(InvalidUser, match="name"):
            store.create_api_token(alice.id, name, now=T0)
    with pytest.raises(NotFound, match="no user 99"):
        store.create_api_token(99, "ci", now=T0)
    assert store.list_api_tokens() == []


def test_tokens_are_listed_all_or_by_user(store: SqliteStore, alice: User) -> None:
    bob = store.add_user("bob", PASSWORD, "agent", now=T0)
    first, _ = store.create_api_token(alice.id, "one", now=T0)
    second, _ = store.create_api_token(bob.id, "two", now=T0 + 1)
    third, _ = store.create_api_token(alice.id, "three", now=T0 + 2)
    store.revoke_api_token(third.id, now=T0 + 3)
    assert [t.id for t in store.list_api_tokens()] == [first.id, second.id, third.id]
    assert [t.id for t in store.list_api_tokens(alice.id)] == [first.id, third.id]
    assert store.list_api_tokens(bob.id) == [second]
    assert store.get_api_token(first.id) == first
    with pytest.raises(NotFound):
        store.list_api_tokens(99)


# -- the audit log --------------------------------------------------------------------


def test_what_the_audit_log_records_of_users_and_tokens_is_json_and_not_secret(
    store: SqliteStore, alice: User
) -> None:
    token, secret = store.create_api_token(alice.id, "ci", now=T0, expires_at=T0 + 60)
    user_fields, token_fields = alice.audit_fields(), token.audit_fields()
    assert user_fields == {
        "id": alice.id,
        "username": "Alice",
        "role": "manager",
        "disabled": False,
    }
    assert token_fields == {
        "id": token.id,
        "user_id": alice.id,
        "name": "ci",
        "prefix": secret[:8],
        "expires_at": T0 + 60,
        "revoked_at": None,
    }
    entry = audit(store, "token.create", before=user_fields, after=token_fields)
    assert (entry.before, entry.after) == (user_fields, token_fields)  # JSON round trip


def test_an_entry_round_trips_with_its_before_and_after(store: SqliteStore) -> None:
    entry = audit(
        store,
        "campaign.edit",
        before={"name": "spring", "settings": {"max_attempts": 3}},
        after={"name": "Spring", "settings": {"max_attempts": 3}},
    )
    assert entry == AuditEntry(
        id=entry.id,
        at=T0,
        actor="alice",
        role="manager",
        action="campaign.edit",
        target="campaign:1",
        before={"name": "spring", "settings": {"max_attempts": 3}},
        after={"name": "Spring", "settings": {"max_attempts": 3}},
        source="192.0.2.7",
    )
    cli = store.record_audit(
        at=T0, actor="cli", role="", action="user.add", target="user:bob", source="cli"
    )
    assert (cli.before, cli.after, cli.role) == (None, None, "")
    assert store.list_audit() == [cli, entry]


def test_bad_entries_are_refused_and_nothing_is_written(store: SqliteStore) -> None:
    with pytest.raises(TypeError):
        audit(store, after={"when": object()})  # not JSON: a bug, never stored half-way
    for bad in ({"actor": ""}, {"action": ""}, {"role": "root"}):
        with pytest.raises(ValueError):
            audit(store, **bad)
    assert store.list_audit() == []


def test_the_log_is_append_only(store: SqliteStore) -> None:
    audit(store)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._db.execute(statement)
    assert [entry.actor for entry in store.list_audit()] == ["alice"]


def test_listing_filters_and_pages_newest_first(store: SqliteStore) -> None:
    a = audit(store, "campaign.start", at=T0 + 1)
    b = audit(store, "campaign.stop", at=T0 + 2, actor="bob", target="campaign:2")
    c = audit(store, "user.add", at=T0 + 2, actor="cli", role="", target="user:x", source="cli")
    d = audit(store, "campaign.start", at=T0 + 3, target="campaign:2")
    assert store.list_audit() == [d, c, b, a]  # the same time: the later entry first
    assert store.list_audit(since=T0 + 2) == [d, c, b]
    assert store.list_audit(until=T0 + 2) == [a]  # until is exclusive
    assert store.list_audit(since=T0 + 2, until=T0 + 3) == [c, b]
    assert store.list_audit(actor="bob") == [b]
    assert store.list_audit(action="campaign.start") == [d, a]
    assert store.list_audit(target="campaign:2") == [d, b]
    assert store.list_audit(action="campaign.start", target="campaign:2", actor="alice") == [d]
    assert store.list_audit(actor="nobody") == []
    assert store.list_audit(limit=2) == [d, c]
    assert store.list_audit(limit=2, offset=2) == [b, a]
    assert store.list_audit(limit=0) == []
    assert store.list_audit(limit=None, offset=3) == [a]
    for paging in ({"limit": -1}, {"offset": -1}):
        with pytest.raises(ValueError):
            store.list_audit(**paging)


def test_the_default_limit_is_a_thousand(store: SqliteStore) -> None:
    with store.transaction():
        for i in range(1001):
            audit(store, at=T0 + i)
    listed = store.list_audit()
    assert len(listed) == 1000 and listed[0].at == T0 + 1000
    assert len(store.list_audit(limit=None)) == 1001


# -- transaction() --------------------------------------------------------------------


def test_a_change_and_its_audit_entry_commit_together(
    store: SqliteStore, campaign: int, db_path: Path
) -> None:
    other = SqliteStore(db_path)  # another connection sees nothing until the block ends
    try:
        with store.transaction():
            store.set_campaign_state(campaign, E.START, now=T0)
            audit(store, "campaign.start", target=f"campaign:{campaign}")
            assert other.get_campaign(campaign).state is CampaignState.DRAFT
            assert other.list_audit() == []
        assert other.get_campaign(campaign).state is CampaignState.RUNNING
        assert [entry.action for entry in other.list_audit()] == ["campaign.start"]
    finally:
        other.close()


def test_an_error_after_the_first_method_rolls_both_back(store: SqliteStore, campaign: int) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction():
        store.set_campaign_state(campaign, E.START, now=T0)
        audit(store, "campaign.start")
        raise Boom
    assert store.get_campaign(campaign).state is CampaignState.DRAFT
    assert store.list_audit() == []
    assert not store._db.in_transaction
    with pytest.raises(TypeError), store.transaction():  # the audit entry itself failing
        store.set_campaign_state(campaign, E.START, now=T0)
        audit(store, after={"bad": object()})
    assert store.get_campaign(campaign).state is CampaignState.DRAFT


def test_a_method_that_fails_inside_undoes_only_its_own_changes(
    store: SqliteStore, campaign: int
) -> None:
    records = [
        ContactRecord(2, "Ada", "+14155550100", None),
        ContactRecord(3, "Bob", "415 555", None),  # not E.164: the import is refused
    ]
    with store.transaction():
        store.set_campaign_state(campaign, E.START, now=T0)
        with pytest.raises(ImportRejected):
            store.import_contacts(campaign, records, now=T0)  # Ada was already inserted
        audit(store, "contacts.import")
    assert store.list_leads(campaign) == []
    assert store.get_campaign(campaign).state is CampaignState.RUNNING
    assert len(store.list_audit()) == 1


def test_transactions_nest(store: SqliteStore, campaign: int) -> None:
    with store.transaction():
        audit(store, "first")
        with pytest.raises(KeyError), store.transaction():
            audit(store, "undone")
            raise KeyError
        with store.transaction():
            audit(store, "kept")
    assert [entry.action for entry in store.list_audit()] == ["kept", "first"]


# -- deleting a campaign --------------------------------------------------------------


def lead_in(store: SqliteStore, campaign: int, phone: str = "+14155550100") -> int:
    store.import_contacts(campaign, [ContactRecord(2, "Ada", phone, None)], now=T0)
    return next(lead.id for lead in store.list_leads(campaign) if lead.phone == phone)


def dialled(store: SqliteStore, campaign: int, phone: str = "+14155550100") -> int:
    """A lead with one finished attempt (the campaign started, so it has a ledger)."""
    lead = lead_in(store, campaign, phone)
    attempt = store.begin_attempt(lead, phone, T0)
    store.finish_attempt(attempt, ANSWERED, T0 + 30, then=LeadEvent.COMPLETE)
    return lead


def in_state(store: SqliteStore, campaign: int, state: CampaignState) -> None:
    events = {
        CampaignState.DRAFT: [],
        CampaignState.RUNNING: [E.START],
        CampaignState.PAUSED: [E.START, E.PAUSE],
        CampaignState.STOPPED: [E.START, E.STOP],
        CampaignState.COMPLETED: [E.START, E.COMPLETE],
        CampaignState.FAILED: [E.START, E.FAIL],
    }
    if state is CampaignState.SCHEDULED:
        store.set_campaign_state(campaign, E.SCHEDULE, now=T0, next_run_at=T0 + 3600)
    for event in events.get(state, []):
        reason = "trunk down" if event is E.FAIL else None
        store.set_campaign_state(campaign, event, now=T0, reason=reason)
    assert store.get_campaign(campaign).state is state


@pytest.mark.parametrize(
    "state",
    [CampaignState.DRAFT, CampaignState.STOPPED, CampaignState.COMPLETED, CampaignState.FAILED],
)
def test_a_campaign_that_does_not_dial_is_deleted_with_what_is_its_own(
    store: SqliteStore, state: CampaignState
) -> None:
    doomed, kept = (store.create_campaign(name, now=T0) for name in ("doomed", "kept"))
    ann = store.add_agent("Ann", "1001", PASSWORD, "dialer", campaigns=[doomed, kept], now=T0)
    solo = store.add_agent("Sol", "1002", PASSWORD, "dialer", campaigns=[doomed], now=T0)
    store.add_dnc("+14155550199", now=T0, campaign_id=doomed)
    store.add_dnc("+14155550198", now=T0)  # the global list stays
    store.add_dnc("+14155550197", now=T0, campaign_id=kept)
    kept_lead = dialled(store, kept)
    if state is not CampaignState.DRAFT:
        lead = dialled(store, doomed)
        attempt = store.list_attempts(doomed)[0].id
        store.record_disposition(attempt, ann.id, "sale", "", {}, now=T0 + 40)
    else:
        lead = lead_in(store, doomed)
    in_state(store, doomed, state)

    store.delete_campaign(doomed, now=T0 + 100)

    with pytest.raises(NotFound):
        store.get_campaign(doomed)
    with pytest.raises(NotFound):
        store.get_lead(lead)
    assert [c.id for c in store.list_campaigns()] == [kept]
    count = "SELECT count(*) FROM {} WHERE campaign_id = ?"
    for table in ("leads", "attempts", "dnc"):
        assert store._db.execute(count.format(table), (doomed,)).fetchone()[0] == 0, table
    assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert [entry.number for entry in store.list_dnc()] == ["+14155550198"]
    assert [e.number for e in store.list_dnc(kept, include_global=False)] == ["+14155550197"]
    assert store.get_lead(kept_lead).campaign_id == kept and len(store.list_attempts(kept)) == 1
    assert store.get_agent(ann.id).campaigns == (kept,)
    assert store.get_agent(solo.id).campaigns == (doomed,)  # not widened to any campaign
    assert store.agent_stats(ann.id, T0, T0 + 200).dispositions == 0  # went with the ledger


@pytest.mark.parametrize(
    "state", [CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.SCHEDULED]
)
def test_a_campaign_that_may_dial_is_not_deleted(
    store: SqliteStore, campaign: int, state: CampaignState
) -> None:
    lead = lead_in(store, campaign)
    in_state(store, campaign, state)
    with pytest.raises(CampaignBusy, match=f"it is {state}: stop it first"):
        store.delete_campaign(campaign, now=T0)
    assert store.get_campaign(campaign).state is state
    assert store.get_lead(lead).campaign_id == campaign


def test_a_stopped_campaign_with_calls_still_up_is_not_deleted(
    store: SqliteStore, campaign: int
) -> None:
    lead = lead_in(store, campaign)
    in_state(store, campaign, CampaignState.RUNNING)
    attempt = store.begin_attempt(lead, "+14155550100", T0)
    store.set_campaign_state(campaign, E.STOP, now=T0 + 1)
    with pytest.raises(CampaignBusy, match="1 of its calls are still up"):
        store.delete_campaign(campaign, now=T0 + 2)
    store.finish_attempt(attempt, ANSWERED, T0 + 3, then=LeadEvent.COMPLETE)
    store.delete_campaign(campaign, now=T0 + 4)
    assert store.list_campaigns() == []


def test_a_deleted_campaign_s_id_is_never_reused(store: SqliteStore, campaign: int) -> None:
    newest = store.create_campaign("newest", now=T0)
    store.delete_campaign(newest, now=T0)
    again = store.create_campaign("again", now=T0)
    assert again > newest
    store.delete_campaign(again, now=T0)
    store.delete_campaign(campaign, now=T0)
    assert store.create_campaign("last", now=T0) == again + 1
    names = store._db.execute("SELECT id, name FROM deleted_campaigns ORDER BY id").fetchall()
    assert [tuple(row) for row in names] == [
        (campaign, "spring"),
        (newest, "newest"),
        (again, "again"),
    ]


def test_deleting_an_unknown_campaign(store: SqliteStore) -> None:
    with pytest.raises(NotFound, match="no campaign 9"):
        store.delete_campaign(9, now=T0)


def test_a_deletion_and_its_audit_entry_roll_back_together(
    store: SqliteStore, campaign: int
) -> None:
    lead = lead_in(store, campaign)
    with pytest.raises(TypeError), store.transaction():
        store.delete_campaign(campaign, now=T0)
        audit(store, "campaign.delete", before={"bad": object()})
    assert store.get_lead(lead).campaign_id == campaign
    assert store._db.execute("SELECT count(*) FROM deleted_campaigns").fetchone()[0] == 0


# -- migration ------------------------------------------------------------------------


def test_a_version_4_database_with_data_migrates_to_5(db_path: Path, tmp_path: Path) -> None:
    old = tmp_path / "v4"
    old.mkdir()
    for script in sorted(MIGRATIONS_DIR.glob("000[1234]_*.sql")):
        shutil.copy(script, old / script.name)
    SqliteStore(db_path, migrations_dir=old).close()
    with sqlite3.connect(db_path, isolation_level=None) as v4:  # data as version 4 wrote it
        assert v4.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 4
        v4.execute(
            "INSERT INTO campaigns (id, name, created_at, updated_at) VALUES (1, 'spring', ?, ?)",
            (T0, T0),
        )
    campaign = 1

    after = SqliteStore(db_path)
    assert after.schema_version == len(list(MIGRATIONS_DIR.glob("*.sql")))  # 5 and later ones
    assert after.get_campaign(campaign).name == "spring"
    assert after.list_users() == [] and after.list_audit() == []
    user = after.add_user("alice", PASSWORD, "admin", now=T0)
    assert after.check_user_login("alice", PASSWORD) == user
    after.delete_campaign(campaign, now=T0)
    assert after.create_campaign("autumn", now=T0) == campaign + 1
    after.close()
    with sqlite3.connect(db_path) as raw:
        columns = {row[1] for row in raw.execute("PRAGMA table_info(audit_log)")}
        indexes = {row[1] for row in raw.execute("PRAGMA index_list(audit_log)")}
    assert columns == {"id", "at", "actor", "role", "action", "target", "before", "after", "source"}
    assert {"audit_log_at", "audit_log_target"} <= indexes
