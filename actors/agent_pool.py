"""The process's agents, live: the `AgentPool` core on the loop's clock, phones and history.

`LiveAgentPool` drives `dialer.agents.pool.AgentPool` with wall-clock time and
one timer (wrap-up ends, safe-harbor deadlines), turns its `Assigned` and
`WaitExpired` events into the answers `reserve()` awaits, remembers where each
agent's phone registered, and hands every state change to `record` (the
store), in order, from one writer task: a slow disk never delays a bridge.

Registrations are logins: a phone that registers is logged in and ready; one
that unregisters or expires is logged out (a person reserved for it is
released to the next agent).

`phones` holds where each agent takes calls now. A SIP phone's registration is
also kept in `sip_phones` (the registrar's view), and a console open beside it in
desk-phone mode in `companions`: while both exist, `phones` holds their pairing
(`dialer.agents.desk_phone`), rebuilt at every registration; the console
closing puts the bare phone back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from dialer.agents.endpoint import AgentEndpoint, DeskPhoneCompanion
from dialer.agents.pool import AgentPool, AgentSeat, Assigned, WaitExpired, Wanted
from dialer.agents.states import AgentState, AgentStateChange

log = logging.getLogger("dialer.agents")

# Pauses the dialer itself puts an agent in (their phone failed it); a registration
# from that phone, which proves it is there again, ends them.
NO_ANSWER = "no answer"
NO_PHONE = "no phone registered"
AGENT_LOST = "lost mid-call"  # a browser that closed, a network that went
DIALER_PAUSES = frozenset({NO_ANSWER, NO_PHONE, AGENT_LOST})

RecordChanges = Callable[[Sequence[AgentStateChange]], Awaitable[None]]


class LiveAgentPool:
    def __init__(
        self,
        pool: AgentPool,
        *,
        record: RecordChanges | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.pool = pool
        self.record = record
        self.wall_clock = wall_clock
        self.phones: dict[int, AgentEndpoint] = {}
        self.sip_phones: dict[int, AgentEndpoint] = {}  # registered, whoever takes the calls
        self.companions: dict[int, DeskPhoneCompanion] = {}  # consoles in desk-phone mode
        self._waiting: dict[int, asyncio.Future[int | None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._changes: asyncio.Queue[list[AgentStateChange]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self.listeners: list[Callable[[AgentStateChange], None]] = []  # campaigns' pacers

    # -- agents ------------------------------------------------------------------------

    def seat(self, seat: AgentSeat) -> None:
        self.pool.seat(seat)

    def phone_registered(self, agent_id: int, phone: AgentEndpoint) -> None:
        """The agent's phone (or console) is there: logged in and ready, or just moved."""
        if agent_id not in self.pool.seats:
            log.warning("agent %d registered but is not seated: ignored", agent_id)
            return
        self.phones[agent_id] = phone
        now = self.wall_clock()
        status = self.pool.status[agent_id]
        if status.state is AgentState.LOGGED_OUT:
            self.pool.log_in(agent_id, now, "phone registered")
            self.pool.ready(agent_id, now)
        elif status.state is AgentState.PAUSED and status.reason in DIALER_PAUSES:
            self.pool.ready(agent_id, now)  # the phone is back: our own pause is over
        self._after()

    def phone_gone(self, agent_id: int, reason: str) -> None:
        self.phones.pop(agent_id, None)
        self.pool.log_out(agent_id, self.wall_clock(), reason)
        self._after()

    def sip_phone_registered(self, agent_id: int, phone: AgentEndpoint) -> None:
        """The agent's SIP phone registered (or refreshed, or moved): it takes their calls,
        paired with their desk-phone console if one is open."""
        if agent_id in self.pool.seats:
            self.sip_phones[agent_id] = phone
            companion = self.companions.get(agent_id)
            if companion is not None:
                phone = companion.pair(phone)
        self.phone_registered(agent_id, phone)

    def sip_phone_gone(self, agent_id: int, reason: str) -> None:
        self.sip_phones.pop(agent_id, None)
        companion = self.companions.get(agent_id)
        if companion is not None:
            companion.unregistered(reason)
        self.phone_gone(agent_id, reason)

    def pair(self, agent_id: int, companion: DeskPhoneCompanion) -> None:
        """A console opened in desk-phone mode: it shows the calls of the agent's SIP phone
        (at once if it is registered, else from its registration on)."""
        self.companions[agent_id] = companion
        phone = self.sip_phones.get(agent_id)
        if phone is not None:
            self.phone_registered(agent_id, companion.pair(phone))

    def unpair(self, agent_id: int, companion: DeskPhoneCompanion) -> None:
        """The desk-phone console closed (or went to browser mode): the bare phone rings."""
        if self.companions.get(agent_id) is not companion:
            return
        del self.companions[agent_id]
        phone = self.sip_phones.get(agent_id)
        if phone is not None and agent_id in self.phones:
            self.phones[agent_id] = phone

    def ready(self, agent_id: int) -> None:
        self.pool.ready(agent_id, self.wall_clock())
        self._after()

    def pause(self, agent_id: int, reason: str) -> None:
        self.pool.pause(agent_id, self.wall_clock(), reason)
        self._after()

    # -- people ------------------------------------------------------------------------

    async def reserve(self, wanted: Wanted, within_s: float) -> int | None:
        """A ready agent of those `wanted` reserved for a person, waiting at most
        `within_s`; None: nobody."""
        now = self.wall_clock()
        wait_id = self.pool.request(wanted, now, now + max(0.0, within_s))
        future: asyncio.Future[int | None] = self._loop.create_future()
        self._waiting[wait_id] = future
        self._after()
        try:
            return await future
        except asyncio.CancelledError:
            self.pool.cancel(wait_id)
            if future.done() and not future.cancelled() and future.result() is not None:
                self.release(future.result())  # reserved just as the person hung up
            raise
        finally:
            self._waiting.pop(wait_id, None)

    def reserve_agent(self, agent_id: int, reason: str) -> bool:
        """This ready agent, reserved for a call about to be placed (preview dialing)."""
        reserved = self.pool.reserve_agent(agent_id, self.wall_clock(), reason)
        self._after()
        return reserved

    def connect(self, agent_id: int) -> None:
        self.pool.connect(agent_id, self.wall_clock())
        self._after()

    def release(self, agent_id: int | None, *, pause_reason: str = "") -> None:
        if agent_id is not None:
            self.pool.release(agent_id, self.wall_clock(), pause_reason=pause_reason)
            self._after()

    def hang_up(self, agent_id: int) -> None:
        self.pool.hang_up(agent_id, self.wall_clock())
        self._after()

    # -- plumbing ----------------------------------------------------------------------

    def _after(self) -> None:
        for event in self.pool.take_events():
            future = self._waiting.get(event.wait_id)
            agent = event.agent_id if isinstance(event, Assigned) else None
            if future is not None and not future.done():
                future.set_result(agent)
            elif isinstance(event, Assigned):  # the person left meanwhile
                self.pool.release(event.agent_id, self.wall_clock())
            if isinstance(event, WaitExpired):
                log.info("no agent free in time for a person (wait %d)", event.wait_id)
        changes = self.pool.take_changes()
        if changes:
            for change in changes:
                log.info("agent %d: %s%s", change.agent_id, change.state,
                         f" ({change.reason})" if change.reason else "")  # fmt: skip
                for listener in self.listeners:
                    listener(change)
            if self.record is not None:
                self._changes.put_nowait(changes)
                if self._writer is None:
                    self._writer = asyncio.ensure_future(self._write_changes())
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.pool.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self.wall_clock())
            self._timer = self._loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.pool.on_timer(self.wall_clock())
        self._after()

    async def _write_changes(self) -> None:
        assert self.record is not None
        while True:
            changes = await self._changes.get()
            try:
                await self.record(changes)
            except Exception:  # the history is for reports: never stop the agents for it
                log.exception("agent state changes not stored (%d lost)", len(changes))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for future in self._waiting.values():
            if not future.done():
                future.set_result(None)
        if self._writer is not None:
            while not self._changes.empty() and self.record is not None:
                await self.record(self._changes.get_nowait())
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
