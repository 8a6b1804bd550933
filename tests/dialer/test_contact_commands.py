"""`dialer contacts ...` and `dialer dnc ...` end to end, in process, on a real SQLite file:
bad contact files (each refused whole or reported per row, never half-imported), lead
listing and a manager's lead actions, and the do-not-call lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import AttemptOutcome, CallOutcome, LeadEvent, LeadState
from dialer.contacts.phone import DIGITS_LOST
from dialer.store.repository import Lead, OnDoNotCallList
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
HEADER = "customerName,phone,email"
SEED = f"{HEADER}\nAnn,4155550100,ann@example.com\nBob,4155550101,\nCy,4155550102,\n"
BUSY = AttemptOutcome(CallOutcome.BUSY, 486, "Busy Here")
ANSWERED = AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished")


@pytest.fixture
def campaign(store: SqliteStore, tmp_path: Path, run: Any) -> int:
    """A campaign holding Ann, Bob and Cy, imported through the command."""
    campaign_id = store.create_campaign("spring", now=T0)
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED)
    assert run("contacts", "import", str(campaign_id), str(seed)).code == 0
    return campaign_id


def leads(store: SqliteStore, campaign: int) -> list[Lead]:
    return store.list_leads(campaign, include_removed=True)


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return str(path)


def lead_id(store: SqliteStore, campaign: int, name: str) -> int:
    return next(lead.id for lead in store.list_leads(campaign) if lead.name == name)


def dialled(store: SqliteStore, lead: int, result: AttemptOutcome, then: LeadEvent) -> None:
    attempt = store.begin_attempt(lead, store.get_lead(lead).phone or "", T0)
    store.finish_attempt(attempt, result, T0 + 30, then=then)


# -- contacts import: the bad-input list ----------------------------------------------


def test_import_reports_bad_rows_by_line_and_reason_and_imports_the_rest(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "march.csv",
        f"{HEADER},plan\n"
        "Dee,(415) 555-0103,dee@example.com,gold\n"
        "Eve,12,,silver\n"
        ",4155550104,,\n"
        "Fay,4.15555E+09,,\n"
        "Gus,4155550105,not-an-email,\n"
        "Hal,4155550106\n"
        "Ivy,4155550107,,\n",
    )
    ran = run("contacts", "import", str(campaign), path, "--json")
    assert ran.code == 0
    summary = ran.json()
    assert summary["imported"] == 2 and summary["new_leads"] == 2
    assert summary["errors"] == [
        {"line": 3, "reason": "phone: too short ('12')"},
        {"line": 4, "reason": "missing customerName"},
        {"line": 5, "reason": f"phone: {DIGITS_LOST} ('4.15555E+09')"},
        {"line": 6, "reason": "email: not a valid address 'not-an-email'"},
        {"line": 7, "reason": "expected 4 fields, found 2"},
    ]
    assert "7 rows read: 2 imported, 5 rejected" in ran.err
    assert "  line 3: phone: too short ('12')" in ran.err
    assert [lead.name for lead in leads(store, campaign)] == ["Ann", "Bob", "Cy", "Dee", "Ivy"]


def test_empty_rows_are_skipped_and_line_numbers_stay_physical(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    path = write(tmp_path, "gaps.csv", f"{HEADER}\n\n,,\nDee,4155550103,\n \n;;\nEve,12,\n")
    ran = run("contacts", "import", str(campaign), path, "--json")
    assert ran.code == 0
    # ";;" is a row of one non-blank field in a comma file: a row error, not silence
    assert ran.json()["errors"] == [
        {"line": 6, "reason": "expected 3 fields, found 1"},
        {"line": 7, "reason": "phone: too short ('12')"},
    ]
    assert len(leads(store, campaign)) == 4


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text CSV file: NUL byte at offset 8"),
        (b"\xff\xd8\xff\xe0JFIF", "not valid UTF-8: byte 0xff at offset 0 (line 1)"),
        (b"\xff\xfep\x00h\x00", "the file is UTF-16; save it as 'CSV UTF-8'"),
        (b"customerName,phone,email\nCaf\xe9,4155550103,\n", "not valid UTF-8: byte 0xe9"),
        (b"name,number,mail\nDee,4155550103,\n", "missing mandatory column(s): customerName, "),
        (b"customerName;telephone;email\nDee;4155550103;\n", "missing mandatory column(s): phone"),
        (b"customerName,phone,email,Phone\nDee,4155550103,,\n", "duplicate column 'Phone'"),
        (b"customerName,phone,email\n\n,,\n", "a header but no data rows"),
        (b"\n\n \n", "no header line"),
        (b'customerName,phone,email\n"Dee,4155550103,\n', "malformed CSV"),
    ],
)
def test_a_file_refused_whole_imports_nothing(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path, data: bytes, reason: str
) -> None:
    before = leads(store, campaign)
    path = write(tmp_path, "bad.csv", data)
    ran = run("contacts", "import", str(campaign), path)
    assert ran.code == 1
    assert "bad.csv refused, nothing imported: " in ran.err and reason in ran.err
    assert ran.out == ""
    assert leads(store, campaign) == before


def sixty_thousand_rows(tmp_path: Path) -> str:
    rows = "".join(f"P{i},+1415{2_000_000 + i:07d},\n" for i in range(60_000))
    return write(tmp_path, "big.csv", f"{HEADER}\n{rows}")


def test_over_max_rows_is_refused_whole_and_config_raises_the_limit(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    big = sixty_thousand_rows(tmp_path)
    before = leads(store, campaign)
    ran = run("contacts", "import", str(campaign), big)
    assert ran.code == 1
    assert "the file has 60000 data rows; the limit is 50000: split it" in ran.err
    assert leads(store, campaign) == before

    config = write(tmp_path, "config.toml", "[contacts]\nmax_rows = 60000\n")
    ran = run("contacts", "import", str(campaign), big, "--config", config, "--json")
    assert ran.code == 0
    assert ran.json()["new_leads"] == 60_000
    assert sum(store.campaign_counts(campaign).values()) == 60_003


def test_an_unknown_region_is_a_usage_error_not_a_traceback(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    path = write(tmp_path, "more.csv", f"{HEADER}\nDee,555 0103,\n")
    ran = run("contacts", "import", str(campaign), path, "--region", "XX")
    assert ran.code == 2
    assert "argument --region: unknown region 'XX'" in ran.err
    assert "Traceback" not in ran.err
    assert len(leads(store, campaign)) == 3


def test_region_from_the_flag_or_from_config(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    path = write(tmp_path, "uk.csv", f"{HEADER}\nDee,020 7946 0958,\n")
    assert run("contacts", "import", str(campaign), path, "--region", "gb").code == 0
    config = write(tmp_path, "config.toml", '[contacts]\ndefault_region = "GB"\n')
    other = store.create_campaign("uk", now=T0)
    assert run("contacts", "import", str(other), path, "--config", config).code == 0
    assert [lead.phone for lead in store.list_leads(other)] == ["+442079460958"]
    assert store.list_leads(campaign)[-1].phone == "+442079460958"


def test_an_unknown_campaign_or_a_missing_file_imports_nothing(run: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "ok.csv", SEED)
    ran = run("contacts", "import", "999", path)
    assert ran.code == 1
    assert ran.err.strip() == "dialer: nothing imported: no campaign 999"
    ran = run("contacts", "import", "999", str(tmp_path / "absent.csv"))
    assert ran.code == 1 and "cannot read" in ran.err


# -- contacts list -------------------------------------------------------------------


def test_list_shows_every_lead_with_its_state_and_next_attempt_in_utc(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    bob = lead_id(store, campaign, "Bob")
    dialled(store, bob, BUSY, LeadEvent.RESCHEDULE)
    store.defer_lead(bob, 1_800_003_600.0, now=T0)
    ran = run("contacts", "list", str(campaign), "--json")
    assert ran.code == 0
    rows = ran.json()["leads"]
    assert [row["name"] for row in rows] == ["Ann", "Bob", "Cy"]
    assert rows[0] == {
        "id": lead_id(store, campaign, "Ann"),
        "name": "Ann",
        "phone": "+14155550100",
        "secondary_phone": None,
        "email": "ann@example.com",
        "state": "created",
        "attempts": 0,
        "last_outcome": None,
        "next_attempt_at": None,
    }
    assert (rows[1]["state"], rows[1]["attempts"], rows[1]["last_outcome"]) == (
        "rescheduled",
        1,
        "busy",
    )
    assert rows[1]["next_attempt_at"] == "2027-01-15T09:00:00Z"


def test_list_filters_by_state_and_reads_as_a_table(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    dialled(store, lead_id(store, campaign, "Cy"), ANSWERED, LeadEvent.COMPLETE)
    ran = run("contacts", "list", str(campaign), "--state", "completed")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[1] == "leads: 1"
    assert lines[2].split() == [
        "id",
        "name",
        "phone",
        "secondary_phone",
        "email",
        "state",
        "attempts",
        "last_outcome",
        "next_attempt_at",
    ]
    cy = ["Cy", "+14155550102", "-", "-", "completed", "1", "completed", "-"]
    assert lines[3].split()[1:] == cy


def test_list_refuses_an_unknown_campaign_and_state(run: Any) -> None:
    ran = run("contacts", "list", "999")
    assert (ran.code, ran.err.strip()) == (1, "dialer: no campaign 999")
    assert run("contacts", "list", "1", "--state", "asleep").code == 2


# -- lead actions --------------------------------------------------------------------


def test_reset_brings_max_retries_and_completed_leads_back_from_zero(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    ann, bob = lead_id(store, campaign, "Ann"), lead_id(store, campaign, "Bob")
    dialled(store, ann, BUSY, LeadEvent.EXHAUST)
    dialled(store, bob, ANSWERED, LeadEvent.COMPLETE)
    assert store.get_lead(ann).state is LeadState.MAX_RETRIES
    ran = run("contacts", "reset", str(ann), str(bob), "--json")
    assert ran.code == 0
    assert ran.json() == {
        "action": "reset",
        "leads": [
            {"lead": ann, "ok": True, "state": "created", "error": None},
            {"lead": bob, "ok": True, "state": "created", "error": None},
        ],
    }
    for lead in (ann, bob):
        assert (store.get_lead(lead).state, store.get_lead(lead).attempts) == (LeadState.CREATED, 0)
    assert len(store.list_attempts(campaign)) == 2  # the ledger keeps what happened


def test_complete_marks_leads_completed(run: Any, store: SqliteStore, campaign: int) -> None:
    cy = lead_id(store, campaign, "Cy")
    ran = run("contacts", "complete", str(cy))
    assert ran.code == 0
    assert store.get_lead(cy).state is LeadState.COMPLETED
    assert store.due_leads(campaign, T0, 10) == [
        store.get_lead(lead_id(store, campaign, name)) for name in ("Ann", "Bob")
    ]


def test_an_illegal_action_is_refused_per_id_and_the_others_still_happen(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    ann, bob = lead_id(store, campaign, "Ann"), lead_id(store, campaign, "Bob")
    dialled(store, ann, ANSWERED, LeadEvent.COMPLETE)
    ran = run("contacts", "reset", str(bob), str(ann), "--json")  # Bob was never dialled
    assert ran.code == 1
    reason = (
        "cannot reset a lead that is created (only one that is completed, max_retries,"
        " do_not_call, invalid)"
    )
    assert ran.json()["leads"] == [
        {"lead": bob, "ok": False, "state": None, "error": reason},
        {"lead": ann, "ok": True, "state": "created", "error": None},
    ]
    assert ran.err.strip() == f"dialer: lead {bob}: {reason}"
    assert store.get_lead(ann).state is LeadState.CREATED

    ran = run("contacts", "complete", str(ann))
    assert ran.code == 0
    ran = run("contacts", "complete", str(ann))  # completed already: no such transition
    assert ran.code == 1
    assert f"dialer: lead {ann}: cannot complete a lead that is completed" in ran.err


def test_an_unknown_lead_id_is_reported_and_fails_the_command(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    cy = lead_id(store, campaign, "Cy")
    ran = run("contacts", "complete", "999", str(cy))
    assert ran.code == 1
    assert ran.err.strip() == "dialer: lead 999: no lead 999"
    assert store.get_lead(cy).state is LeadState.COMPLETED
    lines = ran.out.splitlines()
    assert lines[3].split() == ["999", "no", "-", "no", "lead", "999"]
    assert lines[4].split() == [str(cy), "yes", "completed", "-"]


def test_remove_never_dials_a_lead_again_but_keeps_its_attempts(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    ann, bob = lead_id(store, campaign, "Ann"), lead_id(store, campaign, "Bob")
    dialled(store, ann, BUSY, LeadEvent.RESCHEDULE)
    ran = run("contacts", "remove", str(ann), "--json")
    assert ran.code == 0
    assert ran.json()["leads"] == [{"lead": ann, "ok": True, "state": "removed", "error": None}]
    assert [lead.name for lead in store.list_leads(campaign)] == ["Bob", "Cy"]
    assert [attempt.lead_id for attempt in store.list_attempts(campaign)] == [ann]
    assert ann not in {lead.id for lead in store.due_leads(campaign, T0 + 10**6, 10)}
    listed = run("contacts", "list", str(campaign), "--json").json()["leads"]
    assert [row["id"] for row in listed] == [bob, lead_id(store, campaign, "Cy")]
    ran = run("contacts", "remove", str(ann))  # gone already
    assert (ran.code, ran.err.strip()) == (1, f"dialer: lead {ann}: no lead {ann}")


def test_remove_is_refused_while_a_call_is_up(run: Any, store: SqliteStore, campaign: int) -> None:
    bob = lead_id(store, campaign, "Bob")
    store.begin_attempt(bob, "+14155550101", T0)
    ran = run("contacts", "remove", str(bob))
    assert ran.code == 1
    assert "cannot remove while a call to it is in progress" in ran.err
    assert store.get_lead(bob).removed_at is None


# -- do-not-call ---------------------------------------------------------------------


def test_dnc_add_normalises_is_idempotent_and_blocks_dialling(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    ran = run("dnc", "add", "(415) 555-0100", "'4155550101", "--json")
    assert ran.code == 0
    assert ran.json() == {
        "list": "global",
        "numbers": [
            {"input": "(415) 555-0100", "number": "+14155550100", "result": "added"},
            {"input": "'4155550101", "number": "+14155550101", "result": "added"},
        ],
    }
    ran = run("dnc", "add", "+1 415 555 0100", "--json")
    assert ran.code == 0
    assert ran.json()["numbers"][0]["result"] == "already listed"
    with pytest.raises(OnDoNotCallList):
        store.begin_attempt(lead_id(store, campaign, "Ann"), "+14155550100", T0)


def test_dnc_add_to_one_campaign_leaves_the_others_alone(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    other = store.create_campaign("autumn", now=T0)
    assert run("dnc", "add", "4155550102", "--campaign", str(campaign)).code == 0
    assert store.dnc_contains("+14155550102", campaign)
    assert not store.dnc_contains("+14155550102", other)
    assert not store.dnc_contains("+14155550102")


def test_dnc_add_reports_a_bad_number_and_adds_the_good_ones(run: Any, store: SqliteStore) -> None:
    ran = run("dnc", "add", "12", "4155550100", "4.15555E+09", "--json")
    assert ran.code == 1
    assert [row["result"] for row in ran.json()["numbers"]] == [
        "refused: too short",
        "added",
        "refused: number mangled by scientific notation (digits lost)",
    ]
    assert "dialer: '12' refused: too short" in ran.err
    assert [entry.number for entry in store.list_dnc()] == ["+14155550100"]


def test_dnc_remove_and_list_global_and_per_campaign(
    run: Any, store: SqliteStore, campaign: int
) -> None:
    run("dnc", "add", "4155550100", "4155550101")
    run("dnc", "add", "4155550101", "4155550102", "--campaign", str(campaign))
    listed = run("dnc", "list", "--json").json()
    assert listed["list"] == "global"
    assert [(e["number"], e["campaign"], e["source"]) for e in listed["entries"]] == [
        ("+14155550100", None, "cli"),
        ("+14155550101", None, "cli"),
    ]
    assert listed["entries"][0]["added_at"].endswith("Z")
    applies = run("dnc", "list", "--campaign", str(campaign), "--json").json()["entries"]
    assert [(e["number"], e["campaign"]) for e in applies] == [
        ("+14155550100", None),
        ("+14155550101", None),
        ("+14155550101", campaign),
        ("+14155550102", campaign),
    ]

    ran = run("dnc", "remove", "4155550101", "4155550102", "--campaign", str(campaign), "--json")
    assert ran.code == 0
    assert [row["result"] for row in ran.json()["numbers"]] == [
        "removed (still on the global list)",
        "removed",
    ]
    ran = run("dnc", "remove", "4155550100", "4155550109", "--json")
    assert ran.code == 0
    assert [row["result"] for row in ran.json()["numbers"]] == ["removed", "not listed"]
    assert [entry.number for entry in store.list_dnc(campaign)] == ["+14155550101"]

    text = run("dnc", "list").out.splitlines()
    assert text[:2] == ["list  global", "entries: 1"]
    assert text[3].split()[:3] == ["+14155550101", "-", "cli"]


def test_dnc_commands_refuse_an_unknown_campaign_and_region(run: Any, store: SqliteStore) -> None:
    for argv in (("add", "4155550100"), ("remove", "4155550100"), ("list",)):
        ran = run("dnc", *argv, "--campaign", "999")
        assert (ran.code, ran.err.strip()) == (1, "dialer: no campaign 999")
    ran = run("dnc", "add", "4155550100", "--region", "ZZ")
    assert ran.code == 2 and "unknown region 'ZZ'" in ran.err
    assert store.list_dnc() == []


def test_dnc_import_reports_bad_lines_and_adds_the_rest_in_one_go(
    run: Any, store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    run("dnc", "add", "4155550100", "--campaign", str(campaign))
    path = write(
        tmp_path,
        "optouts.csv",
        "\ufeffName;Phone\nAnn;4155550100\nBob;12\n;\nCy;4,155550102E+09\nDee;4155550103;x\n",
    )
    ran = run("dnc", "import", path, "--campaign", str(campaign), "--json")
    assert ran.code == 0
    assert ran.json() == {
        "list": f"campaign {campaign}",
        "total_lines": 4,
        "numbers": 2,
        "duplicates": 0,
        "new_numbers": 1,
        "errors": [
            {"line": 3, "reason": "too short ('12')"},
            {"line": 6, "reason": "expected 2 fields, found 3"},
        ],
    }
    assert "  line 3: too short ('12')" in ran.err
    assert [(e.number, e.source) for e in store.list_dnc(campaign)] == [
        ("+14155550100", "cli"),
        ("+14155550102", "import:optouts.csv"),
    ]


def test_dnc_import_one_number_per_line_to_the_global_list(
    run: Any, store: SqliteStore, tmp_path: Path
) -> None:
    path = write(tmp_path, "carrier.txt", "4155550100\r\n\r\n+44 20 7946 0958\r\n")
    ran = run("dnc", "import", path)
    assert ran.code == 0
    assert [(e.number, e.source) for e in store.list_dnc()] == [
        ("+14155550100", "import:carrier.txt"),
        ("+442079460958", "import:carrier.txt"),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "NUL byte at offset 7"),
        (b"4155550100\n\xc3\x28\n", "not valid UTF-8"),
        (b"name,number\nAnn,4155550100\n", "looks like a CSV header but has no 'phone' column"),
        (b"12\nabc\n", "no valid number"),
    ],
)
def test_dnc_import_of_a_file_refused_whole_adds_nothing(
    run: Any, store: SqliteStore, tmp_path: Path, data: bytes, reason: str
) -> None:
    run("dnc", "add", "4155550109")
    ran = run("dnc", "import", write(tmp_path, "bad.txt", data))
    assert ran.code == 1
    assert reason in ran.err and "bad.txt refused, nothing imported" in ran.err
    assert ran.out == ""
    assert [entry.number for entry in store.list_dnc()] == ["+14155550109"]
