"""The progress line a manager watches."""

from __future__ import annotations

from dialer.campaign.progress import Progress

NOW = 1_800_000_000.0


def test_progress_from_counts() -> None:
    counts = {
        "created": 50,
        "processing": 5,
        "completed": 30,
        "max_retries": 10,
        "do_not_call": 5,
        "in_flight": 5,
        "called": 47,
    }
    progress = Progress.of(counts, next_call_at=NOW - 3)
    assert (progress.total, progress.final, progress.remaining) == (100, 45, 55)
    assert progress.called == 47
    assert round(progress.success_rate, 3) == round(30 / 45, 3)
    assert progress.eta_s(finals_per_s=11.0) == 5.0
    assert progress.eta_s(finals_per_s=0.0) is None
    line = progress.line("running", 11.0, now=NOW)
    assert line.startswith("[##############................]  45% running")
    assert "called 47" in line and "remaining 55" in line and "in progress 5" in line
    assert "next call now" in line and "eta 0:00:05" in line


def test_next_call_time_when_every_lead_waits() -> None:
    progress = Progress.of({"rescheduled": 3}, next_call_at=NOW + 3600)
    assert progress.next_call(NOW) == "2027-01-15T09:00:00Z"
    assert progress.to_dict(NOW)["next_call"] == "2027-01-15T09:00:00Z"
    assert Progress.of({"completed": 1}).next_call(NOW) == "-"


def test_an_empty_or_finished_campaign() -> None:
    assert Progress.of({}).line("draft", 0.0, now=NOW).startswith("[" + "#" * 30 + "] 100%")
    done = Progress.of({"completed": 3})
    assert done.eta_s(0.0) == 0.0 and done.success_rate == 1.0
