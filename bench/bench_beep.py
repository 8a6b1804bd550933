"""Benchmark: the VAD wrapper's and the beep detector's cost per 20 ms frame.

`VoiceActivityDetector.feed` (webrtcvad plus the frame's features), `BeepDetector.feed`
as the dialer would call it alone (its own VAD included), and `BeepDetector.feed` given
the caller's `FrameFeatures` (what answering-machine detection, which runs a VAD anyway,
pays for beeps), on 160-sample frames decoded from μ-law: silence, white noise and
espeak-ng speech (bench_dtmf's signals), a steady tone, a clipped tone, and beeps (0.3 s
tone, 0.6 s pause; a new detector after each report, since a detector that reported a
beep is finished). Prints µs per frame (best of the repeats) and what that is at N
concurrent calls (50 frames a second each) as a share of one core.

    .venv/bin/python bench/bench_beep.py --calls 500

Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_dtmf import per_frame_us
from bench.bench_dtmf import signals as dtmf_signals
from media.beep import BeepDetector
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.vad import VoiceActivityDetector

FRAME = 160


def sine(frequency: float, samples: int, peak: float) -> NDArray[np.float64]:
    return peak * np.sin(2 * np.pi * frequency * np.arange(samples) / 8000)


def signals(seconds: float) -> dict[str, NDArray[np.int16]]:
    """The DTMF benchmark's silence, noise and speech, and tones, as they arrive: decoded
    from μ-law."""
    n = int(seconds * 8000)
    out = {name: pcm for name, pcm in dtmf_signals(seconds).items() if not name.startswith("DTMF")}
    beep = np.concatenate([sine(1000, 2400, 10000), np.zeros(4800)])
    tones = {
        "tone 1 kHz, steady": sine(1000, n, 10000),
        "tone 1 kHz, clipped": sine(1000, n, 4 * 32768),
        "beeps (0.3 s on, 0.6 off)": np.resize(beep, n),
    }
    for name, tone in tones.items():
        out[name] = ulaw_decode_samples(ulaw_encode(np.clip(tone, -32768, 32767).astype(np.int16)))
    return out


def bench(pcm: NDArray[np.int16], repeats: int) -> tuple[float, float, float, int]:
    """µs per frame: VAD; beep detector alone; beep detector given features. And beeps."""
    frames = [pcm[i : i + FRAME] for i in range(0, pcm.size - FRAME + 1, FRAME)]
    features = [feed for vad in [VoiceActivityDetector()] for feed in map(vad.feed, frames)]
    reported = 0

    def vad() -> int:
        detector = VoiceActivityDetector()
        for frame in frames:
            detector.feed(frame)
        return len(frames)

    def beep_alone() -> int:
        nonlocal reported
        detector, reported = BeepDetector(), 0
        for frame in frames:
            if detector.feed(frame) is not None and detector.finished:
                detector, reported = BeepDetector(), reported + 1
        return len(frames)

    def beep_given_features() -> int:
        detector = BeepDetector()
        for frame, voice in zip(frames, features, strict=True):
            if detector.feed(frame, voice) is not None and detector.finished:
                detector = BeepDetector()
        return len(frames)

    return (
        per_frame_us(vad, repeats),
        per_frame_us(beep_alone, repeats),
        per_frame_us(beep_given_features, repeats),
        reported,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500, help="concurrent calls to project to")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per signal")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    share = 100 * args.calls * 50 / 1e6  # % of one core per µs per frame
    print(f"µs per 20 ms frame (best of {args.repeats}), and % of one core at {args.calls} calls")
    print(f"  {'audio':27s} {'VAD':>15s} {'beep (own VAD)':>17s} {'beep (features)':>17s} beeps")
    for name, pcm in signals(args.seconds).items():
        vad, alone, given, reported = bench(pcm, args.repeats)
        print(
            f"  {name:27s} {vad:5.1f} µs {vad * share:4.0f}%"
            f"   {alone:5.1f} µs {alone * share:4.0f}%   {given:5.1f} µs {given * share:4.0f}%"
            f"   {reported}"
        )


if __name__ == "__main__":
    main()
