"""Live people bridged to agents, against real peers: SIPp as the person, baresip as the agent.

The person's side is SIPp echoing RTP: whatever reaches it through our bridge
comes back. So the agent (baresip playing a speech-like signal) hears its own
voice only if audio crossed the bridge both ways, and our recording of the
person's leg holds the agent's voice only if it reached the person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from actors.agent_pool import LiveAgentPool
from dialer.agents.handoff import AgentHandOff
from dialer.agents.leg import SipPhone
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.agents.states import AgentState, AgentStateChange
from dialer.calling import CallReport
from dialer.config import AgentSettings
from dialer.flow.document import parse_flow
from dialer.flow.interpreter import FlowStart
from dialer.flow.location import FlowLocation
from dialer.flow.runner import FlowRequest, FlowRuntime, SafeHarbor
from dialer.sip.actions import Destination
from media.audiofile import load_ulaw
from media.correlation import best_alignment
from media.g711 import ulaw_decode_samples
from tests.e2e.audio_fixtures import read_wav_pcm16, write_wav
from tests.e2e.peers import LOOPBACK, Baresip, Sipp, require_binary
from tests.e2e.test_calls import MakeDialer, call, make_dialer, speechlike
from tests.e2e.test_flows import runtime

__all__ = ["make_dialer", "runtime"]

pytestmark = pytest.mark.usefixtures("_peers")

SALES = frozenset({"sales"})
AGENT = AgentSeat(1, "Ann Agent", "1001", skills=SALES)
CONTACT = {"customerName": "Jane Doe", "phone": "+15550100"}
# The queue names a skill: only agents with it are offered the person.
QUEUE = FlowStart(parse_flow("<Response><Enqueue>sales</Enqueue></Response>", "t"), FlowLocation())


@pytest.fixture
def _peers() -> None:
    require_binary("sipp")
    require_binary("baresip")


@pytest.fixture
async def agents() -> AsyncIterator[tuple[LiveAgentPool, list[AgentStateChange]]]:
    stored: list[AgentStateChange] = []

    async def record(changes: object) -> None:
        stored.extend(changes)  # type: ignore[call-overload]

    live = LiveAgentPool(AgentPool(wrap_up_s=0.0), record=record)
    live.seat(AGENT)
    yield live, stored
    await live.close()


def agent_desk(
    make: Callable[..., FlowRuntime], dialer: object, live: LiveAgentPool, **settings: object
) -> FlowRuntime:
    flows = make()
    flows.hand_off = AgentHandOff(
        dialer,  # type: ignore[arg-type]
        live,
        AgentSettings(**settings),  # type: ignore[arg-type]
        flows.speech,
    )
    return flows


async def test_a_person_and_an_agent_hear_each_other_through_the_bridge(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    agents: tuple[LiveAgentPool, list[AgentStateChange]],
    tmp_path: Path,
) -> None:
    live, stored = agents
    voice = ulaw_decode_samples(speechlike(4.0, seed=11))
    with (
        Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as person,
        Baresip.start(
            audio_in=write_wav(tmp_path / "agent.wav", voice), record_dir=tmp_path, timeout_s=30
        ) as phone,
    ):
        dialer = await make_dialer(person.address)
        live.phone_registered(1, SipPhone(dialer, phone.uri, Destination(LOOPBACK, phone.sip_port)))
        assert live.pool.state(1) is AgentState.READY
        flows = agent_desk(runtime, dialer, live)
        report: CallReport = await call(
            dialer,
            person.uri(),
            flow=FlowRequest(flows, QUEUE, CONTACT, campaign_id=7, lead_id=3),
            record_to=tmp_path / "person-leg.wav",
        )
        assert await person.wait_async(15) == 0, person.report()
    assert report.outcome == "completed", report
    assert report.variables["DialCallStatus"] == "completed"
    assert report.variables["agent"] == "1001"
    # The agent's voice reached the person (SIPp sent it back: that is our recording) ...
    person_leg = ulaw_decode_samples(load_ulaw(tmp_path / "person-leg.wav"))
    assert best_alignment(voice[:16000], person_leg).score > 0.7
    # ... and what the person sent reached the agent: the agent hears their own voice.
    heard, rate = read_wav_pcm16(phone.recordings("dec")[0])
    assert rate == 8000
    assert best_alignment(voice[:16000], heard).score > 0.6
    # The control: a voice nobody sent is not in either.
    other = ulaw_decode_samples(speechlike(2.0, seed=12))
    assert best_alignment(other, person_leg).score < 0.3
    # Every state change was recorded, in order, and the agent is free again.
    states = [change.state for change in stored]
    assert states[:4] == ["paused", "ready", "reserved", "on_call"], states
    assert "wrap_up" in states
    assert live.pool.state(1) is AgentState.READY


@pytest.mark.parametrize("whose", ["the process's", "the campaign's own"])
async def test_nobody_free_plays_the_safe_harbor_message_within_two_seconds(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    agents: tuple[LiveAgentPool, list[AgentStateChange]],
    tmp_path: Path,
    whose: str,
) -> None:
    live, _ = agents  # the one agent never logged in
    message = "Sorry, all our agents are busy. This was a call from Example Inc."
    own = SafeHarbor(message="Acme Roofing called about your quote. Press nine to opt out.")
    campaigns = own if whose == "the campaign's own" else None
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as person:
        dialer = await make_dialer(person.address)
        flows = agent_desk(runtime, dialer, live, safe_harbor_message=message)
        desk = flows.hand_off
        assert isinstance(desk, AgentHandOff)
        await desk.prepare(campaigns)
        report = await call(
            dialer,
            person.uri(),
            flow=FlowRequest(flows, QUEUE, CONTACT, campaign_id=7, safe_harbor=campaigns),
            record_to=tmp_path / "person-leg.wav",
        )
        assert await person.wait_async(15) == 0, person.report()
    assert report.variables["DialCallStatus"] == "abandoned"
    assert report.reason == "abandoned: no agent free in time"
    expected = ulaw_decode_samples(await desk.safe_harbor_audio(campaigns))
    other = ulaw_decode_samples(await desk.safe_harbor_audio(None if campaigns else own))
    heard = ulaw_decode_samples(load_ulaw(tmp_path / "person-leg.wav"))
    found = best_alignment(expected, heard)
    assert found.score > 0.7
    assert best_alignment(other, heard).score < found.score - 0.3  # not the other message
    # The recording starts at the answer; the echo adds SIPp's round trip (~20-60 ms).
    started_s = found.lag / 8000
    assert 1.9 <= started_s <= 2.0 + 0.1, started_s
    assert len(heard) / 8000 >= len(expected) / 8000 + 1.9  # the whole message was heard


async def ann_then_bob(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    live: LiveAgentPool,
    tmp_path: Path,
    start: FlowStart,
    *,
    ann_answers: bool,
    **settings: object,
) -> tuple[CallReport, float]:
    """One person's call with Ann's phone registered first (she has waited longest) and
    then Bob's: the report, and how well Bob heard his own voice back (0 if not at all)."""
    voice = ulaw_decode_samples(speechlike(3.0, seed=21))
    with (
        Sipp.start_uas("echo_answer", rtp_echo=True, calls=1) as person,
        Baresip.start(auto_answer=ann_answers, timeout_s=30) as ann_phone,
        Baresip.start(
            audio_in=write_wav(tmp_path / "b.wav", voice), record_dir=tmp_path, timeout_s=30
        ) as bob_phone,
    ):
        dialer = await make_dialer(person.address)
        for agent_id, phone in ((1, ann_phone), (2, bob_phone)):
            sip_phone = SipPhone(dialer, phone.uri, Destination(LOOPBACK, phone.sip_port))
            live.phone_registered(agent_id, sip_phone)
        flows = agent_desk(runtime, dialer, live, **settings)
        report = await call(
            dialer, person.uri(), flow=FlowRequest(flows, start, CONTACT, campaign_id=7)
        )
        assert await person.wait_async(15) == 0, person.report()
    recorded = bob_phone.recordings("dec")
    if not recorded:
        return report, 0.0
    heard, _ = read_wav_pcm16(recorded[0])
    return report, best_alignment(voice[:16000], heard).score if np.abs(heard).max() > 0 else 0.0


async def test_an_agent_whose_phone_does_not_answer_is_paused_and_the_next_one_rung(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    agents: tuple[LiveAgentPool, list[AgentStateChange]],
    tmp_path: Path,
) -> None:
    live, _ = agents
    live.seat(AgentSeat(2, "Bob Agent", "1002", skills=SALES))
    # Ann is offered the call first: her phone only rings.
    report, bob_heard = await ann_then_bob(
        make_dialer, runtime, live, tmp_path, QUEUE, ann_answers=False, agent_answer_timeout_s=1.0
    )
    assert report.variables["DialCallStatus"] == "completed"
    assert report.variables["agent"] == "1002"
    status = live.pool.status[1]
    assert (status.state, status.reason) == (AgentState.PAUSED, "no answer")
    assert bob_heard > 0.6


async def test_a_flow_that_dials_one_agents_extension_gets_that_agent(
    make_dialer: MakeDialer,
    runtime: Callable[..., FlowRuntime],
    agents: tuple[LiveAgentPool, list[AgentStateChange]],
    tmp_path: Path,
) -> None:
    live, _ = agents
    live.seat(AgentSeat(2, "Bob Agent", "1002"))
    bob = FlowStart(
        parse_flow("<Response><Dial><Client>1002</Client></Dial></Response>", "t"), FlowLocation()
    )
    # Ann would take a queue's person (she has waited longest); the flow asks for Bob.
    report, bob_heard = await ann_then_bob(
        make_dialer, runtime, live, tmp_path, bob, ann_answers=True
    )
    assert report.variables["DialCallStatus"] == "completed"
    assert report.variables["agent"] == "1002"
    assert [c.state for c in live.pool.status.values()] == [AgentState.READY] * 2
    assert bob_heard > 0.6
