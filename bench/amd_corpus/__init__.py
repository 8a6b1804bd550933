"""A labelled corpus of far ends answering outbound calls, people and answering machines,
generated (seeded) with espeak-ng, flite and festival and sent down a simulated telephone
line. See README.md for the label format and the composition.

    from bench.amd_corpus import generate
    for clip in generate(count=400, seed=1):
        clip.pcm, clip.label.label, clip.label.beep_ms

    .venv/bin/python -m bench.amd_corpus --out DIR [--count N] [--seed S]
"""

from bench.amd_corpus.categories import CATEGORIES, Category
from bench.amd_corpus.generator import (
    DEFAULT_COUNT,
    DEFAULT_SEED,
    Clip,
    generate,
    plan_corpus,
    write_corpus,
)
from bench.amd_corpus.labels import HUMAN, LABELS_FILE, MACHINE, ClipLabel, read_labels

__all__ = [
    "CATEGORIES",
    "DEFAULT_COUNT",
    "DEFAULT_SEED",
    "HUMAN",
    "LABELS_FILE",
    "MACHINE",
    "Category",
    "Clip",
    "ClipLabel",
    "generate",
    "plan_corpus",
    "read_labels",
    "write_corpus",
]
