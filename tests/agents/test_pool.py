"""The AgentPool core on a fake clock: who gets the next person, the wait, wrap-up."""

from __future__ import annotations

import pytest

from dialer.agents.pool import AgentPool, AgentSeat, Assigned, WaitExpired, Wanted
from dialer.agents.states import AgentState
from dialer.campaign.model import IllegalTransition


def pool_with(*seats: AgentSeat, wrap_up_s: float = 10.0) -> AgentPool:
    pool = AgentPool(wrap_up_s=wrap_up_s)
    for seat in seats:
        pool.seat(seat)
    return pool


ANN, BOB = AgentSeat(1, "Ann", "1001"), AgentSeat(2, "Bob", "1002")


def logged_in_ready(pool: AgentPool, agent_id: int, now: float) -> None:
    pool.log_in(agent_id, now)
    pool.ready(agent_id, now)


def test_the_agent_ready_longest_gets_the_person() -> None:
    pool = pool_with(ANN, BOB)
    logged_in_ready(pool, 2, now=100.0)
    logged_in_ready(pool, 1, now=105.0)
    wait = pool.request(Wanted(None), now=110.0, deadline=112.0)
    assert pool.take_events() == [Assigned(wait, 2)]
    assert pool.state(2) is AgentState.RESERVED
    assert pool.ready_for(None) == 1


def test_a_person_waits_for_the_first_agent_to_free_up_and_no_longer() -> None:
    pool = pool_with(ANN)
    pool.log_in(1, now=0.0)
    first = pool.request(Wanted(None), now=10.0, deadline=12.0)
    second = pool.request(Wanted(None), now=10.5, deadline=12.5)
    assert pool.take_events() == [] and pool.next_deadline() == 12.0
    pool.ready(1, now=11.0)  # the oldest waiter is served first
    assert pool.take_events() == [Assigned(first, 1)]
    pool.on_timer(12.5)
    assert pool.take_events() == [WaitExpired(second)]
    assert pool.next_deadline() is None


def test_wrap_up_ends_by_itself_and_the_agent_takes_the_next_person() -> None:
    pool = pool_with(ANN, wrap_up_s=10.0)
    logged_in_ready(pool, 1, now=0.0)
    pool.request(Wanted(None), now=1.0, deadline=3.0)
    pool.connect(1, now=1.2)
    pool.hang_up(1, now=60.0)
    assert pool.state(1) is AgentState.WRAP_UP and pool.next_deadline() == 70.0
    pool.take_events()
    waiting = pool.request(Wanted(None), now=65.0, deadline=67.0)
    pool.on_timer(67.0)
    assert pool.take_events() == [WaitExpired(waiting)]  # still in wrap-up: not offered
    later = pool.request(Wanted(None), now=69.0, deadline=71.0)
    pool.on_timer(70.0)
    assert pool.take_events() == [Assigned(later, 1)]
    history = [(c.state, c.at, c.reason) for c in pool.take_changes()]
    assert history == [
        ("paused", 0.0, ""),
        ("ready", 0.0, ""),
        ("reserved", 1.0, ""),
        ("on_call", 1.2, ""),
        ("wrap_up", 60.0, ""),
        ("ready", 70.0, "wrap-up over"),
        ("reserved", 70.0, ""),
    ]


def test_a_phone_that_did_not_answer_pauses_its_agent_and_the_person_goes_to_the_next() -> None:
    pool = pool_with(ANN, BOB)
    logged_in_ready(pool, 1, now=0.0)
    logged_in_ready(pool, 2, now=1.0)
    wait = pool.request(Wanted(None), now=5.0, deadline=7.0)
    assert pool.take_events() == [Assigned(wait, 1)]
    pool.release(1, now=5.5, pause_reason="no answer")
    assert pool.status[1].state is AgentState.PAUSED and pool.status[1].reason == "no answer"
    again = pool.request(Wanted(None), now=5.5, deadline=7.0)
    assert pool.take_events() == [Assigned(again, 2)]


def test_a_released_reservation_serves_whoever_waits() -> None:
    pool = pool_with(ANN)
    logged_in_ready(pool, 1, now=0.0)
    first = pool.request(Wanted(None), now=1.0, deadline=3.0)
    second = pool.request(Wanted(None), now=1.1, deadline=3.1)
    assert pool.take_events() == [Assigned(first, 1)]
    pool.release(1, now=1.5)  # the first person hung up before the bridge
    assert pool.take_events() == [Assigned(second, 1)]


def test_agents_take_only_their_campaigns() -> None:
    pool = pool_with(AgentSeat(1, "Ann", "1001", frozenset({7})), BOB)
    logged_in_ready(pool, 1, now=0.0)
    wait = pool.request(Wanted(8), now=1.0, deadline=3.0)
    assert pool.take_events() == []
    assert pool.ready_for(7) == 1 and pool.ready_for(8) == 0
    logged_in_ready(pool, 2, now=2.0)
    assert pool.take_events() == [Assigned(wait, 2)]


def test_a_person_who_asks_for_a_skill_gets_an_agent_with_it_and_holds_up_nobody() -> None:
    spanish = AgentSeat(3, "Cruz", "1003", skills=frozenset({"spanish", "sales"}))
    pool = pool_with(ANN, spanish)
    assert pool.has_skill("spanish") and not pool.has_skill("billing")
    logged_in_ready(pool, 1, now=0.0)  # Ann has waited longest, but has no Spanish
    first = pool.request(Wanted(7, "spanish"), now=1.0, deadline=3.0)
    assert pool.take_events() == []
    second = pool.request(Wanted(7), now=1.5, deadline=3.5)  # anyone: Ann, though the first waits
    assert pool.take_events() == [Assigned(second, 1)]
    logged_in_ready(pool, 3, now=2.0)
    assert pool.take_events() == [Assigned(first, 3)]


def test_an_agent_with_a_skill_still_takes_only_their_campaigns() -> None:
    pool = pool_with(AgentSeat(1, "Ann", "1001", frozenset({7}), frozenset({"sales"})))
    logged_in_ready(pool, 1, now=0.0)
    wait = pool.request(Wanted(8, "sales"), now=1.0, deadline=2.0)
    pool.on_timer(2.0)
    assert pool.take_events() == [WaitExpired(wait)]


def test_a_cancelled_wait_is_never_served() -> None:
    pool = pool_with(ANN)
    pool.log_in(1, now=0.0)
    wait = pool.request(Wanted(None), now=1.0, deadline=3.0)
    pool.cancel(wait)
    pool.ready(1, now=2.0)
    pool.on_timer(3.0)
    assert pool.take_events() == [] and pool.state(1) is AgentState.READY


def test_logging_out_while_reserved_or_on_a_call_and_illegal_moves() -> None:
    pool = pool_with(ANN)
    with pytest.raises(IllegalTransition):
        pool.ready(1, now=0.0)  # logged out: must log in first
    logged_in_ready(pool, 1, now=0.0)
    pool.request(Wanted(None), now=1.0, deadline=3.0)
    pool.connect(1, now=1.1)
    with pytest.raises(IllegalTransition):
        pool.ready(1, now=2.0)  # on a call
    pool.log_out(1, now=3.0, reason="registration expired")
    assert pool.status[1].state is AgentState.LOGGED_OUT
    pool.hang_up(1, now=4.0)  # the call's end after the agent left changes nothing
    assert pool.state(1) is AgentState.LOGGED_OUT
    pool.connect(1, now=4.5)  # answered after logging out: the state stays
    assert pool.state(1) is AgentState.LOGGED_OUT
    pool.unseat(1, now=5.0)
    assert pool.state(1) is None
    with pytest.raises(IllegalTransition):
        pool.pause(1, now=6.0, reason="gone")


def test_counts_by_state() -> None:
    pool = pool_with(ANN, BOB)
    logged_in_ready(pool, 1, now=0.0)
    counts = pool.counts()
    assert counts[AgentState.READY] == 1 and counts[AgentState.LOGGED_OUT] == 1


def test_an_agent_reserved_for_a_preview_is_not_offered_a_person_until_released() -> None:
    pool = pool_with(ANN)
    logged_in_ready(pool, 1, now=0.0)
    assert pool.ready_agents(None) == [1]
    assert pool.reserve_agent(1, now=1.0, reason="preview")
    assert pool.status[1].reason == "preview" and pool.ready_agents(None) == []
    assert not pool.reserve_agent(1, now=1.5, reason="preview")  # not ready: not twice
    waiting = pool.request(Wanted(None), now=2.0, deadline=4.0)
    assert pool.take_events() == []
    pool.release(1, now=3.0)  # skipped: ready again, and the person waiting gets them
    assert pool.take_events() == [Assigned(waiting, 1)]


def test_only_a_ready_agent_can_be_reserved_for_a_preview() -> None:
    pool = pool_with(ANN)
    assert not pool.reserve_agent(1, now=0.0, reason="preview")  # logged out
    pool.log_in(1, now=1.0)
    assert not pool.reserve_agent(1, now=1.0, reason="preview")  # paused
    assert not pool.reserve_agent(9, now=1.0, reason="preview")  # unknown
    assert pool.state(1) is AgentState.PAUSED


def test_a_person_who_asks_for_one_agent_waits_for_them_alone() -> None:
    pool = pool_with(ANN, BOB)
    assert pool.by_extension("1002") == BOB and pool.by_extension("1003") is None
    logged_in_ready(pool, 1, now=0.0)
    wait = pool.request(Wanted(7, agent_id=2), now=1.0, deadline=3.0)
    assert pool.take_events() == []  # Ann is ready, but Bob was asked for
    logged_in_ready(pool, 2, now=2.0)
    assert pool.take_events() == [Assigned(wait, 2)]
