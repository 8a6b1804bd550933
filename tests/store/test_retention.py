"""Data retention on a real store: who is purged when, what goes, what stays, and the audit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dialer.campaign.export import export_attempts_csv, export_leads_csv
from dialer.campaign.model import AttemptOutcome, CallOutcome, CampaignEvent, LeadEvent
from dialer.config import RetentionSettings
from dialer.contacts.record import ContactRecord
from dialer.retention import DAY_S, purge_expired_contacts
from dialer.store.repository import CampaignBusy
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker

T0 = 1_800_000_000.0
JANE = ContactRecord(2, "Jane Doe", "+14155550100", "jane@example.com",
                     attributes={"plan": "gold"})  # fmt: skip


def campaign_with_a_call(store: SqliteStore, name: str, *, final: bool) -> int:
    campaign = store.create_campaign(name, now=T0)
    store.import_contacts(campaign, [JANE], now=T0)
    store.set_campaign_state(campaign, CampaignEvent.START, now=T0)
    (lead,) = store.list_leads(campaign)
    attempt = store.begin_attempt(lead.id, "+14155550100", T0)
    outcome = AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished", duration_s=4.0)
    store.finish_attempt(attempt, outcome, T0 + 5, then=LeadEvent.COMPLETE)
    if final:
        store.set_campaign_state(campaign, CampaignEvent.STOP, now=T0 + 10)
    return campaign


async def test_an_ended_campaign_loses_its_contact_data_after_its_days_and_says_so(
    tmp_path: Path,
) -> None:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    ended = await store.run(lambda s: campaign_with_a_call(s, "ended", final=True))
    running = await store.run(lambda s: campaign_with_a_call(s, "running", final=False))
    await store.run(lambda s: s.add_dnc("+14155550100", now=T0, source="callee asked"))
    thirty = RetentionSettings(contact_days=30)
    assert await purge_expired_contacts(store, thirty, T0 + 29 * DAY_S) == []  # not yet
    assert await purge_expired_contacts(store, RetentionSettings(), T0 + 999 * DAY_S) == []
    assert await purge_expired_contacts(store, thirty, T0 + 31 * DAY_S) == [ended]  # not running
    assert await purge_expired_contacts(store, thirty, T0 + 32 * DAY_S) == []  # once
    (lead,) = await store.run(lambda s: s.list_leads(ended))
    assert (lead.name, lead.phone, lead.email, dict(lead.attributes)) == ("", None, None, {})
    (attempt,) = await store.run(lambda s: s.list_attempts(ended))
    assert attempt.number == "+1415" and attempt.result is not None
    assert attempt.result.outcome is CallOutcome.COMPLETED  # results stay
    leads_csv, attempts_csv = io.StringIO(), io.StringIO()
    await store.run(lambda s: export_leads_csv(s, ended, leads_csv))
    await store.run(lambda s: export_attempts_csv(s, ended, attempts_csv))
    for text in (leads_csv.getvalue(), attempts_csv.getvalue()):
        assert "Jane" not in text and "5550100" not in text and "gold" not in text
    assert await store.run(lambda s: s.dnc_contains("+14155550100"))  # an opt-out is kept
    (kept,) = await store.run(lambda s: s.list_leads(running))
    assert kept.name == "Jane Doe"
    (entry,) = await store.run(lambda s: s.list_audit(action="campaign.purge_contacts"))
    assert (entry.actor, entry.target, entry.after) == (
        "retention", f"campaign:{ended}", {"leads": 1, "contact_days": 30}
    )  # fmt: skip
    with pytest.raises(CampaignBusy):
        await store.run(lambda s: s.purge_contact_data(running, now=T0))
    store.close()
