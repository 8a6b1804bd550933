"""The wallboard's rows from a pool driven by hand and the store's agents: seated agents
with their state, reason and time in it; agents the pool has not seated as logged out;
today's figures joined in; counts by state; and where the server's local day begins."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from dialer.agents.pool import AgentPool, AgentSeat
from dialer.agents.report import ActivityFigures
from dialer.agents.states import AgentState
from dialer.agents.wallboard import local_midnight, state_counts, wallboard_rows
from dialer.store.repository import Agent, AgentStats

S = AgentState
T0 = 1_800_000_000.0


def agent(agent_id: int, name: str) -> Agent:
    return Agent(agent_id, name, f"10{agent_id:02d}", (), (), "dialer.example", T0, T0)


def figures(calls: int) -> ActivityFigures:
    seconds = dict.fromkeys(AgentState, 0.0) | {S.ON_CALL: 60.0 * calls, S.READY: 600.0}
    stats = AgentStats(1, T0, T0 + 1, calls, 60.0 * calls, 0, seconds, S.READY)
    return ActivityFigures.of(stats, {})


def test_rows_join_the_pool_with_the_store() -> None:
    pool = AgentPool(wrap_up_s=10.0)
    for agent_id, name in ((1, "Ann"), (2, "Bob"), (4, "Dan")):
        pool.seat(AgentSeat(agent_id, name, f"10{agent_id:02d}"))
    pool.log_in(1, T0)
    pool.ready(1, T0 + 5)
    pool.log_in(2, T0)
    pool.pause(2, T0 + 30, "lunch")
    store_agents = [agent(1, "Ann"), agent(2, "Bob"), agent(3, "Cy"), agent(4, "Dan")]
    today = {1: figures(3), 2: figures(0), 3: figures(1)}
    rows = wallboard_rows(store_agents, pool.seats, pool.status, today, T0 + 95.25)
    shown = [(r.agent_id, r.name, r.state, r.reason, r.since, r.in_state_s) for r in rows]
    assert shown == [
        (1, "Ann", S.READY, "", T0 + 5, 90.25),
        (2, "Bob", S.PAUSED, "lunch", T0 + 30, 65.25),
        (3, "Cy", S.LOGGED_OUT, "", None, None),  # in the store, not seated
        (4, "Dan", S.LOGGED_OUT, "", None, None),  # seated, never logged in: since unknown
    ]
    assert rows[0].today is today[1] and rows[3].today == ActivityFigures.idle()
    assert rows[0].to_dict() == {
        "id": 1, "name": "Ann", "extension": "1001", "state": "ready", "reason": "",
        "since": T0 + 5, "in_state_s": 90.2, "today": today[1].to_dict(),
    }  # fmt: skip
    assert state_counts(rows) == {S.LOGGED_OUT: 2, S.READY: 1, S.RESERVED: 0, S.ON_CALL: 0,
                                  S.WRAP_UP: 0, S.PAUSED: 1}  # fmt: skip


def test_a_seated_agent_the_store_no_longer_lists_still_shows() -> None:
    pool = AgentPool(wrap_up_s=10.0)
    pool.seat(AgentSeat(7, "Eve (removed)", "1007"))
    pool.log_in(7, T0)
    (row,) = wallboard_rows([], pool.seats, pool.status, {}, T0 + 1)
    assert (row.agent_id, row.name, row.state, row.in_state_s) == (7, "Eve (removed)", S.PAUSED, 1)
    # A clock a little behind the pool's never shows a negative time in state.
    (row,) = wallboard_rows([], pool.seats, pool.status, {}, T0 - 0.5)
    assert row.in_state_s == 0.0


@pytest.fixture
def in_new_york() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.usefixtures("in_new_york")
def test_the_day_begins_at_local_midnight() -> None:
    noon = datetime(2027, 3, 14, 12, 0).timestamp()  # New York springs forward at 02:00
    assert local_midnight(noon) == datetime(2027, 3, 14, 0, 0).timestamp()
    assert noon - local_midnight(noon) == 12 * 3600 - 3600  # 11 hours: an hour was skipped
    assert local_midnight(local_midnight(noon)) == local_midnight(noon)
    assert local_midnight(local_midnight(noon) - 1) == datetime(2027, 3, 13, 0, 0).timestamp()
