"""The lead and campaign transition tables: legal moves land where they should,
every other (state, event) pair raises IllegalTransition."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from dialer.campaign.model import (
    CAMPAIGN_FIELDS,
    CAMPAIGN_TRANSITIONS,
    FINAL_CAMPAIGN_STATES,
    FINAL_LEAD_STATES,
    LEAD_TRANSITIONS,
    AnsweredBy,
    AttemptOutcome,
    CallOutcome,
    CampaignEvent,
    CampaignState,
    IllegalTransition,
    LeadEvent,
    LeadState,
    NotEditable,
    check_edit,
    next_campaign_state,
    next_lead_state,
)

L, E = LeadState, LeadEvent
C, CE = CampaignState, CampaignEvent


def test_every_state_has_a_row() -> None:
    assert set(LEAD_TRANSITIONS) == set(LeadState)
    assert set(CAMPAIGN_TRANSITIONS) == set(CampaignState)


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (L.CREATED, E.SCHEDULE, L.SCHEDULED),
        (L.CREATED, E.DIAL, L.PROCESSING),
        (L.CREATED, E.BLOCK, L.DO_NOT_CALL),
        (L.CREATED, E.INVALIDATE, L.INVALID),
        (L.SCHEDULED, E.DIAL, L.PROCESSING),
        (L.PROCESSING, E.COMPLETE, L.COMPLETED),
        (L.PROCESSING, E.RESCHEDULE, L.RESCHEDULED),
        (L.PROCESSING, E.EXHAUST, L.MAX_RETRIES),
        (L.PROCESSING, E.BLOCK, L.DO_NOT_CALL),
        (L.RESCHEDULED, E.DIAL, L.PROCESSING),
        (L.MAX_RETRIES, E.RESET, L.CREATED),
        (L.DO_NOT_CALL, E.RESET, L.CREATED),
        (L.INVALID, E.RESET, L.CREATED),
        (L.COMPLETED, E.RESET, L.CREATED),
        (L.MAX_RETRIES, E.MARK_COMPLETED, L.COMPLETED),
        (L.CREATED, E.MARK_COMPLETED, L.COMPLETED),
    ],
)
def test_legal_lead_transitions(state: LeadState, event: LeadEvent, expected: LeadState) -> None:
    assert next_lead_state(state, event) is expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (L.CREATED, E.COMPLETE),  # no call, no completion
        (L.PROCESSING, E.DIAL),  # one attempt at a time
        (L.PROCESSING, E.RESET),  # never reset under a live call
        (L.PROCESSING, E.MARK_COMPLETED),
        (L.COMPLETED, E.DIAL),  # final states are final
        (L.MAX_RETRIES, E.DIAL),
        (L.DO_NOT_CALL, E.DIAL),
        (L.INVALID, E.SCHEDULE),
        (L.CREATED, E.RESET),  # reset is for final states
        (L.RESCHEDULED, E.EXHAUST),  # exhaustion is decided when an attempt ends
    ],
)
def test_illegal_lead_transitions_raise(state: LeadState, event: LeadEvent) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_lead_state(state, event)
    assert (caught.value.machine, caught.value.state, caught.value.event) == ("lead", state, event)
    assert str(state) in str(caught.value) and str(event) in str(caught.value)


def test_lead_table_is_exactly_what_next_lead_state_accepts() -> None:
    for state, event in itertools.product(LeadState, LeadEvent):
        if event in LEAD_TRANSITIONS[state]:
            assert next_lead_state(state, event) is LEAD_TRANSITIONS[state][event]
        else:
            with pytest.raises(IllegalTransition):
                next_lead_state(state, event)


def test_final_lead_states_only_leave_by_manager_action() -> None:
    for state in FINAL_LEAD_STATES:
        assert set(LEAD_TRANSITIONS[state]) <= {E.RESET, E.MARK_COMPLETED}


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        LEAD_TRANSITIONS[L.CREATED] = {}  # type: ignore[index]


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (C.DRAFT, CE.SCHEDULE, C.SCHEDULED),
        (C.DRAFT, CE.START, C.RUNNING),
        (C.SCHEDULED, CE.START, C.RUNNING),
        (C.RUNNING, CE.PAUSE, C.PAUSED),
        (C.PAUSED, CE.RESUME, C.RUNNING),
        (C.PAUSED, CE.STOP, C.STOPPED),
        (C.RUNNING, CE.COMPLETE, C.COMPLETED),
        (C.RUNNING, CE.FAIL, C.FAILED),
        (C.RUNNING, CE.SCHEDULE, C.SCHEDULED),  # a recurring campaign waits for its next run
    ],
)
def test_legal_campaign_transitions(
    state: CampaignState, event: CampaignEvent, expected: CampaignState
) -> None:
    assert next_campaign_state(state, event) is expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (C.DRAFT, CE.PAUSE),
        (C.RUNNING, CE.RESUME),
        (C.PAUSED, CE.PAUSE),
        (C.PAUSED, CE.COMPLETE),
        (C.DRAFT, CE.COMPLETE),
    ],
)
def test_illegal_campaign_transitions_raise(state: CampaignState, event: CampaignEvent) -> None:
    with pytest.raises(IllegalTransition, match="campaign"):
        next_campaign_state(state, event)


@pytest.mark.parametrize("state", sorted(FINAL_CAMPAIGN_STATES))
def test_final_campaign_states_accept_nothing(state: CampaignState) -> None:
    for event in CampaignEvent:
        with pytest.raises(IllegalTransition):
            next_campaign_state(state, event)


def test_call_outcomes_are_the_dialers() -> None:
    assert {o.value for o in CallOutcome} == {
        "completed",
        "busy",
        "no_answer",
        "rejected",
        "failed",
        "cancelled",
    }


def test_attempt_outcome_is_frozen() -> None:
    result = AttemptOutcome(
        CallOutcome.COMPLETED, 200, "OK", AnsweredBy.HUMAN, {"menu": "1"}, duration_s=12.5
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.sip_code = 486  # type: ignore[misc]
    assert AttemptOutcome(CallOutcome.BUSY).answered_by is None


def test_a_draft_is_fully_editable_a_started_campaign_only_relabelled() -> None:
    check_edit(C.DRAFT, CAMPAIGN_FIELDS)
    for state in set(CampaignState) - {C.DRAFT}:
        check_edit(state, frozenset({"name", "description"}))
        with pytest.raises(NotEditable, match=f"a {state} campaign cannot change its settings"):
            check_edit(state, frozenset({"name", "settings"}))
