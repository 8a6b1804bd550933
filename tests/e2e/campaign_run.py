"""A campaign run in-process against a SIPp callee, as the e2e campaign tests share it.

The numbers are +1 415 555 0000 and up, so a scenario can answer by the dialled number's
last digits (see scenarios/campaign_mix.xml and campaign_trunk.xml).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path

from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool, Stop
from actors.runtime import spawn
from dialer.campaign.answering import AnsweringPolicy
from dialer.campaign.compliance import CallingWindow, RecipientHours
from dialer.campaign.export import export_attempts_csv, export_leads_csv
from dialer.campaign.model import CampaignEvent
from dialer.campaign.pacing import PacerSettings, TrunkPacer
from dialer.campaign.policy import RetryRules
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings, TrunkSettings
from dialer.contacts.record import ContactRecord
from dialer.runtime import Dialer
from dialer.store.repository import Attempt, Lead
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port

__all__ = ["ALL_DAY", "Results", "contacts", "csv_rows", "results", "run_campaign"]

ALL_DAY = RecipientHours(start=dt_time(0), end=dt_time(23, 59, 59))


def contacts(count: int) -> list[ContactRecord]:
    # +1 415 555 0xxx: the last digits pick SIPp's answer (campaign_mix: 1 busy, 2 no answer).
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
    stop_after_outcomes: int | None = None,
    cps: float = 50.0,
    max_duration_s: float = 0.3,
    timeout_s: float = 90.0,
    answering: AnsweringPolicy | None = None,
) -> tuple[StoreWorker, int, CampaignFinished]:
    """Run one campaign until it finishes (or, with `stop_when_idle`, until no lead is due;
    with `stop_after_outcomes`, once that many attempts have one); the caller reads the
    store and closes it."""
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
            max_duration_s=max_duration_s,
            answering=answering or AnsweringPolicy(),
        ),
        channels=(ChannelPool(100),),
        pacer=TrunkPacer(PacerSettings(cps=cps), now=asyncio.get_running_loop().time()),
        on_finished=finished.set_result,
    )
    task = spawn(actor)
    if stop_when_idle:
        # Nothing may be dialled: once no lead is due any more (all deferred), stop.
        now = datetime.now(UTC).timestamp()
        while await store.run(lambda s: s.due_leads(campaign_id, now, 1)):
            await asyncio.sleep(0.05)
        actor.ref.tell(Stop())
    if stop_after_outcomes is not None:
        while await store.run(lambda s: _outcomes(s, campaign_id)) < stop_after_outcomes:
            await asyncio.sleep(0.05)
        actor.ref.tell(Stop())
    try:
        result = await asyncio.wait_for(finished, timeout=timeout_s)
        await task
    finally:
        await dialer.close()
    return store, campaign_id, result


def _outcomes(store: SqliteStore, campaign_id: int) -> int:
    return sum(a.result is not None for a in store.list_attempts(campaign_id))


def csv_rows(
    export: Callable[[SqliteStore, int, io.StringIO], int], store: SqliteStore, campaign_id: int
) -> list[dict[str, str]]:
    """What an export writes, read back as a manager's spreadsheet would."""
    out = io.StringIO(newline="")
    export(store, campaign_id, out)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


@dataclass(frozen=True)
class Results:
    """What a finished campaign left: its leads and ledger, and both exports read back."""

    leads: list[Lead]
    attempts: list[Attempt]
    lead_rows: list[dict[str, str]]
    attempt_rows: list[dict[str, str]]


async def results(store: StoreWorker, campaign_id: int) -> Results:
    """Read everything a test checks, then close the store."""
    try:
        return Results(
            await store.run(lambda s: s.list_leads(campaign_id)),
            await store.run(lambda s: s.list_attempts(campaign_id)),
            await store.run(lambda s: csv_rows(export_leads_csv, s, campaign_id)),
            await store.run(lambda s: csv_rows(export_attempts_csv, s, campaign_id)),
        )
    finally:
        store.close()
