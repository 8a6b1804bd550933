"""A progressive campaign under `dialer serve`, its agent a baresip that registered with a
password: the whole product path, from `dialer agent add` to the ledger."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from media.correlation import best_alignment
from media.g711 import ulaw_decode_samples
from tests.e2e.audio_fixtures import read_wav_pcm16, write_wav
from tests.e2e.peers import LOOPBACK, Baresip, Sipp, free_sip_port, require_binary
from tests.e2e.test_calls import speechlike
from tests.e2e.test_campaign_recovery import contacts_csv, dialer

PASSWORD = "correct.horse.battery"


async def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.cli", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


async def add_agents(db: Path, *extensions: str) -> None:
    for extension in extensions:
        code, _, err = await cli(
            "agent", "add", f"Agent {extension}", "--extension", extension, "--password-stdin",
            "--db", str(db), stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert code == 0, err


async def serve(db: Path, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.cli", "serve", "--db", str(db), "--config", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_for(condition: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.1)


async def test_a_registered_agent_takes_every_person_of_a_progressive_campaign(
    tmp_path: Path,
) -> None:
    require_binary("sipp")
    require_binary("baresip")
    db = tmp_path / "dialer.db"
    port = free_sip_port()
    voice = ulaw_decode_samples(speechlike(2.5, seed=31))
    await add_agents(db, "1001")
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=3, timeout_s=120) as person:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {port}\ntransports = ["udp"]\n'
            f'[trunks.default]\nproxy = "sip:{LOOPBACK}:{person.port}"\nkeepalive_s = 0\n'
            "[agents]\nwrap_up_s = 0.5\n"
        )
        code, out, err = await dialer(
            "campaign", "create", "agents", "--mode", "progressive", "--max-concurrent", "3",
            "--any-hour", "--db", str(db), "--json",
        )  # fmt: skip
        assert code == 0 and json.loads(out)["settings"]["mode"] == "progressive", err
        assert (await dialer("contacts", "import", "1", str(contacts_csv(tmp_path, 3)),
                             "--db", str(db)))[0] == 0  # fmt: skip
        service = await serve(db, config)
        try:
            with Baresip.start(
                user="1001",
                password=PASSWORD,
                registrar=(LOOPBACK, port),
                audio_in=write_wav(tmp_path / "agent.wav", voice),
                record_dir=tmp_path / "heard",
                timeout_s=90,
            ) as phone:
                await wait_for(
                    lambda: query(db, "SELECT 1 FROM agent_state_changes WHERE state='ready'"),
                    20,
                )
                assert (await dialer("campaign", "start", "1", "--db", str(db)))[0] == 0
                await wait_for(
                    lambda: (
                        query(db, "SELECT count(*) FROM attempts WHERE state='finished'") == [(3,)]
                    ),
                    90,
                )
                phone.command("quit")  # baresip unregisters on its way out: logged out
                await wait_for(
                    lambda: (
                        query(db, "SELECT state FROM agent_state_changes ORDER BY id DESC LIMIT 1")
                        == [("logged_out",)]
                    ),
                    15,
                )
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
        assert service.returncode == 0, log.decode()[-3000:]
    text = log.decode()
    assert PASSWORD not in text
    attempts = query(
        db, "SELECT started_at, finished_at, variables FROM attempts ORDER BY started_at"
    )
    for _, _, variables in attempts:
        assert json.loads(str(variables))["DialCallStatus"] == "completed", variables
        assert json.loads(str(variables))["agent"] == "1001"
    # Progressive with one agent: one call at a time, never a second while the first is up.
    for (_, finished, _), (started, _, _) in itertools.pairwise(attempts):
        assert float(str(started)) >= float(str(finished)) - 0.5
    # Each call: the agent heard their own voice, back through the person's echo.
    heard = sorted((tmp_path / "heard").glob("dump-*-dec.wav"))
    assert len(heard) == 3
    for dump in heard:
        samples, _ = read_wav_pcm16(dump)
        assert best_alignment(voice[:12000], samples).score > 0.6, dump
    code, out, _ = await dialer("campaign", "show", "1", "--db", str(db), "--json")
    meter = json.loads(out)["abandonment"]
    assert (meter["live_30d"], meter["abandoned_30d"], meter["limit"]) == (3, 0, 0.03)
    export = tmp_path / "results.csv"
    code, _, err = await dialer("campaign", "export", "1", "--out", str(export), "--db", str(db))
    assert code == 0, err
    assert all(row.endswith(",1001") for row in export.read_text().splitlines()[1:]), export
    states = [row[0] for row in query(db, "SELECT state FROM agent_state_changes ORDER BY id")]
    assert states[:2] == ["paused", "ready"]
    assert states.count("on_call") == 3 and states.count("wrap_up") == 3


@pytest.mark.parametrize("mode", ["predictive", "ratio"])
async def test_agent_modes_refuse_to_run_outside_serve(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "dialer.db"
    code, _, err = await dialer(
        "campaign", "create", "x", "--mode", mode, "--any-hour", "--db", str(db)
    )
    assert code == 0, err
    assert (await dialer("contacts", "import", "1", str(contacts_csv(tmp_path, 1)),
                         "--db", str(db)))[0] == 0  # fmt: skip
    code, out, err = await dialer("campaign", "run", "1", "--db", str(db))
    assert code != 0
    assert "needs agents" in out + err


async def test_a_predictive_campaign_hands_every_person_to_an_agent_or_the_safe_harbor(
    tmp_path: Path,
) -> None:
    """Two agents, a trunk where some numbers are busy or away: every person who answers
    is bridged or hears the safe harbor, and the meter agrees with the ledger."""
    require_binary("sipp")
    require_binary("baresip")
    db = tmp_path / "dialer.db"
    port = free_sip_port()
    await add_agents(db, "1001", "1002")
    talk = write_wav(tmp_path / "talk.wav", ulaw_decode_samples(speechlike(1.5, seed=41)))
    with Sipp.start_uas("campaign_mix", timeout_s=120) as trunk:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {port}\ntransports = ["udp"]\n'
            f'[trunks.default]\nproxy = "sip:{LOOPBACK}:{trunk.port}"\nkeepalive_s = 0\n'
            "[rtp]\ndead_air_s = 5.0\n[agents]\nwrap_up_s = 0.2\n"
        )
        code, out, err = await dialer(
            "campaign", "create", "predictive", "--mode", "predictive", "--max-concurrent", "6",
            "--max-attempts", "1", "--any-hour", "--db", str(db), "--json",
        )  # fmt: skip
        assert code == 0, err
        assert (await dialer("contacts", "import", "1", str(contacts_csv(tmp_path, 20)),
                             "--db", str(db)))[0] == 0  # fmt: skip
        service = await serve(db, config)
        try:
            with (
                Baresip.start(user="1001", password=PASSWORD, registrar=(LOOPBACK, port),
                              audio_in=talk, timeout_s=120),
                Baresip.start(user="1002", password=PASSWORD, registrar=(LOOPBACK, port),
                              audio_in=talk, timeout_s=120),
            ):  # fmt: skip
                await wait_for(
                    lambda: query(
                        db, "SELECT count(DISTINCT agent_id) FROM agent_state_changes"
                        " WHERE state = 'ready'",
                    ) == [(2,)],
                    20,
                )  # fmt: skip
                assert (await dialer("campaign", "start", "1", "--db", str(db)))[0] == 0
                await wait_for(
                    lambda: (
                        query(db, "SELECT count(*) FROM attempts WHERE state='finished'") == [(20,)]
                    ),
                    100,
                )
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
        assert service.returncode == 0, log.decode()[-3000:]
    assert "Traceback" not in log.decode()
    rows = query(db, "SELECT number, sip_code, variables FROM attempts ORDER BY id")
    live = lost = 0
    for number, sip_code, variables in rows:
        status = json.loads(str(variables or "{}")).get("DialCallStatus")
        if str(number)[-1] in "12":  # busy, or away: nobody to hand over
            assert sip_code in (486, 480) and status is None, (number, sip_code, variables)
        else:
            assert sip_code == 200 and status in ("completed", "abandoned"), (number, variables)
            live += 1
            lost += status == "abandoned"
    code, out, _ = await dialer("campaign", "show", "1", "--db", str(db), "--json")
    meter = json.loads(out)["abandonment"]
    assert (meter["live_30d"], meter["abandoned_30d"]) == (live, lost) and live == 16
    takers = query(db, "SELECT DISTINCT agent_id FROM agent_state_changes WHERE state='on_call'")
    assert len(takers) == 2  # both agents took calls
