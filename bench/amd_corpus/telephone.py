"""The telephone line between the far end and us, applied to a whole clip.

In the order a real call does it: the far end's level (active speech RMS from -32 to
-14 dBFS), sometimes hard clipping in its handset, a noise floor (-72 to -55 dBFS RMS),
the 300-3,400 Hz telephone band, saturation at 16 bits, the G.711 μ-law codec there and
back, and half the clips lose 0.5-2 % of their 20 ms packets (played out as silence, as
`media.audiofile.WavRecorder` records a missing packet).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from bench.amd_corpus.filters import band_pass
from media.g711 import ulaw_decode_samples, ulaw_encode

FULL_SCALE: Final = 32768.0
FRAME: Final = 160
BAND_LOW_HZ: Final = 300.0
BAND_HIGH_HZ: Final = 3400.0
BAND_EDGE_HZ: Final = 100.0  # nothing left above 3,500 Hz but the codec's own noise


@dataclass(frozen=True)
class LineConditions:
    level_dbfs: float  # active speech RMS on the line
    noise_floor_dbfs: float  # RMS of the line's own noise
    clip_dbfs: float | None  # the handset clips peaks above this (None: only 16-bit saturation)
    packet_loss: float  # share of 20 ms packets lost

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def pick_line(rng: random.Random) -> LineConditions:
    level = round(rng.uniform(-32.0, -14.0), 1)
    clip = round(level + rng.uniform(3.0, 8.0), 1) if rng.random() < 0.08 else None
    loss = round(rng.uniform(0.005, 0.02), 4) if rng.random() < 0.5 else 0.0
    return LineConditions(level, round(rng.uniform(-72.0, -55.0), 1), clip, loss)


def telephone_line(
    signal: NDArray[np.float64], line: LineConditions, rng: np.random.Generator
) -> tuple[NDArray[np.int16], dict[str, int]]:
    """`signal` (speech at RMS 1.0) as it arrives: int16 samples, and what the line did."""
    audio = signal * (FULL_SCALE * 10 ** (line.level_dbfs / 20))
    if line.clip_dbfs is not None:
        ceiling = FULL_SCALE * 10 ** (line.clip_dbfs / 20)
        audio = np.clip(audio, -ceiling, ceiling)
    audio = audio + rng.standard_normal(audio.size) * FULL_SCALE * 10 ** (
        line.noise_floor_dbfs / 20
    )
    audio = band_pass(audio, BAND_LOW_HZ, BAND_HIGH_HZ, edge_hz=BAND_EDGE_HZ)
    saturated = int(np.count_nonzero(np.abs(audio) > FULL_SCALE - 1))
    pcm = np.clip(np.round(audio), -FULL_SCALE, FULL_SCALE - 1).astype(np.int16)
    pcm = ulaw_decode_samples(ulaw_encode(pcm))
    frames = pcm.size // FRAME
    lost = np.flatnonzero(rng.random(frames) < line.packet_loss)
    for frame in lost:
        pcm[frame * FRAME : (frame + 1) * FRAME] = 0
    return pcm, {"saturated_samples": saturated, "lost_frames": int(lost.size)}
