"""`dialer amd FILE...`: answering-machine detection on recordings, as a live call runs it.

    dialer amd greeting.wav hello.ulaw [--json]

Each file (WAV or MP3 at any rate, or raw 8 kHz μ-law `.ulaw`) is fed frame by
frame, from its start as from the answer, through `media.answering.AnswerAnalysis`:
the very code a call runs. One result per file: the verdict (`label`: human,
machine or unknown) and when it came (`decision_ms`), the beep's onset
(`beep_ms`) and when the greeting was over (`greeting_end_ms`: the beep's end,
or the silence after the greeting; null for a person). With `--json`, one JSON
object per line. A file that cannot be read is reported on stderr and the exit
status is 1; the others are still analysed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dialer.commands.output import EXIT_FAILED, EXIT_OK, table
from dialer.config import Config
from media.amd import AmdLabel, frames
from media.answering import AnswerAnalysis, GreetingEnded
from media.audiofile import AudioFileError, load_ulaw
from media.g711 import ulaw_decode_samples


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    amd = commands.add_parser("amd", help="answering-machine detection on recordings")
    amd.add_argument("files", nargs="+", metavar="FILE", help="WAV, MP3 or raw .ulaw")
    amd.add_argument("--json", action="store_true", help="one JSON object per line")


def amd_command(args: argparse.Namespace, config: Config) -> int:
    results, failed = [], False
    for name in args.files:
        try:
            audio = ulaw_decode_samples(load_ulaw(Path(name)))
        except AudioFileError as exc:
            print(f"dialer: {exc}", file=sys.stderr)
            failed = True
            continue
        result = {"file": name, **analyse(audio)}
        if args.json:
            print(json.dumps(result), flush=True)
        results.append(result)
    if not args.json and results:
        print(table(results))
    return EXIT_FAILED if failed else EXIT_OK


def analyse(audio: Any) -> dict[str, Any]:
    """The verdict, the beep and the greeting's end for one recording."""
    analysis = AnswerAnalysis()
    ended: GreetingEnded | None = None
    for frame in frames(audio):
        for event in analysis.feed(frame):
            if isinstance(event, GreetingEnded):
                ended = event
            elif event.label == AmdLabel.MACHINE:
                analysis.listen_for_greeting_end()  # as a call leaving a message does
        if ended is not None:
            break
    decision = analysis.decision
    beep = analysis.beep
    return {
        "label": decision.label if decision else str(AmdLabel.UNKNOWN),
        "decision_ms": decision.at_ms if decision else None,
        "beep_ms": beep.onset_ms if beep is not None and beep.kind == "beep" else None,
        "greeting_end_ms": ended.at_ms if ended is not None and ended.kind != "timeout" else None,
    }
