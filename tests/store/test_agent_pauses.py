"""Paused time split by the pause's reason, from hand-made state histories in the SQLite
store: exact seconds, clipped to the interval as `agent_stats` is (a pause begun before
the interval carries in with its reason), and always summing to its paused time."""

from __future__ import annotations

import pytest

from dialer.agents.states import AgentState, AgentStateChange
from dialer.store.repository import Agent, NotFound
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
S = AgentState


@pytest.fixture
def ann(store: SqliteStore) -> Agent:
    return store.add_agent("Ann Lee", "1001", "Circle Of Life", "dialer.example", now=T0)


def history(store: SqliteStore, agent: Agent, *moves: tuple[float, AgentState, str]) -> None:
    store.record_agent_states([AgentStateChange(agent.id, s, T0 + at, r) for at, s, r in moves])


def test_pauses_are_split_by_reason_to_the_second(store: SqliteStore, ann: Agent) -> None:
    history(
        store, ann,
        (0, S.PAUSED, "phone registered"),
        (0, S.READY, ""),  # logged in and ready at once: a pause that lasted no time
        (100, S.PAUSED, "lunch"),
        (1900, S.PAUSED, "training"),  # from one reason to another, still paused
        (2500, S.READY, ""),
        (2600, S.PAUSED, "lunch"),  # lunch again: added to the first
        (2650, S.PAUSED, ""),  # no reason given
        (2660, S.LOGGED_OUT, "phone unregistered"),
    )  # fmt: skip
    paused = store.agent_paused_by_reason(ann.id, T0, T0 + 3000)
    assert paused == {"lunch": 1800 + 50, "training": 600, "": 10}
    assert sum(paused.values()) == store.agent_stats(ann.id, T0, T0 + 3000).seconds_in[S.PAUSED]


def test_a_pause_begun_before_the_interval_carries_in_with_its_reason(
    store: SqliteStore, ann: Agent
) -> None:
    history(
        store, ann,
        (-500, S.PAUSED, "meeting"),  # before the interval
        (300, S.READY, ""),
        (400, S.PAUSED, "break"),  # still paused when the interval ends
        (900, S.READY, ""),  # after it
    )  # fmt: skip
    paused = store.agent_paused_by_reason(ann.id, T0, T0 + 600)
    assert paused == {"meeting": 300, "break": 200}
    assert sum(paused.values()) == store.agent_stats(ann.id, T0, T0 + 600).seconds_in[S.PAUSED]
    # Starting mid-state, inside the break: only the part inside counts.
    assert store.agent_paused_by_reason(ann.id, T0 + 450, T0 + 850) == {"break": 400}
    # A change exactly at the start is the state at the start (since inclusive).
    assert store.agent_paused_by_reason(ann.id, T0 + 400, T0 + 401) == {"break": 1}


def test_a_removed_agents_pauses_stay_and_stop_at_the_removal(
    store: SqliteStore, ann: Agent
) -> None:
    history(store, ann, (0, S.PAUSED, "lunch"))
    store.remove_agent(ann.id, now=T0 + 120)  # logged out by the removal
    assert store.agent_paused_by_reason(ann.id, T0 - 60, T0 + 3600) == {"lunch": 120}


def test_no_pause_no_agent_and_a_bad_interval(store: SqliteStore, ann: Agent) -> None:
    assert store.agent_paused_by_reason(ann.id, T0, T0 + 60) == {}  # never seen: logged out
    history(store, ann, (0, S.READY, ""))
    assert store.agent_paused_by_reason(ann.id, T0, T0 + 60) == {}
    assert store.agent_paused_by_reason(ann.id, T0 + 10, T0 + 10) == {}  # an empty interval
    with pytest.raises(ValueError, match="before it starts"):
        store.agent_paused_by_reason(ann.id, T0, T0 - 1)
    with pytest.raises(NotFound):
        store.agent_paused_by_reason(999, T0, T0 + 1)
