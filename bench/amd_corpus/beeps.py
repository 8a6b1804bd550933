"""The tones an answering machine plays when it starts recording.

`standard_beep`: one tone of 850-1,400 Hz (or 440-480), 250 ms to 1 s, as most voicemail
systems. `odd_beep`: the unusual ones, each a `kind`:

- single: any frequency from 300 to 2,500 Hz, 100 ms to 1.5 s;
- double, triple: two or three short tones (100-350 ms) with gaps, same or stepped pitch;
- noisy: a single tone with white noise 10-20 dB under it;
- fm: a single tone wobbling 1-3 % in frequency, 3-8 times a second;
- harmonic: a square-ish tone (odd harmonics below 3.4 kHz) of a cheap machine.

Levels are relative to the clip's speech (RMS 1.0 before the line's gain).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

RATE: Final = 8000
RAMP_MS: Final = 5
ODD_KINDS: Final = ("single", "double", "triple", "noisy", "fm", "harmonic")
STANDARD_HZ: Final = (850.0, 900.0, 950.0, 1000.0, 1000.0, 1000.0, 1200.0, 1400.0, 440.0, 480.0)


@dataclass(frozen=True)
class Tone:
    offset_ms: int  # from the beep's first onset
    duration_ms: int
    hz: float


@dataclass(frozen=True)
class BeepSpec:
    kind: str  # "standard" or one of ODD_KINDS
    tones: tuple[Tone, ...]
    level_db: float  # tone RMS relative to the speech
    fm_depth: float = 0.0  # peak deviation, a fraction of the frequency
    fm_rate_hz: float = 0.0
    noise_snr_db: float | None = None
    harmonics: int = 1  # odd harmonics up to this one, those below 3.4 kHz (1: a sine)

    @property
    def duration_ms(self) -> int:
        return max(tone.offset_ms + tone.duration_ms for tone in self.tones)

    def describe(self) -> dict[str, Any]:
        described = asdict(self)
        del described["tones"]  # the label has them as beep_tones
        return described


def standard_beep(rng: random.Random) -> BeepSpec:
    tone = Tone(0, rng.randrange(250, 1001, 10), rng.choice(STANDARD_HZ))
    return BeepSpec("standard", (tone,), round(rng.uniform(-6.0, 6.0), 1))


def odd_beep(rng: random.Random) -> BeepSpec:
    kind = rng.choice(ODD_KINDS)
    level = round(rng.uniform(-8.0, 6.0), 1)
    hz = float(rng.randrange(300, 2501, 10))
    single = (Tone(0, rng.randrange(100, 1501, 10), hz),)
    if kind in ("double", "triple"):
        step = rng.choice((1.0, 1.0, 1.25, 1.5, 0.8))
        tones, offset = [], 0
        for number in range(2 if kind == "double" else 3):
            length = rng.randrange(100, 351, 10)
            pitch = min(2500.0, max(300.0, round(hz * step**number)))
            tones.append(Tone(offset, length, pitch))
            offset += length + rng.randrange(60, 201, 10)
        return BeepSpec(kind, tuple(tones), level)
    if kind == "noisy":
        return BeepSpec(kind, single, level, noise_snr_db=round(rng.uniform(10.0, 20.0), 1))
    if kind == "fm":
        depth, rate = round(rng.uniform(0.01, 0.03), 3), round(rng.uniform(3.0, 8.0), 1)
        return BeepSpec(kind, single, level, fm_depth=depth, fm_rate_hz=rate)
    if kind == "harmonic":
        fundamental = float(rng.randrange(300, 1001, 10))
        tone = Tone(0, single[0].duration_ms, fundamental)
        return BeepSpec(kind, (tone,), level, harmonics=15)
    return BeepSpec(kind, single, level)


def render_beep(spec: BeepSpec, rng: np.random.Generator) -> NDArray[np.float64]:
    """The beep's samples from its first onset to its last end."""
    out = np.zeros(spec.duration_ms * RATE // 1000)
    for tone in spec.tones:
        samples = tone.duration_ms * RATE // 1000
        t = np.arange(samples) / RATE
        instantaneous = tone.hz * (1 + spec.fm_depth * np.sin(2 * np.pi * spec.fm_rate_hz * t))
        phase = 2 * np.pi * np.cumsum(instantaneous) / RATE
        wave = np.zeros(samples)
        for harmonic in range(1, spec.harmonics + 1, 2):
            if tone.hz * harmonic < 3400:
                wave += np.sin(harmonic * phase) / harmonic
        wave *= 10 ** (spec.level_db / 20) / np.sqrt(np.mean(np.square(wave)))
        if spec.noise_snr_db is not None:
            noise_rms = 10 ** (spec.level_db / 20) * 10 ** (-spec.noise_snr_db / 20)
            wave += rng.standard_normal(samples) * noise_rms
        start = tone.offset_ms * RATE // 1000
        out[start : start + samples] += _ramped(wave)
    return out


def _ramped(wave: NDArray[np.float64]) -> NDArray[np.float64]:
    ramp = min(RAMP_MS * RATE // 1000, wave.size // 2)
    shape = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    wave[:ramp] *= shape
    wave[wave.size - ramp :] *= shape[::-1]
    return wave
