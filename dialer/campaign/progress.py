"""A campaign's progress as a manager reads it: one line, from the store's counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer.campaign.export import iso_utc

BAR_WIDTH = 30
_OPEN = ("created", "scheduled", "processing", "rescheduled")
_FAILED = ("max_retries", "invalid", "do_not_call")


@dataclass(frozen=True)
class Progress:
    total: int
    called: int  # leads dialled at least once (this run)
    completed: int
    failed: int  # out of attempts, invalid or do-not-call: final without reaching anyone
    remaining: int
    in_progress: int
    next_call_at: float | None = None  # when the next lead comes due (None: none left)

    @classmethod
    def of(cls, counts: Mapping[str, int], next_call_at: float | None = None) -> Progress:
        completed = counts.get("completed", 0)
        failed = sum(counts.get(state, 0) for state in _FAILED)
        remaining = sum(counts.get(state, 0) for state in _OPEN)
        return cls(
            total=completed + failed + remaining,
            called=counts.get("called", 0),
            completed=completed,
            failed=failed,
            remaining=remaining,
            in_progress=counts.get("in_flight", 0),
            next_call_at=next_call_at,
        )

    @property
    def final(self) -> int:
        return self.completed + self.failed

    @property
    def success_rate(self) -> float:
        return self.completed / self.final if self.final else 0.0

    def eta_s(self, finals_per_s: float) -> float | None:
        if self.remaining == 0:
            return 0.0
        return self.remaining / finals_per_s if finals_per_s > 0 else None

    def next_call(self, now: float) -> str:
        if self.next_call_at is None:
            return "-"
        if self.next_call_at <= now:
            return "now"
        return iso_utc(self.next_call_at) or "-"

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "total": self.total,
            "called": self.called,
            "completed": self.completed,
            "failed": self.failed,
            "remaining": self.remaining,
            "in_progress": self.in_progress,
            "success_rate": round(self.success_rate, 4),
            "next_call": self.next_call(now),
        }

    def line(self, state: str, finals_per_s: float, *, now: float) -> str:
        done = self.final / self.total if self.total else 1.0
        filled = round(done * BAR_WIDTH)
        eta = self.eta_s(finals_per_s)
        eta_text = "--" if eta is None else _duration(eta)
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:4.0%} {state}"
            f"  total {self.total}  called {self.called}  completed {self.completed}"
            f"  failed {self.failed}  remaining {self.remaining}"
            f"  success {self.success_rate:.0%}  in progress {self.in_progress}"
            f"  next call {self.next_call(now)}  eta {eta_text}"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
