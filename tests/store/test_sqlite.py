"""The SQLite store: migrations, WAL, all-or-nothing import and the attempt ledger
(one in flight per lead, outcome written once, crash reconciliation)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dialer.campaign.model import (
    AnsweredBy,
    AttemptOutcome,
    AttemptState,
    CallOutcome,
    CampaignEvent,
    CampaignState,
    IllegalTransition,
    LeadEvent,
    LeadState,
)
from dialer.campaign.policy import RetryRules
from dialer.contacts.record import ContactRecord
from dialer.store.migrate import MIGRATIONS_DIR
from dialer.store.repository import (
    INTERRUPTED_REASON,
    AttemptInFlight,
    ImportRejected,
    InvalidNumber,
    NotFound,
    OnDoNotCallList,
    Repository,
    SchemaError,
)
from dialer.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_800_000_000.0
POLICY = RetryRules(max_attempts=3, retry_delay_s=600.0)
BUSY = AttemptOutcome(CallOutcome.BUSY, 486, "Busy Here")


def contact(line: int, phone: str | None, name: str = "", **extra: str) -> ContactRecord:
    return ContactRecord(line=line, name=name, phone=phone, email=None, attributes=extra)


@pytest.fixture
def lead(store: SqliteStore, campaign: int) -> int:
    store.import_contacts(campaign, [contact(2, "+14155550100", "Ada")], now=T0)
    return store.due_leads(campaign, T0, 1)[0].id


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- schema and pragmas -----------------------------------------------------------


def test_store_satisfies_the_repository_protocol(store: SqliteStore) -> None:
    repository: Repository = store  # mypy checks the structural match
    assert repository is store


def test_wal_mode_and_pragmas(store: SqliteStore, db_path: Path) -> None:
    with raw(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_migrations_versioned_and_idempotent(db_path: Path) -> None:
    SqliteStore(db_path).close()
    again = SqliteStore(db_path)
    again.close()
    with raw(db_path) as other:
        versions = [row[0] for row in other.execute("SELECT version FROM schema_version")]
    newest = len(list(MIGRATIONS_DIR.glob("*.sql")))
    assert versions == list(range(1, newest + 1))
    assert again.schema_version == newest


def test_a_later_migration_is_applied_in_order(db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_initial.sql").write_text((MIGRATIONS_DIR / "0001_initial.sql").read_text())
    SqliteStore(db_path, migrations_dir=folder).close()
    (folder / "0002_notes.sql").write_text(
        "-- notes; with a semicolon in a comment\nALTER TABLE leads ADD COLUMN notes TEXT;\n"
    )
    upgraded = SqliteStore(db_path, migrations_dir=folder)
    assert upgraded.schema_version == 2
    upgraded._db.execute("SELECT notes FROM leads")
    upgraded.close()


def test_a_failing_migration_leaves_the_schema_untouched(db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_initial.sql").write_text((MIGRATIONS_DIR / "0001_initial.sql").read_text())
    (folder / "0002_bad.sql").write_text("CREATE TABLE extra (x);\nALTER TABLE nope ADD y;\n")
    with pytest.raises(sqlite3.OperationalError):
        SqliteStore(db_path, migrations_dir=folder)
    with raw(db_path) as other:
        tables = {row[0] for row in other.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables and "leads" not in tables


def test_a_newer_database_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    with raw(db_path) as other:
        other.execute("INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(SchemaError, match="version 99"):
        SqliteStore(db_path)


def test_gaps_in_migration_numbers_are_refused(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "0002_late.sql").write_text("SELECT 1;\n")
    with pytest.raises(SchemaError, match="without gaps"):
        SqliteStore(db_path, migrations_dir=tmp_path)


# -- campaigns --------------------------------------------------------------------


def test_campaign_states_follow_the_table(store: SqliteStore, campaign: int) -> None:
    assert store.get_campaign(campaign).state is CampaignState.DRAFT
    assert store.set_campaign_state(campaign, CampaignEvent.START, now=T0).state == "running"
    with pytest.raises(IllegalTransition):
        store.set_campaign_state(campaign, CampaignEvent.RESUME, now=T0)
    failed = store.set_campaign_state(campaign, CampaignEvent.FAIL, now=T0, reason="trunk down")
    assert (failed.state, failed.failure_reason) == (CampaignState.FAILED, "trunk down")
    with pytest.raises(IllegalTransition):
        store.set_campaign_state(campaign, CampaignEvent.STOP, now=T0)
    with pytest.raises(NotFound):
        store.get_campaign(999)


def test_fail_needs_a_reason(store: SqliteStore, campaign: int) -> None:
    store.set_campaign_state(campaign, CampaignEvent.START, now=T0)
    with pytest.raises(ValueError, match="reason"):
        store.set_campaign_state(campaign, CampaignEvent.FAIL, now=T0)
    assert store.get_campaign(campaign).state is CampaignState.RUNNING


def test_campaign_settings_round_trip(store: SqliteStore) -> None:
    made = store.create_campaign("x", now=T0, description="d", settings={"max_attempts": 3})
    assert store.get_campaign(made).settings == {"max_attempts": 3}


# -- import -----------------------------------------------------------------------


def test_import_merges_duplicates_by_phone(store: SqliteStore, campaign: int) -> None:
    records = [
        contact(2, "+14155550100", "Ada", plan="gold", city="Paris"),
        contact(3, "+14155550101", "Bob"),
        contact(4, "+14155550100", "", plan="silver"),  # same phone, empty name
    ]
    assert store.import_contacts(campaign, records, now=T0) == 2
    leads = {lead.phone: lead for lead in store.due_leads(campaign, T0, 10)}
    assert leads["+14155550100"].name == "Ada"  # an empty field never erases
    assert leads["+14155550100"].attributes == {"plan": "silver", "city": "Paris"}
    # a second import merges into the existing lead, keeps its state and count
    assert store.import_contacts(campaign, [contact(2, "+14155550101", "Robert")], now=T0) == 0
    assert store.get_lead(leads["+14155550101"].id).name == "Robert"


def test_import_without_a_primary_phone(store: SqliteStore, campaign: int) -> None:
    records = [
        ContactRecord(2, "Sec", None, None, secondary_phone="+14155550199"),
        ContactRecord(3, "Mail", None, "m@example.com"),
    ]
    assert store.import_contacts(campaign, records, now=T0) == 2
    (due,) = store.due_leads(campaign, T0, 10)
    assert (due.phone, due.secondary_phone) == ("+14155550199", None)


def test_import_is_all_or_nothing(store: SqliteStore, campaign: int) -> None:
    records = [contact(n, f"+1415{n:07d}") for n in range(2, 1002)]
    records[500] = contact(502, "0041 44 000")  # not E.164
    with pytest.raises(ImportRejected) as caught:
        store.import_contacts(campaign, records, now=T0)
    assert caught.value.line == 502
    assert store.due_leads(campaign, T0, 10_000) == []


def test_import_constraint_failure_rolls_back(store: SqliteStore, db_path: Path) -> None:
    # the database's own CHECK is the backstop; a trigger fails mid-import on purpose
    campaign = store.create_campaign("c", now=T0)
    store._db.execute(
        "CREATE TEMP TRIGGER refuse AFTER INSERT ON leads WHEN new.name = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'constraint: boom'); END"
    )
    records = [contact(2, "+14155550100"), contact(3, "+14155550101", "boom")]
    with pytest.raises(ImportRejected, match="boom"):
        store.import_contacts(campaign, records, now=T0)
    with raw(db_path) as other:
        assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == 0


def test_import_into_a_missing_campaign(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        store.import_contacts(42, [contact(2, "+14155550100")], now=T0)


def test_import_50k_in_one_transaction(store: SqliteStore, campaign: int) -> None:
    records = [contact(n, f"+1212{n:07d}", f"Lead {n}", n=str(n)) for n in range(2, 50_002)]
    assert store.import_contacts(campaign, records, now=T0) == 50_000
    assert len(store.due_leads(campaign, T0, 60_000)) == 50_000


# -- the attempt ledger -----------------------------------------------------------


def test_begin_commits_before_returning(store: SqliteStore, db_path: Path, lead: int) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    with raw(db_path) as other:  # another connection sees it: it is committed
        row = other.execute("SELECT state, number FROM attempts WHERE id = ?", (attempt_id,))
        assert row.fetchone() == ("in_flight", "+14155550100")
    assert store.get_lead(lead).state is LeadState.PROCESSING


def test_second_begin_raises_attempt_in_flight(store: SqliteStore, lead: int) -> None:
    store.begin_attempt(lead, "+14155550100", T0)
    with pytest.raises(AttemptInFlight):
        store.begin_attempt(lead, "+14155550100", T0 + 1)
    assert len(store.in_flight_attempts()) == 1


def test_the_database_itself_refuses_two_in_flight(
    store: SqliteStore, db_path: Path, lead: int
) -> None:
    store.begin_attempt(lead, "+14155550100", T0)
    with raw(db_path) as other, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        other.execute(
            "INSERT INTO attempts (lead_id, campaign_id, number, started_at)"
            " SELECT lead_id, campaign_id, number, 1 FROM attempts"
        )


def test_begin_refuses_bad_and_dnc_numbers(store: SqliteStore, campaign: int, lead: int) -> None:
    with pytest.raises(InvalidNumber):
        store.begin_attempt(lead, "14155550100", T0)
    store.add_dnc("+14155550100", now=T0, campaign_id=campaign, source="callee asked")
    with pytest.raises(OnDoNotCallList):
        store.begin_attempt(lead, "+14155550100", T0)
    assert store.get_lead(lead).state is LeadState.CREATED
    assert store.in_flight_attempts() == []


def test_finish_writes_once(store: SqliteStore, lead: int) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    first = AttemptOutcome(
        CallOutcome.COMPLETED, 200, "OK", AnsweredBy.HUMAN, {"menu": "2"}, duration_s=31.0
    )
    assert store.finish_attempt(attempt_id, first, T0 + 40, then=LeadEvent.COMPLETE)
    assert not store.finish_attempt(attempt_id, BUSY, T0 + 50, then=LeadEvent.RESCHEDULE)
    attempt = store.get_attempt(attempt_id)
    assert (attempt.state, attempt.result, attempt.finished_at) == (
        AttemptState.FINISHED,
        first,
        T0 + 40,
    )
    done = store.get_lead(lead)
    assert (done.state, done.attempts, done.last_outcome) == (LeadState.COMPLETED, 1, "completed")


def test_finish_reschedules_and_the_lead_is_due_again(
    store: SqliteStore, campaign: int, lead: int
) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    assert store.due_leads(campaign, T0, 10) == []  # in flight: not due
    store.finish_attempt(
        attempt_id, BUSY, T0 + 5, then=LeadEvent.RESCHEDULE, next_attempt_at=T0 + 300
    )
    assert store.due_leads(campaign, T0 + 299, 10) == []
    (due,) = store.due_leads(campaign, T0 + 300, 10)
    assert (due.id, due.state, due.attempts) == (lead, LeadState.RESCHEDULED, 1)
    store.begin_attempt(lead, "+14155550100", T0 + 300)  # a new attempt is allowed


def test_finish_with_an_illegal_lead_event_writes_nothing(store: SqliteStore, lead: int) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    with pytest.raises(IllegalTransition):
        store.finish_attempt(attempt_id, BUSY, T0 + 5, then=LeadEvent.RESET)
    assert store.get_attempt(attempt_id).state is AttemptState.IN_FLIGHT
    assert store.finish_attempt(attempt_id, BUSY, T0 + 6, then=LeadEvent.EXHAUST)


def test_finish_unknown_attempt(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        store.finish_attempt(7, BUSY, T0, then=LeadEvent.COMPLETE)


def test_reconcile_after_a_restart(db_path: Path, campaign: int, store: SqliteStore) -> None:
    store.import_contacts(
        campaign, [contact(2, "+14155550100"), contact(3, "+14155550101")], now=T0
    )
    fresh, tired = (lead.id for lead in store.due_leads(campaign, T0, 10))
    for n in range(2):  # `tired` already used two of its three attempts
        attempt_id = store.begin_attempt(tired, "+14155550101", T0 + n)
        store.finish_attempt(attempt_id, BUSY, T0 + n, then=LeadEvent.RESCHEDULE)
    store.begin_attempt(fresh, "+14155550100", T0 + 10)
    store.begin_attempt(tired, "+14155550101", T0 + 10)
    # "crash": the process never finishes them; a new store opens the same file
    restarted = SqliteStore(db_path)
    report = restarted.reconcile_in_flight(POLICY, T0 + 100)
    assert (report.interrupted, report.rescheduled, report.exhausted) == (2, 1, 1)
    assert restarted.in_flight_attempts() == []
    assert restarted.get_lead(fresh).state is LeadState.RESCHEDULED
    assert restarted.get_lead(fresh).next_attempt_at == T0 + 100 + POLICY.retry_delay_s
    assert restarted.get_lead(tired).state is LeadState.MAX_RETRIES
    assert restarted.get_lead(tired).attempts == 3
    assert restarted.reconcile_in_flight(POLICY, T0 + 200).interrupted == 0
    restarted.close()


CHILD = """
import sys
from dialer.store.sqlite import SqliteStore
store = SqliteStore(sys.argv[1])
attempt_id = store.begin_attempt(int(sys.argv[2]), "+14155550100", 1800000000.0)
print(attempt_id, flush=True)
sys.stdin.read()  # "INVITE sent": wait here until killed
"""


def test_sigkill_after_begin_is_reconciled(db_path: Path, store: SqliteStore, lead: int) -> None:
    store.close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), str(lead)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        attempt_id = int(child.stdout.readline())  # begin_attempt returned: committed
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    reopened = SqliteStore(db_path)
    (stranded,) = reopened.in_flight_attempts()
    assert (stranded.id, stranded.lead_id) == (attempt_id, lead)
    report = reopened.reconcile_in_flight(POLICY, T0 + 60)
    assert (report.interrupted, report.rescheduled) == (1, 1)
    closed = reopened.get_attempt(attempt_id)
    assert closed.result is not None
    assert (closed.result.outcome, closed.result.reason) == (CallOutcome.FAILED, INTERRUPTED_REASON)
    assert reopened.get_lead(lead).attempts == 1
    reopened.close()


def test_two_threads_racing_to_begin_exactly_one_wins(db_path: Path, lead: int) -> None:
    start = threading.Barrier(2)
    won: list[int] = []
    refused: list[AttemptInFlight] = []
    unexpected: list[BaseException] = []

    def dial() -> None:
        own = SqliteStore(db_path)  # one connection per thread
        try:
            start.wait(timeout=10)
            won.append(own.begin_attempt(lead, "+14155550100", T0))
        except AttemptInFlight as error:
            refused.append(error)
        except BaseException as error:  # reported by the assertion below
            unexpected.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=dial) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert unexpected == []
    assert (len(won), len(refused)) == (1, 1)


def test_store_refuses_use_from_another_thread(store: SqliteStore, lead: int) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.get_lead(lead)
        except sqlite3.ProgrammingError as error:
            errors.append(error)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join(timeout=10)
    assert len(errors) == 1


# -- manager actions and DNC ------------------------------------------------------


def test_reset_and_mark_completed(store: SqliteStore, campaign: int, lead: int) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    with pytest.raises(IllegalTransition):
        store.reset_lead(lead, now=T0)  # never under a live call
    store.finish_attempt(attempt_id, BUSY, T0 + 1, then=LeadEvent.EXHAUST)
    again = store.reset_lead(lead, now=T0 + 2)
    assert (again.state, again.attempts) == (LeadState.CREATED, 0)
    assert [due.id for due in store.due_leads(campaign, T0 + 2, 10)] == [lead]
    assert store.mark_completed(lead, now=T0 + 3).state is LeadState.COMPLETED
    assert store.due_leads(campaign, T0 + 3, 10) == []


def test_remove_lead(store: SqliteStore, campaign: int, lead: int) -> None:
    attempt_id = store.begin_attempt(lead, "+14155550100", T0)
    with pytest.raises(AttemptInFlight):
        store.remove_lead(lead, now=T0)
    store.finish_attempt(attempt_id, BUSY, T0 + 1, then=LeadEvent.RESCHEDULE)
    store.remove_lead(lead, now=T0 + 2)
    assert store.due_leads(campaign, T0 + 2, 10) == []
    assert store.get_attempt(attempt_id).result == BUSY  # the ledger keeps its history
    with pytest.raises(NotFound):
        store.begin_attempt(lead, "+14155550100", T0 + 3)


def test_dnc_global_and_per_campaign(store: SqliteStore, campaign: int) -> None:
    other = store.create_campaign("other", now=T0)
    assert store.add_dnc("+14155550100", now=T0, campaign_id=campaign)
    assert not store.add_dnc("+14155550100", now=T0, campaign_id=campaign)  # already there
    assert store.dnc_contains("+14155550100", campaign)
    assert not store.dnc_contains("+14155550100", other)
    assert not store.dnc_contains("+14155550100")
    assert store.add_dnc("+14155550100", now=T0)  # global, a separate entry
    assert not store.add_dnc("+14155550100", now=T0)
    assert store.dnc_contains("+14155550100", other) and store.dnc_contains("+14155550100")
    with pytest.raises(InvalidNumber):
        store.add_dnc("+0123", now=T0)
    with pytest.raises(NotFound):
        store.add_dnc("+14155550100", now=T0, campaign_id=999)


def test_due_leads_include_dnc_numbers_for_dial_time_refusal_and_respect_limit_and_order(
    store: SqliteStore, campaign: int
) -> None:
    records = [contact(n, f"+1415555{n:04d}") for n in range(2, 7)]
    store.import_contacts(campaign, records, now=T0)
    store.add_dnc("+14155550003", now=T0)
    due = store.due_leads(campaign, T0, 10)
    # The DNC number is still due: begin_attempt refuses it, and the engine blocks the lead.
    assert [lead.phone for lead in due] == [f"+1415555{n:04d}" for n in range(2, 7)]
    blocked = next(lead for lead in due if lead.phone == "+14155550003")
    with pytest.raises(OnDoNotCallList):
        store.begin_attempt(blocked.id, "+14155550003", T0)
    assert store.block_lead(blocked.id, now=T0).state == "do_not_call"
    assert "+14155550003" not in [lead.phone for lead in store.due_leads(campaign, T0, 10)]
    assert len(store.due_leads(campaign, T0, 2)) == 2
