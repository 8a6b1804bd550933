"""Benchmark: answering-machine detection on the generated corpus, ours against Asterisk's AMD().

    .venv/bin/python bench/amd.py [--count N] [--seed S] [--json]

Generates the corpus (`bench.amd_corpus`, in memory) and feeds every clip, 20 ms frame by
20 ms frame in order, to each detector until it decides: Asterisk's AMD() with its
defaults (`bench/asterisk_amd.py`) and ours as a live call runs it
(`media.answering.AnswerAnalysis`: the classifier with the beep detector, a beep before
the verdict making a machine), with `media.beep.BeepDetector` alone fed the whole clip
for the beep figures. A detector's `unknown` counts as the campaign's default, human, and
is reported too. Per detector: accuracy, humans called machine (over humans), machines
called human (over machines), when it decided (ms of audio, the frame whose `feed`
returned the decision), per category, and µs per frame. For the beep detector: beeps
found within ±250 ms of the labelled onset, beeps reported where there is none, beeps
reported before the labelled one (we would speak over the greeting), and greeting ends
found on machines without a beep.

Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.amd_corpus import CATEGORIES, Clip, ClipLabel, generate
from bench.amd_corpus.labels import HUMAN, MACHINE
from bench.asterisk_amd import AsteriskAmd
from media.amd import AmdDecision
from media.answering import AnswerAnalysis
from media.beep import BeepDetector

FRAME: Final = 160
FRAME_MS: Final = 20
UNKNOWN: Final = "unknown"
DEFAULT_LABEL: Final = HUMAN  # what a campaign does with "unknown": treat it as a person
BEEP_TOLERANCE_MS: Final = 250
GREETING_END_TOLERANCE_MS: Final = 500


class Decision(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def at_ms(self) -> int: ...
    @property
    def reason(self) -> str: ...


class StreamingDetector(Protocol):
    def feed(self, pcm: NDArray[np.int16]) -> Decision | None: ...


class BeepEventLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def onset_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...


class StreamingBeepDetector(Protocol):
    def feed(self, pcm: NDArray[np.int16]) -> BeepEventLike | None: ...


@dataclass(frozen=True)
class Detector:
    name: str
    make: Callable[[], StreamingDetector]
    make_beep: Callable[[], StreamingBeepDetector] | None = None
    source: str = ""


@dataclass(frozen=True)
class Outcome:
    """What one detector said about one clip."""

    label: ClipLabel
    said: str  # human, machine or unknown (also when it never decided)
    decided_ms: int | None  # audio time when feed returned the decision; None: never
    reason: str

    @property
    def effective(self) -> str:
        return DEFAULT_LABEL if self.said == UNKNOWN else self.said

    @property
    def correct(self) -> bool:
        return self.effective == self.label.label


@dataclass(frozen=True)
class HeardEvent:
    kind: str  # "beep" or "greeting_end"
    onset_ms: int
    end_ms: int
    emitted_ms: int  # audio time when feed returned it


@dataclass
class Run:
    """One detector over the corpus."""

    detector: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0  # inside feed
    frames: int = 0
    beeps: list[tuple[ClipLabel, list[HeardEvent]]] | None = None
    beep_seconds: float = 0.0
    beep_frames: int = 0


def frames_of(pcm: NDArray[np.int16]) -> list[NDArray[np.int16]]:
    """The clip's whole 20 ms frames, in order."""
    return [pcm[start : start + FRAME] for start in range(0, pcm.size - FRAME + 1, FRAME)]


def run_detector(detector: Detector, clips: Sequence[Clip]) -> Run:
    run = Run(detector.name, beeps=[] if detector.make_beep else None)
    clock = time.perf_counter
    for clip in clips:
        frames = frames_of(clip.pcm)
        amd = detector.make()
        decision, fed = None, 0
        started = clock()
        for frame in frames:
            fed += 1
            decision = amd.feed(frame)
            if decision is not None:
                break
        run.seconds += clock() - started
        run.frames += fed
        if decision is None:
            run.outcomes.append(Outcome(clip.label, UNKNOWN, None, "no decision in the clip"))
        else:
            run.outcomes.append(
                Outcome(clip.label, decision.label, fed * FRAME_MS, decision.reason)
            )
        if detector.make_beep is not None and run.beeps is not None:
            events, seconds = _listen_for_beeps(detector.make_beep(), frames)
            run.beeps.append((clip.label, events))
            run.beep_seconds += seconds
            run.beep_frames += len(frames)
    return run


def _listen_for_beeps(
    beeps: StreamingBeepDetector, frames: list[NDArray[np.int16]]
) -> tuple[list[HeardEvent], float]:
    events: list[HeardEvent] = []
    clock = time.perf_counter
    started = clock()
    for number, frame in enumerate(frames, 1):
        event = beeps.feed(frame)
        if event is not None:
            emitted = number * FRAME_MS
            events.append(HeardEvent(str(event.kind), event.onset_ms, event.end_ms, emitted))
    return events, clock() - started


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentiles(values: list[int]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None}
    ordered = np.asarray(sorted(values), dtype=np.float64)
    return {
        "p50": round(float(np.percentile(ordered, 50)), 1),
        "p90": round(float(np.percentile(ordered, 90)), 1),
    }


def decision_metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy and the two errors, unknowns counted as DEFAULT_LABEL, and decision times."""
    humans = [o for o in outcomes if o.label.label == HUMAN]
    machines = [o for o in outcomes if o.label.label == MACHINE]
    called_machine = sum(o.effective == MACHINE for o in humans)
    called_human = sum(o.effective == HUMAN for o in machines)
    decided = [o.decided_ms for o in outcomes if o.decided_ms is not None]
    return {
        "clips": len(outcomes),
        "correct": sum(o.correct for o in outcomes),
        "accuracy": _rate(sum(o.correct for o in outcomes), len(outcomes)),
        "humans": len(humans),
        "humans_called_machine": called_machine,
        "humans_called_machine_rate": _rate(called_machine, len(humans)),
        "machines": len(machines),
        "machines_called_human": called_human,
        "machines_called_human_rate": _rate(called_human, len(machines)),
        "unknown": sum(o.said == UNKNOWN for o in outcomes),
        "undecided": sum(o.decided_ms is None for o in outcomes),
        "decision_ms": _percentiles(decided),
    }


def category_metrics(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        mine = [o for o in outcomes if o.label.category == category.name]
        if not mine:
            continue
        decided = [o.decided_ms for o in mine if o.decided_ms is not None]
        reasons: dict[str, int] = {}
        for o in mine:
            reasons[reason_kind(o)] = reasons.get(reason_kind(o), 0) + 1
        out[category.name] = {
            "clips": len(mine),
            "correct": sum(o.correct for o in mine),
            "accuracy": _rate(sum(o.correct for o in mine), len(mine)),
            "unknown": sum(o.said == UNKNOWN for o in mine),
            "decision_ms_p50": _percentiles(decided)["p50"],
            "reasons": dict(sorted(reasons.items(), key=lambda item: -item[1])),
        }
    return out


def reason_kind(outcome: Outcome) -> str:
    """The reason without its numbers: Asterisk's cause ("MAXWORDS"), or ours with "#"."""
    reason = outcome.reason or outcome.said
    if reason[:1].isupper() and reason.split("-")[0].isupper():
        return reason.split("-")[0]
    return re.sub(r"\d+", "#", reason)


def beep_metrics(heard: Sequence[tuple[ClipLabel, list[HeardEvent]]]) -> dict[str, Any]:
    """Beeps found near the labelled onset, beeps where there is none or too early, and
    greeting ends found on machines without a beep."""
    with_beep = [(label, events) for label, events in heard if label.beep_ms is not None]
    without = [(label, events) for label, events in heard if label.beep_ms is None]
    hits, early, after_end = 0, 0, []
    for label, events in with_beep:
        assert label.beep_ms is not None and label.beep_end_ms is not None
        beeps = [e for e in events if e.kind == "beep"]
        near = [e for e in beeps if abs(e.onset_ms - label.beep_ms) <= BEEP_TOLERANCE_MS]
        if near:
            hits += 1
            after_end.append(near[0].emitted_ms - label.beep_end_ms)
        if any(e.onset_ms < label.beep_ms - BEEP_TOLERANCE_MS for e in beeps):
            early += 1
    false_beeps = sum(any(e.kind == "beep" for e in events) for _, events in without)
    no_beep_machines = [(label, events) for label, events in without if label.is_machine]
    ends_found, end_delays = 0, []
    for label, events in no_beep_machines:
        assert label.greeting_end_ms is not None
        ends = [e for e in events if e.kind == "greeting_end"]
        near_end = [
            e for e in ends if abs(e.onset_ms - label.greeting_end_ms) <= GREETING_END_TOLERANCE_MS
        ]
        if near_end:
            ends_found += 1
            end_delays.append(near_end[0].emitted_ms - label.greeting_end_ms)
    premature_ends = sum(
        any(
            e.kind == "greeting_end"
            and label.greeting_end_ms is not None
            and e.onset_ms < label.greeting_end_ms - GREETING_END_TOLERANCE_MS
            for e in events
        )
        for label, events in heard
        if label.is_machine
    )
    return {
        "clips_with_beep": len(with_beep),
        "beeps_found": hits,
        "beeps_found_rate": _rate(hits, len(with_beep)),
        "reported_after_beep_end_ms": _percentiles(after_end),
        "early_beeps": early,
        "clips_without_beep": len(without),
        "false_beeps": false_beeps,
        "false_beep_rate": _rate(false_beeps, len(without)),
        "machines_without_beep": len(no_beep_machines),
        "greeting_ends_found": ends_found,
        "greeting_ends_found_rate": _rate(ends_found, len(no_beep_machines)),
        "greeting_end_reported_after_ms": _percentiles(end_delays),
        "premature_greeting_ends": premature_ends,
    }


def summarize(run: Run) -> dict[str, Any]:
    summary: dict[str, Any] = {
        **decision_metrics(run.outcomes),
        "us_per_frame": round(run.seconds / run.frames * 1e6, 2) if run.frames else None,
        "frames": run.frames,
        "categories": category_metrics(run.outcomes),
    }
    if run.beeps is not None:
        summary["beep"] = {
            **beep_metrics(run.beeps),
            "us_per_frame": (
                round(run.beep_seconds / run.beep_frames * 1e6, 2) if run.beep_frames else None
            ),
        }
    return summary


def detectors() -> list[Detector]:
    """Asterisk's reference, and ours."""
    return [
        Detector("asterisk", AsteriskAmd, None, "bench.asterisk_amd.AsteriskAmd"),
        Detector(
            "ours",
            lambda: AsACall(AnswerAnalysis()),
            BeepDetector,
            "media.answering.AnswerAnalysis + media.beep.BeepDetector",
        ),
    ]


class AsACall:
    """Ours as a live call runs it: `AnswerAnalysis` (the classifier, with the beep detector
    a beep before the verdict makes a machine), its verdict taken as the decision."""

    def __init__(self, analysis: AnswerAnalysis) -> None:
        self.analysis = analysis

    def feed(self, pcm: NDArray[np.int16]) -> Decision | None:
        for event in self.analysis.feed(pcm):
            if isinstance(event, AmdDecision):
                return event
        return None


def corpus_summary(clips: Sequence[Clip], seed: int, seconds: float) -> dict[str, Any]:
    counts = {c.name: sum(k.label.category == c.name for k in clips) for c in CATEGORIES}
    return {
        "clips": len(clips),
        "seed": seed,
        "humans": sum(k.label.label == HUMAN for k in clips),
        "machines": sum(k.label.label == MACHINE for k in clips),
        "audio_minutes": round(sum(k.pcm.size for k in clips) / 8000 / 60, 1),
        "generation_s": round(seconds, 1),
        "categories": counts,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f} s"


def format_report(report: dict[str, Any]) -> str:
    corpus, results = report["corpus"], report["detectors"]
    lines = [
        f"corpus: {corpus['clips']} clips ({corpus['humans']} human, {corpus['machines']} "
        f"machine), seed {corpus['seed']}, {corpus['audio_minutes']} min of audio, generated "
        f"in {corpus['generation_s']} s",
        "",
        f"{'detector':10} {'accuracy':>9} {'human->machine':>17} {'machine->human':>17} "
        f"{'unknown':>8} {'decided p50 / p90':>19} {'us/frame':>9}",
    ]
    for name, r in results.items():
        times = r["decision_ms"]
        lines.append(
            f"{name:10} {_pct(r['accuracy']):>9} "
            f"{_pct(r['humans_called_machine_rate']):>7} ({r['humans_called_machine']:>3}/"
            f"{r['humans']:<3}) {_pct(r['machines_called_human_rate']):>7} "
            f"({r['machines_called_human']:>3}/{r['machines']:<3}) {r['unknown']:>8} "
            f"{_ms(times['p50']):>9} / {_ms(times['p90']):<7} {r['us_per_frame']:>9}"
        )
    lines += ["", "per category: correct/clips (median decision), commonest reasons"]
    for category in CATEGORIES:
        cells = []
        for name, r in results.items():
            c = r["categories"].get(category.name)
            if c is None:
                continue
            reasons = ", ".join(f"{k} {v}" for k, v in list(c["reasons"].items())[:3])
            cells.append(
                f"{name}: {c['correct']}/{c['clips']} ({_ms(c['decision_ms_p50'])}) [{reasons}]"
            )
        if cells:
            lines.append(f"  {category.name:21} " + " | ".join(cells))
    for name, r in results.items():
        beep = r.get("beep")
        if beep is None:
            continue
        lines += [
            "",
            f"beep detection ({name}), {beep['us_per_frame']} us/frame:",
            f"  beeps found within +-{BEEP_TOLERANCE_MS} ms: {beep['beeps_found']}/"
            f"{beep['clips_with_beep']} ({_pct(beep['beeps_found_rate'])}), reported "
            f"{_ms(beep['reported_after_beep_end_ms']['p50'])} after the beep's end (p50); "
            f"early: {beep['early_beeps']}",
            f"  false beeps: {beep['false_beeps']}/{beep['clips_without_beep']} "
            f"({_pct(beep['false_beep_rate'])})",
            f"  greeting ends (no-beep machines) within +-{GREETING_END_TOLERANCE_MS} ms: "
            f"{beep['greeting_ends_found']}/{beep['machines_without_beep']} "
            f"({_pct(beep['greeting_ends_found_rate'])}), reported "
            f"{_ms(beep['greeting_end_reported_after_ms']['p50'])} after it (p50); "
            f"premature on machines: {beep['premature_greeting_ends']}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=400, help="clips in the corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object instead")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    clips = list(generate(args.count, args.seed))
    generated = time.perf_counter() - started
    report = {
        "corpus": corpus_summary(clips, args.seed, generated),
        "detectors": {d.name: summarize(run_detector(d, clips)) for d in detectors()},
        "sources": {d.name: d.source for d in detectors()},
    }
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
