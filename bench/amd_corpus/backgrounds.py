"""What else the line carries: street, TV, babble, music, tape hiss, handling noise.

Every generator returns `samples` floats with an RMS of 1.0 (the scene scales it to its
SNR under the speech) and a dict of what it chose, for the label. All synthetic; speech
in babble and on the TV comes from the corpus's banks of rendered sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from bench.amd_corpus.filters import band_pass, convolve, unit_rms

RATE: Final = 8000

Signal = NDArray[np.float64]
Speech = NDArray[np.floating]  # rendered sentences (float32)
Made = tuple[Signal, dict[str, Any]]


def colored_noise(samples: int, rng: np.random.Generator, exponent: float) -> Signal:
    """Noise with power falling as 1/f**exponent (0 white, 1 pink, 2 brown), RMS 1."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / RATE)
    spectrum[1:] /= freqs[1:] ** (exponent / 2)
    spectrum[0] = 0
    return unit_rms(np.fft.irfft(spectrum, n=samples))


def _slow_envelope(samples: int, rng: np.random.Generator, every_s: float, depth: float) -> Signal:
    """A smooth random gain around 1, changing about every `every_s` seconds."""
    points = max(2, int(samples / RATE / every_s) + 2)
    knots = 1 + depth * rng.uniform(-1, 1, points)
    return np.interp(np.linspace(0, points - 1, samples), np.arange(points), knots)


def street(samples: int, rng: np.random.Generator) -> Made:
    """Traffic: a rumble that swells, cars passing (band noise rising and falling), maybe a
    horn (a harmonic two-tone, a hard case for beep detectors)."""
    rumble = colored_noise(samples, rng, 1.6) * _slow_envelope(samples, rng, 1.5, 0.4)
    out = rumble + 0.3 * colored_noise(samples, rng, 0.8)
    cars = int(rng.integers(0, 4))
    for _ in range(cars):
        length = int(rng.uniform(1.5, 4.0) * RATE)
        start = int(rng.integers(0, max(1, samples - length)))
        swell = np.hanning(length) ** 2 * rng.uniform(1.0, 3.0)
        hiss = band_pass(colored_noise(length, rng, 0.5), 200, 2000)
        out[start : start + length] += unit_rms(hiss)[: samples - start] * swell[: samples - start]
    made: dict[str, Any] = {"cars": cars}
    if rng.random() < 0.25:
        length = int(rng.uniform(0.2, 0.6) * RATE)
        start = int(rng.integers(0, max(1, samples - length)))
        t = np.arange(length) / RATE
        pitch = rng.uniform(350, 500)
        horn = _note(pitch, t) + _note(pitch * 1.26, t)  # a major third, as car horns
        out[start : start + length] += 2.5 * unit_rms(horn)[: samples - start]
        made["horn_ms"] = [start * 1000 // RATE, (start + length) * 1000 // RATE]
    return unit_rms(out), made


def music(samples: int, rng: np.random.Generator) -> Made:
    """A chord progression with a melody and a light beat: held notes, like hold music."""
    root = rng.uniform(110, 220)
    chord_s = rng.uniform(0.4, 0.9)
    progression = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (-3, 0, 4)]
    out = np.zeros(samples)
    t = np.arange(int(chord_s * RATE)) / RATE
    decay = np.exp(-t / (chord_s * 0.8))
    for number, start in enumerate(range(0, samples, t.size)):
        chord = progression[number % len(progression)]
        notes = [root * 2 ** (step / 12) for step in chord]
        notes.append(notes[int(rng.integers(0, 3))] * 2)  # the melody, an octave up
        block = np.zeros(t.size)
        for k, hz in enumerate(notes):
            block += _note(hz, t) * (0.6 if k < 3 else 1.0)
        end = min(samples, start + t.size)
        out[start:end] += (block * decay)[: end - start]
        if rng.random() < 0.5:  # a drum hit on the chord
            tick = min(400, end - start)
            out[start : start + tick] += (
                0.5 * rng.standard_normal(tick) * np.exp(-np.arange(tick) / 60)
            )
    return unit_rms(out), {"root_hz": round(root, 1), "chord_s": round(chord_s, 2)}


def _note(hz: float, t: Signal) -> Signal:
    """A note with its harmonics below the telephone band's top, each quieter."""
    out = np.zeros(t.size)
    for k in range(1, 6):
        if hz * k < 3400:
            out += np.sin(2 * np.pi * hz * k * t) / k**1.5
    return out


def babble(samples: int, rng: np.random.Generator, bank: Sequence[Speech]) -> Made:
    """Four to seven talkers at once, each a run of sentences with pauses, far off."""
    talkers = int(rng.integers(4, 8))
    out = np.zeros(samples)
    for _ in range(talkers):
        out += _talker(samples, rng, bank) * rng.uniform(0.5, 1.0)
    room = _room_response(rng, 0.25)
    return unit_rms(band_pass(convolve(out, room), 150, 3000)), {"talkers": talkers}


def tv(samples: int, rng: np.random.Generator, bank: Sequence[Speech]) -> Made:
    """A television in the room: one voice with music under it, muffled and reverberant."""
    voice = _talker(samples, rng, bank)
    bed, _ = music(samples, rng)
    mix = voice + bed * 10 ** (-rng.uniform(4, 12) / 20)
    room = _room_response(rng, 0.4)
    return unit_rms(band_pass(convolve(mix, room), 200, 2500)), {}


def _talker(samples: int, rng: np.random.Generator, bank: Sequence[Speech]) -> Signal:
    out = np.zeros(samples)
    at = -int(rng.integers(0, 2 * RATE))  # already talking when the clip starts
    while at < samples:
        sentence = bank[int(rng.integers(0, len(bank)))]
        start, end = max(at, 0), min(samples, at + sentence.size)
        if end > start:
            out[start:end] += sentence[start - at : end - at]
        at += sentence.size + int(rng.uniform(0.15, 0.8) * RATE)
    return out


def _room_response(rng: np.random.Generator, decay_s: float) -> Signal:
    """A room's impulse response: the direct sound, then noise dying away."""
    length = int(decay_s * 3 * RATE)
    tail = rng.standard_normal(length) * np.exp(-np.arange(length) / (decay_s * RATE / 3))
    tail[0] = 0
    response: Signal = 0.4 * tail / np.sqrt(np.sum(tail**2))
    response[0] = 1.0
    return response


def hiss(samples: int, rng: np.random.Generator) -> Made:
    """Tape or line hiss: white noise."""
    return colored_noise(samples, rng, 0.0), {}


def rustle(samples: int, rng: np.random.Generator) -> Made:
    """The phone being picked up and handled: a few short low bursts and knocks."""
    out = np.zeros(samples)
    bursts = int(rng.integers(2, 7))
    for _ in range(bursts):
        length = int(rng.uniform(0.03, 0.2) * RATE)
        start = int(rng.integers(0, max(1, samples - length)))
        burst = colored_noise(length, rng, 1.0) * np.hanning(length) * rng.uniform(0.3, 1.0)
        out[start : start + length] += burst[: samples - start]
    return unit_rms(out), {"bursts": bursts}
