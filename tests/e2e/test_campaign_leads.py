"""Per-lead rules against SIPp: the secondary number dialled at once when the primary is not
answered, and a lead whose time zone cannot be judged marked invalid, never dialled."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from dialer.campaign.policy import RetryRules
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Attempt
from tests.e2e.campaign_run import run_campaign
from tests.e2e.peers import Sipp
from tests.e2e.sip_trace import new_invites

pytestmark = pytest.mark.e2e


def record(line: int, phone: str, secondary: str | None = None, zone: str = "UTC") -> ContactRecord:
    return ContactRecord(
        line, f"Lead {line}", phone, None, secondary_phone=secondary, timezone=zone
    )


async def test_the_secondary_is_dialled_at_once_and_a_bad_zone_is_never_dialled(
    tmp_path: Path,
) -> None:
    # campaign_mix answers by the last digit: 1 busy, 2 no answer, anything else answers.
    records = [
        record(2, "+14155550011", secondary="+14155550020"),  # busy, then answered
        record(3, "+14155550031", secondary="+14155550042"),  # busy, then no answer
        record(4, "+14155550050", secondary="+14155550060"),  # answered: no fallback
        record(5, "+14155550070", zone="Mars/Olympus_Mons"),  # cannot be judged
    ]
    # An hour between retries: only "at once" can finish this campaign within the test.
    rules = RetryRules(max_attempts=2, retry_delay_s=3600)
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        store, campaign_id, result = await run_campaign(tmp_path, sipp, records, 4, rules)
        invites = new_invites(sipp.messages())
    try:
        leads = {lead.phone: lead for lead in await store.run(lambda s: s.list_leads(campaign_id))}
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
    finally:
        store.close()

    assert result.state == "completed"
    by_lead: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_lead[attempt.lead_id].append(attempt)

    def dialled(phone: str) -> list[tuple[str, str]]:
        return [
            (a.number, str(a.result.outcome if a.result else "")) for a in by_lead[leads[phone].id]
        ]

    assert leads["+14155550011"].state == "completed"
    assert dialled("+14155550011") == [("+14155550011", "busy"), ("+14155550020", "completed")]
    assert leads["+14155550031"].state == "max_retries"  # both lines missed, 2 attempts used
    assert dialled("+14155550031") == [("+14155550031", "busy"), ("+14155550042", "no_answer")]
    assert dialled("+14155550050") == [("+14155550050", "completed")]
    assert leads["+14155550070"].state == "invalid" and dialled("+14155550070") == []
    dialled_on_sipp = sorted(invite.first_line.split("@")[0].split(":")[1] for invite in invites)
    assert dialled_on_sipp == sorted(a.number for a in attempts)
