"""Results export: both CSVs parsed back column by column and checked against the ledger;
the store's list and count methods the export reads."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.campaign.export import (
    ATTEMPT_COLUMNS,
    export_attempts_csv,
    export_leads_csv,
    guard_formula,
)
from dialer.campaign.model import (
    AnsweredBy,
    AttemptOutcome,
    AttemptState,
    CallOutcome,
    LeadEvent,
    LeadState,
)
from dialer.contacts.record import ContactRecord
from dialer.store.repository import NotFound
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ADA, BOB, CAROL, DAN, EVE = (f"+1415555010{n}" for n in range(5))
HEAD = ["customerName", "phone", "email", "secondary_phone", "timezone"]
TAIL = [
    "state",
    "last_outcome",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "duration_s",
    "answered_by",
    "variables",
    "agent",
]


def iso(offset: float) -> str:
    """T0 + offset seconds, written out by hand (T0 is 08:00:00 UTC)."""
    minutes, seconds = divmod(int(offset), 60)
    return f"2027-01-15T08:{minutes:02d}:{seconds:02d}Z"


@dataclass(frozen=True)
class Ledger:
    campaign: int
    leads: dict[str, int]  # phone -> lead id
    attempts: list[int]  # attempt ids in the order dialled


def dial(
    store: SqliteStore,
    lead: int,
    number: str,
    start: float,
    end: float,
    result: AttemptOutcome,
    then: LeadEvent,
) -> int:
    attempt = store.begin_attempt(lead, number, T0 + start)
    assert store.finish_attempt(attempt, result, T0 + end, then=then)
    return attempt


@pytest.fixture
def ledger(store: SqliteStore) -> Ledger:
    """Five contacts: Ada's machine, then Ada herself; Bob's machine on the 2nd (secondary);
    Carol answered, then failed, then one in flight; Dan never dialled; Eve removed."""
    campaign = store.create_campaign("spring", now=T0)
    store.import_contacts(
        campaign,
        [
            ContactRecord(2, "Ada", ADA, "ada@example.com", None, "Europe/Paris", {"plan": "gold"}),
            ContactRecord(
                3,
                "Bob",
                BOB,
                None,
                "+14155550199",
                "America/New_York",
                {"region": "east", "notes": '=HYPERLINK("http://evil.example")'},
            ),
            ContactRecord(
                4, "@Carol", CAROL, "+cmd@example.com", attributes={"state": "CA", "plan": "-5"}
            ),
            ContactRecord(5, "Dan", DAN, "dan@example.com"),
            ContactRecord(6, "Eve", EVE, None, attributes={"gone": "yes"}),
        ],
        now=T0,
    )
    leads = {lead.phone or "": lead.id for lead in store.list_leads(campaign)}
    human = AttemptOutcome(
        CallOutcome.COMPLETED,
        200,
        answered_by=AnsweredBy.HUMAN,
        variables={"pressed": "1"},
        duration_s=42.5,
    )
    machine = AttemptOutcome(
        CallOutcome.COMPLETED, 200, answered_by=AnsweredBy.MACHINE, duration_s=30.25
    )
    carol_human = AttemptOutcome(
        CallOutcome.COMPLETED,
        200,
        answered_by=AnsweredBy.HUMAN,
        variables={"menu": "=1+2", "name": "Zoë"},
        duration_s=10.0,
    )
    voicemail = AttemptOutcome(
        CallOutcome.COMPLETED, 200, answered_by=AnsweredBy.MACHINE, duration_s=20.0
    )
    busy = AttemptOutcome(CallOutcome.BUSY, 486, "Busy Here")
    no_answer = AttemptOutcome(CallOutcome.NO_ANSWER, 480, "Temporarily Unavailable")
    failed = AttemptOutcome(CallOutcome.FAILED, 503, "-ERR trunk down")
    resched, complete = LeadEvent.RESCHEDULE, LeadEvent.COMPLETE
    attempts = [
        dial(store, leads[ADA], ADA, 10, 15, voicemail, resched),
        dial(store, leads[BOB], BOB, 20, 50, no_answer, resched),
        dial(store, leads[CAROL], CAROL, 30, 45, carol_human, resched),
        dial(store, leads[EVE], EVE, 40, 44, busy, resched),
        dial(store, leads[ADA], ADA, 100, 143, human, complete),
        dial(store, leads[BOB], "+14155550199", 200, 231, machine, complete),
        dial(store, leads[CAROL], CAROL, 300, 301, failed, resched),
        store.begin_attempt(leads[CAROL], CAROL, T0 + 400),  # still in flight
    ]
    store.remove_lead(leads[EVE], now=T0 + 500)
    return Ledger(campaign, leads, attempts)


def export(store: SqliteStore, campaign: int, which: str) -> tuple[int, str]:
    out = io.StringIO(newline="")  # no newline translation: the bytes as a file gets them
    writer = export_leads_csv if which == "leads" else export_attempts_csv
    return writer(store, campaign, out), out.getvalue()


def parse(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    assert reader.fieldnames is not None
    return list(reader.fieldnames), rows


# -- the contact export -------------------------------------------------------------


def test_leads_export_every_column(store: SqliteStore, ledger: Ledger) -> None:
    written, text = export(store, ledger.campaign, "leads")
    header, rows = parse(text)
    assert written == len(rows) == 4  # Eve was removed
    # attribute union in first-seen order; Carol's "state" clashes with the state column
    attributes = ["plan", "region", "notes", "state (attribute)"]
    assert header == HEAD + attributes + TAIL
    ada, bob, carol, dan = rows
    assert ada == dict(
        zip(HEAD, ["Ada", ADA, "ada@example.com", "", "Europe/Paris"], strict=True),
        plan="gold",
        region="",
        notes="",
        **{"state (attribute)": ""},
        state="completed",
        last_outcome="completed",
        attempts="2",
        first_attempt_at=iso(10),
        last_attempt_at=iso(100),
        duration_s="62.5",  # both answered attempts
        answered_by="human",  # the last answered one's, not the first's
        variables='{"pressed": "1"}',
        agent="",
    )
    assert bob == dict(
        zip(HEAD, ["Bob", BOB, "", "+14155550199", "America/New_York"], strict=True),
        plan="",
        region="east",
        notes='\'=HYPERLINK("http://evil.example")',
        **{"state (attribute)": ""},
        state="completed",
        last_outcome="completed",
        attempts="2",
        first_attempt_at=iso(20),
        last_attempt_at=iso(200),
        duration_s="30.25",  # the no-answer attempt has no duration
        answered_by="machine",
        variables="{}",
        agent="",
    )
    assert carol == dict(
        zip(HEAD, ["'@Carol", CAROL, "'+cmd@example.com", "", ""], strict=True),
        plan="'-5",
        region="",
        notes="",
        **{"state (attribute)": "CA"},
        state="processing",  # the third attempt is in flight
        last_outcome="failed",  # of the last finished attempt
        attempts="3",
        first_attempt_at=iso(30),
        last_attempt_at=iso(400),
        duration_s="10.0",
        answered_by="human",  # the last attempt that was answered, not the last one
        variables="{}",  # the failed attempt's (last finished) variables
        agent="",
    )
    assert dan == dict(
        zip(HEAD, ["Dan", DAN, "dan@example.com", "", ""], strict=True),
        plan="",
        region="",
        notes="",
        **{"state (attribute)": ""},
        state="created",
        last_outcome="",
        attempts="0",
        first_attempt_at="",
        last_attempt_at="",
        duration_s="",
        answered_by="",
        variables="",
        agent="",
    )


def test_leads_export_agrees_with_the_ledger(store: SqliteStore, ledger: Ledger) -> None:
    _, rows = parse(export(store, ledger.campaign, "leads")[1])
    _, attempt_rows = parse(export(store, ledger.campaign, "attempts")[1])
    for row in rows:
        lead = store.get_lead(ledger.leads[row["phone"]])
        in_flight = sum(
            1
            for attempt in store.list_attempts(ledger.campaign)
            if attempt.lead_id == lead.id and attempt.state is AttemptState.IN_FLIGHT
        )
        assert int(row["attempts"]) == lead.attempts + in_flight
        assert int(row["attempts"]) == sum(a["lead_id"] == str(lead.id) for a in attempt_rows)
        assert row["last_outcome"] == (lead.last_outcome or "")
        assert row["state"] == lead.state


def test_csv_is_excel_shaped_and_quoted_minimally(
    store: SqliteStore, ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        export_leads_csv(store, ledger.campaign, out)
    raw = path.read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line for line in lines)  # CRLF, nothing else
    assert lines[0].startswith(b"customerName,phone,email,")  # no needless quotes
    assert b'"\'=HYPERLINK(""http://evil.example"")"' in raw  # quoted only where needed
    assert f",{ADA},".encode() in raw  # an E.164 number stays bare: a number to Excel


def test_removed_leads_are_left_out_of_the_contacts_only(
    store: SqliteStore, ledger: Ledger
) -> None:
    header, rows = parse(export(store, ledger.campaign, "leads")[1])
    assert EVE not in {row["phone"] for row in rows}
    assert "gone" not in header  # only live leads' attributes make columns
    _, attempts = parse(export(store, ledger.campaign, "attempts")[1])
    assert [row["customerName"] for row in attempts if row["number"] == EVE] == ["Eve"]


# -- the attempt export -------------------------------------------------------------

MENU, PRESSED = '{"menu": "=1+2", "name": "Zoë"}', '{"pressed": "1"}'


def finished(
    lead: int,
    name: str,
    number: str,
    start: float,
    end: float,
    outcome: str,
    sip_code: str,
    reason: str = "",
    answered_by: str = "",
    duration_s: str = "",
    variables: str = "{}",
) -> list[str]:
    """The expected cells of a finished attempt's row, attempt id left out."""
    more = [answered_by, duration_s, variables]
    started, ended = iso(start), iso(end)
    return [str(lead), name, number, started, ended, "finished", outcome, sip_code, reason, *more]


def test_attempts_export_every_column(store: SqliteStore, ledger: Ledger) -> None:
    written, text = export(store, ledger.campaign, "attempts")
    header, rows = parse(text)
    assert header == list(ATTEMPT_COLUMNS)
    assert written == len(rows) == 8
    assert [int(row["attempt_id"]) for row in rows] == ledger.attempts
    lead = ledger.leads
    cells = [[row[column] for column in ATTEMPT_COLUMNS if column != "attempt_id"] for row in rows]
    ada, bob, carol, eve = (lead[n] for n in (ADA, BOB, CAROL, EVE))
    assert cells == [
        finished(ada, "Ada", ADA, 10, 15, "completed", "200", "", "machine", "20.0"),
        finished(bob, "Bob", BOB, 20, 50, "no_answer", "480", "Temporarily Unavailable"),
        finished(carol, "'@Carol", CAROL, 30, 45, "completed", "200", "", "human", "10.0", MENU),
        finished(eve, "Eve", EVE, 40, 44, "busy", "486", "Busy Here"),
        finished(ada, "Ada", ADA, 100, 143, "completed", "200", "", "human", "42.5", PRESSED),
        finished(bob, "Bob", "+14155550199", 200, 231, "completed", "200", "", "machine", "30.25"),
        finished(carol, "'@Carol", CAROL, 300, 301, "failed", "503", "'-ERR trunk down"),
        [str(carol), "'@Carol", CAROL, iso(400), "", "in_flight", "", "", "", "", "", ""],
    ]
    assert json.loads(MENU) == {"menu": "=1+2", "name": "Zoë"}  # JSON, never guarded


def test_attempts_export_agrees_with_the_ledger(store: SqliteStore, ledger: Ledger) -> None:
    _, rows = parse(export(store, ledger.campaign, "attempts")[1])
    for row in rows:
        attempt = store.get_attempt(int(row["attempt_id"]))
        assert row["state"] == attempt.state
        assert row["outcome"] == (attempt.result.outcome if attempt.result else "")


# -- empty and missing campaigns ----------------------------------------------------


def test_an_empty_campaign_exports_a_header_only(store: SqliteStore) -> None:
    campaign = store.create_campaign("empty", now=T0)
    assert export(store, campaign, "leads") == (0, ",".join(HEAD + TAIL) + "\r\n")
    assert export(store, campaign, "attempts") == (0, ",".join(ATTEMPT_COLUMNS) + "\r\n")


def test_a_missing_campaign_is_not_found(store: SqliteStore) -> None:
    for which in ("leads", "attempts"):
        with pytest.raises(NotFound):
            export(store, 404, which)


# -- the injection guard ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1 (555)", "'+1 (555)"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ada=1", "Ada=1"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_guard_formula(cell: str, expected: str) -> None:
    assert guard_formula(cell) == expected


def test_an_attribute_named_like_a_formula_is_guarded_in_the_header(store: SqliteStore) -> None:
    campaign = store.create_campaign("odd", now=T0)
    store.import_contacts(
        campaign, [ContactRecord(2, "Ada", ADA, None, attributes={"=cmd": "x"})], now=T0
    )
    header, rows = parse(export(store, campaign, "leads")[1])
    assert header == [*HEAD, "'=cmd", *TAIL]
    assert rows[0]["'=cmd"] == "x"


# -- the store's list and count methods ---------------------------------------------


def test_list_leads_orders_by_id_and_hides_removed(store: SqliteStore, ledger: Ledger) -> None:
    live = store.list_leads(ledger.campaign)
    assert [lead.phone for lead in live] == [ADA, BOB, CAROL, DAN]
    every = store.list_leads(ledger.campaign, include_removed=True)
    assert [lead.phone for lead in every] == [ADA, BOB, CAROL, DAN, EVE]
    assert every[-1].removed_at == T0 + 500
    other = store.create_campaign("other", now=T0)
    assert store.list_leads(other) == [] and store.list_attempts(other) == []


def test_list_attempts_is_the_whole_ledger_in_order(store: SqliteStore, ledger: Ledger) -> None:
    attempts = store.list_attempts(ledger.campaign)
    assert [attempt.id for attempt in attempts] == ledger.attempts
    assert attempts == [store.get_attempt(attempt_id) for attempt_id in ledger.attempts]


def test_campaign_counts(store: SqliteStore, ledger: Ledger) -> None:
    expected = {str(state): 0 for state in LeadState}
    expected |= {"completed": 2, "processing": 1, "created": 1, "removed": 1, "in_flight": 1}
    expected |= {"called": 3}  # the two completed and the one in flight
    assert store.campaign_counts(ledger.campaign) == expected
    with pytest.raises(NotFound):
        store.campaign_counts(404)
