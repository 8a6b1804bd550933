"""Who takes the next live person, sans-IO: agents' states, reservations and the wait.

`AgentPool` keeps every known agent's `AgentStatus` and the live people
waiting for one. A person is offered to the ready agent who has waited
longest (fair, and what occupancy reports assume); when none is ready the
person waits, oldest first, until their `deadline` (the safe-harbor limit),
and is matched the moment an agent becomes ready: by the agent, at the end of
wrap-up, or when a reservation falls through. Agents can be limited to some
campaigns, and a person can ask for a skill (the queue a flow's `<Enqueue>` names)
or for one agent (a flow's `<Dial><Client>`): then only those agents are offered,
and a person nobody can take yet does not hold up the people behind them.

Time is handed in (`now`, wall-clock seconds: the state history is for
reports); outputs are `Assigned` and `WaitExpired` events (`take_events`) and
the state changes to store (`take_changes`). `next_deadline` says when to call
`on_timer` again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from dialer.agents.states import AgentEvent, AgentState, AgentStateChange, AgentStatus
from dialer.campaign.model import IllegalTransition

__all__ = [
    "AgentPool",
    "AgentSeat",
    "Assigned",
    "PacingView",
    "PoolEvent",
    "WaitExpired",
    "Wanted",
]


@dataclass(frozen=True)
class AgentSeat:
    """What the pool knows of an agent besides their state."""

    agent_id: int
    name: str
    extension: str
    campaigns: frozenset[int] = frozenset()  # empty: any campaign
    skills: frozenset[str] = frozenset()

    def serves(self, campaign_id: int | None, skill: str | None = None) -> bool:
        if skill is not None and skill not in self.skills:
            return False
        return not self.campaigns or campaign_id in self.campaigns


@dataclass(frozen=True)
class Wanted:
    """Who may take a person: the campaign's agents, with `skill`, or just `agent_id`."""

    campaign_id: int | None
    skill: str | None = None
    agent_id: int | None = None

    def takes(self, seat: AgentSeat) -> bool:
        if self.agent_id is not None and seat.agent_id != self.agent_id:
            return False
        return seat.serves(self.campaign_id, self.skill)


@dataclass(frozen=True)
class Assigned:
    """`agent_id` is reserved for the person waiting as `wait_id`."""

    wait_id: int
    agent_id: int


@dataclass(frozen=True)
class WaitExpired:
    """Nobody became free for `wait_id` in time: the safe-harbor path."""

    wait_id: int


PoolEvent = Assigned | WaitExpired


@dataclass(frozen=True)
class _Wait:
    wanted: Wanted
    deadline: float


class AgentPool:
    def __init__(self, *, wrap_up_s: float) -> None:
        self.wrap_up_s = wrap_up_s
        self.seats: dict[int, AgentSeat] = {}
        self.status: dict[int, AgentStatus] = {}
        self._ready_since: OrderedDict[int, float] = OrderedDict()  # ready agents, longest first
        self._wrap_up_until: dict[int, float] = {}
        self._waits: OrderedDict[int, _Wait] = OrderedDict()
        self._next_wait_id = 1
        self._events: list[PoolEvent] = []
        self._changes: list[AgentStateChange] = []

    # -- agents ------------------------------------------------------------------------

    def seat(self, seat: AgentSeat) -> None:
        """Add an agent (logged out), or update what the pool knows of one."""
        self.seats[seat.agent_id] = seat
        self.status.setdefault(seat.agent_id, AgentStatus(seat.agent_id))

    def unseat(self, agent_id: int, now: float) -> None:
        """The agent was removed: logged out, then forgotten."""
        if agent_id in self.status:
            self.log_out(agent_id, now, "agent removed")
        self.seats.pop(agent_id, None)
        self.status.pop(agent_id, None)

    def log_in(self, agent_id: int, now: float, reason: str = "") -> None:
        if self.state(agent_id) is AgentState.LOGGED_OUT:
            self._move(agent_id, AgentEvent.LOG_IN, now, reason)

    def log_out(self, agent_id: int, now: float, reason: str = "") -> None:
        if self.state(agent_id) not in (None, AgentState.LOGGED_OUT):
            self._move(agent_id, AgentEvent.LOG_OUT, now, reason)

    def ready(self, agent_id: int, now: float) -> None:
        """The agent asks for calls (IllegalTransition from logged_out or on a call)."""
        self._move(agent_id, AgentEvent.READY, now)
        self._match(now)

    def pause(self, agent_id: int, now: float, reason: str) -> None:
        self._move(agent_id, AgentEvent.PAUSE, now, reason)

    def state(self, agent_id: int) -> AgentState | None:
        status = self.status.get(agent_id)
        return status.state if status is not None else None

    def counts(self) -> dict[AgentState, int]:
        counts = dict.fromkeys(AgentState, 0)
        for status in self.status.values():
            counts[status.state] += 1
        return counts

    def has_skill(self, skill: str) -> bool:
        """Whether any seated agent has `skill` (logged in or not)."""
        return any(skill in seat.skills for seat in self.seats.values())

    def by_extension(self, extension: str) -> AgentSeat | None:
        return next((s for s in self.seats.values() if s.extension == extension), None)

    def ready_for(self, campaign_id: int | None) -> int:
        """Ready agents who take this campaign's calls (what progressive pacing dials for)."""
        return len(self.ready_agents(campaign_id))

    def ready_agents(self, campaign_id: int | None) -> list[int]:
        """Ready agents who take this campaign's calls, who has waited longest first."""
        return [agent for agent in self._ready_since if self.seats[agent].serves(campaign_id)]

    def reserve_agent(self, agent_id: int, now: float, reason: str) -> bool:
        """Reserve this ready agent for a call not yet placed (preview: they see the contact
        and decide); False if they are not ready. Release, or connect them, as for a person."""
        if self.state(agent_id) is not AgentState.READY:
            return False
        self._move(agent_id, AgentEvent.RESERVE, now, reason)
        return True

    # -- people ------------------------------------------------------------------------

    def request(self, wanted: Wanted, now: float, deadline: float) -> int:
        """A live person needs one of the agents `wanted`: a wait id, `Assigned` at once
        or later, or `WaitExpired` at `deadline`."""
        wait_id = self._next_wait_id
        self._next_wait_id += 1
        self._waits[wait_id] = _Wait(wanted, deadline)
        self._match(now)
        return wait_id

    def cancel(self, wait_id: int) -> None:
        """The person is gone (hung up while waiting)."""
        self._waits.pop(wait_id, None)

    def connect(self, agent_id: int, now: float) -> None:
        """The reserved agent is on the line with the person (a no-op if their phone
        unregistered while it rang: the call goes on, their state stays as it is)."""
        if self.state(agent_id) is AgentState.RESERVED:
            self._move(agent_id, AgentEvent.CONNECT, now)

    def release(self, agent_id: int, now: float, *, pause_reason: str = "") -> None:
        """The reservation fell through before the bridge: the agent is ready again, or
        paused with `pause_reason` (their phone did not answer: do not offer it again)."""
        if self.state(agent_id) is not AgentState.RESERVED:
            return
        if pause_reason:
            self._move(agent_id, AgentEvent.PAUSE, now, pause_reason)
        else:
            self._move(agent_id, AgentEvent.RELEASE, now)
            self._match(now)

    def hang_up(self, agent_id: int, now: float) -> None:
        """The bridged call ended: wrap-up, then ready by itself after `wrap_up_s`."""
        if self.state(agent_id) is not AgentState.ON_CALL:
            return
        self._move(agent_id, AgentEvent.HANG_UP, now)
        self._wrap_up_until[agent_id] = now + self.wrap_up_s
        self.on_timer(now)

    # -- time and outputs --------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        for agent_id, until in list(self._wrap_up_until.items()):
            if until <= now and self.state(agent_id) is AgentState.WRAP_UP:
                self._move(agent_id, AgentEvent.READY, now, "wrap-up over")
        self._match(now)
        for wait_id, wait in list(self._waits.items()):
            if wait.deadline <= now:
                del self._waits[wait_id]
                self._events.append(WaitExpired(wait_id))

    def next_deadline(self) -> float | None:
        deadlines = [w.deadline for w in self._waits.values()]
        deadlines += self._wrap_up_until.values()
        return min(deadlines, default=None)

    def take_events(self) -> list[PoolEvent]:
        events, self._events = self._events, []
        return events

    def take_changes(self) -> list[AgentStateChange]:
        changes, self._changes = self._changes, []
        return changes

    # -- internals ---------------------------------------------------------------------

    def _match(self, now: float) -> None:
        for wait_id, wait in list(self._waits.items()):
            agent_id = next(
                (a for a in self._ready_since if wait.wanted.takes(self.seats[a])), None
            )
            if agent_id is None:
                continue
            del self._waits[wait_id]
            self._move(agent_id, AgentEvent.RESERVE, now)
            self._events.append(Assigned(wait_id, agent_id))

    def _move(self, agent_id: int, event: AgentEvent, now: float, reason: str = "") -> None:
        status = self.status.get(agent_id)
        if status is None:
            raise IllegalTransition("agent", "unknown", event)
        moved = status.on(event, now, reason)
        self.status[agent_id] = moved
        if moved.state is AgentState.READY:
            self._ready_since.setdefault(agent_id, now)
        else:
            self._ready_since.pop(agent_id, None)
        if moved.state is not AgentState.WRAP_UP:
            self._wrap_up_until.pop(agent_id, None)
        if moved.state is not status.state or moved.reason != status.reason:
            self._changes.append(moved.change())

    def pacing_view(self, campaign_id: int | None) -> PacingView:
        """What the dial pacer needs of this campaign's agents (paused ones are not in it)."""
        talking: list[float] = []
        wrapping: list[float] = []
        for agent_id, status in self.status.items():
            if not self.seats[agent_id].serves(campaign_id):
                continue
            if status.state in (AgentState.RESERVED, AgentState.ON_CALL):
                talking.append(status.since)
            elif status.state is AgentState.WRAP_UP:
                wrapping.append(status.since)
        return PacingView(self.ready_for(campaign_id), tuple(talking), tuple(wrapping))


@dataclass(frozen=True)
class PacingView:
    ready: int
    talking_since: tuple[float, ...]  # reserved or on a call, since when
    wrapping_since: tuple[float, ...]
