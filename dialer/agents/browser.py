"""The agent console in a browser, as an `AgentEndpoint`: ring, answer, bridge, dispositions.

`BrowserConsole` is one logged-in agent's console: the page's connection (a
`ConsoleLink`: JSON messages both ways, whatever carries them) and its WebRTC
audio (`BrowserAudio`, negotiated when the page connects, kept up meanwhile).
`ring(offer)` sends the screen pop and returns a `BrowserLeg`, answered when
the page says so (its Answer button, or its auto-answer). `preview(offer)` shows
a contact before the dial (preview dialing), for the agent's Call or Skip.

The page going away is not a hang-up: mid-call, the leg ends `lost` (the
hand-off pauses the agent and gives the person the safe-harbor message); while
ringing, it was not answered. `BrowserConsoles` keeps a console through a
short grace after its page disconnects, so a reload or a network blip finds it
again (same agent, same state); past the grace the agent is logged out. An
idle agent (ready, in wrap-up) is paused while no page is there, with the
dialer's own reason, which the page's return ends: nobody is offered to a
console that cannot ring.

In desk-phone mode (`desk_phone`) the console is a companion to the agent's
registered SIP phone (`dialer.agents.desk_phone`): no WebRTC, and the console is
not the agent's endpoint; `LiveAgentPool` pairs it with the phone, which rings,
answers and carries the audio, while the console shows the same screen pop, the
call's progress and the same disposition form as in browser mode (one code
path: `_screen_pop`, `call_over`, `_disposition`). Ready is refused while the
phone is not registered, and a page that goes away loses no call: the phone
still rings.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Protocol

from actors.agent_pool import NO_PHONE, LiveAgentPool
from dialer.agents.desk_phone import DeskPhone, DeskPhoneLeg
from dialer.agents.endpoint import (
    AgentEndpoint,
    AgentUnreachable,
    CallOffer,
    PreviewChoice,
    PreviewOffer,
)
from dialer.agents.states import AgentState, AgentStateChange
from dialer.campaign.model import AttemptState, IllegalTransition
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings, SettingsError
from dialer.store.repository import Agent, Attempt, DispositionRecorded, Repository, StoreError
from dialer.store.worker import StoreWorker
from media.webrtc import BrowserAudio

log = logging.getLogger("dialer.agents")

PAUSE_REASONS = ("break", "lunch", "training", "meeting", "coaching", "other")
RECONNECT_GRACE_S = 5.0  # a reload, a network blip: the console waits this long for its page
DISPOSITION_WAIT_S = 10.0  # the campaign closes the attempt just after the call
DISPOSITION_POLL_S = 0.2
HISTORY_SHOWN = 10  # previous attempts in the screen pop
CALLS_KEPT = 20  # calls a console can still disposition

AGENT_HUNG_UP = "agent hung up"
CONSOLE_LOST = "console connection lost"
NO_DESK_PHONE = "desk phone not registered"


class ConsoleLink(Protocol):
    """The page's connection: `send` queues a message (never blocks), `close` ends it."""

    def send(self, message: Mapping[str, object]) -> None: ...

    def close(self, reason: str) -> None: ...


class ConsoleError(Exception):
    """A console request that cannot be done; the message is for the agent."""


@dataclass(frozen=True)
class ConsoleCall:
    """A call the console took, for its disposition."""

    call_sid: str
    campaign_id: int | None
    lead_id: int | None
    attempt_id: int | None  # the lead's attempt in flight when it rang


class BrowserLeg:
    """A call offered to a browser agent: answered by the page, ended by it or by us."""

    def __init__(self, console: BrowserConsole, offer: CallOffer) -> None:
        self.console = console
        self.offer = offer
        self._decided = asyncio.Event()
        self._picked_up = False
        self._over = asyncio.Event()
        self.reason = ""
        self._lost = False
        self.closed = False

    @property
    def audio(self) -> BrowserAudio:
        return self.console.audio

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def call_sid(self) -> str:
        return self.offer.call_sid

    @property
    def picked_up(self) -> bool:
        return self._picked_up

    async def answered(self) -> bool:
        await self._decided.wait()
        return self._picked_up

    async def wait_ended(self) -> str:
        await self._over.wait()
        return self.reason

    def pick_up(self) -> None:
        if not self._decided.is_set():
            self._picked_up = True
            self._decided.set()

    def end(self, reason: str, *, lost: bool = False) -> None:
        """The agent's side is over: hung up, or (`lost`) gone while the person waits."""
        if self._over.is_set():
            return
        self._lost = lost and self._picked_up
        self.reason = reason
        self._decided.set()  # a ring that ends like this was not answered
        self._over.set()

    async def close(self) -> None:
        """The call is over for the hand-off: tell the page (a missed ring, or the end)."""
        if self.closed:
            return
        self.closed = True
        self.end("call over")
        self.console.call_over(self)


class BrowserConsole:
    """One logged-in agent's console; an `AgentEndpoint`."""

    def __init__(self, agent: Agent, live: LiveAgentPool, store: StoreWorker) -> None:
        self.agent = agent
        self.live = live
        self.store = store
        self.audio = BrowserAudio()
        self.audio.on_connection_state = self._on_media_state
        self.link: ConsoleLink | None = None
        self.desk_phone = False  # desk-phone mode: the agent's SIP phone takes the calls
        self.leg: BrowserLeg | DeskPhoneLeg | None = None
        self.calls: dict[str, ConsoleCall] = {}
        self._preview: tuple[PreviewOffer, asyncio.Future[PreviewChoice]] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def agent_id(self) -> int:
        return self.agent.id

    # -- the hand-off's side -------------------------------------------------------------

    async def ring(self, offer: CallOffer) -> BrowserLeg:
        link = self.link
        if link is None:
            raise AgentUnreachable("the agent's console is not connected")
        if self.leg is not None and not self.leg.closed:
            raise AgentUnreachable("the agent's console is on another call")
        leg = BrowserLeg(self, offer)
        self.leg = leg
        self._screen_pop(offer)
        return leg

    def _screen_pop(self, offer: CallOffer) -> None:
        """The call on the page (either mode), then the contact's history."""
        if self.link is not None:
            self.link.send(
                {
                    "type": "ring",
                    "call_sid": offer.call_sid,
                    "number": offer.caller_number,
                    "name": offer.caller_name,
                    "contact": dict(offer.contact),
                    "campaign_id": offer.campaign_id,
                    "lead_id": offer.lead_id,
                    "answer_timeout_s": offer.answer_timeout_s,
                    "preview": offer.preview,
                }
            )
        # What the store knows comes after the ring: the person is waiting (2 s, all told).
        self._spawn(self._screen_pop_history(offer))

    # -- desk-phone mode: the SIP phone's side (LiveAgentPool, DeskPhone) ----------------

    def pair(self, phone: AgentEndpoint) -> DeskPhone:
        """The agent's SIP phone registered: it rings, and this shows its calls."""
        self._send_desk_phone(True)
        return DeskPhone(phone, self)

    def unregistered(self, reason: str) -> None:
        self._send_desk_phone(False, reason)

    def ringing(self, leg: DeskPhoneLeg) -> None:
        self.leg = leg
        self._screen_pop(leg.offer)

    def on_the_line(self, leg: DeskPhoneLeg) -> None:
        if self.link is not None:
            self.link.send({"type": "connected", "call_sid": leg.call_sid})

    def _send_desk_phone(self, registered: bool, reason: str = "") -> None:
        if self.link is not None and self.desk_phone:
            self.link.send({"type": "desk_phone", "registered": registered, "reason": reason})

    def preview(self, offer: PreviewOffer) -> asyncio.Future[PreviewChoice]:
        """Show the agent a contact; the future says Call or Skip (or GONE: the page went)."""
        choice: asyncio.Future[PreviewChoice] = asyncio.get_running_loop().create_future()
        if self.link is None:
            choice.set_result(PreviewChoice.GONE)
            return choice
        self._end_preview(PreviewChoice.GONE)  # one at a time: a stale one is over
        self._preview = (offer, choice)
        self.link.send(
            {
                "type": "preview",
                "preview_id": offer.preview_id,
                "number": offer.number,
                "name": offer.name,
                "contact": dict(offer.contact),
                "campaign_id": offer.campaign_id,
                "lead_id": offer.lead_id,
                "decide_within_s": offer.decide_within_s,
            }
        )
        self._spawn(self._history(offer.preview_id, offer.campaign_id, offer.lead_id))
        return choice

    def preview_over(self, preview_id: str, outcome: str) -> None:
        """The preview is done with: withdrawn (a timeout, a paused campaign) or dialled."""
        if self._preview is not None and self._preview[0].preview_id == preview_id:
            self._end_preview(PreviewChoice.GONE)
        if self.link is not None:
            self.link.send({"type": "preview_over", "preview_id": preview_id, "outcome": outcome})

    def _end_preview(self, choice: PreviewChoice) -> None:
        if self._preview is not None:
            _, future = self._preview
            self._preview = None
            if not future.done():
                future.set_result(choice)

    def call_over(self, leg: BrowserLeg | DeskPhoneLeg) -> None:
        if self.leg is leg:
            self.leg = None
        if self.link is not None:
            self.link.send({"type": "ended", "call_sid": leg.call_sid, "reason": leg.reason,
                            "answered": leg.picked_up})  # fmt: skip

    async def _screen_pop_history(self, offer: CallOffer) -> None:
        attempts = await self._history(offer.call_sid, offer.campaign_id, offer.lead_id)
        in_flight = [a.id for a in attempts if a.state is AttemptState.IN_FLIGHT]
        self._remember(
            ConsoleCall(
                offer.call_sid, offer.campaign_id, offer.lead_id,
                in_flight[-1] if in_flight else None,
            )
        )  # fmt: skip

    async def _history(
        self, shown_for: str, campaign_id: int | None, lead_id: int | None
    ) -> list[Attempt]:
        """The contact's previous attempts, sent to the page for the call or preview
        `shown_for`; all their attempts returned."""
        attempts: list[Attempt] = []
        if lead_id is not None and campaign_id is not None:
            try:
                attempts = await self.store.run(lambda s: _lead_attempts(s, campaign_id, lead_id))
            except StoreError as exc:
                log.warning("agent %s: no history for lead %d: %s", self.agent.extension,
                            lead_id, exc)  # fmt: skip
        previous = [a for a in attempts if a.state is AttemptState.FINISHED][-HISTORY_SHOWN:]
        if self.link is not None:
            self.link.send(
                {
                    "type": "history",
                    "call_sid": shown_for,
                    "attempts": [_attempt_view(a) for a in reversed(previous)],
                }
            )
        return attempts

    def _remember(self, call: ConsoleCall) -> None:
        self.calls[call.call_sid] = call
        while len(self.calls) > CALLS_KEPT:
            del self.calls[next(iter(self.calls))]

    # -- the page's side -----------------------------------------------------------------

    def hello(self) -> dict[str, object]:
        status = self.live.pool.status.get(self.agent_id)
        leg = self.leg
        hello: dict[str, object] = {
            "type": "hello",
            "agent": {
                "id": self.agent.id,
                "name": self.agent.name,
                "extension": self.agent.extension,
            },
            "mode": "desk_phone" if self.desk_phone else "browser",
            "pause_reasons": list(PAUSE_REASONS),
            "state": _state_view(status.change()) if status is not None else None,
            "call": leg.call_sid if leg is not None and not leg.closed else None,
        }
        if self.desk_phone:
            hello["desk_phone"] = {"registered": self.phone_registered, "reason": ""}
        return hello

    @property
    def phone_registered(self) -> bool:
        """Whether the agent's SIP phone is registered (what desk-phone mode rings)."""
        return self.agent_id in self.live.sip_phones

    def push_state(self, change: AgentStateChange) -> None:
        if self.link is not None:
            self.link.send(_state_view(change))

    async def handle(self, message: Mapping[str, object]) -> dict[str, object] | None:
        """One request from the page; the reply (None: nothing to say). ConsoleError for a
        request that cannot be done, with what to tell the agent."""
        kind = message.get("type")
        if kind == "offer":
            if self.desk_phone:
                raise ConsoleError("desk-phone mode: the audio is on your phone")
            return {"type": "webrtc_answer", "sdp": await self.audio.answer(_text(message, "sdp"))}
        if kind == "ready":
            if self.desk_phone and not self.phone_registered:
                raise ConsoleError(
                    "Your desk phone is not registered, so no call can ring it: register it "
                    "(sign it in), then go ready."
                )
            self._change(lambda: self.live.ready(self.agent_id))
        elif kind == "pause":
            reason = _text(message, "reason")
            if reason not in PAUSE_REASONS:
                raise ConsoleError(f"pause reasons are {', '.join(PAUSE_REASONS)}")
            self._change(lambda: self.live.pause(self.agent_id, reason))
        elif kind == "pick_up":
            leg = self._leg(message)
            if isinstance(leg, DeskPhoneLeg):
                raise ConsoleError("answer on your desk phone")
            leg.pick_up()
            return {"type": "connected", "call_sid": leg.call_sid}
        elif kind == "hangup":
            leg = self._leg(message)
            if isinstance(leg, BrowserLeg):
                leg.end(AGENT_HUNG_UP)
            elif not leg.hang_up(AGENT_HUNG_UP):
                raise ConsoleError("hang up on your desk phone")
        elif kind in ("preview_call", "preview_skip"):
            preview = self._preview
            if preview is None or preview[0].preview_id != _text(message, "preview_id"):
                raise ConsoleError("that contact is no longer offered")
            self._end_preview(PreviewChoice.CALL if kind == "preview_call" else PreviewChoice.SKIP)
        elif kind == "disposition":
            return await self._disposition(message)
        elif kind == "stats":
            return await self.stats()
        else:
            raise ConsoleError(f"unknown request {kind!r}")
        return None

    def _change(self, change: Callable[[], None]) -> None:
        try:
            change()
        except IllegalTransition:
            state = self.live.pool.state(self.agent_id)
            raise ConsoleError(f"not now: the agent is {state}") from None

    def _leg(self, message: Mapping[str, object]) -> BrowserLeg | DeskPhoneLeg:
        leg = self.leg
        if leg is None or leg.closed or leg.call_sid != _text(message, "call_sid"):
            raise ConsoleError("that call is over")
        return leg

    async def _disposition(self, message: Mapping[str, object]) -> dict[str, object]:
        call_sid = _text(message, "call_sid")
        call = self.calls.get(call_sid)
        if call is None or call.lead_id is None or call.campaign_id is None:
            raise ConsoleError("this call has no contact to record a disposition for")
        variables = message.get("variables", {})
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise ConsoleError("variables are names with text values")
        disposition, notes = _text(message, "disposition"), _text(message, "notes", "")
        try:
            attempt_id = call.attempt_id or await self._latest_attempt(call)
            await self._wait_finished(attempt_id)
            agent_id, now = self.agent_id, self.live.wall_clock()
            rules = await self._rules(call.campaign_id)
            recorded: DispositionRecorded = await self.store.run(
                lambda s: s.record_disposition(
                    attempt_id, agent_id, disposition, notes, variables, now=now, rules=rules
                )
            )
        except StoreError as exc:
            raise ConsoleError(f"disposition not recorded: {exc}") from None
        return {"type": "disposition_saved", "call_sid": call_sid,
                "goal_reached": recorded.goal_reached,
                "lead_state": str(recorded.lead_state)}  # fmt: skip

    async def _latest_attempt(self, call: ConsoleCall) -> int:
        campaign_id, lead_id = call.campaign_id, call.lead_id
        assert campaign_id is not None and lead_id is not None
        attempts = await self.store.run(lambda s: _lead_attempts(s, campaign_id, lead_id))
        if not attempts:
            raise ConsoleError("no attempt of this contact is in the ledger")
        return attempts[-1].id

    async def _wait_finished(self, attempt_id: int) -> None:
        """The campaign writes the attempt's outcome just after the call: wait for it, a
        little (the store refuses a disposition while the call is in flight)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DISPOSITION_WAIT_S):
                while True:
                    attempt = await self.store.run(lambda s: s.get_attempt(attempt_id))
                    if attempt.state is AttemptState.FINISHED:
                        return
                    await asyncio.sleep(DISPOSITION_POLL_S)

    async def _rules(self, campaign_id: int) -> RetryRules | None:
        """The campaign's rules, so a disposition that meets its goal completes the lead."""
        try:
            campaign = await self.store.run(lambda s: s.get_campaign(campaign_id))
            return CampaignSettings.from_dict(campaign.settings).rules()
        except (StoreError, SettingsError) as exc:
            log.warning("campaign %d: disposition recorded without its rules: %s",
                        campaign_id, exc)  # fmt: skip
            return None

    async def stats(self) -> dict[str, object]:
        """Today (since local midnight) for this agent."""
        now = self.live.wall_clock()
        midnight = datetime.datetime.fromtimestamp(now).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        start, agent_id = midnight.timestamp(), self.agent_id
        stats = await self.store.run(lambda s: s.agent_stats(agent_id, start, now))
        return {
            "type": "stats",
            "calls": stats.calls,
            "talk_s": round(stats.talk_s, 1),
            "dispositions": stats.dispositions,
            "seconds_in": {str(state): round(s, 1) for state, s in stats.seconds_in.items()},
        }

    # -- connection --------------------------------------------------------------------

    def attach(self, link: ConsoleLink) -> None:
        old, self.link = self.link, link
        if old is not None:  # another tab took over: its call (it had the audio) is lost
            old.close("the console was opened elsewhere")
            if isinstance(self.leg, BrowserLeg):
                self.leg.end(CONSOLE_LOST, lost=True)

    def detach(self, link: ConsoleLink) -> bool:
        """The page's connection closed; True if it was this console's."""
        if self.link is not link:
            return False
        self.link = None
        self._vanished()
        return True

    def _vanished(self) -> None:
        """The page is gone: a call in progress is lost; an idle agent is not offered more.
        (In desk-phone mode the phone still rings and carries the call: nothing is lost.)"""
        if isinstance(self.leg, BrowserLeg):
            self.leg.end(CONSOLE_LOST, lost=True)
        self._end_preview(PreviewChoice.GONE)
        idle = self.live.pool.state(self.agent_id) in (AgentState.READY, AgentState.WRAP_UP)
        if idle and not self.desk_phone:
            self.live.pause(self.agent_id, NO_PHONE)

    def _on_media_state(self, state: str) -> None:
        leg = self.leg
        if state in ("failed", "closed") and isinstance(leg, BrowserLeg) and self.link is not None:
            log.warning("agent %s: browser audio %s mid-call", self.agent.extension, state)
            leg.end(f"browser audio {state}", lost=True)

    def _spawn(self, work: Coroutine[object, object, object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self.link is not None:
            self.link.close("logged out")
            self.link = None
        if isinstance(self.leg, BrowserLeg):
            self.leg.end(CONSOLE_LOST, lost=True)
        self._end_preview(PreviewChoice.GONE)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.audio.close()


class BrowserConsoles:
    """Every logged-in agent's console, found again by a page that reconnects."""

    def __init__(
        self,
        live: LiveAgentPool,
        store: StoreWorker,
        *,
        grace_s: float = RECONNECT_GRACE_S,
    ) -> None:
        self.live = live
        self.store = store
        self.grace_s = grace_s
        self.consoles: dict[int, BrowserConsole] = {}
        self._graces: dict[int, asyncio.Task[None]] = {}
        live.listeners.append(self._on_change)

    def attach(
        self, agent: Agent, link: ConsoleLink, *, desk_phone: bool = False
    ) -> BrowserConsole:
        """The agent's page connected: their console (new, or theirs from before), taking
        the calls itself or (`desk_phone`) showing those of the agent's SIP phone."""
        grace = self._graces.pop(agent.id, None)
        if grace is not None:
            grace.cancel()
        console = self.consoles.get(agent.id)
        if console is None:
            console = self.consoles[agent.id] = BrowserConsole(agent, self.live, self.store)
        console.attach(link)
        console.desk_phone = desk_phone
        if desk_phone:
            self.live.pair(agent.id, console)  # the phone's registration logs them in
            if self.live.phones.get(agent.id) is console:  # it took the calls until now
                self.live.phone_gone(agent.id, NO_DESK_PHONE)
            return console
        self.live.unpair(agent.id, console)
        if self.live.pool.state(agent.id) is AgentState.LOGGED_OUT:
            # Logged in but not yet asking for calls: the agent says Ready when set.
            self.live.pool.log_in(agent.id, self.live.wall_clock(), "console login")
        self.live.phone_registered(agent.id, console)
        return console

    def detach(self, console: BrowserConsole, link: ConsoleLink) -> None:
        if console.detach(link) and self.consoles.get(console.agent_id) is console:
            self._graces[console.agent_id] = asyncio.ensure_future(self._grace(console))

    async def _grace(self, console: BrowserConsole) -> None:
        await asyncio.sleep(self.grace_s)
        self._graces.pop(console.agent_id, None)
        if console.link is None:
            await self.log_out(console.agent_id, "console closed")

    async def log_out(self, agent_id: int, reason: str) -> None:
        console = self.consoles.pop(agent_id, None)
        if console is None:
            return
        if self.live.phones.get(agent_id) is console:
            self.live.phone_gone(agent_id, reason)
        self.live.unpair(agent_id, console)  # desk-phone mode: the phone alone rings again
        await console.close()

    def _on_change(self, change: AgentStateChange) -> None:
        console = self.consoles.get(change.agent_id)
        if console is not None:
            console.push_state(change)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.live.listeners.remove(self._on_change)
        for grace in self._graces.values():
            grace.cancel()
        await asyncio.gather(*self._graces.values(), return_exceptions=True)
        self._graces.clear()
        for agent_id in list(self.consoles):
            await self.log_out(agent_id, "console service stopped")


def _lead_attempts(store: Repository, campaign_id: int, lead_id: int) -> list[Attempt]:
    return sorted(
        (a for a in store.list_attempts(campaign_id) if a.lead_id == lead_id), key=lambda a: a.id
    )


def _attempt_view(attempt: Attempt) -> dict[str, object]:
    result = attempt.result
    return {
        "at": time.strftime("%Y-%m-%d %H:%M", time.localtime(attempt.started_at)),
        "number": attempt.number,
        "outcome": str(result.outcome) if result is not None else "",
        "reason": result.reason if result is not None else "",
        "disposition": attempt.disposition or "",
    }


def _state_view(change: AgentStateChange) -> dict[str, object]:
    return {"type": "state", "state": str(change.state), "reason": change.reason,
            "since": change.at}  # fmt: skip


def _text(message: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = message.get(key, default)
    if not isinstance(value, str):
        raise ConsoleError(f"{key!r} must be text")
    return value
