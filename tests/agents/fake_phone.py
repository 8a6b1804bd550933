"""A SIP phone in memory, for the desk-phone tests: rung, answered and hung up by the test."""

from __future__ import annotations

import asyncio
from typing import cast

from dialer.agents.endpoint import AgentUnreachable, CallOffer
from media.bridge import AudioPort


class FakeSipLeg:
    """What `AgentLeg` is to the hand-off: an answer, an end, and `hang_up` from our side."""

    def __init__(self, offer: CallOffer) -> None:
        self.offer = offer
        self.audio = cast(AudioPort, object())  # never bridged here
        self.lost = False
        self.closed = False
        self.hung_up: list[str] = []
        self._decided = asyncio.Event()
        self._picked_up = False
        self._over = asyncio.Event()
        self._reason = ""

    def answer(self) -> None:  # the agent lifts the handset
        self._picked_up = True
        self._decided.set()

    def far_end_hangs_up(self, reason: str) -> None:
        self._reason = reason
        self._decided.set()
        self._over.set()

    async def answered(self) -> bool:
        await self._decided.wait()
        return self._picked_up

    async def wait_ended(self) -> str:
        await self._over.wait()
        return self._reason

    def hang_up(self, reason: str) -> None:
        self.hung_up.append(reason)
        self.far_end_hangs_up(reason)

    async def close(self) -> None:
        self.closed = True


class FakeSipLegWithoutHangUp:
    """A leg that can only end from the phone's side."""

    def __init__(self, leg: FakeSipLeg) -> None:
        self.inner = leg
        self.audio = leg.audio
        self.lost = False

    async def answered(self) -> bool:
        return await self.inner.answered()

    async def wait_ended(self) -> str:
        return await self.inner.wait_ended()

    async def close(self) -> None:
        await self.inner.close()


class FakeSipPhone:
    """A registered phone: each ring makes a `FakeSipLeg` (or is refused, `unreachable`)."""

    def __init__(self, name: str = "phone", *, unreachable: bool = False) -> None:
        self.name = name
        self.unreachable = unreachable
        self.legs: list[FakeSipLeg] = []
        self.rung = asyncio.Event()

    async def ring(self, offer: CallOffer) -> FakeSipLeg:
        if self.unreachable:
            raise AgentUnreachable("no RTP port")
        leg = FakeSipLeg(offer)
        self.legs.append(leg)
        self.rung.set()
        return leg
