"""The console beside a SIP desk phone, against real peers: baresip is the agent's phone
(registering with digest auth to the dialer's registrar, auto-answering), headless
Chromium is the same agent's console in desk-phone mode, SIPp is the person.

The console shows the phone's registration, the screen pop while the person is bridged
to baresip, hangs the phone's leg up, and records the disposition in the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from actors.agent_pool import LiveAgentPool
from dialer.agents.desk_phone import DeskPhone
from dialer.agents.directory import AgentDirectory
from dialer.agents.leg import SipPhone
from dialer.agents.states import AgentState
from dialer.campaign.model import LeadEvent
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings, TrunkSettings
from dialer.flow.runner import FlowRequest, FlowRuntime
from dialer.runtime import Dialer
from dialer.store.repository import Agent
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from tests.e2e.peers import (
    LOOPBACK,
    Baresip,
    Sipp,
    free_sip_port,
    require_binary,
)
from tests.e2e.test_agents import CONTACT, agent_desk
from tests.e2e.test_calls import call
from tests.e2e.test_console import QUEUE, _peers, browser
from tests.e2e.test_flows import runtime
from tests.web.harness import EXTENSION, PASSWORD, finish, lead_in_flight, live_pool, open_store

__all__ = ["_peers", "browser", "runtime"]

pytestmark = pytest.mark.e2e
GRACE_S = 2.0
GOAL: dict[str, object] = {"retry": {"max_attempts": 2, "goal": "confirmed=true"}}


class Desk:
    """The store and its agent, the live pool fed by the dialer's registrar, the console."""

    def __init__(
        self, store: StoreWorker, agent: Agent, live: LiveAgentPool, dialer: Dialer, base: str
    ) -> None:
        self.store, self.agent, self.live, self.dialer, self.base = store, agent, live, dialer, base

    @property
    def registrar(self) -> tuple[str, int]:
        return (LOOPBACK, self.dialer.config.sip.bind_port)


@pytest.fixture
async def person() -> AsyncIterator[Sipp]:
    """The person: answers, echoes what reaches it, waits for our BYE."""
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as sipp:
        yield sipp


@pytest.fixture
async def desk(tmp_path: Path, person: Sipp) -> AsyncIterator[Desk]:
    require_binary("baresip")
    store, agent = await open_store(tmp_path / "dialer.db")
    live = live_pool(store, agent)
    directory = AgentDirectory(store, "dialer")  # as `dialer serve` wires it
    config = Config(
        sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port()),
        rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=10.0),
        trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{person.port}", keepalive_s=0.0)},
        limits=LimitSettings(ring_timeout_s=30.0),
    )
    dialer = await Dialer.start(config, agent_credentials=directory.credentials_for)
    directory.live, directory.dialer = live, dialer
    dialer.add_agent_listener(directory.on_registrar_event)
    await directory.refresh()
    server = TestServer(make_app(store, live, Config(), grace_s=GRACE_S), host=LOOPBACK)
    await server.start_server()
    try:
        yield Desk(store, agent, live, dialer, f"http://{LOOPBACK}:{server.port}")
    finally:
        await server.close()
        await live.close()
        await dialer.close()
        store.close()


async def open_desk_console(browser: Any, base: str) -> Any:
    """A page logged in in desk-phone mode, its WebSocket open."""
    page = await browser.new_page()
    await page.goto(f"{base}/agent")
    await page.fill("#extension", EXTENSION)
    await page.fill("#password", PASSWORD)
    await page.check("#mode-desk-phone")
    await page.click("#login")
    await page.wait_for_selector("body[data-link=open]", state="attached", timeout=10_000)
    return page


async def test_a_desk_phone_agent_sees_the_screen_pop_hangs_up_and_dispositions(
    runtime: Callable[..., FlowRuntime],
    desk: Desk,
    person: Sipp,
    browser: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dialer.agents")
    store, agent, live = desk.store, desk.agent, desk.live
    campaign, lead, first = await lead_in_flight(store, GOAL)
    await finish(store, first, "no-answer", then=LeadEvent.RESCHEDULE)  # a previous attempt
    attempt = await store.run(lambda s: s.begin_attempt(lead, "+14155550100", time.time()))
    page = await open_desk_console(browser, desk.base)
    # No phone registered yet: the page says so, and Ready cannot be clicked.
    await page.wait_for_selector("body[data-desk-phone=unregistered]", state="attached")
    assert await page.is_disabled("#ready")
    assert "not registered" in (await page.text_content("#error") or "")
    assert await page.is_hidden("#mute") and await page.is_hidden("#auto-answer")
    assert agent.id not in live.phones and live.pool.state(agent.id) is AgentState.LOGGED_OUT
    with Baresip.start(
        user=EXTENSION,
        password=PASSWORD,
        registrar=desk.registrar,
        record_dir=tmp_path / "heard",
        timeout_s=60,
    ) as phone:
        # Registering logs the agent in, ready: the page follows the phone.
        await page.wait_for_selector("body[data-desk-phone=registered]", state="attached",
                                     timeout=15_000)  # fmt: skip
        await page.wait_for_selector("body[data-state=ready]", state="attached", timeout=5_000)
        assert not await page.is_disabled("#ready")
        endpoint = live.phones[agent.id]
        assert isinstance(endpoint, DeskPhone) and isinstance(endpoint.phone, SipPhone)
        assert endpoint.phone.destination.port == phone.sip_port  # baresip, where it registered
        flows = agent_desk(runtime, desk.dialer, live)
        placed = asyncio.ensure_future(
            call(
                desk.dialer,
                person.uri(),
                flow=FlowRequest(flows, QUEUE, CONTACT, campaign_id=campaign, lead_id=lead),
            )
        )
        try:
            # The person is bridged to baresip; the page shows who it is meanwhile.
            await page.wait_for_selector("body[data-call=connected]", state="attached",
                                         timeout=15_000)  # fmt: skip
            assert live.pool.state(agent.id) is AgentState.ON_CALL
            assert await page.is_visible("#call-panel")
            assert await page.text_content("#pop-name") == "Jane Doe"
            assert await page.text_content("#pop-number") == person.uri()
            assert await page.text_content("#call-title") == "On call (desk phone)"
            await page.wait_for_selector("#pop-history tbody tr", timeout=5_000)
            assert await page.locator("#pop-history tbody tr").count() == 1
            assert await page.is_hidden("#answer") and await page.is_hidden("#mute")
            calls = phone.command("listcalls")  # baresip answered: it is on the call
            assert "Active calls (1)" in calls and "ESTABLISHED" in calls, calls
            # The person waits for our BYE: only the console's Hang up ends this call.
            await page.click("#hangup")
            report = await asyncio.wait_for(placed, 20)
        finally:
            placed.cancel()
        assert await person.wait_async(15) == 0, person.report()
        await page.wait_for_selector("body[data-call=ended]", state="attached", timeout=5_000)
        left = [r.getMessage() for r in caplog.records if "left call" in r.getMessage()]
        assert len(left) == 1 and left[0].endswith(": agent hung up"), left
        assert "Active calls (0)" in phone.command("listcalls")  # our BYE reached the phone
        assert report.variables["DialCallStatus"] == "completed", report
        assert report.variables["agent"] == EXTENSION
        # The disposition, as in browser mode: the form waits for the campaign to close
        # the attempt, and the agent's variables meet the campaign's goal.
        await page.wait_for_selector("#disposition-form:not([hidden])", timeout=5_000)
        await page.fill("#disposition", "sale")
        await page.fill("#notes", "taken on the desk phone")
        await page.fill("#variables", "confirmed=true, plan=gold")
        await page.click("#disposition-submit")
        await finish(store, attempt, then=LeadEvent.EXHAUST)  # the flow set no goal
        await page.wait_for_selector("body[data-disposition=saved]", state="attached",
                                     timeout=15_000)  # fmt: skip
        assert await page.text_content("#disposition-result") == "Saved: goal reached."
        stored = await store.run(lambda s: s.get_attempt(attempt))
        assert (stored.disposition, stored.notes, stored.agent_id) == (
            "sale",
            "taken on the desk phone",
            agent.id,
        )
        assert stored.result is not None
        assert stored.result.variables["plan"] == "gold"
        assert stored.result.variables["confirmed"] == "true"
        (stored_lead,) = await store.run(lambda s: s.list_leads(campaign))
        assert str(stored_lead.state) == "completed"  # the retry-until-goal lead is done
        await page.wait_for_function(
            "() => document.querySelector('#stat-dispositions').textContent === '1'"
        )
        # The phone signs out: the agent is logged out, and the page says so.
        phone.command("quit")
        await page.wait_for_selector("body[data-desk-phone=unregistered]", state="attached",
                                     timeout=15_000)  # fmt: skip
        await page.wait_for_selector("body[data-state=logged_out]", state="attached")
        assert await page.is_disabled("#ready")
        assert agent.id not in live.phones
