"""The live wallboard: every agent's state now, how long they have been in it, and today.

Pure: `wallboard_rows` joins the store's live agents with the pool's seats and statuses
(`AgentPool.seats`, `.status`) and each agent's figures since the start of the day
(`ActivityFigures`, as the activity report computes them). Decisions:

* Every live agent in the store has a row, and so has every seated agent (a removed one
  the pool has not let go of yet). An agent the pool has not seated is logged_out.
* `since` is when the pool last moved the agent (wall-clock seconds); None when the pool
  never did (seated at start, never logged in since, or not seated): the time in state is
  then unknown, not "since 1970".
* "Today" is the server's local day, as the agent's console counts it: from local
  midnight (`local_midnight`) to now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer.agents.pool import AgentSeat
from dialer.agents.report import ActivityFigures
from dialer.agents.states import AgentState, AgentStatus
from dialer.store.repository import Agent

__all__ = ["WallboardRow", "local_midnight", "state_counts", "wallboard_rows"]


def local_midnight(now: float) -> float:
    """The start of the server's local day that `now` is in."""
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


@dataclass(frozen=True)
class WallboardRow:
    agent_id: int
    name: str
    extension: str
    state: AgentState
    reason: str
    since: float | None  # None: unknown (see the module docstring)
    in_state_s: float | None
    today: ActivityFigures

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.agent_id,
            "name": self.name,
            "extension": self.extension,
            "state": str(self.state),
            "reason": self.reason,
            "since": self.since,
            "in_state_s": None if self.in_state_s is None else round(self.in_state_s, 1),
            "today": self.today.to_dict(),
        }


def wallboard_rows(
    agents: Iterable[Agent],
    seats: Mapping[int, AgentSeat],
    status: Mapping[int, AgentStatus],
    today: Mapping[int, ActivityFigures],
    now: float,
) -> list[WallboardRow]:
    """One row per live agent and per seated one, by id (see the module docstring)."""
    known = {agent.id: (agent.name, agent.extension) for agent in agents}
    known |= {seat.agent_id: (seat.name, seat.extension) for seat in seats.values()}
    rows = []
    for agent_id, (name, extension) in sorted(known.items()):
        current = status.get(agent_id) if agent_id in seats else None
        if current is None:
            current = AgentStatus(agent_id)  # not seated: logged out, since unknown
        since = current.since if current.since > 0 else None
        rows.append(
            WallboardRow(
                agent_id=agent_id,
                name=name,
                extension=extension,
                state=current.state,
                reason=current.reason,
                since=since,
                in_state_s=None if since is None else max(0.0, now - since),
                today=today.get(agent_id) or ActivityFigures.idle(),
            )
        )
    return rows


def state_counts(rows: Sequence[WallboardRow]) -> dict[AgentState, int]:
    """How many agents are in each state, every state included."""
    counts = dict.fromkeys(AgentState, 0)
    for row in rows:
        counts[row.state] += 1
    return counts
