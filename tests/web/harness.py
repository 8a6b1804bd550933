"""What the console's tests share: a real store with one agent, a live pool, a lead in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from actors.agent_pool import LiveAgentPool
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.campaign.model import AttemptOutcome, CallOutcome, LeadEvent
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Agent, Repository
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker

PASSWORD = "correct.horse.battery"
EXTENSION = "1001"
REALM = "dialer"


async def open_store(path: Path) -> tuple[StoreWorker, Agent]:
    store = StoreWorker(lambda: SqliteStore(path))
    agent = await store.run(
        lambda s: s.add_agent("Ann Agent", EXTENSION, PASSWORD, REALM, now=time.time())
    )
    return store, agent


def live_pool(store: StoreWorker, agent: Agent) -> LiveAgentPool:
    """The pool, its changes recorded in the store as `serve` does."""
    live = LiveAgentPool(
        AgentPool(wrap_up_s=0.0),
        record=lambda changes: store.run(lambda s: s.record_agent_states(changes)),
    )
    live.seat(AgentSeat(agent.id, agent.name, agent.extension))
    return live


async def lead_in_flight(
    store: StoreWorker, settings: dict[str, object] | None = None
) -> tuple[int, int, int]:
    """A campaign with one contact being dialled: (campaign, lead, attempt)."""

    def make(s: Repository) -> tuple[int, int, int]:
        now = time.time()
        campaign = s.create_campaign("console", now=now, settings=settings or {})
        record = ContactRecord(2, "Jane Doe", "+14155550100", None, attributes={"plan": "gold"})
        s.import_contacts(campaign, [record], now=now)
        (lead,) = s.list_leads(campaign)
        return campaign, lead.id, s.begin_attempt(lead.id, "+14155550100", now)

    return await store.run(make)


async def finish(
    store: StoreWorker,
    attempt: int,
    status: str = "completed",
    then: LeadEvent = LeadEvent.COMPLETE,
) -> None:
    """What the campaign actor does after the call: the attempt's outcome, once."""
    outcome = AttemptOutcome(
        CallOutcome.COMPLETED, 200, "bridged", variables={"DialCallStatus": status}
    )
    await store.run(lambda s: s.finish_attempt(attempt, outcome, time.time(), then=then))


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; TimeoutError past `timeout`."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
