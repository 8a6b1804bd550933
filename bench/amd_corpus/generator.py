"""The corpus: `generate(count, seed)` yields clips in memory, `write_corpus` writes them out.

Planning is instant; rendering every distinct utterance (the clips' and the shared banks
of babble and TV sentences) is most of the time and happens once, on the first `next()`;
then each clip is assembled as it is asked for.
"""

from __future__ import annotations

import random
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from bench.amd_corpus import texts
from bench.amd_corpus.categories import categories_for
from bench.amd_corpus.labels import LABELS_FILE, ClipLabel, write_labels
from bench.amd_corpus.scenes import RATE, Banks, ClipPlan, assemble, plan_clip
from bench.amd_corpus.synthesis import Utterance, render_all
from bench.amd_corpus.voices import ESPEAK, FLITE, pick_voice

DEFAULT_COUNT: Final = 400
DEFAULT_SEED: Final = 1


@dataclass(frozen=True)
class Clip:
    pcm: NDArray[np.int16]  # 8 kHz mono, from the moment of answer, whole 20 ms frames
    label: ClipLabel


def plan_corpus(count: int, seed: int) -> list[ClipPlan]:
    return [plan_clip(i, seed, c) for i, c in enumerate(categories_for(count, seed))]


def _bank_utterances(seed: int) -> tuple[list[Utterance], list[Utterance]]:
    """The shared sentences, in the fast engines: babble talkers and TV presenters."""
    rng = random.Random(f"amd-corpus/{seed}/banks")
    babble = [
        Utterance(text, pick_voice(rng, engine=rng.choice((ESPEAK, FLITE))))
        for text in texts.BABBLE_SENTENCES
        for _ in range(2)
    ]
    tv = [Utterance(text, pick_voice(rng, engine=ESPEAK)) for text in texts.TV_SENTENCES]
    return babble, tv


def generate(
    count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, *, workers: int | None = None
) -> Iterator[Clip]:
    """`count` clips for `seed`, the same every time; clip i is the same whatever the count."""
    plans = plan_corpus(count, seed)
    babble, tv = _bank_utterances(seed)
    wanted = [u for plan in plans for u in plan.utterances]
    if any(b.kind in ("babble", "tv") for plan in plans for b in plan.scene.backgrounds):
        wanted += babble + tv
    rendered = render_all(wanted, workers=workers)
    banks = Banks(
        babble=[rendered[u] for u in babble if u in rendered],
        tv=[rendered[u] for u in tv if u in rendered],
    )
    for plan in plans:
        pcm, label = assemble(plan, rendered, banks)
        yield Clip(pcm, label)


def write_wav(path: Path, pcm: NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.astype("<i2").tobytes())


def write_corpus(
    out: Path, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED
) -> list[ClipLabel]:
    """The WAVs and `labels.jsonl` in `out` (created if need be)."""
    out.mkdir(parents=True, exist_ok=True)
    labels = []
    for clip in generate(count, seed):
        write_wav(out / clip.label.file, clip.pcm)
        labels.append(clip.label)
    write_labels(out / LABELS_FILE, labels)
    return labels
