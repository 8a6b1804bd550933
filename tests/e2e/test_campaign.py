"""A whole campaign against SIPp: every lead ends once, attempts follow the rules, limits hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.compliance import CallingWindow
from dialer.campaign.model import CampaignEvent
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings, TrunkSettings
from dialer.runtime import Dialer
from dialer.service import CampaignHost, start_due_campaigns
from dialer.store.repository import Attempt
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.campaign_run import contacts, results, run_campaign
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port
from tests.e2e.sip_trace import peak_concurrency

pytestmark = pytest.mark.e2e


async def test_a_campaign_ends_every_lead_once_and_follows_the_retry_rules(
    tmp_path: Path,
) -> None:
    records = contacts(60)
    rules = RetryRules(max_attempts=2, retry_delay_s=0.0)
    with Sipp.start_uas("campaign_mix", timeout_s=120) as sipp:
        store, campaign_id, result = await run_campaign(tmp_path, sipp, records, 8, rules)
        sipp_peak = peak_concurrency(sipp.messages())
        invites = [m for m in sipp.messages() if m.direction == "received" and m.method == "INVITE"]
    found = await results(store, campaign_id)
    leads, attempts = found.leads, found.attempts
    lead_rows, attempt_rows = found.lead_rows, found.attempt_rows

    assert result.state == "completed"
    # The limit is reached (the campaign is not trickling) and never exceeded, on both sides.
    assert result.peak_concurrent == 8 and 4 <= sipp_peak <= 8, (result, sipp_peak)
    by_lead = Counter(a.lead_id for a in attempts)
    for lead in leads:
        kind = lead.phone[-1] if lead.phone else ""
        if kind in "12":  # busy or no answer: retried up to max_attempts
            assert (lead.state, by_lead[lead.id]) == ("max_retries", 2), lead
            assert lead.last_outcome == ("busy" if kind == "1" else "no_answer")
        else:
            assert (lead.state, by_lead[lead.id]) == ("completed", 1), lead
    assert all(a.state == "finished" for a in attempts)
    # The ledger and the callee agree: one INVITE per attempt, none extra.
    assert len(invites) == len(attempts) == 6 * 2 * 2 + 48
    # The export agrees with the ledger.
    assert len(lead_rows) == 60 and len(attempt_rows) == len(attempts)
    for row, lead in zip(lead_rows, leads, strict=True):
        assert row["phone"] == lead.phone and int(row["attempts"]) == by_lead[lead.id]
        assert row["last_outcome"] == lead.last_outcome and row["row"] == lead.attributes["row"]


async def test_numbers_on_the_do_not_call_list_are_never_dialled(tmp_path: Path) -> None:
    records = contacts(10)
    blocked = (records[3].phone or "", records[7].phone or "")
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        store, campaign_id, result = await run_campaign(
            tmp_path, sipp, records, 4, RetryRules(max_attempts=1), dnc=blocked
        )
        invites = [m for m in sipp.messages() if m.direction == "received" and m.method == "INVITE"]
    try:
        leads = await store.run(lambda s: s.list_leads(campaign_id))
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
    finally:
        store.close()
    assert result.state == "completed"
    states = {lead.phone: lead.state for lead in leads}
    assert [states[number] for number in blocked] == ["do_not_call", "do_not_call"]
    assert not {a.number for a in attempts} & set(blocked)
    assert not any(number[1:] in m.first_line for m in invites for number in blocked)
    assert len(invites) == len(attempts) == 8


async def test_leads_outside_calling_hours_are_deferred_not_dialled(tmp_path: Path) -> None:
    today = datetime.now(UTC).weekday()
    closed_today = CallingWindow(
        frozenset(d for d in range(7) if d != today and d != (today + 1) % 7),
        dt_time(9),
        dt_time(17),
        ZoneInfo("UTC"),
    )
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        store, campaign_id, result = await run_campaign(
            tmp_path,
            sipp,
            contacts(5),
            4,
            RetryRules(),
            window=closed_today,
            stop_when_idle=True,
        )
        invites = [m for m in sipp.messages() if m.direction == "received" and m.method == "INVITE"]
    try:
        leads = await store.run(lambda s: s.list_leads(campaign_id))
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
    finally:
        store.close()
    assert result.state == "stopped"
    assert invites == [] and attempts == []
    tomorrow_noon = datetime.now(UTC) + timedelta(days=1)
    for lead in leads:
        assert lead.next_attempt_at is not None
        assert lead.next_attempt_at > tomorrow_noon.timestamp() - 86400 * 0.5
        opens = datetime.fromtimestamp(lead.next_attempt_at, UTC)
        assert opens.weekday() not in (today, (today + 1) % 7) and opens.time() == dt_time(9)


async def test_pause_lets_calls_finish_frees_the_slot_and_resume_completes(
    tmp_path: Path,
) -> None:
    records = [r for r in contacts(40) if r.phone and r.phone[-1] not in "12"][:16]
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK),
            trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0)},
            limits=LimitSettings(max_concurrent_campaigns=1),
        )
        settings = CampaignSettings(max_concurrent=2, max_duration_s=0.3, recipient_hours=None)
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(
            lambda s: s.create_campaign("pause", now=0.0, settings=settings.to_dict())
        )
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=0.0))
        await store.run(lambda s: s.set_campaign_state(campaign_id, CampaignEvent.START, now=0.0))
        dialer = await Dialer.start(config)
        host = CampaignHost(config, dialer, store)

        async def attempts() -> list[Attempt]:
            return await store.run(lambda s: s.list_attempts(campaign_id))

        try:
            assert await host.run(campaign_id, settings)
            async with asyncio.timeout(20):
                while len(await attempts()) < 3:
                    await asyncio.sleep(0.02)
            # Paused from outside, as `dialer campaign pause` does: through the store.
            await store.run(
                lambda s: s.set_campaign_state(campaign_id, CampaignEvent.PAUSE, now=1.0)
            )
            paused = await asyncio.wait_for(host.wait_finished(campaign_id), 20)
            # The actor ended only once its calls had: they finished normally, none cut short.
            held = await attempts()
            assert paused.state == "paused" and not host.is_active(campaign_id)
            assert held and all(a.result and a.result.outcome == "completed" for a in held)
            assert len(held) < len(records)
            assert host.has_slot  # a paused campaign holds no campaign slot
            # Resumed: the service's next pass gives it a fresh actor, which finishes the run.
            await store.run(
                lambda s: s.set_campaign_state(campaign_id, CampaignEvent.RESUME, now=2.0)
            )
            await start_due_campaigns(host, store, set())
            result = await asyncio.wait_for(host.wait_finished(campaign_id), 60)
        finally:
            await host.close()
            await dialer.close()
    try:
        leads = await store.run(lambda s: s.list_leads(campaign_id))
        ledger = await attempts()
    finally:
        store.close()
    assert result.state == "completed"
    assert [lead.state for lead in leads] == ["completed"] * len(records)
    assert len(ledger) == len(records)  # one call each: the pause dialled nobody twice
