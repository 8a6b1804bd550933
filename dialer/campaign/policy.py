"""What happens to a lead after an attempt: pure decisions, (rules, facts, now) -> next step.

A lead ends `completed` when the call reached its goal: answered, or, with a
goal variable ("retry until goal"), answered *and* the flow set the variable
to the goal value. A retryable outcome is rescheduled after its delay until
`max_attempts` is used up (`max_retries`). Outcomes that no retry would change
(rejected, and anything not in `retry_outcomes`) end the lead as completed with
that outcome recorded; the attempt ledger keeps what happened. A lead with a
secondary number has it dialled at once when the primary was not answered.
A callee who pressed the opt-out key is never called again (do_not_call).

An abandoned call (a person answered, no agent was free in time, the
safe-harbor message played) is final unless the rules re-queue it
(`retry_abandoned`, the retry key "abandoned"); then, unless an agent is
guaranteed to be there (progressive dialing), not within `abandoned_cooldown_s`
(72 h by default: the person was called once already for nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dialer.campaign.model import AnsweredBy, AttemptOutcome, CallOutcome, LeadEvent
from dialer.flow.interpreter import ABANDONED as ABANDONED  # also a retry key

VOICEMAIL = "voicemail"  # a retry key: answered, but by a machine
DIAL_STATUS = "DialCallStatus"  # the flow variable a hand-off to agents sets
OPTED_OUT = "opted_out"  # the flow variable set when the callee pressed the opt-out key
DEFAULT_RETRY_OUTCOMES = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED})


class RulesError(ValueError):
    """Retry rules that cannot work (named field, reason)."""


@dataclass(frozen=True)
class RetryRules:
    max_attempts: int = 3
    retry_delay_s: float = 3600.0
    delay_by_outcome: Mapping[str, float] = field(default_factory=dict)  # e.g. {"busy": 600}
    retry_outcomes: frozenset[str] = DEFAULT_RETRY_OUTCOMES
    retry_voicemail: bool = False  # an answer by a machine counts as not reached
    machine_cooldown_s: float = 0.0  # a number a machine answered waits this long (UK: 24 h)
    goal_variable: str | None = None  # e.g. "confirmed": completed only when set to goal_value
    goal_value: str = "true"
    retry_abandoned: bool = False  # re-queue people no agent took in time
    abandoned_cooldown_s: float = 72 * 3600.0  # ... but not sooner than this
    agent_guaranteed: bool = False  # progressive: the recall has its agent, no cooldown

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise RulesError("max_attempts must be at least 1")
        if (
            self.retry_delay_s < 0
            or self.machine_cooldown_s < 0
            or self.abandoned_cooldown_s < 0
            or any(d < 0 for d in self.delay_by_outcome.values())
        ):
            raise RulesError("retry delays cannot be negative")
        known = {o.value for o in CallOutcome}
        unknown = (set(self.retry_outcomes) - known) | (
            set(self.delay_by_outcome) - known - {VOICEMAIL, ABANDONED}
        )
        if unknown:
            raise RulesError(f"unknown outcomes {sorted(unknown)}; known: {sorted(known)}")

    def delay_for(self, outcome: str) -> float:
        return self.delay_by_outcome.get(outcome, self.retry_delay_s)


@dataclass(frozen=True)
class NextStep:
    event: LeadEvent  # complete, reschedule or exhaust
    next_attempt_at: float | None
    reason: str
    on_secondary: bool = False  # the next attempt dials the lead's secondary number


def after_attempt(
    rules: RetryRules,
    attempts_made: int,
    result: AttemptOutcome,
    now: float,
    *,
    secondary_untried: bool = False,
) -> NextStep:
    """The lead's next step once attempt number `attempts_made` (1-based) ended with `result`.

    `secondary_untried`: this attempt dialled the primary number and the lead has a
    secondary one. When nobody answered (or a machine did, with voicemail retried), the
    secondary is dialled next, at once: it is another line, not the same one busy
    again. Every call counts towards `max_attempts`, on either number.
    """
    if result.variables.get(OPTED_OUT) == "true":
        return NextStep(LeadEvent.BLOCK, None, "the callee opted out")
    outcome = str(result.outcome)
    machine = rules.retry_voicemail and result.answered_by == AnsweredBy.MACHINE
    answered = outcome == CallOutcome.COMPLETED
    if answered and result.variables.get(DIAL_STATUS) == ABANDONED:
        return _after_abandoned(rules, attempts_made, now)
    reached = answered and not machine
    if reached:
        if rules.goal_variable is None:
            return NextStep(LeadEvent.COMPLETE, None, "reached")
        if result.variables.get(rules.goal_variable) == rules.goal_value:
            return NextStep(LeadEvent.COMPLETE, None, f"goal {rules.goal_variable} reached")
        retry_key = outcome  # answered without the goal: try again like any miss
    elif outcome == CallOutcome.COMPLETED:
        retry_key = VOICEMAIL
    else:
        retry_key = outcome
    if secondary_untried and not reached and attempts_made < rules.max_attempts:
        return NextStep(
            LeadEvent.RESCHEDULE, now, f"{retry_key} on the primary: trying the secondary", True
        )
    retryable = (
        retry_key in rules.retry_outcomes
        or retry_key == VOICEMAIL
        or (retry_key == CallOutcome.COMPLETED and rules.goal_variable is not None)
    )
    if not retryable:
        return NextStep(LeadEvent.COMPLETE, None, f"final outcome {outcome}")
    if attempts_made >= rules.max_attempts:
        return NextStep(LeadEvent.EXHAUST, None, f"{retry_key} after {attempts_made} attempts")
    delay = rules.delay_for(retry_key)
    if result.answered_by == AnsweredBy.MACHINE and rules.machine_cooldown_s > delay:
        # Ofcom: a number where AMD heard a machine is not called again within 24 hours
        # unless an agent is sure to be there. No agent is guaranteed here: wait it out.
        delay = rules.machine_cooldown_s
    return NextStep(LeadEvent.RESCHEDULE, now + delay, f"{retry_key}: retry in {delay:g}s")


def _after_abandoned(rules: RetryRules, attempts_made: int, now: float) -> NextStep:
    if not rules.retry_abandoned:
        return NextStep(LeadEvent.COMPLETE, None, "abandoned: no agent free in time")
    if attempts_made >= rules.max_attempts:
        return NextStep(LeadEvent.EXHAUST, None, f"abandoned after {attempts_made} attempts")
    delay = rules.delay_for(ABANDONED)
    if not rules.agent_guaranteed:
        delay = max(delay, rules.abandoned_cooldown_s)
    return NextStep(LeadEvent.RESCHEDULE, now + delay, f"abandoned: recall in {delay:g}s")
