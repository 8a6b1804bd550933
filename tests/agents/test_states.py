"""The agent state table: every legal move lands where it should, every other (state,
event) pair raises IllegalTransition, and AgentStatus keeps the time of each change."""

from __future__ import annotations

import itertools

import pytest

from dialer.agents.states import (
    AGENT_TRANSITIONS,
    AgentEvent,
    AgentState,
    AgentStateChange,
    AgentStatus,
    next_agent_state,
)
from dialer.campaign.model import IllegalTransition

S, E = AgentState, AgentEvent

# Written out by hand from the issue (not read from the table), so a change to the
# table shows up here as a failure to think about.
LEGAL = {
    (S.LOGGED_OUT, E.LOG_IN): S.PAUSED,  # logged in, not yet asking for calls
    (S.READY, E.RESERVE): S.RESERVED,
    (S.READY, E.READY): S.READY,
    (S.READY, E.PAUSE): S.PAUSED,
    (S.READY, E.LOG_OUT): S.LOGGED_OUT,
    (S.RESERVED, E.CONNECT): S.ON_CALL,
    (S.RESERVED, E.RELEASE): S.READY,
    (S.RESERVED, E.PAUSE): S.PAUSED,  # their phone did not answer
    (S.RESERVED, E.LOG_OUT): S.LOGGED_OUT,
    (S.ON_CALL, E.HANG_UP): S.WRAP_UP,
    (S.ON_CALL, E.PAUSE): S.PAUSED,
    (S.ON_CALL, E.LOG_OUT): S.LOGGED_OUT,  # the phone went away mid-call
    (S.WRAP_UP, E.READY): S.READY,
    (S.WRAP_UP, E.PAUSE): S.PAUSED,
    (S.WRAP_UP, E.LOG_OUT): S.LOGGED_OUT,
    (S.PAUSED, E.READY): S.READY,
    (S.PAUSED, E.PAUSE): S.PAUSED,  # another reason
    (S.PAUSED, E.LOG_OUT): S.LOGGED_OUT,
}
ILLEGAL = sorted(set(itertools.product(AgentState, AgentEvent)) - set(LEGAL))


def test_every_state_has_a_row_and_values_match_the_database() -> None:
    assert set(AGENT_TRANSITIONS) == set(AgentState)
    # the agent_state_changes CHECK in 0004_agents.sql lists these names
    assert [str(s) for s in AgentState] == [
        "logged_out", "ready", "reserved", "on_call", "wrap_up", "paused"
    ]  # fmt: skip


@pytest.mark.parametrize(("move", "expected"), sorted(LEGAL.items()))
def test_legal_moves(move: tuple[AgentState, AgentEvent], expected: AgentState) -> None:
    state, event = move
    assert next_agent_state(state, event) is expected
    assert AGENT_TRANSITIONS[state][event] is expected


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_every_other_move_raises(state: AgentState, event: AgentEvent) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_agent_state(state, event)
    assert (caught.value.machine, caught.value.state, caught.value.event) == ("agent", state, event)
    with pytest.raises(IllegalTransition):
        AgentStatus(7, state).on(event, 1.0)


def test_some_moves_that_must_never_be_legal() -> None:
    assert (S.LOGGED_OUT, E.READY) in ILLEGAL  # log in first
    assert (S.LOGGED_OUT, E.RESERVE) in ILLEGAL  # nobody is offered to a logged-out agent
    assert (S.ON_CALL, E.RESERVE) in ILLEGAL  # one person at a time
    assert (S.PAUSED, E.RESERVE) in ILLEGAL
    assert (S.WRAP_UP, E.RESERVE) in ILLEGAL
    assert (S.ON_CALL, E.READY) in ILLEGAL  # hang up first


def test_status_on_records_the_time_and_reason_of_each_change() -> None:
    status = AgentStatus(7)
    assert (status.state, status.since, status.reason) == (S.LOGGED_OUT, 0.0, "")
    paused = status.on(E.LOG_IN, 100.0)
    ready = paused.on(E.READY, 130.5)
    reserved = ready.on(E.RESERVE, 200.0)
    on_call = reserved.on(E.CONNECT, 204.0)
    wrap_up = on_call.on(E.HANG_UP, 300.0)
    lunch = wrap_up.on(E.PAUSE, 310.0, "lunch")
    assert [(s.state, s.since, s.reason) for s in (paused, ready, reserved, on_call)] == [
        (S.PAUSED, 100.0, ""),
        (S.READY, 130.5, ""),
        (S.RESERVED, 200.0, ""),
        (S.ON_CALL, 204.0, ""),
    ]
    assert (wrap_up.state, wrap_up.since) == (S.WRAP_UP, 300.0)
    assert lunch.change() == AgentStateChange(7, S.PAUSED, 310.0, "lunch")
    assert status.state is S.LOGGED_OUT  # frozen: each move is a new status
    assert {s.agent_id for s in (paused, ready, lunch)} == {7}


def test_the_same_state_again_keeps_since_unless_the_reason_changes() -> None:
    ready = AgentStatus(7, S.READY, since=50.0)
    assert ready.on(E.READY, 90.0) == ready  # ready since 50, not since 90
    lunch = AgentStatus(7, S.PAUSED, since=50.0, reason="lunch")
    assert lunch.on(E.PAUSE, 90.0, "lunch").since == 50.0
    meeting = lunch.on(E.PAUSE, 90.0, "meeting")
    assert (meeting.state, meeting.since, meeting.reason) == (S.PAUSED, 90.0, "meeting")


def test_a_reason_does_not_survive_a_move_that_gives_none() -> None:
    lunch = AgentStatus(7, S.PAUSED, since=50.0, reason="lunch")
    back = lunch.on(E.READY, 60.0)
    assert (back.state, back.reason) == (S.READY, "")
