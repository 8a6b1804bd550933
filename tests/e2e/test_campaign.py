"""A whole campaign against SIPp: every lead ends once, attempts follow the rules, limits hold."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool, Stop
from actors.runtime import spawn
from dialer.campaign.compliance import CallingWindow, RecipientHours
from dialer.campaign.export import export_attempts_csv, export_leads_csv
from dialer.campaign.model import CampaignEvent
from dialer.campaign.pacing import PacerSettings, TrunkPacer
from dialer.campaign.policy import RetryRules
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings, TrunkSettings
from dialer.contacts.record import ContactRecord
from dialer.runtime import Dialer
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.peers import LOOPBACK, Sipp, TracedMessage, free_sip_port

pytestmark = pytest.mark.e2e
ALL_DAY = RecipientHours(start=dt_time(0), end=dt_time(23, 59, 59))


def contacts(count: int) -> list[ContactRecord]:
    # +1 415 555 01xx: the last digit picks SIPp's answer (1 busy, 2 no answer, else answer).
    return [
        ContactRecord(
            line=i + 2,
            name=f"Contact {i}",
            phone=f"+1415555{i:04d}",
            email=None,
            timezone="America/Los_Angeles",
            attributes={"row": str(i)},
        )
        for i in range(count)
    ]


def peak_concurrency(messages: list[TracedMessage]) -> int:
    """Calls open at once as SIPp saw them: from its INVITE to the final answer or BYE."""
    open_calls: set[str] = set()
    peak = 0
    for message in messages:
        call_id = message.header("Call-ID") or ""
        cseq = message.header("CSeq") or ""
        if message.direction == "received" and message.method == "INVITE":
            open_calls.add(call_id)
            peak = max(peak, len(open_calls))
        elif (message.direction == "received" and message.method == "BYE") or (
            message.direction == "sent" and (message.status or 0) >= 300 and "INVITE" in cseq
        ):
            open_calls.discard(call_id)
    return peak


async def run_campaign(
    tmp_path: Path,
    sipp: Sipp,
    records: list[ContactRecord],
    plan_limit: int,
    rules: RetryRules,
    *,
    dnc: tuple[str, ...] = (),
    window: CallingWindow | None = None,
    stop_when_idle: bool = False,
) -> tuple[StoreWorker, int, CampaignFinished]:
    config = Config(
        sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
        rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=5.0),
        trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0)},
        limits=LimitSettings(ring_timeout_s=10),
    )
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    campaign_id = await store.run(lambda s: s.create_campaign("e2e", now=0.0))
    await store.run(lambda s: s.import_contacts(campaign_id, records, now=0.0))
    for number in dnc:  # added after import: checked at dial time
        await store.run(lambda s, n=number: s.add_dnc(n, now=0.0))
    await store.run(lambda s: s.set_campaign_state(campaign_id, CampaignEvent.START, now=0.0))
    dialer = await Dialer.start(config)
    finished: asyncio.Future[CampaignFinished] = asyncio.get_running_loop().create_future()
    actor = CampaignActor(
        dialer,
        store,
        CampaignPlan(
            campaign_id,
            max_concurrent=plan_limit,
            rules=rules,
            window=window,
            hours=ALL_DAY,
            max_duration_s=0.3,
        ),
        channels=(ChannelPool(100),),
        pacer=TrunkPacer(PacerSettings(cps=50.0), now=asyncio.get_running_loop().time()),
        on_finished=finished.set_result,
    )
    task = spawn(actor)
    if stop_when_idle:
        # Nothing may be dialled: once no lead is due any more (all deferred), stop.
        now = datetime.now(UTC).timestamp()
        while await store.run(lambda s: s.due_leads(campaign_id, now, 1)):
            await asyncio.sleep(0.05)
        actor.ref.tell(Stop())
    try:
        result = await asyncio.wait_for(finished, timeout=90)
        await task
    finally:
        await dialer.close()
    return store, campaign_id, result


async def test_a_campaign_ends_every_lead_once_and_follows_the_retry_rules(
    tmp_path: Path,
) -> None:
    records = contacts(60)
    rules = RetryRules(max_attempts=2, retry_delay_s=0.0)
    with Sipp.start_uas("campaign_mix", timeout_s=120) as sipp:
        store, campaign_id, result = await run_campaign(tmp_path, sipp, records, 8, rules)
        sipp_peak = peak_concurrency(sipp.messages())
        invites = [m for m in sipp.messages() if m.direction == "received" and m.method == "INVITE"]
    try:
        leads = await store.run(lambda s: s.list_leads(campaign_id))
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
        lead_rows = await store.run(lambda s: _csv_rows(export_leads_csv, s, campaign_id))
        attempt_rows = await store.run(lambda s: _csv_rows(export_attempts_csv, s, campaign_id))
    finally:
        store.close()

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


def _csv_rows(
    export: Callable[[SqliteStore, int, io.StringIO], int], store: SqliteStore, campaign_id: int
) -> list[dict[str, str]]:
    out = io.StringIO(newline="")
    export(store, campaign_id, out)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


async def test_pause_holds_new_dials_and_resume_finishes_the_campaign(tmp_path: Path) -> None:
    records = [r for r in contacts(40) if r.phone and r.phone[-1] not in "12"][:16]
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK),
            trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0)},
        )
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(lambda s: s.create_campaign("pause", now=0.0))
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=0.0))
        await store.run(lambda s: s.set_campaign_state(campaign_id, CampaignEvent.START, now=0.0))
        dialer = await Dialer.start(config)
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[CampaignFinished] = loop.create_future()
        actor = CampaignActor(
            dialer,
            store,
            CampaignPlan(campaign_id, max_concurrent=2, hours=ALL_DAY, max_duration_s=0.3),
            channels=(ChannelPool(10),),
            pacer=TrunkPacer(PacerSettings(cps=50.0), now=loop.time()),
            on_finished=finished.set_result,
        )
        task = spawn(actor)

        async def attempts() -> int:
            return len(await store.run(lambda s: s.list_attempts(campaign_id)))

        try:
            async with asyncio.timeout(20):
                while await attempts() < 3:
                    await asyncio.sleep(0.02)
            # Paused from outside, as `dialer campaign pause` does: through the store.
            await store.run(
                lambda s: s.set_campaign_state(campaign_id, CampaignEvent.PAUSE, now=1.0)
            )
            async with asyncio.timeout(20):  # calls in progress finish...
                while (await store.run(lambda s: s.campaign_counts(campaign_id)))["in_flight"]:
                    await asyncio.sleep(0.02)
            paused_at = await attempts()
            await asyncio.sleep(1.5)  # ...and for longer than the actor's idle poll, none start
            assert await attempts() == paused_at < len(records)
            await store.run(
                lambda s: s.set_campaign_state(campaign_id, CampaignEvent.RESUME, now=2.0)
            )
            result = await asyncio.wait_for(finished, timeout=60)
            await task
        finally:
            await dialer.close()
    try:
        leads = await store.run(lambda s: s.list_leads(campaign_id))
    finally:
        store.close()
    assert result.state == "completed"
    assert [lead.state for lead in leads] == ["completed"] * len(records)
