"""Scheduled and recurring campaigns against SIPp.

A weekly campaign runs on a fake wall clock (the calls themselves are real): each run
calls every contact once, the leads start over between runs, and after its last
occurrence the campaign completes. A campaign started for a time a few seconds ahead is
dialled by `dialer serve` at that time, not before."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.schedule import Recurring, Weekly
from dialer.campaign.settings import CampaignSettings
from dialer.campaigns import start
from dialer.config import Config, RtpSettings, SipSettings, TrunkSettings
from dialer.runtime import Dialer
from dialer.service import CampaignHost, start_due_campaigns
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.campaign_run import contacts
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port
from tests.e2e.sip_trace import new_invites
from tests.e2e.test_campaign_recovery import config_toml, contacts_csv, dialer

pytestmark = pytest.mark.e2e
NY = ZoneInfo("America/New_York")
MONDAY_9AM = datetime(2027, 1, 4, 9, 0, tzinfo=NY)
NEXT_MONDAY_9AM = datetime(2027, 1, 11, 9, 0, tzinfo=NY)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_weekly_campaign_calls_everyone_each_run_then_completes(tmp_path: Path) -> None:
    # Answered numbers only (campaign_mix: ...1 busy, ...2 no answer), in New York hours.
    records = [r for r in contacts(20) if r.phone and r.phone[-1] not in "12"][:6]
    records = [replace(r, timezone="America/New_York") for r in records]
    weekly = Recurring(Weekly(frozenset({0})), dt_time(9), NY, date(2027, 1, 4), occurrences=2)
    settings = CampaignSettings(max_concurrent=3, max_duration_s=0.3, schedule=weekly)
    clock = Clock(MONDAY_9AM.timestamp() - 3600)
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK),
            trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0)},
        )
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(
            lambda s: s.create_campaign("weekly", now=clock.now, settings=settings.to_dict())
        )
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=clock.now))
        started = await store.run(lambda s: start(s, campaign_id, clock.now, config))
        assert (started.state, started.next_run_at) == ("scheduled", MONDAY_9AM.timestamp())
        dialer_ = await Dialer.start(config)
        host = CampaignHost(config, dialer_, store, wall_clock=clock)
        try:
            await start_due_campaigns(host, store, set())  # an hour early: nothing happens
            assert not host.is_active(campaign_id)
            assert await store.run(lambda s: s.list_attempts(campaign_id)) == []

            clock.now = MONDAY_9AM.timestamp()
            await start_due_campaigns(host, store, set())
            first = await asyncio.wait_for(host.wait_finished(campaign_id), 30)
            between = await store.run(lambda s: s.get_campaign(campaign_id))
            first_leads = await store.run(lambda s: s.list_leads(campaign_id))

            clock.now = NEXT_MONDAY_9AM.timestamp()
            await start_due_campaigns(host, store, set())
            second = await asyncio.wait_for(host.wait_finished(campaign_id), 30)
        finally:
            await host.close()
            await dialer_.close()
        invites = new_invites(sipp.messages())
    try:
        final = await store.run(lambda s: s.get_campaign(campaign_id))
        leads = await store.run(lambda s: s.list_leads(campaign_id))
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
    finally:
        store.close()

    assert first.state == "scheduled" and second.state == "completed"
    assert (between.state, between.runs, between.next_run_at) == (
        "scheduled",
        1,
        NEXT_MONDAY_9AM.timestamp(),
    )
    assert [lead.state for lead in first_leads] == ["completed"] * len(records)
    assert (final.state, final.runs, final.next_run_at) == ("completed", 2, None)
    assert [(lead.state, lead.attempts) for lead in leads] == [("completed", 1)] * len(records)
    # Each run called every contact exactly once: two calls per contact in the ledger.
    assert Counter(a.lead_id for a in attempts) == {lead.id: 2 for lead in leads}
    runs = Counter(a.started_at for a in attempts)
    assert runs == {MONDAY_9AM.timestamp(): 6, NEXT_MONDAY_9AM.timestamp(): 6}
    assert len(invites) == len(attempts) == 12


async def test_serve_dials_a_campaign_started_for_later_at_that_time(tmp_path: Path) -> None:
    db = tmp_path / "dialer.db"
    contacts_file = contacts_csv(tmp_path, 4)
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        config = config_toml(tmp_path, sipp)
        made = await dialer(
            "campaign", "create", "later", "--duration", "0.3", "--max-attempts", "1",
            "--any-hour", "--db", str(db), "--json",
        )  # fmt: skip
        assert made[0] == 0, made[2]
        assert (await dialer("contacts", "import", "1", str(contacts_file), "--db", str(db)))[
            0
        ] == 0
        # The start time is set last, a few seconds ahead: two commands must run before it.
        at = int(time.time()) + 5  # whole seconds: --start-at takes wall time to the second
        at_text = datetime.fromtimestamp(at, ZoneInfo("UTC")).replace(tzinfo=None).isoformat()
        edited = await dialer(
            "campaign", "edit", "1", "--start-at", at_text, "--zone", "UTC", "--db", str(db)
        )
        assert edited[0] == 0, edited[2]
        code, out, err = await dialer("campaign", "start", "1", "--db", str(db), "--json")
        assert code == 0 and json.loads(out)["state"] == "scheduled", err
        service = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer.cli", "serve", "--db", str(db), "--config", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(40):
                while True:
                    code, out, _ = await dialer("campaign", "show", "1", "--db", str(db), "--json")
                    if json.loads(out)["state"] == "completed":
                        break
                    await asyncio.sleep(0.2)
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
        assert service.returncode == 0, log.decode()[-2000:]
        invites = new_invites(sipp.messages())
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        started = [row[0] for row in connection.execute("SELECT started_at FROM attempts")]
    assert len(started) == len(invites) == 4
    # Nothing before the start time, on either side: our ledger and SIPp's own clock.
    assert min(started) >= at
    assert all(invite.at is not None and invite.at >= at for invite in invites), (at, invites)
