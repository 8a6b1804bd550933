"""Agent states as data: the transition table and a timestamped record of every change.

An agent is `logged_out` until they log in (a SIP phone registers, or the console
connects); `ready` agents are offered calls; offering one `reserved` it for a
person who answered; `on_call` while bridged; `wrap_up` for the after-call work
(then ready again by itself, or earlier when the agent says so); `paused` with a
reason (a break, or the dialer's own: a phone that did not answer). Every change
is kept as an `AgentStateChange` with its time, for reporting.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dialer.campaign.model import IllegalTransition

__all__ = [
    "AGENT_TRANSITIONS",
    "AgentEvent",
    "AgentState",
    "AgentStateChange",
    "AgentStatus",
    "next_agent_state",
]


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # chosen for a person who answered; their phone is ringing
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # after-call work
    PAUSED = "paused"  # with a reason


class AgentEvent(enum.StrEnum):
    LOG_IN = "log_in"
    LOG_OUT = "log_out"
    READY = "ready"  # the agent (or the end of wrap-up) says: give me calls
    PAUSE = "pause"
    RESERVE = "reserve"
    CONNECT = "connect"  # bridged to the person
    RELEASE = "release"  # the reservation fell through before the bridge
    HANG_UP = "hang_up"  # the call ended: after-call work begins


_S, _E = AgentState, AgentEvent
_AWAY = {_E.LOG_OUT: _S.LOGGED_OUT, _E.PAUSE: _S.PAUSED}

AGENT_TRANSITIONS: Mapping[AgentState, Mapping[AgentEvent, AgentState]] = MappingProxyType(
    {
        _S.LOGGED_OUT: {_E.LOG_IN: _S.PAUSED},  # logging in is not yet asking for calls
        _S.READY: {_E.RESERVE: _S.RESERVED, _E.READY: _S.READY, **_AWAY},
        _S.RESERVED: {_E.CONNECT: _S.ON_CALL, _E.RELEASE: _S.READY, **_AWAY},
        # A phone that goes away mid-call: the person is taken care of by the bridge.
        _S.ON_CALL: {_E.HANG_UP: _S.WRAP_UP, **_AWAY},
        _S.WRAP_UP: {_E.READY: _S.READY, **_AWAY},
        _S.PAUSED: {_E.READY: _S.READY, _E.PAUSE: _S.PAUSED, _E.LOG_OUT: _S.LOGGED_OUT},
    }
)


def next_agent_state(state: AgentState, event: AgentEvent) -> AgentState:
    try:
        return AGENT_TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition("agent", state, event) from None


@dataclass(frozen=True)
class AgentStateChange:
    agent_id: int
    state: AgentState
    at: float  # wall-clock seconds
    reason: str = ""  # why: a pause's reason, "registration expired", ...


@dataclass(frozen=True)
class AgentStatus:
    """One agent's state, and since when."""

    agent_id: int
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    reason: str = ""

    def on(self, event: AgentEvent, now: float, reason: str = "") -> AgentStatus:
        """The status after `event` (IllegalTransition when the table has no such move).
        A move back to the same state for the same reason changes nothing, `since`
        included: an agent who says "ready" twice has been ready since the first time."""
        state = next_agent_state(self.state, event)
        if state is self.state and reason == self.reason:
            return self
        return AgentStatus(self.agent_id, state, now, reason)

    def change(self) -> AgentStateChange:
        return AgentStateChange(self.agent_id, self.state, self.since, self.reason)
