"""An agent's SIP phone with their console beside it (desk-phone mode), as one endpoint.

In desk-phone mode the console negotiates no audio and does not take the
agent's calls: their registered SIP phone does, as without a console. The
console is a screen beside it: the screen pop when the phone is offered a call,
the call on the line while the phone is bridged, its end, then the disposition
form and today's figures.

The design: `DeskPhone` is an `AgentEndpoint` holding the SIP phone and the
console (`CallScreen`). It is what `LiveAgentPool.phones` holds while both
exist, so the hand-off rings it as it rings any phone and needs no change.
`ring(offer)` rings the SIP phone first (a phone that cannot be rung shows
nothing), then puts the call on the screen; the `DeskPhoneLeg` it returns is the
SIP leg as the hand-off sees it (its audio, its answer, its end), telling the
screen when the phone answered and when the call is over. The screen pop and
the disposition are the console's own code, the same in both modes: only
where the audio goes differs.

The pairing lives in `LiveAgentPool` (`sip_phones`, `companions`): a
registration (a refresh, a move) makes a new `DeskPhone` around the new SIP
endpoint with the same console; an unregistration drops it and logs the agent
out as ever; the console closing puts the bare SIP phone back. A call up at
that moment is not touched: its leg is the hand-off's, and the screen it
reports to just has no page any more.

The console's Hang up ends the SIP leg when it can be ended from our side
(`HangUpLeg`: a BYE, or a CANCEL while it rings); answering is the phone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialer.agents.endpoint import AgentCallLeg, AgentEndpoint, CallOffer, HangUpLeg
from media.bridge import AudioPort


class CallScreen(Protocol):
    """The console beside the phone: what it is told of the phone's calls."""

    def ringing(self, leg: DeskPhoneLeg) -> None: ...  # the screen pop

    def on_the_line(self, leg: DeskPhoneLeg) -> None: ...

    def call_over(self, leg: DeskPhoneLeg) -> None: ...


@dataclass(frozen=True)
class DeskPhone:
    """The agent's SIP phone, its calls shown on their console; an `AgentEndpoint`."""

    phone: AgentEndpoint
    screen: CallScreen

    async def ring(self, offer: CallOffer) -> DeskPhoneLeg:
        leg = DeskPhoneLeg(await self.phone.ring(offer), offer, self.screen)
        self.screen.ringing(leg)
        return leg


class DeskPhoneLeg:
    """The SIP phone's leg, as the hand-off sees it, reported to the screen."""

    def __init__(self, leg: AgentCallLeg, offer: CallOffer, screen: CallScreen) -> None:
        self.leg = leg
        self.offer = offer
        self.screen = screen
        self.picked_up = False
        self.closed = False
        self.reason = ""

    @property
    def call_sid(self) -> str:
        return self.offer.call_sid

    @property
    def audio(self) -> AudioPort:
        return self.leg.audio

    @property
    def lost(self) -> bool:
        return self.leg.lost

    @property
    def can_hang_up(self) -> bool:
        return isinstance(self.leg, HangUpLeg)

    async def answered(self) -> bool:
        answered = await self.leg.answered()
        if answered and not self.picked_up:
            self.picked_up = True
            self.screen.on_the_line(self)
        return answered

    async def wait_ended(self) -> str:
        self.reason = await self.leg.wait_ended()
        return self.reason

    def hang_up(self, reason: str) -> bool:
        """End the phone's leg from the console; False if it cannot be from our side."""
        if self.closed or not isinstance(self.leg, HangUpLeg):
            return False
        self.leg.hang_up(reason)
        return True

    async def close(self) -> None:
        """The call is over for the hand-off: the phone's leg closed, the screen told."""
        if self.closed:
            return
        self.closed = True
        try:
            await self.leg.close()
        finally:
            self.reason = self.reason or ("call over" if self.picked_up else "not answered")
            self.screen.call_over(self)
