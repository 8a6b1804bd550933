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
    "missed",
    [
        result(CallOutcome.NO_ANSWER),
        result(CallOutcome.REJECTED),  # not retried on the same line, but another line may answer
        result(CallOutcome.COMPLETED, answered_by=AnsweredBy.MACHINE),
    ],
)
def test_an_unanswered_primary_falls_back_to_the_secondary_at_once(missed: AttemptOutcome) -> None:
    rules = RetryRules(max_attempts=3, retry_delay_s=600, retry_voicemail=True)
    step = after_attempt(rules, 1, missed, now=50.0, secondary_untried=True)
    assert (step.event, step.next_attempt_at, step.on_secondary) == (
        LeadEvent.RESCHEDULE,
        50.0,
        True,
    )
    # The secondary missed too: back to the primary after the usual delay, if retryable.
    after = after_attempt(rules, 2, missed, now=60.0, secondary_untried=False)
    assert not after.on_secondary
    if missed.outcome is CallOutcome.REJECTED:
        assert after.event is LeadEvent.COMPLETE
    else:
        assert (after.event, after.next_attempt_at) == (LeadEvent.RESCHEDULE, 660.0)


def test_the_secondary_counts_towards_max_attempts_and_an_answer_needs_no_fallback() -> None:
    rules = RetryRules(max_attempts=1)
    missed = after_attempt(rules, 1, result(CallOutcome.BUSY), 0.0, secondary_untried=True)
    assert missed.event is LeadEvent.EXHAUST and not missed.on_secondary
    answered = after_attempt(
        RetryRules(), 1, result(CallOutcome.COMPLETED), 0.0, secondary_untried=True
    )
    assert answered.event is LeadEvent.COMPLETE and not answered.on_secondary


def test_voicemail_has_a_delay_of_its_own() -> None:
    rules = RetryRules(retry_voicemail=True, delay_by_outcome={"voicemail": 7200})
    machine = result(CallOutcome.COMPLETED, answered_by=AnsweredBy.MACHINE)
    assert after_attempt(rules, 1, machine, 0.0).next_attempt_at == 7200


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


def test_an_opt_out_blocks_the_lead_whatever_the_outcome() -> None:
    opted = result(CallOutcome.COMPLETED, variables={"opted_out": "true"})
    step = after_attempt(
        RetryRules(goal_variable="confirmed"), 1, opted, 0.0, secondary_untried=True
    )
    assert (step.event, step.next_attempt_at) == (LeadEvent.BLOCK, None)


def test_a_number_a_machine_answered_waits_out_the_uk_cooldown() -> None:
    rules = RetryRules(retry_voicemail=True, retry_delay_s=600, machine_cooldown_s=86400)
    machine = result(CallOutcome.COMPLETED, answered_by=AnsweredBy.MACHINE)
    step = after_attempt(rules, 1, machine, now=100.0)
    assert (step.event, step.next_attempt_at) == (LeadEvent.RESCHEDULE, 100.0 + 86400)
    # A person's miss keeps the usual delay; the other line is still tried at once.
    assert after_attempt(rules, 1, result(CallOutcome.BUSY), 100.0).next_attempt_at == 700.0
    other_line = after_attempt(rules, 1, machine, 100.0, secondary_untried=True)
    assert (other_line.next_attempt_at, other_line.on_secondary) == (100.0, True)
