"""Whole-signal filters done in the frequency domain: the corpus is made offline, so they
need not be causal, only smooth enough (raised-cosine edges) not to ring audibly."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

RATE = 8000

Signal = NDArray[np.float64]


def band_pass(
    signal: NDArray[np.floating], low_hz: float, high_hz: float, *, edge_hz: float = 100.0
) -> Signal:
    """`signal` with nothing below `low_hz - edge_hz` nor above `high_hz + edge_hz`, flat in
    between the edges, raised-cosine across them (`low_hz` 0: no low cut)."""
    spectrum = np.fft.rfft(signal.astype(np.float64))
    freqs = np.fft.rfftfreq(signal.size, 1 / RATE).astype(np.float64)
    gain = np.ones(freqs.size)
    if low_hz > 0:
        gain *= _rise(freqs, low_hz - edge_hz, low_hz)
    gain *= 1.0 - _rise(freqs, high_hz, high_hz + edge_hz)
    return np.fft.irfft(spectrum * gain, n=signal.size)


def _rise(freqs: Signal, start: float, end: float) -> Signal:
    """0 below `start`, 1 above `end`, a raised cosine between."""
    ramp = np.clip((freqs - start) / max(end - start, 1e-9), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def convolve(signal: NDArray[np.floating], response: NDArray[np.floating]) -> Signal:
    """`signal` convolved with `response`, cut to the signal's length."""
    size = signal.size + response.size - 1
    out = np.fft.irfft(np.fft.rfft(signal, size) * np.fft.rfft(response, size), n=size)
    return out[: signal.size]


def unit_rms(signal: NDArray[np.floating]) -> Signal:
    rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))) if signal.size else 0.0
    return np.asarray(signal / rms if rms > 0 else signal, dtype=np.float64)


def fade(signal: Signal, samples: int) -> Signal:
    """Raised-cosine fade in and out over `samples` at each end, in place."""
    samples = min(samples, signal.size // 2)
    if samples:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(samples) / samples)
        signal[:samples] *= ramp
        signal[-samples:] *= ramp[::-1]
    return signal
