"""A campaign's progress as a manager reads it: one line, from the store's counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BAR_WIDTH = 30


@dataclass(frozen=True)
class Progress:
    total: int
    completed: int
    failed: int  # out of attempts, invalid or do-not-call: final without reaching anyone
    remaining: int
    in_progress: int

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> Progress:
        completed = counts.get("completed", 0)
        failed = sum(counts.get(state, 0) for state in ("max_retries", "invalid", "do_not_call"))
        remaining = sum(
            counts.get(state, 0) for state in ("created", "scheduled", "processing", "rescheduled")
        )
        return cls(
            completed + failed + remaining, completed, failed, remaining, counts.get("in_flight", 0)
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

    def line(self, state: str, finals_per_s: float) -> str:
        done = self.final / self.total if self.total else 1.0
        filled = round(done * BAR_WIDTH)
        eta = self.eta_s(finals_per_s)
        eta_text = "--" if eta is None else _duration(eta)
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:4.0%} {state}"
            f"  total {self.total}  called {self.final}  completed {self.completed}"
            f"  failed {self.failed}  remaining {self.remaining}"
            f"  success {self.success_rate:.0%}  in progress {self.in_progress}  eta {eta_text}"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
