"""The agent console in a real browser: headless Chromium (Playwright, fake media devices)
logs in, goes ready, takes a person SIPp plays, and hears them over WebRTC.

The person is SIPp echoing RTP, so what the page hears is its own fake microphone
(Chromium's beeping fake device) back through the whole path: browser -> aiortc ->
bridge -> RTP -> SIPp -> RTP -> bridge -> aiortc -> browser. The page counts the
inbound RTP packets and their audio energy (`getStats()`), which the test reads.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

from actors.agent_pool import AGENT_LOST, LiveAgentPool
from dialer.agents import credentials
from dialer.agents.states import AgentState
from dialer.config import Config
from dialer.flow.document import parse_flow
from dialer.flow.interpreter import FlowStart
from dialer.flow.location import FlowLocation
from dialer.flow.runner import FlowRequest, FlowRuntime
from dialer.store.repository import Agent
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from tests.e2e.peers import LOOPBACK, Sipp, require_binary
from tests.e2e.test_agents import CONTACT, agent_desk
from tests.e2e.test_calls import MakeDialer, call, make_dialer
from tests.e2e.test_flows import runtime
from tests.web.harness import EXTENSION, PASSWORD, finish, lead_in_flight, live_pool, open_store

__all__ = ["make_dialer", "runtime"]

CHROMIUM = "/usr/bin/chromium"
GRACE_S = 2.0
ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
Desk = tuple[StoreWorker, Agent, LiveAgentPool, str]
# The campaign's own queue: any of its agents (the console's has no skills).
QUEUE = FlowStart(
    parse_flow("<Response><Enqueue>campaign-1</Enqueue></Response>", "t"), FlowLocation()
)


@pytest.fixture(autouse=True)
def _peers(monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary("sipp")
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs the chromium package")
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)  # a quick login


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """The store with the agent, the live pool, and the console served on loopback."""
    store, agent = await open_store(tmp_path / "dialer.db")
    live = live_pool(store, agent)
    app = make_app(store, live, Config(), grace_s=GRACE_S)
    server = TestServer(app, host=LOOPBACK)
    await server.start_server()
    try:
        yield store, agent, live, f"http://{LOOPBACK}:{server.port}"
    finally:
        await server.close()
        await live.close()
        store.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_console(browser: Any, base: str) -> Any:
    """A page logged in, its WebSocket open and its audio connected."""
    page = await browser.new_page()
    await page.goto(f"{base}/agent")
    await page.fill("#extension", EXTENSION)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await connected(page)
    return page


async def connected(page: Any) -> None:
    await page.wait_for_selector("body[data-link=open]", state="attached", timeout=10_000)
    await page.wait_for_selector("body[data-media=connected]", state="attached", timeout=10_000)


async def go_ready(page: Any, live: LiveAgentPool, agent: Agent) -> None:
    await page.check("#auto-answer")
    await page.click("#ready")
    await page.wait_for_selector("body[data-state=ready]", state="attached", timeout=5_000)
    assert live.pool.state(agent.id) is AgentState.READY


async def number(page: Any, selector: str) -> float:
    return float(await page.text_content(selector) or 0)


async def wait_number(page: Any, selector: str, above: float, timeout_ms: int = 15_000) -> float:
    await page.wait_for_function(
        "([selector, above]) => Number(document.querySelector(selector).textContent) > above",
        arg=[selector, above],
        timeout=timeout_ms,
    )
    return await number(page, selector)


async def wait_until(condition: Callable[[], object], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_browser_agent_takes_a_bridged_call_hears_it_and_dispositions_it(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    desk: Desk,
    browser: Any,
) -> None:
    store, agent, live, base = desk
    campaign, lead, attempt = await lead_in_flight(store)
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as person:
        dialer = await make_dialer(person.address)
        flows = agent_desk(runtime, dialer, live)
        page = await open_console(browser, base)
        await page.click("#ready")
        await page.wait_for_selector("body[data-state=ready]", state="attached", timeout=5_000)
        # A reload while idle: the same console is found again, the agent still ready, and
        # the audio negotiated anew (the call below runs over the new connection).
        await page.reload()
        await connected(page)
        await page.wait_for_selector("body[data-state=ready]", state="attached", timeout=5_000)
        await go_ready(page, live, agent)
        idle_energy = await number(page, "#audio-energy")  # silence while nobody is bridged
        placed = asyncio.ensure_future(
            call(
                dialer,
                person.uri(),
                flow=FlowRequest(flows, QUEUE, CONTACT, campaign_id=campaign, lead_id=lead),
            )
        )
        try:
            await page.wait_for_selector("#call-panel:not([hidden])", timeout=15_000)
            assert await page.text_content("#pop-name") == "Jane Doe"
            assert await page.text_content("#pop-number") == person.uri()  # whom we dialled
            await page.wait_for_selector("#call-title:text('On call')", timeout=5_000)
            assert live.pool.state(agent.id) is AgentState.ON_CALL
            # The person's audio reaches the page: packets counted, and not silence.
            first = await wait_number(page, "#rtp-in", 0)
            await wait_number(page, "#rtp-in", first + 100)
            energy = await wait_number(page, "#audio-energy", idle_energy + 0.01)
            assert energy > 100 * max(idle_energy, 1e-6), (energy, idle_energy)
            await page.click("#hangup")
            report = await asyncio.wait_for(placed, 20)
        finally:
            placed.cancel()
        assert await person.wait_async(15) == 0, person.report()
    assert report.variables["DialCallStatus"] == "completed", report
    assert report.variables["agent"] == EXTENSION
    # The campaign closes the attempt just after the call; the form waits for it.
    await page.wait_for_selector("#disposition-form:not([hidden])", timeout=5_000)
    await page.fill("#disposition", "sale")
    await page.fill("#notes", "call back on Monday")
    await page.fill("#variables", "plan=gold")
    await page.click("#disposition-submit")
    await finish(store, attempt)
    await page.wait_for_selector("body[data-disposition=saved]", state="attached", timeout=15_000)
    stored = await store.run(lambda s: s.get_attempt(attempt))
    assert (stored.disposition, stored.notes, stored.agent_id) == (
        "sale",
        "call back on Monday",
        agent.id,
    )
    assert stored.result is not None and stored.result.variables["plan"] == "gold"
    await page.wait_for_function("() => document.querySelector('#stat-calls').textContent === '1'")


async def test_a_page_closed_mid_call_pauses_the_agent_and_the_person_hears_the_safe_harbor(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    desk: Desk,
    browser: Any,
) -> None:
    store, agent, live, base = desk
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as person:
        dialer = await make_dialer(person.address)
        flows = agent_desk(runtime, dialer, live, safe_harbor_message="Sorry. Goodbye.")
        page = await open_console(browser, base)
        await go_ready(page, live, agent)
        placed = asyncio.ensure_future(call(dialer, person.uri(), flow=FlowRequest(
            flows, QUEUE, CONTACT, campaign_id=7)))  # fmt: skip
        try:
            await page.wait_for_selector("#call-title:text('On call')", timeout=15_000)
            await wait_number(page, "#rtp-in", 50)
            await page.close()  # the browser goes away mid-call
            report = await asyncio.wait_for(placed, 30)
        finally:
            placed.cancel()
        assert await person.wait_async(15) == 0, person.report()
    assert report.variables["DialCallStatus"] == "abandoned", report
    history = await store.run(
        lambda s: s.agent_state_history(agent.id, since=0, until=float("inf"))
    )
    assert ("paused", AGENT_LOST) in [(c.state, c.reason) for c in history], history
    # Past the grace, nobody came back: logged out.
    await wait_until(lambda: live.pool.state(agent.id) is AgentState.LOGGED_OUT, GRACE_S + 5)
