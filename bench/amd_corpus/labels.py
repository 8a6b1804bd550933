"""One clip's label: what the far end is, and where its speech and beep are (README.md, "Labels").

Stored one JSON object a line in `labels.jsonl`, in clip order. Times are integer
milliseconds from the first sample of the clip (the moment of answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Final

LABELS_FILE: Final = "labels.jsonl"
HUMAN: Final = "human"
MACHINE: Final = "machine"

Span = tuple[int, int]
Tone = tuple[int, int, float]  # onset ms, end ms, frequency Hz


@dataclass(frozen=True)
class ClipLabel:
    file: str  # the WAV's name inside the corpus folder
    label: str  # HUMAN or MACHINE
    category: str  # one of categories.CATEGORIES
    duration_ms: int
    speech_start_ms: int | None = None  # the answering voice's first speech
    speech_end_ms: int | None = None  # ... and its last: what a person says before waiting
    speech_ms: tuple[Span, ...] = ()  # each utterance of the answering voice
    greeting_end_ms: int | None = None  # machines: the end of the greeting's speech
    beep_ms: int | None = None  # onset of the first tone of the beep
    beep_end_ms: int | None = None  # end of its last tone
    beep_hz: float | None = None  # frequency of the first tone (its centre if modulated)
    beep_tones: tuple[Tone, ...] = ()  # every tone of a double or triple beep
    engine: str = ""  # espeak-ng, flite or festival
    voice: str = ""  # engine:voice, e.g. "espeak-ng:en-us+f3", "flite:slt"
    text: str = ""  # what the answering voice says (utterances joined by " ... ")
    params: Mapping[str, Any] = field(default_factory=dict)  # how the clip was made
    seed: int = 0
    index: int = 0

    @property
    def is_machine(self) -> bool:
        return self.label == MACHINE

    @property
    def has_beep(self) -> bool:
        return self.beep_ms is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> ClipLabel:
        raw = json.loads(line)
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown label fields: {', '.join(sorted(unknown))}")
        raw["speech_ms"] = tuple((int(a), int(b)) for a, b in raw.get("speech_ms", ()))
        raw["beep_tones"] = tuple(
            (int(a), int(b), float(hz)) for a, b, hz in raw.get("beep_tones", ())
        )
        return cls(**raw)


def write_labels(path: Path, labels: Iterable[ClipLabel]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(label.to_json() + "\n")


def read_labels(path: Path) -> list[ClipLabel]:
    with path.open(encoding="utf-8") as lines:
        return [ClipLabel.from_json(line) for line in lines if line.strip()]
