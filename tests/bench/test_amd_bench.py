"""The AMD benchmark's harness: frame-by-frame runs and its metrics, on hand-built clips."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from bench import amd as bench
from bench.amd_corpus import Clip, ClipLabel, generate

FRAME = 160


@dataclass(frozen=True)
class Said:
    label: str
    at_ms: int
    reason: str


class ScriptedDetector:
    """Decides what the clip's first sample asks: 1 human after 3 frames, 2 machine after 5,
    3 unknown after 2; 0 never."""

    SCRIPT = {1: ("human", 3), 2: ("machine", 5), 3: ("unknown", 2)}

    def __init__(self) -> None:
        self.frames = 0
        self.code: int | None = None
        self.decision: Said | None = None

    def feed(self, pcm: NDArray[np.int16]) -> Said | None:
        assert pcm.size == FRAME and self.decision is None  # the harness stops at a decision
        self.frames += 1
        if self.code is None:
            self.code = int(pcm[0])
        script = self.SCRIPT.get(self.code)
        if script and self.frames == script[1]:
            self.decision = Said(script[0], self.frames * 20, f"scripted {script[0]}")
            return self.decision
        return None


@dataclass(frozen=True)
class Event:
    kind: str
    onset_ms: int
    end_ms: int


class BeepAtFrameTen:
    def __init__(self) -> None:
        self.frames = 0

    def feed(self, pcm: NDArray[np.int16]) -> Event | None:
        self.frames += 1
        return Event("beep", 150, 190) if self.frames == 10 else None


def _clip(truth: str, code: int, category: str | None = None) -> Clip:
    pcm = np.zeros(20 * FRAME + 37, np.int16)  # a ragged end: only whole frames are fed
    pcm[0] = code
    category = category or ("human_short_hello" if truth == "human" else "machine_standard")
    return Clip(pcm, ClipLabel("x.wav", truth, category, 400))


CLIPS = [
    _clip("human", 1),  # right, at 60 ms
    _clip("human", 2),  # a person called a machine, at 100 ms
    _clip("human", 3),  # unknown at 40 ms: counted as human, so right
    _clip("machine", 2),  # right, at 100 ms
    _clip("machine", 3),  # unknown: counted as human, wrong
    _clip("machine", 0, "machine_no_beep"),  # never decides: unknown, wrong
]


def test_decision_metrics_count_unknown_as_human() -> None:
    run = bench.run_detector(bench.Detector("scripted", ScriptedDetector), CLIPS)
    said = [o.said for o in run.outcomes]
    assert said == ["human", "machine", "unknown", "machine", "unknown", "unknown"]
    assert [o.decided_ms for o in run.outcomes] == [60, 100, 40, 100, 40, None]
    assert run.frames == 3 + 5 + 2 + 5 + 2 + 20  # stopped at each decision; the last ran out
    metrics = bench.decision_metrics(run.outcomes)
    assert metrics["accuracy"] == 0.5
    assert (metrics["humans_called_machine"], metrics["humans"]) == (1, 3)
    assert metrics["humans_called_machine_rate"] == 0.3333
    assert (metrics["machines_called_human"], metrics["machines_called_human_rate"]) == (2, 0.6667)
    assert (metrics["unknown"], metrics["undecided"]) == (3, 1)
    assert metrics["decision_ms"] == {"p50": 60.0, "p90": 100.0}


def test_category_metrics_split_by_category() -> None:
    run = bench.run_detector(bench.Detector("scripted", ScriptedDetector), CLIPS)
    categories = bench.category_metrics(run.outcomes)
    assert categories["human_short_hello"]["correct"] == 2
    assert categories["machine_standard"] == {
        "clips": 2,
        "correct": 1,
        "accuracy": 0.5,
        "unknown": 1,
        "decision_ms_p50": 70.0,
        "reasons": {"scripted machine": 1, "scripted unknown": 1},
    }
    assert categories["machine_no_beep"]["decision_ms_p50"] is None


def test_reasons_lose_their_numbers() -> None:
    label = CLIPS[0].label
    assert bench.reason_kind(bench.Outcome(label, "machine", 20, "MAXWORDS-3-2")) == "MAXWORDS"
    spoke = bench.Outcome(label, "human", 20, "spoke 280 ms, then waited 800 ms")
    assert bench.reason_kind(spoke) == "spoke # ms, then waited # ms"


def test_beep_events_are_timed_by_the_frame_that_returned_them() -> None:
    detector = bench.Detector("scripted", ScriptedDetector, BeepAtFrameTen)
    run = bench.run_detector(detector, CLIPS[:1])
    assert run.beeps is not None
    ((_, events),) = run.beeps
    assert events == [bench.HeardEvent("beep", 150, 190, 200)]
    assert run.beep_frames == 20  # the whole clip, past the AMD decision


def _heard(kind: str, onset: int, emitted: int) -> bench.HeardEvent:
    return bench.HeardEvent(kind, onset, onset + 100, emitted)


def test_beep_metrics() -> None:
    beep_a = ClipLabel("a", "machine", "machine_standard", 9000, beep_ms=1000, beep_end_ms=1500)
    beep_b = ClipLabel("b", "machine", "machine_standard", 9000, beep_ms=2000, beep_end_ms=2500)
    person = ClipLabel("c", "human", "human_short_hello", 9000)
    quiet_d = ClipLabel("d", "machine", "machine_no_beep", 9000, greeting_end_ms=3000)
    quiet_e = ClipLabel("e", "machine", "machine_no_beep", 9000, greeting_end_ms=5000)
    metrics = bench.beep_metrics(
        [
            (beep_a, [_heard("beep", 1200, 1600)]),  # found: 200 ms off, reported 100 ms late
            (beep_b, [_heard("beep", 1500, 1700)]),  # 500 ms early: not found, early
            (person, [_heard("beep", 800, 1000)]),  # a false beep
            (quiet_d, [_heard("greeting_end", 3100, 4300)]),  # found, 1.3 s after the end
            (quiet_e, [_heard("greeting_end", 2000, 3200)]),  # premature: not found
        ]
    )
    assert (metrics["clips_with_beep"], metrics["beeps_found"], metrics["early_beeps"]) == (2, 1, 1)
    assert metrics["reported_after_beep_end_ms"]["p50"] == 100.0
    assert (metrics["false_beeps"], metrics["clips_without_beep"]) == (1, 3)
    assert (metrics["machines_without_beep"], metrics["greeting_ends_found"]) == (2, 1)
    assert metrics["greeting_end_reported_after_ms"]["p50"] == 1300.0
    assert metrics["premature_greeting_ends"] == 1


def test_ours_is_run_as_a_call_runs_it() -> None:
    ours = {d.name: d for d in bench.detectors()}["ours"]
    clip = next(iter(generate(1, seed=4)))
    run = bench.run_detector(ours, [clip])
    (outcome,) = run.outcomes
    assert outcome.said in {"human", "machine"} and outcome.decided_ms is not None
    assert run.frames == outcome.decided_ms // 20 and run.beeps is not None


def test_the_benchmark_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--count", "2", "--seed", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["corpus"]["clips"] == 2
    asterisk = report["detectors"]["asterisk"]
    assert asterisk["clips"] == 2 and asterisk["us_per_frame"] > 0
    assert set(report["detectors"]) == {"asterisk", "ours"}
    assert report["detectors"]["ours"]["beep"]["us_per_frame"] > 0
    text = bench.format_report(report)
    assert "asterisk" in text and "ours" in text
