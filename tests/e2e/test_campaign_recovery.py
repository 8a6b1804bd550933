"""`kill -9` the running campaign at several points, run it again each time: nothing dialled
twice, nothing known lost, and the campaign still completes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.store.repository import INTERRUPTED_REASON
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port
from tests.e2e.sip_trace import dialled_number, new_invites

pytestmark = pytest.mark.e2e


async def dialer(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def ledger(db: Path) -> list[tuple[int, int, str, str | None, str | None]]:
    """(id, lead, state, outcome, reason) of every attempt, read as another process would."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(
            "SELECT id, lead_id, state, outcome, reason FROM attempts ORDER BY id"
        ).fetchall()


def contacts_csv(folder: Path, count: int) -> Path:
    path = folder / "contacts.csv"
    rows = "".join(f"Contact {i},+1415555{i:04d},\n" for i in range(count))
    path.write_text("customerName,phone,email\n" + rows)
    return path


def config_toml(folder: Path, sipp: Sipp, trunk_extra: str = "") -> Path:
    """The dialer on a free loopback port, its default trunk pointed at `sipp`."""
    path = folder / "config.toml"
    path.write_text(
        f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {free_sip_port()}\n'
        f'transports = ["udp"]\n[trunks.default]\nproxy = "sip:{LOOPBACK}:{sipp.port}"\n'
        "keepalive_s = 0\n" + trunk_extra
    )
    return path


@dataclass(frozen=True)
class AttemptRow:
    id: int
    lead_id: int
    number: str
    state: str
    outcome: str | None
    sip_code: int | None
    reason: str | None
    finished_at: float | None


def attempt_rows(db: Path) -> dict[int, AttemptRow]:
    """Every attempt by id, all that a later run could lose or rewrite."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT id, lead_id, number, state, outcome, sip_code, reason, finished_at"
            " FROM attempts ORDER BY id"
        ).fetchall()
    return {row[0]: AttemptRow(*row) for row in rows}


def lead_rows(db: Path) -> dict[int, tuple[str, int, str | None]]:
    """(state, attempts, last_outcome) by lead id."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT id, state, attempts, last_outcome FROM leads").fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def invites_by_number(sipp: Sipp) -> Counter[str]:
    """Calls SIPp received (distinct Call-IDs) per dialled number."""
    return Counter(dialled_number(m) for m in new_invites(sipp.messages()))


async def poll(db: Path, until: Callable[[dict[int, AttemptRow]], bool], what: str) -> None:
    """Wait until the ledger, read as another process would, satisfies `until`."""
    try:
        async with asyncio.timeout(30):
            while not until(attempt_rows(db)):
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def calls_in_flight(db: Path) -> None:
    await poll(
        db,
        lambda rows: len(rows) >= 8 and sum(r.state == "in_flight" for r in rows.values()) >= 2,
        "8 attempts with 2 calls in flight",
    )


async def an_outcome_just_written(db: Path) -> None:
    await poll(db, lambda rows: len(rows) >= 16, "16 attempts")
    done = {r.id for r in attempt_rows(db).values() if r.state == "finished"}
    await poll(
        db,
        lambda rows: any(r.state == "finished" and r.id not in done for r in rows.values()),
        "an outcome to be written",
    )


async def a_dial_just_committed(db: Path) -> None:
    # Killed as soon as the row is there: its INVITE may or may not have left yet.
    await poll(db, lambda rows: len(rows) >= 24, "24 attempts")
    last = max(attempt_rows(db))
    await poll(db, lambda rows: max(rows) > last, "a new attempt")


async def restarted(db: Path, last: int, interrupted: frozenset[int]) -> None:
    # A restart closes what the kill cut short before it dials anything new.
    await poll(
        db,
        lambda rows: max(rows) > last and all(rows[i].state == "finished" for i in interrupted),
        "the restarted run to reconcile and dial",
    )


KILL_AT = (calls_in_flight, an_outcome_just_written, a_dial_just_committed)


async def test_a_campaign_killed_three_times_resumes_without_double_dialling(
    tmp_path: Path,
) -> None:
    db = tmp_path / "dialer.db"
    contacts = contacts_csv(tmp_path, 30)
    with Sipp.start_uas("campaign_mix", timeout_s=180) as sipp:
        config = config_toml(tmp_path, sipp, "cps = 20\n")
        assert (await dialer("campaign", "create", "recovery", "--db", str(db)))[0] == 0
        code, _, err = await dialer("contacts", "import", "1", str(contacts), "--db", str(db))
        assert code == 0, err
        # fmt: off
        run = ("campaign", "run", "1", "--db", str(db), "--config", str(config),
               "--max-concurrent", "4", "--max-attempts", "2", "--retry-delay", "0",
               "--duration", "1.0", "--any-hour", "--json")
        # fmt: on
        known: dict[int, AttemptRow] = {}  # outcomes written before a kill: never to change
        interrupted: set[int] = set()  # in flight at a kill: closed as such by the next run
        cut_short: list[int] = []  # how many each kill left in flight
        before: dict[int, AttemptRow] = {}
        for kill_number, moment in enumerate(KILL_AT):
            log = (tmp_path / f"run-{kill_number}.log").open("wb")
            service = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "dialer.cli", *run, stdout=log, stderr=log
            )
            try:
                if kill_number:
                    await restarted(db, max(before), frozenset(interrupted))
                    check_after_restart(attempt_rows(db), known, interrupted, sipp)
                await moment(db)
            finally:
                service.kill()  # SIGKILL: no clean-up of any kind
                await service.wait()
                log.close()
            before = attempt_rows(db)
            assert before, (tmp_path / f"run-{kill_number}.log").read_text()[-2000:]
            in_flight = {i for i, row in before.items() if row.state == "in_flight"}
            known |= {i: row for i, row in before.items() if row.state == "finished"}
            interrupted |= in_flight
            cut_short.append(len(in_flight))
            check_no_call_without_its_attempt(before, sipp)

        code, out, err = await dialer(*run, timeout=60)
        assert code == 0, err[-2000:]
        summary = json.loads(out)
        after = attempt_rows(db)
        check_after_restart(after, known, interrupted, sipp)
        # And the trace is no empty check: every attempt with a real outcome had its INVITE.
        with_outcome = Counter(row.number for i, row in after.items() if i not in interrupted)
        invites = invites_by_number(sipp)
        assert all(invites[n] >= c for n, c in with_outcome.items()), with_outcome - invites
    exported = tmp_path / "results.csv"
    code, out, err = await dialer(
        "campaign", "export", "1", "--out", str(exported), "--db", str(db), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == 30
    assert len(exported.read_text().splitlines()) == 31

    assert cut_short[0] >= 1, cut_short  # the kills caught calls in progress
    assert summary["state"] == "completed"
    assert summary["reconciled_at_start"] == cut_short[-1]
    assert summary["created"] == summary["rescheduled"] == summary["processing"] == 0
    assert all(row.state == "finished" for row in after.values())
    # Every lead is final, and its state is what its own ledger rows say.
    by_lead: dict[int, list[AttemptRow]] = {}
    for row in after.values():
        by_lead.setdefault(row.lead_id, []).append(row)
    leads = lead_rows(db)
    assert len(leads) == 30
    for lead_id, (state, attempts, last_outcome) in leads.items():
        rows = by_lead.get(lead_id, [])
        assert attempts == len(rows) and last_outcome == rows[-1].outcome, (lead_id, rows)
        if rows[-1].outcome == "completed":
            assert state == "completed", (lead_id, rows)
        else:
            assert (state, len(rows)) == ("max_retries", 2), (lead_id, rows)
        assert all(row.outcome != "completed" for row in rows[:-1]), rows  # none after an answer


def check_after_restart(
    rows: dict[int, AttemptRow], known: dict[int, AttemptRow], interrupted: set[int], sipp: Sipp
) -> None:
    # No outcome known before a kill (reconciled ones included) was lost or rewritten.
    assert all(rows.get(i) == row for i, row in known.items()), [
        (row, rows.get(i)) for i, row in known.items() if rows.get(i) != row
    ]
    # The interrupted attempts were closed as such, and only they: not left open, not given
    # an outcome after the fact, not reopened and dialled again (a retry is a new row).
    for i in interrupted:
        row = rows[i]
        assert (row.state, row.outcome, row.reason, row.sip_code) == (
            "finished",
            "failed",
            INTERRUPTED_REASON,
            None,
        ), row
    assert {i for i, row in rows.items() if row.reason == INTERRUPTED_REASON} == interrupted
    check_no_call_without_its_attempt(rows, sipp)


def check_no_call_without_its_attempt(rows: dict[int, AttemptRow], sipp: Sipp) -> None:
    # Never more calls to a number than ledger rows for it: each INVITE had its row first.
    dialled = Counter(row.number for row in rows.values())
    invites = invites_by_number(sipp)
    assert all(invites[n] <= dialled[n] for n in invites), (invites - dialled, len(rows))
    # max_attempts holds per lead, interrupted attempts counted.
    assert max(Counter(row.lead_id for row in rows.values()).values()) <= 2


def open_leads(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM leads"
            " WHERE state IN ('created', 'scheduled', 'processing', 'rescheduled')"
        ).fetchone()
        return int(count)


async def test_serve_dials_a_campaign_started_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "dialer.db"
    contacts = contacts_csv(tmp_path, 12)
    with Sipp.start_uas("campaign_mix", timeout_s=120) as sipp:
        config = config_toml(tmp_path, sipp)
        code, out, err = await dialer(
            "campaign",
            "create",
            "served",
            "--max-concurrent",
            "3",
            "--max-attempts",
            "2",
            "--retry-delay",
            "0",
            "--duration",
            "0.3",
            "--any-hour",
            "--db",
            str(db),
            "--json",
        )
        assert code == 0 and json.loads(out)["settings"]["max_concurrent"] == 3, err
        assert (await dialer("contacts", "import", "1", str(contacts), "--db", str(db)))[0] == 0
        service = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dialer.cli",
            "serve",
            "--db",
            str(db),
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert (await dialer("campaign", "start", "1", "--db", str(db)))[0] == 0
            async with asyncio.timeout(60):
                while open_leads(db):
                    await asyncio.sleep(0.1)
        finally:
            service.terminate()  # SIGTERM: a clean stop
            _, log = await asyncio.wait_for(service.communicate(), 15)
        assert service.returncode == 0, log.decode()[-2000:]
        code, out, _ = await dialer("campaign", "list", "--db", str(db), "--json")
        code, follow, _ = await dialer("campaign", "show", "1", "--follow", "--db", str(db))
    (served,) = json.loads(out)["campaigns"]
    assert (served["campaign"], served["name"], served["state"], served["runs"]) == (
        1,
        "served",
        "completed",
        1,
    )
    assert code == 0 and "100% completed" in follow and "remaining 0" in follow
    attempts = ledger(db)
    retried = sum(1 for i in range(12) if i % 10 in (1, 2))  # busy or no answer: two attempts
    assert len(attempts) == 12 + retried
    assert all(row[2] == "finished" for row in attempts)
