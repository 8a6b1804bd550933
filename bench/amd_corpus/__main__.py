"""`python -m bench.amd_corpus --out DIR [--count N] [--seed S]`: WAVs and labels.jsonl."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from bench.amd_corpus.generator import DEFAULT_COUNT, DEFAULT_SEED, write_corpus
from bench.amd_corpus.labels import LABELS_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.amd_corpus", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for the WAVs and labels")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    started = time.perf_counter()
    labels = write_corpus(args.out, args.count, args.seed)
    elapsed = time.perf_counter() - started
    audio_s = sum(label.duration_ms for label in labels) / 1000
    print(
        f"{len(labels)} clips ({audio_s / 60:.1f} min of audio) in {elapsed:.1f} s: "
        f"{args.out / LABELS_FILE}"
    )
    for category, clips in sorted(Counter(label.category for label in labels).items()):
        print(f"  {category:22} {clips:4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
