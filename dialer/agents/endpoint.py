"""What the hand-off needs of an agent's phone, whatever it is: a SIP phone or a browser.

An `AgentEndpoint` is where an agent takes calls (a registered SIP phone, the
agent console over WebRTC). `ring(offer)` offers it a person and returns the
`AgentCallLeg`: whether the agent answered, their audio for the bridge, and
how the call ended. `lost` says the agent vanished mid-call (a browser closed,
a network gone) rather than hung up: then the person is not left in silence
but given the safe-harbor message.

A `PreviewEndpoint` (the console: a SIP phone has no screen) also shows an
agent a contact before the dial (preview dialing): `preview(offer)` returns
the agent's `PreviewChoice`, to call or to skip, as a future.

A `HangUpLeg` can be ended from our side while it is up (a SIP leg: BYE or
CANCEL); the console's Hang up uses it in desk-phone mode. A `DeskPhoneCompanion`
is a console beside an agent's SIP phone (desk-phone mode, see
`dialer.agents.desk_phone`): told when the phone registers (`pair`, which returns
the endpoint that rings the phone and shows the calls) and when it goes.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from media.bridge import AudioPort


class AgentUnreachable(Exception):
    """The endpoint could not even be offered the call (no media port, no connection)."""


@dataclass(frozen=True)
class CallOffer:
    """A person offered to an agent: what their screen shows, and how long to answer."""

    call_sid: str
    caller_number: str
    caller_name: str
    answer_timeout_s: float
    max_duration_s: float
    contact: Mapping[str, str] = field(default_factory=dict)  # the screen pop
    campaign_id: int | None = None
    lead_id: int | None = None
    preview: bool = False  # the call the agent chose to place: answered without asking


class AgentCallLeg(Protocol):
    @property
    def audio(self) -> AudioPort: ...

    @property
    def lost(self) -> bool: ...

    async def answered(self) -> bool: ...

    async def wait_ended(self) -> str: ...  # why it ended

    async def close(self) -> None: ...


@runtime_checkable
class HangUpLeg(AgentCallLeg, Protocol):
    def hang_up(self, reason: str) -> None: ...  # end it now, ringing or answered


class AgentEndpoint(Protocol):
    async def ring(self, offer: CallOffer) -> AgentCallLeg: ...


class DeskPhoneCompanion(Protocol):
    def pair(self, phone: AgentEndpoint) -> AgentEndpoint: ...  # the phone registered

    def unregistered(self, reason: str) -> None: ...  # the phone went (unregistered, expired)


@dataclass(frozen=True)
class PreviewOffer:
    """A contact shown to an agent before the dial."""

    preview_id: str
    campaign_id: int
    lead_id: int
    name: str
    number: str
    decide_within_s: float
    contact: Mapping[str, str] = field(default_factory=dict)


class PreviewChoice(enum.StrEnum):
    CALL = "call"
    SKIP = "skip"
    GONE = "gone"  # the console went away before the agent chose


@runtime_checkable
class PreviewEndpoint(AgentEndpoint, Protocol):
    def preview(self, offer: PreviewOffer) -> asyncio.Future[PreviewChoice]: ...

    def preview_over(self, preview_id: str, outcome: str) -> None: ...  # withdrawn, or dialled
