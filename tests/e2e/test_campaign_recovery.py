"""`kill -9` the running campaign mid-way, run it again: nothing dialled twice, nothing lost."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from dialer.store.repository import INTERRUPTED_REASON
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port

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


async def test_killed_campaign_resumes_without_double_dialling(tmp_path: Path) -> None:
    db = tmp_path / "dialer.db"
    contacts = contacts_csv(tmp_path, 30)
    with Sipp.start_uas("campaign_mix", timeout_s=180) as sipp:
        config = config_toml(tmp_path, sipp, "cps = 20\n")
        assert (await dialer("campaign", "create", "recovery", "--db", str(db)))[0] == 0
        code, _, err = await dialer("contacts", "import", "1", str(contacts), "--db", str(db))
        assert code == 0, err
        run = (
            "campaign",
            "run",
            "1",
            "--db",
            str(db),
            "--config",
            str(config),
            "--max-concurrent",
            "4",
            "--max-attempts",
            "2",
            "--retry-delay",
            "0",
            "--duration",
            "1.0",
            "--any-hour",
            "--json",
        )
        first = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dialer.cli",
            *run,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        # Let it get well into the campaign, with calls up, then kill it without warning.
        async with asyncio.timeout(30):
            while len(ledger(db)) < 10:
                await asyncio.sleep(0.05)
        first.kill()
        await first.wait()
        before = ledger(db)
        known = {row[0]: row for row in before if row[2] == "finished"}
        in_flight = [row for row in before if row[2] == "in_flight"]

        code, out, err = await dialer(*run, timeout=120)
        assert code == 0, err[-2000:]
        summary = json.loads(out)
        invites = Counter(
            m.header("Call-ID")
            for m in sipp.messages()
            if m.direction == "received" and m.method == "INVITE"
        )
    after = ledger(db)
    exported = tmp_path / "results.csv"
    code, out, err = await dialer(
        "campaign", "export", "1", "--out", str(exported), "--db", str(db), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == 30
    assert len(exported.read_text().splitlines()) == 31

    assert in_flight, "the kill should have caught calls in progress"
    assert summary["state"] == "completed"
    assert summary["reconciled_at_start"] == len(in_flight)
    assert summary["created"] == summary["rescheduled"] == summary["processing"] == 0
    # Nothing known before the kill was lost or rewritten.
    assert all(after[attempt_id - 1] == row for attempt_id, row in known.items())
    # The interrupted attempts were closed as such, not left open and not redialled as-is.
    for row in in_flight:
        assert after[row[0] - 1][2:] == ("finished", "failed", INTERRUPTED_REASON)
    assert all(row[2] == "finished" for row in after)
    # Never more INVITEs than ledger rows: no call left without its attempt committed first.
    assert len(invites) <= len(after)
    per_lead = Counter(row[1] for row in after)
    assert max(per_lead.values()) <= 2  # max_attempts held across the crash


async def test_campaign_controls_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "dialer.db")
    assert (await dialer("campaign", "create", "spring", "--db", db))[0] == 0
    code, _, err = await dialer("campaign", "pause", "1", "--db", db)
    assert code == 1 and "no transition from 'draft' on 'pause'" in err  # the table says no
    code, out, _ = await dialer("campaign", "duplicate", "1", "--db", db, "--json")
    assert code == 0 and json.loads(out) == {"campaign": 2, "copied_from": 1, "state": "draft"}
    code, out, _ = await dialer("campaign", "stop", "2", "--db", db, "--json")
    assert code == 0 and json.loads(out)["state"] == "stopped"
    code, out, _ = await dialer("campaign", "list", "--db", db, "--json")
    assert [(c["name"], c["state"]) for c in json.loads(out)["campaigns"]] == [
        ("spring", "draft"),
        ("spring (copy)", "stopped"),
    ]
    code, _, err = await dialer("campaign", "resume", "2", "--db", db)
    assert code == 1  # stop is final
    code, _, err = await dialer("campaign", "show", "9", "--db", db)
    assert code == 1 and "9" in err


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
        assert code == 0 and json.loads(out)["max_concurrent"] == 3, err
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
    assert json.loads(out)["campaigns"] == [{"campaign": 1, "name": "served", "state": "completed"}]
    assert code == 0 and "100% completed" in follow and "remaining 0" in follow
    attempts = ledger(db)
    retried = sum(1 for i in range(12) if i % 10 in (1, 2))  # busy or no answer: two attempts
    assert len(attempts) == 12 + retried
    assert all(row[2] == "finished" for row in attempts)
