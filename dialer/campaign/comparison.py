"""One campaign's figures as campaigns are compared side by side, from the store's counts.

Attempts are the finished ones in the ledger (every run of a recurring campaign), by
what they came to (`outcome_counts`' names). "Reached" is an answered call no machine
took: a person by AMD, AMD unsure, or answered with AMD off (nobody asked); rates of
outcomes are over attempts; the success rate is the leads' (goal reached, of those
final), as on the campaign's page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer.campaign.progress import Progress

_ANSWERED = ("human", "machine", "unknown", "answered")


@dataclass(frozen=True)
class CampaignFigures:
    leads: int
    attempts: int
    answered: int
    human: int
    voicemail: int  # answered by a machine
    no_answer: int
    busy: int
    rejected: int
    failed: int
    cancelled: int
    success_rate: float
    mean_answered_s: float | None  # None: no answered call with a duration

    @classmethod
    def of(
        cls, progress: Progress, outcomes: Mapping[str, int], mean_answered_s: float | None
    ) -> CampaignFigures:
        return cls(
            leads=progress.total,
            attempts=sum(outcomes.values()),
            answered=sum(outcomes.get(kind, 0) for kind in _ANSWERED),
            human=outcomes.get("human", 0),
            voicemail=outcomes.get("machine", 0),
            no_answer=outcomes.get("no_answer", 0),
            busy=outcomes.get("busy", 0),
            rejected=outcomes.get("rejected", 0),
            failed=outcomes.get("failed", 0),
            cancelled=outcomes.get("cancelled", 0),
            success_rate=progress.success_rate,
            mean_answered_s=mean_answered_s,
        )

    @property
    def reached(self) -> int:
        return self.answered - self.voicemail

    def share(self, count: int) -> float:
        """`count` of the attempts, rounded as the API's rates are."""
        return round(count / self.attempts, 4) if self.attempts else 0.0

    def to_dict(self) -> dict[str, Any]:
        mean = self.mean_answered_s
        return {
            "leads": self.leads,
            "attempts": self.attempts,
            "attempts_per_lead": round(self.attempts / self.leads, 2) if self.leads else 0.0,
            "answered": self.answered,
            "reached": self.reached,
            "reached_rate": self.share(self.reached),
            "human": self.human,
            "voicemail": self.voicemail,
            "voicemail_rate": self.share(self.voicemail),
            "no_answer": self.no_answer,
            "no_answer_rate": self.share(self.no_answer),
            "busy": self.busy,
            "busy_rate": self.share(self.busy),
            "rejected": self.rejected,
            "failed": self.failed,
            "failed_rate": self.share(self.failed + self.rejected),
            "cancelled": self.cancelled,
            "success_rate": round(self.success_rate, 4),
            "mean_answered_s": None if mean is None else round(mean, 1),
        }
