"""The campaign host and one pass of `serve`: supervision to a failed state with the reason,
campaign slots, scheduled runs starting when due, unusable settings failing the campaign.

The host's actors are stand-ins here (the real CampaignActor is exercised against SIPp
in tests/e2e); the host, its supervisors, the store and the SIP endpoint are real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from actors.campaign import CampaignActor, CampaignFinished, Stop
from actors.runtime import ActorRef
from dialer.campaign.model import CampaignEvent
from dialer.campaign.settings import CampaignSettings
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings
from dialer.contacts.record import ContactRecord
from dialer.flow.runner import SafeHarbor
from dialer.runtime import Dialer
from dialer.service import (
    RESTARTS,
    CampaignCannotRun,
    CampaignHost,
    plan_for,
    reconcile_idle_campaigns,
    start_due_campaigns,
)
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.peers import LOOPBACK, free_sip_port

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class IdleActor(CampaignActor):
    """Dials nothing and runs until told to Stop, then stops the campaign as the real one."""

    started: list[int] = []
    refs: dict[int, ActorRef] = {}
    changed = asyncio.Event()

    async def on_start(self) -> None:
        IdleActor.record_start(self)

    @staticmethod
    def record_start(actor: CampaignActor) -> None:
        IdleActor.started.append(actor.plan.campaign_id)
        IdleActor.refs[actor.plan.campaign_id] = actor.ref
        IdleActor.changed.set()

    @staticmethod
    async def until_started(count: int) -> list[int]:
        """The campaigns started once `count` actors have started (in their own tasks)."""
        async with asyncio.timeout(5):
            while len(IdleActor.started) < count:
                IdleActor.changed.clear()
                await IdleActor.changed.wait()
        return IdleActor.started

    async def receive(self, message: object) -> object:
        if isinstance(message, Stop) and self.on_finished is not None:
            campaign = self.plan.campaign_id
            await self.store.run(
                lambda s: s.set_campaign_state(campaign, CampaignEvent.STOP, now=T0)
            )
            self.on_finished(CampaignFinished(self.plan.campaign_id, "stopped", 0, 0))
            self.stop()
        return None

    async def on_stop(self) -> None:
        pass


class CrashingActor(IdleActor):
    """Crashes at every start for the campaigns in `broken`; idles for the others."""

    broken: set[int] = set()

    async def on_start(self) -> None:
        IdleActor.record_start(self)
        if self.plan.campaign_id in CrashingActor.broken:
            raise RuntimeError("boom: the store said no")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StoreWorker]:
    worker = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    yield worker
    worker.close()


@pytest.fixture
async def make_host(store: StoreWorker) -> AsyncIterator[Callable[..., Any]]:
    opened: list[tuple[Dialer, CampaignHost]] = []
    IdleActor.started, IdleActor.refs, IdleActor.changed = [], {}, asyncio.Event()

    async def make(actor: type[CampaignActor], clock: Clock, **limits: Any) -> CampaignHost:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK),
            limits=LimitSettings(**limits),
        )
        dialer = await Dialer.start(config)
        host = CampaignHost(config, dialer, store, make_actor=actor, wall_clock=clock)
        opened.append((dialer, host))
        return host

    yield make
    for dialer, host in opened:
        await host.close()
        await dialer.close()


async def campaign(store: StoreWorker, state: CampaignEvent | None, **settings: Any) -> int:
    stored = CampaignSettings(**settings).to_dict()
    campaign_id = await store.run(lambda s: s.create_campaign("c", now=T0, settings=stored))
    if state is not None:
        await store.run(lambda s: s.set_campaign_state(campaign_id, state, now=T0))
    return campaign_id


async def test_a_campaign_that_keeps_crashing_fails_with_the_reason_and_alone(
    store: StoreWorker, make_host: Callable[..., Any]
) -> None:
    host = await make_host(CrashingActor, Clock(T0))
    broken = await campaign(store, CampaignEvent.START)
    healthy = await campaign(store, CampaignEvent.START)
    CrashingActor.broken = {broken}
    assert await host.run(healthy, CampaignSettings())
    assert await host.run(broken, CampaignSettings())

    result = await asyncio.wait_for(host.wait_finished(broken), 10)

    assert result.state == "failed"
    assert IdleActor.started.count(broken) == RESTARTS + 1  # restarted, then given up
    failed = await store.run(lambda s: s.get_campaign(broken))
    assert failed.state == "failed"
    assert failed.failure_reason is not None and "boom: the store said no" in failed.failure_reason
    assert not host.is_active(broken) and host.has_slot
    assert host.is_active(healthy)  # the other campaign never noticed
    assert IdleActor.started.count(healthy) == 1
    assert (await store.run(lambda s: s.get_campaign(healthy))).state == "running"


async def test_campaign_slots_are_limited_and_freed(
    store: StoreWorker, make_host: Callable[..., Any]
) -> None:
    host = await make_host(IdleActor, Clock(T0), max_concurrent_campaigns=2)
    first, second, third = [await campaign(store, CampaignEvent.START) for _ in range(3)]
    waiting: set[int] = set()
    await start_due_campaigns(host, store, waiting)
    assert await IdleActor.until_started(2) == [first, second] and waiting == {third}
    assert not host.has_slot and not host.is_active(third)

    IdleActor.refs[first].tell(Stop())
    await asyncio.wait_for(host.wait_finished(first), 5)

    await start_due_campaigns(host, store, waiting)
    assert await IdleActor.until_started(3) == [first, second, third] and waiting == set()


async def test_a_scheduled_run_starts_when_due(
    store: StoreWorker, make_host: Callable[..., Any]
) -> None:
    clock = Clock(T0)
    host = await make_host(IdleActor, clock)
    scheduled = await campaign(store, None)
    await store.run(
        lambda s: s.set_campaign_state(
            scheduled, CampaignEvent.SCHEDULE, now=T0, next_run_at=T0 + 60
        )
    )
    clock.now = T0 + 59.9
    await start_due_campaigns(host, store, set())
    assert (await store.run(lambda s: s.get_campaign(scheduled))).state == "scheduled"
    assert IdleActor.started == []

    clock.now = T0 + 60
    await start_due_campaigns(host, store, set())
    begun = await store.run(lambda s: s.get_campaign(scheduled))
    assert (begun.state, begun.runs, begun.next_run_at) == ("running", 1, None)
    assert await IdleActor.until_started(1) == [scheduled]


async def test_settings_that_cannot_run_fail_the_campaign_once(
    store: StoreWorker, make_host: Callable[..., Any], tmp_path: Path
) -> None:
    host = await make_host(IdleActor, Clock(T0))
    no_trunk = await campaign(store, CampaignEvent.START, trunk="nope")
    no_prompt = await campaign(
        store, CampaignEvent.START, prompt_file=str(tmp_path / "missing.wav")
    )
    await start_due_campaigns(host, store, set())
    await start_due_campaigns(host, store, set())  # failed is final: not tried again
    for campaign_id, reason in (
        (no_trunk, "cannot run: trunks.nope: no such trunk"),
        (no_prompt, "missing.wav: no such file"),
    ):
        failed = await store.run(lambda s, c=campaign_id: s.get_campaign(c))
        assert failed.state == "failed" and reason in (failed.failure_reason or "")
    assert IdleActor.started == []


async def test_at_start_attempts_stranded_in_idle_campaigns_are_closed(
    store: StoreWorker,
) -> None:
    records = [ContactRecord(2, "Ann", "+14155550100", None)]
    stopped = await campaign(store, CampaignEvent.START)
    running = await campaign(store, CampaignEvent.START)
    for campaign_id in (stopped, running):
        await store.run(lambda s, c=campaign_id: s.import_contacts(c, records, now=T0))
        lead = (await store.run(lambda s, c=campaign_id: s.list_leads(c)))[0]
        await store.run(lambda s, lead_id=lead.id: s.begin_attempt(lead_id, "+14155550100", T0))
    # Stopped with a call up, then the process died: no actor will ever run it again.
    await store.run(lambda s: s.set_campaign_state(stopped, CampaignEvent.STOP, now=T0))

    assert await reconcile_idle_campaigns(store, T0 + 10) == 1

    counts = {c: await store.run(lambda s, c=c: s.campaign_counts(c)) for c in (stopped, running)}
    assert counts[stopped]["in_flight"] == 0 and counts[stopped]["processing"] == 0
    assert counts[running]["in_flight"] == 1  # its own actor reconciles it when it starts


def test_a_campaigns_safe_harbor_is_read_when_it_is_planned(tmp_path: Path) -> None:
    def plan(**settings: Any) -> Any:
        return plan_for(1, CampaignSettings(**settings), Config(), lambda: None)  # type: ignore[arg-type, return-value]

    assert plan().safe_harbor is None  # the process's message, from [agents]
    said = "Acme Roofing called. Press 9 to opt out."
    assert plan(safe_harbor_message=said).safe_harbor == SafeHarbor(message=said)
    recording = tmp_path / "harbor.ulaw"
    recording.write_bytes(bytes(range(256)) * 8)
    assert plan(safe_harbor_file=str(recording)).safe_harbor == SafeHarbor(
        audio=recording.read_bytes()
    )
    with pytest.raises(CampaignCannotRun, match=r"missing\.wav"):
        plan(safe_harbor_file=str(tmp_path / "missing.wav"))
