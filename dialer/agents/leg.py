"""The agent's side of a bridged call: our INVITE to the SIP phone an agent registered.

`SipPhone` is a registered phone as an `AgentEndpoint`; `AgentLeg` rings its
Contact (sent to the address the
REGISTER came from, so a phone behind NAT is reached where it is), with the
person's name and number as the caller (the SIP phone's screen pop), and says
whether the phone answered within `answer_timeout_s`. The dialer only ever
calls phones that registered with a password: no request from outside makes it
call anywhere. `hang_up(reason)` ends it from our side at once (a CANCEL while it
rings, a BYE once answered: the console's Hang up in desk-phone mode); `close()`
hangs up on every path and frees the RTP port.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from dialer.agents.endpoint import AgentUnreachable, CallOffer
from dialer.calling import HANGUP_GRACE_S
from dialer.runtime import Dialer
from dialer.sip.actions import Destination
from dialer.sip.call import CallAnswered, CallEnded, CallParams, OutboundCall
from media.ports import RtpPortsExhausted
from media.sdp import SdpError
from media.session import RtpSession, RtpSessionError

log = logging.getLogger("dialer.agents")


@dataclass(frozen=True)
class SipPhone:
    """Where an agent's phone is: its registered Contact, and where to send to reach it."""

    dialer: Dialer
    contact: str  # the Request-URI
    destination: Destination

    async def ring(self, offer: CallOffer) -> AgentLeg:
        try:
            return await AgentLeg.ring(self.dialer, self, offer)
        except (RtpPortsExhausted, RtpSessionError) as exc:
            raise AgentUnreachable(str(exc)) from exc


class AgentLeg:
    def __init__(self, dialer: Dialer, session: RtpSession, call: OutboundCall) -> None:
        self.dialer = dialer
        self.session = session
        self.call = call
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.ended: CallEnded | None = None

    @property
    def audio(self) -> RtpSession:
        return self.session

    @property
    def lost(self) -> bool:
        return False  # a SIP phone that vanishes is noticed by the person's leg

    @classmethod
    async def ring(cls, dialer: Dialer, phone: SipPhone, offer: CallOffer) -> AgentLeg:
        """Open the media and send the INVITE (RtpPortsExhausted, RtpSessionError); the
        person's name and number are the caller's (the phone's screen pop)."""
        config = dialer.config
        transport = dialer.transport
        assert transport is not None, "the dialer is not started"
        session = await RtpSession.open(
            dialer.ports,
            dialer.clock,
            config.rtp.bind_host,
            advertised_host=config.sip.advertised_host,
            dead_air_timeout=0,  # the person's leg guards the call
        )
        host = config.sip.advertised_host
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal in a URI
        port = config.sip.bind_port
        params = CallParams(
            target=phone.contact,
            destination=phone.destination,
            from_uri=f"sip:{_user(offer.caller_number)}@{host}:{port}",
            contact=f"sip:dialer@{host}:{port}",
            sdp_offer=session.local_offer().encode(),
            caller_name=offer.caller_name,
            user_agent=config.sip.user_agent,
            ring_timeout_s=offer.answer_timeout_s,
            max_duration_s=offer.max_duration_s,
            max_redirects=0,  # a phone that redirects is not an agent we bridge to
        )
        call = OutboundCall(
            params,
            answer_offer=session.reoffer_answerer,
            make_offer=lambda: session.local_offer().encode(),
        )
        leg = cls(dialer, session, call)
        transport.start_call(call, call.start(transport.now), leg.events.put_nowait)
        return leg

    async def answered(self) -> bool:
        """Wait for the phone: True once it answered with usable media."""
        while True:
            event = await self.events.get()
            if isinstance(event, CallEnded):
                self.ended = event
                return False
            if isinstance(event, CallAnswered):
                try:
                    self.session.apply_answer(event.sdp.decode("utf-8", "replace"))
                except SdpError as exc:
                    log.warning("agent phone %s: unusable answer: %s", self.call.params.target,
                                exc)  # fmt: skip
                    self.hang_up("unusable SDP answer")
                    continue
                return True

    async def wait_ended(self) -> str:
        """Follow the answered call until it ends (re-INVITEs for hold are answered by the
        call through session.reoffer_answerer); why it ended."""
        while self.ended is None:
            event = await self.events.get()
            if isinstance(event, CallEnded):
                self.ended = event
        return self.ended.reason

    def hang_up(self, reason: str) -> None:
        transport = self.dialer.transport
        if transport is not None and not self.call.ended:
            transport.run(self.call, self.call.hangup(transport.now, reason))

    async def close(self) -> None:
        """Hang up if still up, wait a little for the BYE or CANCEL to finish, free media."""
        try:
            if not self.call.ended:
                self.hang_up("bridge over")
                try:
                    async with asyncio.timeout(HANGUP_GRACE_S):
                        await self.wait_ended()
                except TimeoutError:
                    pass
        finally:
            self.session.close()
            if self.dialer.transport is not None:
                self.dialer.transport.forget(self.call)


def _user(number: str) -> str:
    """A caller number fit for a SIP URI's user part (anything odd becomes 'dialer')."""
    cleaned = number.strip()
    ok = cleaned and all(c.isalnum() or c in "+-_.*#" for c in cleaned)
    return cleaned if ok else "dialer"
