"""Preview dialing: each ready agent is shown a contact and chooses to call it or skip it.

`PreviewDesk` is the part of a preview campaign's actor that deals with its
agents' consoles. An agent who is ready and at a console (a SIP phone has no
screen) is reserved, so no other campaign offers them a person, and shown the
next lead; the choice comes back to the actor as a `PreviewDecided` message,
so the actor, which owns the leads, does everything that follows:

- call: the lead is dialled, the agent still reserved; the person who answers
  is theirs (`FlowRequest.agent_id`), and the call's end releases them if it
  never reached them (no answer, busy, a machine that got the message);
- skip: the agent is released and the lead comes back later (`skip_s`), to
  whoever is free then; no attempt is counted;
- no choice within `decide_within_s`: the lead goes back and the agent is
  paused (they are not at their desk);
- the console went away: the lead goes back and the agent is paused as any
  agent whose phone vanished, until the console returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from actors.agent_pool import NO_PHONE, LiveAgentPool
from dialer.agents.endpoint import PreviewChoice, PreviewEndpoint, PreviewOffer
from dialer.agents.states import AgentState
from dialer.store.repository import Lead

log = logging.getLogger("dialer.campaign")

PREVIEWING = "preview"  # the reason of a reservation made for a preview
PREVIEW_TIMED_OUT = "preview not answered"


@dataclass(frozen=True)
class PreviewDecided:
    """The agent's choice on a contact shown (None: no choice in time)."""

    agent_id: int
    preview_id: str
    choice: PreviewChoice | None


@dataclass(frozen=True)
class Preview:
    agent_id: int
    lead: Lead
    offer: PreviewOffer
    endpoint: PreviewEndpoint


class PreviewDesk:
    def __init__(
        self,
        agents: LiveAgentPool,
        campaign_id: int,
        tell: Callable[[PreviewDecided], None],
        *,
        decide_within_s: float,
    ) -> None:
        self.agents = agents
        self.campaign_id = campaign_id
        self.tell = tell
        self.decide_within_s = decide_within_s
        self.shown: dict[int, Preview] = {}  # by agent: awaiting their choice
        self.chosen: deque[Preview] = deque()  # "call": to be dialled, in the order chosen
        self.dialling: dict[int, Preview] = {}  # by attempt id
        self._watches: dict[int, asyncio.Task[None]] = {}  # by agent
        self._ids = itertools.count(1)

    def free_agents(self) -> list[int]:
        """Ready agents of the campaign at a console, with nothing shown or being dialled."""
        busy = {p.agent_id for p in (*self.shown.values(), *self.chosen, *self.dialling.values())}
        return [
            agent_id
            for agent_id in self.agents.pool.ready_agents(self.campaign_id)
            if agent_id not in busy
            and isinstance(self.agents.phones.get(agent_id), PreviewEndpoint)
        ]

    def held(self) -> set[int]:
        """Leads shown or chosen (not to be fetched again as due)."""
        return {p.lead.id for p in (*self.shown.values(), *self.chosen)}

    def show(self, agent_id: int, lead: Lead) -> bool:
        """Reserve the agent and show them the lead; False if they cannot be (not ready, no
        console any more)."""
        endpoint = self.agents.phones.get(agent_id)
        if not isinstance(endpoint, PreviewEndpoint):
            return False
        if not self.agents.reserve_agent(agent_id, PREVIEWING):
            return False
        assert lead.next_number is not None
        offer = PreviewOffer(
            preview_id=f"preview-{self.campaign_id}-{lead.id}-{next(self._ids)}",
            campaign_id=self.campaign_id,
            lead_id=lead.id,
            name=lead.name,
            number=lead.next_number,
            decide_within_s=self.decide_within_s,
            contact=lead.template_values(),
        )
        preview = Preview(agent_id, lead, offer, endpoint)
        self.shown[agent_id] = preview
        choosing = endpoint.preview(offer)
        self._watches[agent_id] = asyncio.ensure_future(self._watch(preview, choosing))
        return True

    async def _watch(self, preview: Preview, choosing: asyncio.Future[PreviewChoice]) -> None:
        choice: PreviewChoice | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.decide_within_s):
                choice = await choosing
        self.tell(PreviewDecided(preview.agent_id, preview.offer.preview_id, choice))

    def decided(self, message: PreviewDecided) -> Preview | None:
        """The preview the choice is about, no longer shown; None if it was withdrawn."""
        preview = self.shown.get(message.agent_id)
        if preview is None or preview.offer.preview_id != message.preview_id:
            return None
        del self.shown[message.agent_id]
        self._watches.pop(message.agent_id, None)
        if message.choice is PreviewChoice.CALL:
            self.chosen.append(preview)
        elif message.choice is PreviewChoice.SKIP:
            self.agents.release(preview.agent_id)
        elif message.choice is PreviewChoice.GONE:
            self.agents.release(preview.agent_id, pause_reason=NO_PHONE)
        else:
            log.info("agent %d did not choose within %.0f s: paused", preview.agent_id,
                     self.decide_within_s)  # fmt: skip
            preview.endpoint.preview_over(preview.offer.preview_id, "timed out")
            self.agents.release(preview.agent_id, pause_reason=PREVIEW_TIMED_OUT)
        return preview

    def still_waiting(self, preview: Preview) -> bool:
        """Is the agent who chose this call still there, reserved for it?"""
        return self.agents.pool.state(preview.agent_id) is AgentState.RESERVED

    def dialled(self, preview: Preview, attempt_id: int) -> None:
        self.dialling[attempt_id] = preview

    def not_dialled(self, preview: Preview, why: str) -> None:
        preview.endpoint.preview_over(preview.offer.preview_id, why)
        self.agents.release(preview.agent_id)

    def call_over(self, attempt_id: int, outcome: str) -> None:
        """The call ended; an agent it never reached is free for the next contact."""
        preview = self.dialling.pop(attempt_id, None)
        if preview is not None:
            preview.endpoint.preview_over(preview.offer.preview_id, outcome)
            self.agents.release(preview.agent_id)

    def withdraw(self, why: str) -> list[Lead]:
        """Every preview shown or chosen is over (the campaign pauses or stops): the agents
        are released and the leads handed back, undialled."""
        for watch in self._watches.values():
            watch.cancel()
        self._watches.clear()
        previews = [*self.shown.values(), *self.chosen]
        self.shown.clear()
        self.chosen.clear()
        for preview in previews:
            preview.endpoint.preview_over(preview.offer.preview_id, why)
            self.agents.release(preview.agent_id)
        return [preview.lead for preview in previews]
