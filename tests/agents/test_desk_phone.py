"""DeskPhone: the agent's SIP phone with their console beside it, and how the live pool
pairs them (registrations, unregistrations, the console coming and going)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from actors.agent_pool import LiveAgentPool
from dialer.agents.desk_phone import DeskPhone, DeskPhoneLeg
from dialer.agents.endpoint import AgentEndpoint, AgentUnreachable, CallOffer
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.agents.states import AgentState
from tests.agents.fake_phone import FakeSipLegWithoutHangUp, FakeSipPhone

OFFER = CallOffer("call-1", "+14155550100", "Jane Doe", 5.0, 60.0, {"plan": "gold"}, 7, 3)


class Screen:
    """The console's side, as the desk phone tells it: every event in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.registrations: list[bool | str] = []

    def ringing(self, leg: DeskPhoneLeg) -> None:
        self.events.append(("ringing", leg.offer.caller_name))

    def on_the_line(self, leg: DeskPhoneLeg) -> None:
        self.events.append(("on the line", leg.call_sid))

    def call_over(self, leg: DeskPhoneLeg) -> None:
        self.events.append(("over", leg.reason))

    # as a DeskPhoneCompanion
    def pair(self, phone: AgentEndpoint) -> AgentEndpoint:
        self.registrations.append(True)
        return DeskPhone(phone, self)

    def unregistered(self, reason: str) -> None:
        self.registrations.append(reason)


# -- the wrapper --------------------------------------------------------------------------


async def test_a_ring_reaches_the_phone_and_the_screen_follows_the_call() -> None:
    phone, screen = FakeSipPhone(), Screen()
    leg = await DeskPhone(phone, screen).ring(OFFER)
    (sip,) = phone.legs
    assert sip.offer is OFFER  # the phone rings with the person's name and number
    assert screen.events == [("ringing", "Jane Doe")]
    assert leg.audio is sip.audio and not leg.lost  # the bridge takes the phone's audio
    sip.answer()
    assert await leg.answered()
    assert leg.picked_up and screen.events[-1] == ("on the line", "call-1")
    sip.far_end_hangs_up("far end hung up")
    assert await leg.wait_ended() == "far end hung up"
    await leg.close()
    await leg.close()  # once
    assert sip.closed
    assert screen.events == [
        ("ringing", "Jane Doe"),
        ("on the line", "call-1"),
        ("over", "far end hung up"),
    ]


async def test_a_phone_that_cannot_be_rung_shows_nothing() -> None:
    screen = Screen()
    with pytest.raises(AgentUnreachable):
        await DeskPhone(FakeSipPhone(unreachable=True), screen).ring(OFFER)
    assert screen.events == []


async def test_a_ring_not_answered_ends_on_the_screen_as_not_answered() -> None:
    phone, screen = FakeSipPhone(), Screen()
    leg = await DeskPhone(phone, screen).ring(OFFER)
    await leg.close()  # the hand-off gave up on it
    assert phone.legs[0].closed and not leg.picked_up
    assert screen.events == [("ringing", "Jane Doe"), ("over", "not answered")]


async def test_the_console_hangs_up_a_leg_that_can_be_ended_from_our_side() -> None:
    phone, screen = FakeSipPhone(), Screen()
    leg = await DeskPhone(phone, screen).ring(OFFER)
    phone.legs[0].answer()
    await leg.answered()
    assert leg.can_hang_up and leg.hang_up("agent hung up")
    assert phone.legs[0].hung_up == ["agent hung up"]
    assert await leg.wait_ended() == "agent hung up"
    await leg.close()
    assert not leg.hang_up("again")  # over: nothing to end


async def test_a_leg_without_hang_up_is_not_ended_from_the_console() -> None:
    phone, screen = FakeSipPhone(), Screen()
    sip = await phone.ring(OFFER)
    leg = DeskPhoneLeg(FakeSipLegWithoutHangUp(sip), OFFER, screen)
    assert not leg.can_hang_up and not leg.hang_up("agent hung up")
    assert sip.hung_up == []


# -- the pairing in the live pool ---------------------------------------------------------


@pytest.fixture
async def live() -> AsyncIterator[LiveAgentPool]:
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    live.seat(AgentSeat(1, "Ann Agent", "1001"))
    yield live
    await live.close()


def paired(live: LiveAgentPool) -> DeskPhone:
    endpoint = live.phones[1]
    assert isinstance(endpoint, DeskPhone), endpoint
    return endpoint


async def test_a_console_opened_beside_a_registered_phone_pairs_with_it(
    live: LiveAgentPool,
) -> None:
    first, screen = FakeSipPhone("first"), Screen()
    live.sip_phone_registered(1, first)
    assert live.phones[1] is first and live.pool.state(1) is AgentState.READY
    live.pause(1, "lunch")
    live.pair(1, screen)
    assert paired(live).phone is first and paired(live).screen is screen
    assert live.pool.status[1].reason == "lunch"  # the agent's own pause stays theirs
    # A re-registration (a refresh, a new address) replaces the phone; the console stays.
    moved = FakeSipPhone("moved")
    live.sip_phone_registered(1, moved)
    assert paired(live).phone is moved and paired(live).screen is screen
    assert screen.registrations == [True, True]
    # The console closes: the bare phone takes the calls, the agent's state untouched.
    live.unpair(1, screen)
    assert live.phones[1] is moved and live.pool.status[1].reason == "lunch"
    live.unpair(1, screen)  # twice: nothing more
    assert live.phones[1] is moved


async def test_registration_and_unregistration_come_to_the_paired_console(
    live: LiveAgentPool,
) -> None:
    screen = Screen()
    live.pair(1, screen)  # no phone yet: nothing rings, nobody is logged in
    assert 1 not in live.phones and live.pool.state(1) is AgentState.LOGGED_OUT
    phone = FakeSipPhone()
    live.sip_phone_registered(1, phone)  # registering is logging in, ready
    assert paired(live).phone is phone and live.pool.state(1) is AgentState.READY
    live.sip_phone_gone(1, "phone expired")
    assert 1 not in live.phones and 1 not in live.sip_phones
    assert (live.pool.state(1), live.pool.status[1].reason) == (
        AgentState.LOGGED_OUT,
        "phone expired",
    )
    assert screen.registrations == [True, "phone expired"]
    live.unpair(1, screen)
    live.sip_phone_registered(1, phone)  # unpaired: the bare phone again
    assert live.phones[1] is phone


async def test_a_registration_for_an_agent_not_seated_is_ignored(live: LiveAgentPool) -> None:
    live.sip_phone_registered(2, FakeSipPhone())
    assert 2 not in live.phones and 2 not in live.sip_phones
