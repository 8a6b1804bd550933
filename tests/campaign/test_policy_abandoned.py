"""Abandoned calls: final by default; re-queued on request, not within the cooldown unless
an agent is guaranteed (progressive)."""

from __future__ import annotations

from dataclasses import replace

from dialer.campaign.model import AnsweredBy, AttemptOutcome, CallOutcome, LeadEvent
from dialer.campaign.policy import RetryRules, after_attempt
from dialer.campaign.settings import CampaignSettings

NOW = 1_000_000.0
ABANDONED_CALL = AttemptOutcome(
    outcome=CallOutcome.COMPLETED,
    sip_code=200,
    reason="abandoned: no agent free in time",
    answered_by=AnsweredBy.HUMAN,
    variables={"DialCallStatus": "abandoned"},
    duration_s=12.0,
)


def test_an_abandoned_call_is_final_unless_the_rules_requeue_it() -> None:
    step = after_attempt(RetryRules(), 1, ABANDONED_CALL, NOW)
    assert step.event is LeadEvent.COMPLETE and "abandoned" in step.reason


def test_a_requeued_abandon_waits_out_the_cooldown() -> None:
    rules = RetryRules(retry_abandoned=True, retry_delay_s=600)
    step = after_attempt(rules, 1, ABANDONED_CALL, NOW, secondary_untried=True)
    assert step.event is LeadEvent.RESCHEDULE and not step.on_secondary
    assert step.next_attempt_at == NOW + 72 * 3600


def test_with_an_agent_guaranteed_the_recall_takes_the_ordinary_delay() -> None:
    rules = RetryRules(
        retry_abandoned=True, agent_guaranteed=True, delay_by_outcome={"abandoned": 900}
    )
    step = after_attempt(rules, 1, ABANDONED_CALL, NOW)
    assert step.next_attempt_at == NOW + 900


def test_requeued_abandons_still_count_towards_max_attempts() -> None:
    rules = RetryRules(retry_abandoned=True, max_attempts=2)
    assert after_attempt(rules, 2, ABANDONED_CALL, NOW).event is LeadEvent.EXHAUST


def test_a_bridged_call_is_reached_as_before() -> None:
    bridged = replace(ABANDONED_CALL, variables={"DialCallStatus": "completed"})
    assert (
        after_attempt(RetryRules(retry_abandoned=True), 1, bridged, NOW).event is LeadEvent.COMPLETE
    )


def test_settings_keep_the_rule_and_progressive_guarantees_the_agent() -> None:
    settings = CampaignSettings(
        retry=RetryRules(retry_abandoned=True, abandoned_cooldown_s=3600.0), mode="progressive"
    )
    again = CampaignSettings.from_dict(settings.to_dict())
    assert again.retry.retry_abandoned and again.retry.abandoned_cooldown_s == 3600.0
    assert again.rules().agent_guaranteed
    assert not CampaignSettings(mode="predictive").rules().agent_guaranteed
