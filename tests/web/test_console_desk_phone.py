"""The agent console in desk-phone mode: the mode's cookie and switch, and the console as the
companion of a SIP phone (an in-memory one here; the real one: tests/e2e/test_desk_phone.py)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from actors.agent_pool import LiveAgentPool
from dialer.agents.browser import AGENT_HUNG_UP, NO_DESK_PHONE
from dialer.agents.desk_phone import DeskPhone
from dialer.agents.pool import AgentSeat
from dialer.agents.states import AgentState
from dialer.campaign.model import LeadEvent
from dialer.store.repository import Agent
from dialer.store.worker import StoreWorker
from dialer.web.console import MODE_COOKIE
from tests.agents.fake_phone import FakeSipPhone
from tests.web.harness import PASSWORD, finish, lead_in_flight, wait_until
from tests.web.test_console import (
    Client,
    cheap_scrypt,
    client,
    connect,
    console_of,
    desk,
    next_of,
    offer,
    origin,
)

__all__ = ["cheap_scrypt", "client", "desk"]

Desk = tuple[StoreWorker, Agent, LiveAgentPool]


async def log_in(client: Client, mode: str = "desk_phone", **fields: str) -> aiohttp.ClientResponse:
    data = {"extension": "1001", "password": PASSWORD, "mode": mode, **fields}
    return await client.post(
        "/agent/login", data=data, headers={"Origin": origin(client)}, allow_redirects=False
    )


async def csrf_of(client: Client) -> str:
    page = await (await client.get("/agent")).text()
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def switch(client: Client, mode: str, csrf: str, **headers: str) -> aiohttp.ClientResponse:
    return await client.post(
        "/agent/mode",
        data={"csrf": csrf, "mode": mode},
        headers={"Origin": origin(client), **headers},
        allow_redirects=False,
    )


# -- the mode ----------------------------------------------------------------------------


async def test_the_mode_chosen_at_login_is_remembered_by_this_browser(client: Client) -> None:
    response = await log_in(client)
    assert response.status == 303
    (cookie,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith(MODE_COOKIE)]
    assert "desk_phone" in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    page = await (await client.get("/agent")).text()
    assert 'data-mode="desk_phone"' in page and "Take calls in this browser" in page
    csrf = await csrf_of(client)
    await client.post("/agent/logout", data={"csrf": csrf}, headers={"Origin": origin(client)})
    login_page = await (await client.get("/agent")).text()  # the choice is still ticked
    assert 'id="mode-desk-phone" checked' in login_page
    assert 'id="mode-browser" >' in login_page


async def test_switching_the_mode_needs_our_origin_and_the_csrf_token(client: Client) -> None:
    await log_in(client, mode="browser")
    csrf = await csrf_of(client)
    assert (await switch(client, "desk_phone", "forged")).status == 403
    assert (await switch(client, "desk_phone", csrf, Origin="http://evil.example")).status == 403
    assert (await switch(client, "speaker", csrf)).status == 400
    assert 'data-mode="browser"' in await (await client.get("/agent")).text()
    done = await switch(client, "desk_phone", csrf)
    assert done.status == 303 and done.headers["Location"] == "/agent"
    assert 'data-mode="desk_phone"' in await (await client.get("/agent")).text()


async def test_the_mode_cannot_change_mid_call(client: Client, desk: Desk) -> None:
    _, agent, live = desk
    live.sip_phone_registered(agent.id, FakeSipPhone())
    await log_in(client)
    ws = await connect(client)
    await next_of(ws, "hello")
    assert live.reserve_agent(agent.id, "a person answered")
    assert (await switch(client, "browser", await csrf_of(client))).status == 409
    await ws.close()


# -- without a registered phone ----------------------------------------------------------


async def test_without_a_registered_phone_the_console_says_so_and_refuses_ready(
    client: Client, desk: Desk
) -> None:
    _, agent, live = desk
    await log_in(client)
    ws = await connect(client)
    hello = await next_of(ws, "hello")
    assert hello["mode"] == "desk_phone"
    assert hello["desk_phone"] == {"registered": False, "reason": ""}
    assert agent.id not in live.phones  # the console does not take the calls
    assert live.pool.state(agent.id) is AgentState.LOGGED_OUT  # nor log the agent in
    await ws.send_json({"type": "ready"})
    assert "desk phone is not registered" in (await next_of(ws, "error"))["message"]
    assert live.pool.state(agent.id) is AgentState.LOGGED_OUT
    await ws.send_json({"type": "offer", "sdp": "v=0"})  # no WebRTC in this mode
    assert "audio is on your phone" in (await next_of(ws, "error"))["message"]
    await ws.close()


async def test_a_browser_console_switched_to_desk_phone_mode_gives_up_the_calls(
    client: Client, desk: Desk
) -> None:
    _, agent, live = desk
    await log_in(client, mode="browser")
    ws = await connect(client)
    await next_of(ws, "hello")
    console = await console_of(client, agent)
    assert live.phones[agent.id] is console
    await switch(client, "desk_phone", await csrf_of(client))
    await ws.close()
    ws = await connect(client)  # the page, loaded again in the new mode
    assert (await next_of(ws, "hello"))["mode"] == "desk_phone"
    assert agent.id not in live.phones  # no phone registered: nothing rings
    assert live.pool.status[agent.id].reason == NO_DESK_PHONE
    # A phone registered while the browser had the calls is paired when the mode changes.
    live.sip_phone_registered(agent.id, phone := FakeSipPhone())
    await switch(client, "browser", await csrf_of(client))
    await ws.close()
    ws = await connect(client)
    await wait_until(lambda: live.phones.get(agent.id) is console)
    await switch(client, "desk_phone", await csrf_of(client))
    await ws.close()
    ws = await connect(client)
    await next_of(ws, "hello")
    endpoint = live.phones[agent.id]
    assert isinstance(endpoint, DeskPhone) and endpoint.phone is phone
    await ws.close()


# -- the phone's calls on the console ----------------------------------------------------


async def paired_phone(live: LiveAgentPool, agent: Agent) -> DeskPhone:
    await wait_until(lambda: isinstance(live.phones.get(agent.id), DeskPhone))
    endpoint = live.phones[agent.id]
    assert isinstance(endpoint, DeskPhone)
    return endpoint


async def test_the_phone_registering_logs_in_and_its_call_is_shown_hung_up_and_dispositioned(
    client: Client, desk: Desk
) -> None:
    store, agent, live = desk
    campaign, lead, first = await lead_in_flight(
        store, {"retry": {"max_attempts": 2, "goal": "confirmed=true"}}
    )
    await finish(store, first, "no-answer", then=LeadEvent.RESCHEDULE)  # a previous attempt
    attempt = await store.run(lambda s: s.begin_attempt(lead, "+14155550100", time.time()))
    await log_in(client)
    ws = await connect(client)
    await next_of(ws, "hello")
    phone = FakeSipPhone()
    live.sip_phone_registered(agent.id, phone)  # what the registrar's event does
    assert (await next_of(ws, "desk_phone"))["registered"] is True
    logged_in = await next_of(ws, "state")  # registering is logging in, then ready
    assert (logged_in["state"], logged_in["reason"]) == ("paused", "phone registered")
    assert (await next_of(ws, "state"))["state"] == "ready"
    endpoint = await paired_phone(live, agent)
    assert endpoint.screen is await console_of(client, agent)
    # The hand-off rings the pairing, as it rings any phone.
    leg = await endpoint.ring(offer(lead, campaign))
    (sip,) = phone.legs
    ring = await next_of(ws, "ring")
    assert (ring["name"], ring["contact"]["plan"]) == ("Jane Doe", "gold")
    (previous,) = (await next_of(ws, "history"))["attempts"]
    assert previous["outcome"] == "completed"
    await ws.send_json({"type": "pick_up", "call_sid": "call-1"})  # the phone answers
    assert "answer on your desk phone" in (await next_of(ws, "error"))["message"]
    sip.answer()
    assert await asyncio.wait_for(leg.answered(), 5)
    assert (await next_of(ws, "connected"))["call_sid"] == "call-1"
    await ws.send_json({"type": "hangup", "call_sid": "call-1"})
    assert await asyncio.wait_for(leg.wait_ended(), 5) == AGENT_HUNG_UP
    assert sip.hung_up == [AGENT_HUNG_UP]  # the SIP leg was ended from the console
    await leg.close()
    ended = await next_of(ws, "ended")
    assert (ended["answered"], ended["reason"]) == (True, AGENT_HUNG_UP)
    assert sip.closed
    await ws.send_json(
        {
            "type": "disposition",
            "call_sid": "call-1",
            "disposition": "sale",
            "notes": "desk phone",
            "variables": {"confirmed": "true"},
        }
    )
    await finish(store, attempt, then=LeadEvent.EXHAUST)
    saved = await next_of(ws, "disposition_saved")
    assert (saved["goal_reached"], saved["lead_state"]) == (True, "completed")
    stored = await store.run(lambda s: s.get_attempt(attempt))
    assert (stored.disposition, stored.notes, stored.agent_id) == ("sale", "desk phone", agent.id)
    assert stored.result is not None and stored.result.variables["confirmed"] == "true"
    await ws.send_json({"type": "stats"})
    assert (await next_of(ws, "stats"))["dispositions"] == 1
    await ws.send_json({"type": "pause", "reason": "lunch"})  # pause and ready work here too
    assert (await next_of(ws, "state"))["reason"] == "lunch"
    await ws.send_json({"type": "ready"})
    assert (await next_of(ws, "state"))["state"] == "ready"
    await ws.close()


async def test_unregistration_logs_out_and_the_page_is_told(client: Client, desk: Desk) -> None:
    _, agent, live = desk
    live.sip_phone_registered(agent.id, FakeSipPhone())
    await log_in(client)
    ws = await connect(client)
    assert (await next_of(ws, "hello"))["desk_phone"]["registered"] is True
    live.sip_phone_gone(agent.id, "phone expired")  # what the registrar's event does
    gone = await next_of(ws, "desk_phone")
    assert (gone["registered"], gone["reason"]) == (False, "phone expired")
    state = await next_of(ws, "state")
    assert (state["state"], state["reason"]) == ("logged_out", "phone expired")
    await ws.send_json({"type": "ready"})
    assert "not registered" in (await next_of(ws, "error"))["message"]
    await ws.close()


async def test_the_page_going_away_loses_no_call_and_the_phone_rings_alone_after_logout(
    client: Client, desk: Desk
) -> None:
    _, agent, live = desk
    phone = FakeSipPhone()
    live.sip_phone_registered(agent.id, phone)
    await log_in(client)
    ws = await connect(client)
    await next_of(ws, "hello")
    endpoint = await paired_phone(live, agent)
    leg = await endpoint.ring(offer())
    phone.legs[0].answer()
    assert await leg.answered()
    await ws.close()  # a reload, mid-call: the phone has the call, nothing is lost
    await asyncio.sleep(0.05)
    assert not leg.lost and phone.legs[0].hung_up == []
    ws = await connect(client)
    assert (await next_of(ws, "hello"))["call"] == "call-1"
    phone.legs[0].far_end_hangs_up("far end hung up")
    await leg.close()
    assert (await next_of(ws, "ended"))["answered"] is True
    live.hang_up(agent.id)  # what the hand-off does after the bridge
    await wait_until(lambda: live.pool.state(agent.id) is AgentState.READY)
    await ws.close()  # the page goes for good: past the grace the console logs out ...
    await wait_until(lambda: not isinstance(live.phones.get(agent.id), DeskPhone))
    assert live.phones[agent.id] is phone  # ... and the phone alone takes the calls
    assert live.pool.state(agent.id) is AgentState.READY  # never paused for the page


async def test_an_agent_cannot_disposition_another_agents_call(client: Client, desk: Desk) -> None:
    store, agent, live = desk
    campaign, lead, _ = await lead_in_flight(store)
    live.sip_phone_registered(agent.id, FakeSipPhone())
    await log_in(client)
    ws = await connect(client)
    await next_of(ws, "hello")
    leg = await (await paired_phone(live, agent)).ring(offer(lead, campaign))
    await next_of(ws, "history")  # Ann's console can disposition call-1 ...
    assert "call-1" in (await console_of(client, agent)).calls
    await leg.close()
    await ws.close()
    bob = await store.run(lambda s: s.add_agent("Bob", "1002", PASSWORD, "dialer", now=0.0))
    live.seat(AgentSeat(bob.id, bob.name, bob.extension))
    await log_in(client, extension="1002")
    other = await connect(client)
    assert (await next_of(other, "hello"))["agent"]["extension"] == "1002"
    await other.send_json({"type": "disposition", "call_sid": "call-1", "disposition": "sale"})
    assert "no contact" in (await next_of(other, "error"))["message"]  # ... Bob's cannot
    await other.close()
