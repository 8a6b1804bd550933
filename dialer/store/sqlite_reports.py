"""Figures the dashboards read across the SQLite store's tables: the system's health, and
what campaigns are compared by. Read-only, each one statement (one snapshot).

`ReportQueries` is mixed into `SqliteStore` and uses its connection (same threading rule).
"""

from __future__ import annotations

import sqlite3

from dialer.campaign.model import CampaignState, LeadState

# What a finished attempt came to, as the dashboards show it: human, machine (a voicemail)
# or unknown for AMD's answered calls, answered (no AMD), else the attempt's outcome.
OUTCOME_KIND = (
    "CASE WHEN outcome = 'completed' THEN coalesce(answered_by, 'answered') ELSE outcome END"
)


class ReportQueries:
    """See the module docstring. Mixed into `SqliteStore`."""

    _db: sqlite3.Connection

    def campaign_state_counts(self) -> dict[str, int]:
        """Campaigns per CampaignState, every state present (zeros included)."""
        counts = {str(state): 0 for state in CampaignState}
        rows = self._db.execute("SELECT state, count(*) FROM campaigns GROUP BY state")
        counts.update({str(row[0]): int(row[1]) for row in rows})
        return counts

    def due_lead_count(self, now: float) -> int:
        """Leads the running campaigns would dial now, as `due_leads` picks them: the queue."""
        (count,) = self._db.execute(
            "SELECT count(*) FROM leads JOIN campaigns ON campaigns.id = leads.campaign_id"
            " WHERE campaigns.state = ? AND leads.state IN (?, ?) AND leads.removed_at IS NULL"
            " AND leads.phone IS NOT NULL"
            " AND (leads.next_attempt_at IS NULL OR leads.next_attempt_at <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM attempts"
            "   WHERE attempts.lead_id = leads.id AND attempts.state = 'in_flight')",
            (CampaignState.RUNNING, LeadState.CREATED, LeadState.RESCHEDULED, now),
        ).fetchone()
        return int(count)

    def ended_call_counts(self, since: float) -> dict[str, int]:
        """Attempts of every campaign that finished at `since` or later, by outcome."""
        rows = self._db.execute(
            "SELECT outcome, count(*) FROM attempts WHERE state = 'finished'"
            " AND finished_at >= ? GROUP BY outcome",
            (since,),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def pending_webhook_count(self) -> int:
        """Deliveries in the outbox neither delivered nor given up."""
        (count,) = self._db.execute(
            "SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL AND given_up_at IS NULL"
        ).fetchone()
        return int(count)

    def mean_answered_duration(self, campaign_id: int) -> float | None:
        """The mean `duration_s` of the campaign's answered attempts (None: none has one)."""
        (mean,) = self._db.execute(
            "SELECT avg(duration_s) FROM attempts WHERE campaign_id = ? AND state = 'finished'"
            " AND outcome = 'completed' AND duration_s IS NOT NULL",
            (campaign_id,),
        ).fetchone()
        return None if mean is None else float(mean)

    def first_finish(self, campaign_id: int) -> float | None:
        """When the campaign's first attempt finished (None: none has yet)."""
        (first,) = self._db.execute(
            "SELECT min(finished_at) FROM attempts WHERE campaign_id = ? AND state = 'finished'",
            (campaign_id,),
        ).fetchone()
        return None if first is None else float(first)

    def finished_by_slot(self, campaign_id: int, slot_s: float) -> dict[int, dict[str, int]]:
        """The campaign's finished attempts counted by OUTCOME_KIND in each `slot_s`-long
        slot of time (slot n starts at n * slot_s); slots with none are left out."""
        rows = self._db.execute(
            f"SELECT CAST(finished_at / ? AS INTEGER) AS slot, {OUTCOME_KIND} AS kind, count(*)"
            " FROM attempts WHERE campaign_id = ? AND state = 'finished'"
            " GROUP BY slot, kind ORDER BY slot",
            (slot_s, campaign_id),
        )
        slots: dict[int, dict[str, int]] = {}
        for slot, kind, count in rows:
            slots.setdefault(int(slot), {})[str(kind)] = int(count)
        return slots
