"""The agent console's HTTP side against a real store: login, sessions, the WebSocket's
checks and messages, rings and dispositions (the browser itself: tests/e2e/test_console.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from actors.agent_pool import NO_PHONE, LiveAgentPool
from dialer.agents import credentials
from dialer.agents.browser import AGENT_HUNG_UP, CONSOLE_LOST, BrowserConsole
from dialer.agents.endpoint import AgentUnreachable, CallOffer
from dialer.agents.states import AgentState
from dialer.campaign.model import LeadEvent
from dialer.config import Config, WebSettings
from dialer.store.repository import Agent
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from dialer.web.console import COOKIE
from dialer.web.login_limit import LoginLimiter
from dialer.web.state import CONSOLES
from tests.web.harness import (
    EXTENSION,
    PASSWORD,
    finish,
    lead_in_flight,
    live_pool,
    open_store,
    wait_until,
)

GRACE_S = 0.3
Client = TestClient[Any, Any]


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[StoreWorker, Agent, LiveAgentPool]]:
    store, agent = await open_store(tmp_path / "dialer.db")
    live = live_pool(store, agent)
    yield store, agent, live
    await live.close()
    store.close()


@pytest.fixture
async def client(desk: tuple[StoreWorker, Agent, LiveAgentPool]) -> AsyncIterator[Client]:
    store, _, live = desk
    app = make_app(
        store,
        live,
        Config(web=WebSettings(session_ttl_s=600)),
        grace_s=GRACE_S,
        logins=LoginLimiter(max_failures=3),
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def origin(client: Client) -> str:
    return f"http://127.0.0.1:{client.server.port}"


async def log_in(
    client: Client, password: str = PASSWORD, extension: str = EXTENSION, **headers: str
) -> aiohttp.ClientResponse:
    return await client.post(
        "/agent/login",
        data={"extension": extension, "password": password},
        headers={"Origin": origin(client), **headers},
        allow_redirects=False,
    )


async def connect(client: Client) -> aiohttp.ClientWebSocketResponse:
    return await client.ws_connect("/agent/ws", headers={"Origin": origin(client)})


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of that type (others skipped), within 5 s."""
    async with asyncio.timeout(5):
        while True:
            message: dict[str, Any] = await ws.receive_json()
            if message["type"] == kind:
                return message


# -- login -------------------------------------------------------------------------------


async def test_login_sets_a_strict_http_only_session_cookie(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = await client.get("/agent")
    assert page.status == 200 and 'action="/agent/login"' in await page.text()
    response = await log_in(client)
    assert response.status == 303 and response.headers["Location"] == "/agent"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent" in cookie
    assert "Max-Age=600" in cookie
    console = await client.get("/agent")
    text = await console.text()
    assert "Ann Agent" in text and "/agent/static/console.js" in text
    token = response.cookies[COOKIE].value
    assert len(token) >= 43  # 32 random bytes
    assert PASSWORD not in caplog.text and token not in caplog.text  # secrets never logged


async def test_a_wrong_password_and_an_unknown_extension_get_the_same_answer(
    client: Client,
) -> None:
    wrong = await log_in(client, password="not the password")
    unknown = await log_in(client, extension="9999")
    assert wrong.status == unknown.status == 401
    assert await wrong.text() == await unknown.text()
    assert "Set-Cookie" not in wrong.headers and "Set-Cookie" not in unknown.headers
    assert (await client.get("/agent/session")).status == 401


async def test_failed_logins_are_rate_limited_even_for_the_right_password(
    client: Client,
) -> None:
    for _ in range(3):
        assert (await log_in(client, password="guess")).status == 401
    refused = await log_in(client)
    assert refused.status == 429 and "Too many failed logins" in await refused.text()
    assert "Set-Cookie" not in refused.headers


async def test_a_login_from_another_site_is_refused(client: Client) -> None:
    assert (await log_in(client, Origin="http://evil.example")).status == 403
    bare = await client.post(
        "/agent/login", data={"extension": EXTENSION, "password": PASSWORD}, allow_redirects=False
    )
    assert bare.status == 403  # neither Origin nor Referer: not from our page


async def test_security_headers_on_pages_and_static_files(client: Client) -> None:
    for path in ("/agent", "/agent/static/console.js"):
        response = await client.get(path)
        assert response.status == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    await log_in(client)
    assert (await client.get("/agent")).headers["Cache-Control"] == "no-store"
    assert "no-store" not in (await client.get("/agent/static/console.css")).headers.get(
        "Cache-Control", ""
    )


async def test_logout_needs_the_csrf_token_and_logs_the_agent_out(
    client: Client, desk: tuple[StoreWorker, Agent, LiveAgentPool]
) -> None:
    _, agent, live = desk
    await log_in(client)
    ws = await connect(client)
    await next_of(ws, "hello")
    assert live.pool.state(agent.id) is AgentState.PAUSED
    forged = await client.post(
        "/agent/logout",
        data={"csrf": "x"},
        headers={"Origin": origin(client)},
        allow_redirects=False,
    )
    assert forged.status == 403
    page = await (await client.get("/agent")).text()
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = await client.post(
        "/agent/logout",
        data={"csrf": csrf},
        headers={"Origin": origin(client)},
        allow_redirects=False,
    )
    assert done.status == 303
    assert (await next_of(ws, "bye"))["reason"] == "logged out"
    assert live.pool.state(agent.id) is AgentState.LOGGED_OUT
    assert (await client.get("/agent/session")).status == 401


# -- the WebSocket -----------------------------------------------------------------------


async def test_the_websocket_needs_a_session_and_our_origin(client: Client) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await connect(client)
    assert anonymous.value.status == 403
    await log_in(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await client.ws_connect("/agent/ws", headers={"Origin": "http://evil.example"})
    assert foreign.value.status == 403
    ws = await connect(client)
    hello = await next_of(ws, "hello")
    assert hello["agent"]["extension"] == EXTENSION and "lunch" in hello["pause_reasons"]
    await ws.close()


async def test_ready_and_pause_reach_the_pool_and_its_changes_reach_the_page(
    client: Client, desk: tuple[StoreWorker, Agent, LiveAgentPool]
) -> None:
    _, agent, live = desk
    await log_in(client)
    ws = await connect(client)
    assert (await next_of(ws, "state"))["reason"] == "console login"  # logged in, not ready
    await ws.send_json({"type": "ready"})
    assert (await next_of(ws, "state"))["state"] == "ready"
    assert live.pool.state(agent.id) is AgentState.READY
    await ws.send_json({"type": "pause", "reason": "lunch"})
    assert (await next_of(ws, "state"))["reason"] == "lunch"
    assert (live.pool.status[agent.id].state, live.pool.status[agent.id].reason) == (
        AgentState.PAUSED,
        "lunch",
    )
    await ws.send_json({"type": "pause", "reason": "nap"})
    assert "pause reasons are" in (await next_of(ws, "error"))["message"]
    await ws.send_str("not json")
    assert (await next_of(ws, "error"))["message"] == "messages are JSON objects"
    await ws.close()


async def test_a_reload_keeps_the_agent_and_a_closed_page_logs_them_out(
    client: Client, desk: tuple[StoreWorker, Agent, LiveAgentPool]
) -> None:
    _, agent, live = desk
    await log_in(client)
    ws = await connect(client)
    await ws.send_json({"type": "ready"})
    await wait_until(lambda: live.pool.state(agent.id) is AgentState.READY)
    await ws.close()  # a reload: nobody is offered to a console without its page...
    await wait_until(lambda: live.pool.status[agent.id].reason == NO_PHONE)
    ws = await connect(client)  # ... and back within the grace: ready again, same console
    await wait_until(lambda: live.pool.state(agent.id) is AgentState.READY)
    await asyncio.sleep(GRACE_S * 2)  # past the grace: still logged in (the page is there)
    assert live.pool.state(agent.id) is AgentState.READY
    await ws.close()
    await wait_until(lambda: live.pool.state(agent.id) is AgentState.LOGGED_OUT)
    assert agent.id not in live.phones


# -- calls -------------------------------------------------------------------------------


def offer(lead_id: int | None = None, campaign_id: int | None = None) -> CallOffer:
    return CallOffer(
        "call-1",
        "+14155550100",
        "Jane Doe",
        5.0,
        60.0,
        {"customerName": "Jane Doe", "plan": "gold"},
        campaign_id,
        lead_id,
    )


async def console_of(client: Client, agent: Agent) -> BrowserConsole:
    consoles = client.server.app[CONSOLES]
    await wait_until(lambda: agent.id in consoles.consoles)
    return consoles.consoles[agent.id]


async def test_a_ring_is_answered_and_hung_up_from_the_page_then_dispositioned(
    client: Client, desk: tuple[StoreWorker, Agent, LiveAgentPool]
) -> None:
    store, agent, _ = desk
    campaign, lead, first = await lead_in_flight(
        store, {"retry": {"max_attempts": 2, "goal": "confirmed=true"}}
    )
    await finish(store, first, "no-answer", then=LeadEvent.RESCHEDULE)  # a previous attempt
    attempt = await store.run(lambda s: s.begin_attempt(lead, "+14155550100", time.time()))
    await log_in(client)
    ws = await connect(client)
    console = await console_of(client, agent)
    leg = await console.ring(offer(lead, campaign))
    ring = await next_of(ws, "ring")
    assert (ring["name"], ring["number"], ring["contact"]["plan"]) == (
        "Jane Doe",
        "+14155550100",
        "gold",
    )
    (previous,) = (await next_of(ws, "history"))["attempts"]  # not the one in flight
    assert (previous["number"], previous["outcome"]) == ("+14155550100", "completed")
    await ws.send_json({"type": "pick_up", "call_sid": "call-1"})
    assert await asyncio.wait_for(leg.answered(), 5)
    await next_of(ws, "connected")
    await ws.send_json({"type": "hangup", "call_sid": "call-1"})
    assert await asyncio.wait_for(leg.wait_ended(), 5) == AGENT_HUNG_UP
    assert not leg.lost
    await leg.close()
    assert (await next_of(ws, "ended"))["answered"] is True
    # The page's form goes in before the campaign closed the attempt: the console waits.
    await ws.send_json(
        {
            "type": "disposition",
            "call_sid": "call-1",
            "disposition": "sale",
            "notes": "wants the gold plan",
            "variables": {"confirmed": "true"},
        }
    )
    await finish(store, attempt, then=LeadEvent.EXHAUST)  # no goal in the flow's variables
    saved = await next_of(ws, "disposition_saved")
    stored = await store.run(lambda s: s.get_attempt(attempt))
    assert (stored.disposition, stored.notes, stored.agent_id) == (
        "sale",
        "wants the gold plan",
        agent.id,
    )
    assert stored.result is not None and stored.result.variables["confirmed"] == "true"
    assert (saved["goal_reached"], saved["lead_state"]) == (True, "completed")  # the agent's
    await ws.send_json({"type": "stats"})
    assert (await next_of(ws, "stats"))["dispositions"] == 1
    await ws.close()


async def test_a_disposition_for_an_unknown_call_is_refused_clearly(client: Client) -> None:
    await log_in(client)
    ws = await connect(client)
    await ws.send_json({"type": "disposition", "call_sid": "nope", "disposition": "sale"})
    assert "no contact" in (await next_of(ws, "error"))["message"]
    await ws.close()


async def test_the_page_closing_mid_call_loses_the_leg_and_a_missed_ring_is_not_lost(
    client: Client, desk: tuple[StoreWorker, Agent, LiveAgentPool]
) -> None:
    _, agent, _ = desk
    await log_in(client)
    ws = await connect(client)
    console = await console_of(client, agent)
    leg = await console.ring(offer())
    await next_of(ws, "ring")
    await ws.send_json({"type": "pick_up", "call_sid": "call-1"})
    assert await asyncio.wait_for(leg.answered(), 5)
    await ws.close()
    assert await asyncio.wait_for(leg.wait_ended(), 5) == CONSOLE_LOST
    assert leg.lost
    await leg.close()
    with pytest.raises(AgentUnreachable):  # no page: nothing to ring
        await console.ring(offer())
    ws = await connect(client)
    ringing = await console.ring(offer())
    await next_of(ws, "ring")
    await ws.close()  # gone while it rang: not answered, and not "lost"
    assert not await asyncio.wait_for(ringing.answered(), 5)
    assert not ringing.lost
