"""Measures of rendered μ-law audio that tell speech from silence, and one voice from another."""

from __future__ import annotations

import numpy as np

from media.g711 import ulaw_decode_samples

RATE = 8000


def duration_s(audio: bytes) -> float:
    return len(audio) / RATE


def rms(audio: bytes) -> float:
    samples = ulaw_decode_samples(audio).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def median_f0(audio: bytes) -> float:
    """The speaker's median pitch in Hz: autocorrelation peak (60-400 Hz) of loud 40 ms frames."""
    samples = ulaw_decode_samples(audio).astype(np.float64)
    estimates: list[float] = []
    shortest, longest = RATE // 400, RATE // 60
    for start in range(0, samples.size - 320, 160):
        frame = samples[start : start + 320]
        if np.sqrt(np.mean(frame**2)) < 1000:
            continue
        frame = frame - frame.mean()
        correlation = np.correlate(frame, frame, "full")[319:]
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        estimates.append(RATE / lag)
    return float(np.median(estimates)) if estimates else 0.0
