"""Retry rules: what a lead does after each attempt."""

from __future__ import annotations

import pytest

from dialer.campaign.model import AnsweredBy, AttemptOutcome, CallOutcome, LeadEvent
from dialer.campaign.policy import RetryRules, RulesError, after_attempt


def result(outcome: CallOutcome, **kw: object) -> AttemptOutcome:
    return AttemptOutcome(outcome, **kw)  # type: ignore[arg-type]


def test_an_answer_completes_the_lead() -> None:
    step = after_attempt(RetryRules(), 1, result(CallOutcome.COMPLETED), now=100.0)
    assert (step.event, step.next_attempt_at) == (LeadEvent.COMPLETE, None)


@pytest.mark.parametrize("outcome", [CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED])
def test_misses_are_retried_after_the_delay_until_max_attempts(outcome: CallOutcome) -> None:
    rules = RetryRules(max_attempts=3, retry_delay_s=3600, delay_by_outcome={"busy": 600})
    first = after_attempt(rules, 1, result(outcome), now=100.0)
    delay = 600 if outcome is CallOutcome.BUSY else 3600
    assert (first.event, first.next_attempt_at) == (LeadEvent.RESCHEDULE, 100.0 + delay)
    assert after_attempt(rules, 2, result(outcome), now=100.0).event is LeadEvent.RESCHEDULE
    last = after_attempt(rules, 3, result(outcome), now=100.0)
    assert (last.event, last.next_attempt_at) == (LeadEvent.EXHAUST, None)


def test_outcomes_not_listed_end_the_lead() -> None:
    step = after_attempt(RetryRules(), 1, result(CallOutcome.REJECTED), now=0.0)
    assert step.event is LeadEvent.COMPLETE and "rejected" in step.reason
    only_busy = RetryRules(retry_outcomes=frozenset({CallOutcome.BUSY}))
    assert after_attempt(only_busy, 1, result(CallOutcome.NO_ANSWER), 0.0).event is (
        LeadEvent.COMPLETE
    )


def test_voicemail_is_retried_only_when_asked() -> None:
    machine = result(CallOutcome.COMPLETED, answered_by=AnsweredBy.MACHINE)
    assert after_attempt(RetryRules(), 1, machine, 0.0).event is LeadEvent.COMPLETE
    rules = RetryRules(retry_voicemail=True)
    assert after_attempt(rules, 1, machine, 0.0).event is LeadEvent.RESCHEDULE
    human = result(CallOutcome.COMPLETED, answered_by=AnsweredBy.HUMAN)
    assert after_attempt(rules, 1, human, 0.0).event is LeadEvent.COMPLETE


def test_retry_until_goal() -> None:
    rules = RetryRules(goal_variable="confirmed", max_attempts=2)
    no_goal = result(CallOutcome.COMPLETED, variables={"confirmed": "false"})
    assert after_attempt(rules, 1, no_goal, 0.0).event is LeadEvent.RESCHEDULE
    assert after_attempt(rules, 2, no_goal, 0.0).event is LeadEvent.EXHAUST
    goal = result(CallOutcome.COMPLETED, variables={"confirmed": "true"})
    assert after_attempt(rules, 1, goal, 0.0).event is LeadEvent.COMPLETE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"retry_delay_s": -1}, "negative"),
        ({"retry_outcomes": frozenset({"sometimes"})}, "unknown outcomes"),
        ({"delay_by_outcome": {"bussy": 10}}, "unknown outcomes"),
    ],
)
def test_unworkable_rules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError, match=message):
        RetryRules(**kwargs)  # type: ignore[arg-type]
