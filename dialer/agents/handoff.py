"""A live person to an agent: reserve, ring the agent's phone, bridge; or the safe harbor.

`AgentHandOff` is the flow runtime's `HandOffHandler` once agents exist (a
flow's `<Enqueue>`, or AMD's `on_human = agent`). The whole of it, from the
moment the person is handed over (or, after AMD, from the end of their greeting,
which AMD heard before it could say "human") to the moment both hear each
other, must fit in `safe_harbor_s` (the FTC's 2 s): a ready agent is reserved at once or as
soon as one frees up, their phone is rung for what is left of the window, and
a phone that does not answer in time pauses its agent ("no answer") so the
next person is not offered to it. A call an agent placed from a preview is
theirs: they wait, reserved, and are rung at once. When the window closes with nobody on the
line, the person hears the safe-harbor message (who called, and how to opt
out; the opt-out key works while it plays and just after), and the call ends
as abandoned.

The queue names who may take the person: a campaign's own queue (`campaign-N`, what
AMD's `on_human = agent` and agent-paced campaigns use, or an empty name) is any of
the campaign's agents; any other name is a skill, and only agents with it are
offered (`<Enqueue>spanish</Enqueue>`). A skill no agent has is said once.
`<Dial><Client>1001</Client></Dial>` asks for one agent by their extension (one
the campaign may use), in the same window: the person waits for them, not for
whoever is free.

Which safe-harbor message: the campaign's own (`HandOffCall.safe_harbor`, the
seller it names), else the process's (`[agents] safe_harbor_message` or `_file`).

Only agents are ever rung: a `<Dial>` to a number or a SIP address would let a
flow (or a webhook) make the dialer call anywhere, which is toll fraud's front
door; it fails, said once, as does a `<Client>` no agent is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from actors.agent_pool import AGENT_LOST, NO_ANSWER, NO_PHONE, LiveAgentPool
from dialer.agents.endpoint import AgentCallLeg, AgentUnreachable, CallOffer
from dialer.agents.pool import Wanted
from dialer.agents.states import AgentState
from dialer.config import AgentSettings
from dialer.flow.interpreter import ABANDONED, HandedOff, HandOff
from dialer.flow.runner import HandOffCall, SafeHarbor, SpeechRenderer
from dialer.runtime import Dialer
from media.audiofile import load_ulaw
from media.bridge import AudioBridge

log = logging.getLogger("dialer.agents")

OPT_OUT_LISTEN_S = 3.0  # after the safe-harbor message, for the opt-out key
MIN_RING_S = 0.3  # what an auto-answering phone needs, given even when the window is spent
MESSAGES_KEPT = 64  # campaigns' safe-harbor messages kept rendered
CAMPAIGN_QUEUE = re.compile(r"campaign-[0-9]+")


def queue_skill(queue: str) -> str | None:
    """The skill a queue's name asks for; None for a campaign's own queue."""
    name = queue.strip()
    return None if not name or CAMPAIGN_QUEUE.fullmatch(name) else name


class AgentHandOff:
    def __init__(
        self,
        dialer: Dialer,
        agents: LiveAgentPool,
        settings: AgentSettings,
        speech: SpeechRenderer,
        *,
        opt_out_key: str = "9",
    ) -> None:
        self.dialer = dialer
        self.agents = agents
        self.settings = settings
        self.speech = speech
        self.opt_out_key = opt_out_key
        self._safe_harbor: bytes | None = None
        self._rendered: dict[str, bytes] = {}  # campaigns' messages, oldest first
        self._said: set[str] = set()  # skills no agent has, targets refused: said once
        self._unspoken_said: set[str] = set()  # campaigns' messages the TTS failed

    async def prepare(self, safe_harbor: SafeHarbor | None = None) -> None:
        """Render the safe-harbor messages now (the process's, and the campaign's own):
        when one is needed there is no time to. One that cannot be is said, and tried
        again when needed."""
        for message in (None, safe_harbor) if safe_harbor is not None else (None,):
            try:
                await self.safe_harbor_audio(message)
            except Exception as exc:
                log.error("safe-harbor message not ready: %s", exc)

    async def safe_harbor_audio(self, safe_harbor: SafeHarbor | None = None) -> bytes:
        """The campaign's message if it has one (the process's if it cannot be spoken)."""
        if safe_harbor is not None and safe_harbor.audio:
            return safe_harbor.audio
        if safe_harbor is not None and safe_harbor.message:
            try:
                return await self._campaign_message(safe_harbor.message)
            except Exception as exc:  # a TTS engine gone: the law's message still plays
                if safe_harbor.message not in self._unspoken_said:
                    log.error("a campaign's safe-harbor message cannot be spoken (%s): the"
                              " default plays instead", exc)  # fmt: skip
                    self._unspoken_said.add(safe_harbor.message)
        if self._safe_harbor is None:
            if self.settings.safe_harbor_file:
                self._safe_harbor = load_ulaw(Path(self.settings.safe_harbor_file))
            else:
                self._safe_harbor = await self.speech.render_async(
                    self.settings.safe_harbor_message
                )
        return self._safe_harbor

    async def _campaign_message(self, text: str) -> bytes:
        audio = self._rendered.pop(text, None)
        if audio is None:
            audio = await self.speech.render_async(text)
        self._rendered[text] = audio
        while len(self._rendered) > MESSAGES_KEPT:
            del self._rendered[next(iter(self._rendered))]
        return audio

    def _wanted(self, command: HandOff, campaign_id: int | None) -> Wanted | None:
        """Who may take the person; None: nobody may be rung for this (said once)."""
        target = command.target.strip()
        if command.kind == "queue":
            skill = queue_skill(target)
            said = f"queue {skill}"
            if skill and said not in self._said and not self.agents.pool.has_skill(skill):
                log.warning("queue %r: no agent has that skill, its people get the safe"
                            " harbor", skill)  # fmt: skip
                self._said.add(said)
            return Wanted(campaign_id, skill)
        seat = self.agents.pool.by_extension(target) if command.kind == "client" else None
        if seat is not None:
            return Wanted(campaign_id, agent_id=seat.agent_id)
        said = f"client {target}" if command.kind == "client" else command.kind
        if said not in self._said:
            log.warning("flow asked to <Dial> %s %r: only agents are rung (a <Client> of an"
                        " agent's extension, or a queue)", command.kind, target)  # fmt: skip
            self._said.add(said)
        return None

    async def hand_off(self, command: HandOff, call: HandOffCall) -> HandedOff:
        campaign_id, chosen_by = call.facts.campaign_id, call.facts.agent_id
        wanted = self._wanted(command, campaign_id)
        if wanted is None:
            return HandedOff("failed")
        loop = asyncio.get_running_loop()
        waiting_since = call.waiting_since if call.waiting_since is not None else loop.time()
        deadline = waiting_since + self.settings.safe_harbor_s
        while True:
            if chosen_by is not None and self.agents.pool.state(chosen_by) is AgentState.RESERVED:
                agent_id: int | None = chosen_by  # they placed this call and wait for it
            else:
                # A ready agent is always asked for, even with the window spent (a late AMD
                # verdict): a person bridged a little late is better served than abandoned.
                agent_id = await self.agents.reserve(wanted, deadline - loop.time())
            if agent_id is None:
                break
            within_s = max(deadline - loop.time(), MIN_RING_S)
            leg = await self._ring(agent_id, call, within_s, preview=agent_id == chosen_by)
            chosen_by = None
            if leg is not None:
                try:
                    return await self._bridge(agent_id, leg, call)
                finally:
                    await leg.close()
            if loop.time() >= deadline:
                break
        return await self._abandon(call)

    async def _ring(
        self, agent_id: int, call: HandOffCall, within_s: float, *, preview: bool = False
    ) -> AgentCallLeg | None:
        """The agent's phone, answered within `within_s`; None (agent released) otherwise."""
        phone = self.agents.phones.get(agent_id)
        if phone is None:
            self.agents.release(agent_id, pause_reason=NO_PHONE)
            return None
        facts = call.facts
        offer = CallOffer(
            call_sid=facts.call_sid,
            caller_number=facts.callee,
            caller_name=facts.contact.get("customerName", ""),
            answer_timeout_s=min(self.settings.agent_answer_timeout_s, within_s),
            max_duration_s=self.dialer.config.limits.max_call_duration_s,
            contact=facts.contact,
            campaign_id=facts.campaign_id,
            lead_id=facts.lead_id,
            preview=preview,
        )
        try:
            leg = await phone.ring(offer)
        except AgentUnreachable as exc:
            log.warning("agent %d not rung: %s", agent_id, exc)
            self.agents.release(agent_id)
            return None
        try:
            async with asyncio.timeout(within_s):
                answered = await leg.answered()
        except TimeoutError:
            answered = False
        if not answered:
            await leg.close()
            self.agents.release(agent_id, pause_reason=NO_ANSWER)
            return None
        return leg

    async def _bridge(self, agent_id: int, leg: AgentCallLeg, call: HandOffCall) -> HandedOff:
        self.agents.connect(agent_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        call.session.stop_playback()
        bridge = AudioBridge(call.session, leg.audio)
        seat = self.agents.pool.seats.get(agent_id)
        extension = seat.extension if seat is not None else str(agent_id)
        queue_s = round(started - call.answered_at, 3)
        log.info("call %s bridged to agent %s, %.0f ms after the answer", call.facts.call_sid,
                 extension, queue_s * 1000)  # fmt: skip
        try:
            reason = await leg.wait_ended()  # the agent hung up (the person: we are cancelled)
            log.info("agent %s left call %s: %s", extension, call.facts.call_sid, reason)
        finally:
            bridge.close()
            self.agents.hang_up(agent_id)
        if leg.lost:  # not a hang-up: the person must not be left in silence
            self.agents.pause(agent_id, AGENT_LOST)
            await self._say_safe_harbor(call)
            return HandedOff(ABANDONED, round(loop.time() - started, 3), extension, queue_s)
        return HandedOff("completed", round(loop.time() - started, 3), extension, queue_s)

    async def _abandon(self, call: HandOffCall) -> HandedOff:
        log.info("call %s: no agent within %.1f s, safe-harbor message", call.facts.call_sid,
                 self.settings.safe_harbor_s)  # fmt: skip
        await self._say_safe_harbor(call)
        return HandedOff(ABANDONED)

    async def _say_safe_harbor(self, call: HandOffCall) -> None:
        """Who called and how to opt out, with the opt-out key heard during and after."""
        session = call.session
        session.stop_playback()
        while not session.dtmf.empty():  # keys from before the message are not an answer
            session.dtmf.get_nowait()
        await session.play(await self.safe_harbor_audio(call.safe_harbor))
        if self.opt_out_key:
            try:
                async with asyncio.timeout(OPT_OUT_LISTEN_S):
                    while (await session.dtmf.get()).digit != self.opt_out_key:
                        pass
                await call.opt_out()
            except TimeoutError:
                pass
