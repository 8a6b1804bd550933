"""Where one signal appears in another: normalised cross-correlation, via FFT.

Used to prove audio made a round trip (the echo of a prompt, what a softphone
recorded) without trusting anything but the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Alignment:
    lag: int  # samples into `signal` where `reference` starts
    score: float  # normalised correlation at that lag, -1..1


def best_alignment(
    reference: npt.ArrayLike, signal: npt.ArrayLike, max_reference: int = 24000
) -> Alignment:
    """The lag at which `reference` (its first `max_reference` samples) best matches `signal`."""
    ref = np.asarray(reference, dtype=np.float64)[:max_reference]
    sig = np.asarray(signal, dtype=np.float64)
    if len(ref) == 0 or len(sig) < len(ref):
        return Alignment(0, 0.0)
    ref = ref - ref.mean()
    ref_energy = float(np.dot(ref, ref))
    if ref_energy == 0.0:
        return Alignment(0, 0.0)
    size = 1 << int(np.ceil(np.log2(len(sig) + len(ref))))
    raw = np.fft.irfft(np.fft.rfft(sig, size) * np.conj(np.fft.rfft(ref, size)), size)
    valid = raw[: len(sig) - len(ref) + 1]
    # Energy of each window of `signal`, so a loud stretch cannot win by volume alone.
    cumulative = np.concatenate(([0.0], np.cumsum(sig * sig)))
    sums = np.concatenate(([0.0], np.cumsum(sig)))
    n = len(ref)
    window_energy = cumulative[n:] - cumulative[:-n] - (sums[n:] - sums[:-n]) ** 2 / n
    denominator = np.sqrt(np.maximum(window_energy, 1e-9) * ref_energy)
    scores = valid / denominator
    lag = int(np.argmax(scores))
    return Alignment(lag, float(scores[lag]))
