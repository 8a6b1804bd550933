"""The store's side of campaign life: editing rules, runs (scheduled and recurring),
when the next call is due, and the secondary number's turn."""

from __future__ import annotations

import pytest

from dialer.campaign.model import (
    AttemptOutcome,
    CallOutcome,
    CampaignEvent,
    LeadEvent,
    LeadState,
    NotEditable,
)
from dialer.campaign.policy import RetryRules
from dialer.contacts.record import ContactRecord
from dialer.store.repository import INTERRUPTED_REASON
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
ADA, BOB, CAROL = "+14155550100", "+14155550101", "+14155550102"
ADA_MOBILE = "+14155550199"
NO_ANSWER = AttemptOutcome(CallOutcome.NO_ANSWER, 480, "no answer")
ANSWERED = AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished")


@pytest.fixture
def campaign(store: SqliteStore) -> int:
    campaign_id = store.create_campaign("spring", now=T0, settings={"max_concurrent": 2})
    records = [
        ContactRecord(2, "Ada", ADA, None, secondary_phone=ADA_MOBILE),
        ContactRecord(3, "Bob", BOB, None),
        ContactRecord(4, "Carol", CAROL, None),
    ]
    store.import_contacts(campaign_id, records, now=T0)
    return campaign_id


def lead_by_phone(store: SqliteStore, campaign: int, phone: str) -> int:
    return next(lead.id for lead in store.list_leads(campaign) if lead.phone == phone)


def test_a_draft_is_fully_editable(store: SqliteStore, campaign: int) -> None:
    edited = store.update_campaign(
        campaign, now=T0 + 1, name="summer", description="d", settings={"max_concurrent": 5}
    )
    assert (edited.name, edited.description, edited.settings) == (
        "summer",
        "d",
        {"max_concurrent": 5},
    )
    assert edited.updated_at == T0 + 1


def test_a_running_campaign_only_changes_its_name_and_description(
    store: SqliteStore, campaign: int
) -> None:
    store.set_campaign_state(campaign, CampaignEvent.START, now=T0)
    with pytest.raises(NotEditable, match="running campaign cannot change its settings"):
        store.update_campaign(campaign, now=T0 + 1, name="x", settings={"max_concurrent": 9})
    unchanged = store.get_campaign(campaign)
    assert (unchanged.name, unchanged.settings) == ("spring", {"max_concurrent": 2})  # nothing
    # The same settings sent back are not a change: a client may echo the whole campaign.
    renamed = store.update_campaign(
        campaign, now=T0 + 2, name="renamed", settings={"max_concurrent": 2}
    )
    assert renamed.name == "renamed" and renamed.settings == {"max_concurrent": 2}


def test_schedule_then_start_counts_runs(store: SqliteStore, campaign: int) -> None:
    with pytest.raises(ValueError, match="next_run_at"):
        store.set_campaign_state(campaign, CampaignEvent.SCHEDULE, now=T0)
    scheduled = store.set_campaign_state(
        campaign, CampaignEvent.SCHEDULE, now=T0, next_run_at=T0 + 3600
    )
    assert (scheduled.state, scheduled.next_run_at, scheduled.runs) == ("scheduled", T0 + 3600, 0)
    running = store.set_campaign_state(campaign, CampaignEvent.START, now=T0 + 3600)
    assert (running.state, running.next_run_at, running.runs) == ("running", None, 1)


def test_the_next_run_of_a_recurring_campaign_starts_its_leads_over(
    store: SqliteStore, campaign: int
) -> None:
    store.set_campaign_state(campaign, CampaignEvent.START, now=T0)
    ada, bob, carol = (lead_by_phone(store, campaign, phone) for phone in (ADA, BOB, CAROL))
    first = store.begin_attempt(ada, ADA, T0)
    store.finish_attempt(first, ANSWERED, T0 + 10, then=LeadEvent.COMPLETE)
    second = store.begin_attempt(bob, BOB, T0)
    store.finish_attempt(second, NO_ANSWER, T0 + 10, then=LeadEvent.EXHAUST)
    store.add_dnc(CAROL, now=T0)
    carol_lead = store.due_leads(campaign, T0 + 20, 10)[0]
    store.block_lead(carol_lead.id, now=T0 + 20)
    store.set_campaign_state(campaign, CampaignEvent.SCHEDULE, now=T0 + 30, next_run_at=T0 + 86400)

    store.set_campaign_state(campaign, CampaignEvent.START, now=T0 + 86400)

    leads = {lead.id: lead for lead in store.list_leads(campaign)}
    assert (leads[ada].state, leads[ada].attempts) == (LeadState.CREATED, 0)
    assert (leads[bob].state, leads[bob].attempts) == (LeadState.CREATED, 0)
    assert leads[carol].state is LeadState.DO_NOT_CALL  # a do-not-call stays so
    assert store.get_campaign(campaign).runs == 2
    assert len(store.list_attempts(campaign)) == 2  # the ledger keeps the first run
    assert store.campaign_counts(campaign)["called"] == 0


def test_next_due_at_is_the_earliest_open_lead(store: SqliteStore, campaign: int) -> None:
    assert store.next_due_at(campaign) == T0  # created leads are due since their import
    for lead in store.list_leads(campaign):
        store.defer_lead(lead.id, T0 + 100 + lead.id, now=T0)
    first = min(lead.id for lead in store.list_leads(campaign))
    assert store.next_due_at(campaign) == T0 + 100 + first
    for lead in store.list_leads(campaign):
        store.mark_completed(lead.id, now=T0)
    assert store.next_due_at(campaign) is None


def test_the_secondary_numbers_turn_is_kept_with_the_lead(
    store: SqliteStore, campaign: int
) -> None:
    ada = lead_by_phone(store, campaign, ADA)
    assert store.get_lead(ada).next_number == ADA
    attempt = store.begin_attempt(ada, ADA, T0)
    store.finish_attempt(
        attempt,
        NO_ANSWER,
        T0 + 5,
        then=LeadEvent.RESCHEDULE,
        next_attempt_at=T0 + 5,
        on_secondary=True,
    )
    assert store.get_lead(ada).next_number == ADA_MOBILE
    store.finish_attempt(  # written once: a second report changes nothing
        attempt, ANSWERED, T0 + 6, then=LeadEvent.COMPLETE
    )
    assert store.get_lead(ada).next_number == ADA_MOBILE
    again = store.begin_attempt(ada, ADA_MOBILE, T0 + 5)
    store.finish_attempt(again, ANSWERED, T0 + 9, then=LeadEvent.COMPLETE)
    assert store.get_lead(ada).next_number == ADA
    store.reset_lead(ada, now=T0 + 10)
    assert store.get_lead(ada).next_on_secondary is False


def test_an_interrupted_call_to_the_primary_falls_back_to_the_secondary(
    store: SqliteStore, campaign: int
) -> None:
    ada, bob = lead_by_phone(store, campaign, ADA), lead_by_phone(store, campaign, BOB)
    store.begin_attempt(ada, ADA, T0)
    store.begin_attempt(bob, BOB, T0)
    # Only busy is retried by this campaign, yet an interrupted call is always retried.
    rules = RetryRules(max_attempts=2, retry_delay_s=60, retry_outcomes=frozenset({"busy"}))
    report = store.reconcile_in_flight(rules, T0 + 100, campaign_id=campaign)
    assert (report.interrupted, report.rescheduled, report.exhausted) == (2, 2, 0)
    ada_lead, bob_lead = store.get_lead(ada), store.get_lead(bob)
    assert (ada_lead.next_number, ada_lead.next_attempt_at) == (ADA_MOBILE, T0 + 100)
    assert (bob_lead.next_number, bob_lead.next_attempt_at) == (BOB, T0 + 160)
    assert all(
        a.result and a.result.reason == INTERRUPTED_REASON for a in store.list_attempts(campaign)
    )
