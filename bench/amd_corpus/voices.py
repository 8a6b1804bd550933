"""The voices the corpus speaks with: espeak-ng, flite and festival, at varied rates and pitches.

A `VoiceSpec` is everything that decides a voice's sound, so it is part of the key an
utterance is rendered once under. `tempo` is applied after synthesis (resampling at 8 kHz:
above 1 faster and higher), so every engine varies, even those without rate or pitch knobs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

ESPEAK: Final = "espeak-ng"
FLITE: Final = "flite"
FESTIVAL: Final = "festival"

ESPEAK_LANGUAGES: Final = (
    "en-us", "en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan",
)  # fmt: skip
ESPEAK_VARIANTS: Final = (
    "", "f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "klatt",
    "klatt2", "klatt3", "Annie", "Alicia", "Andy", "linda", "steph", "john", "max", "paul",
    "robert", "edward", "belinda",
)  # fmt: skip
# flite's voices and their usual pitch (Hz); rms ignores int_f0_target_mean, so it keeps 0.
FLITE_VOICES: Final = {"kal": 100.0, "kal16": 100.0, "awb": 110.0, "rms": 0.0, "slt": 170.0}
FESTIVAL_VOICES: Final = ("kal_diphone", "cmu_us_slt_arctic_hts")
# Shares of the engines: festival is the slowest to render, so the rarest.
ENGINES: Final = (ESPEAK, FLITE, FESTIVAL)
ENGINE_WEIGHTS: Final = (0.45, 0.35, 0.20)


@dataclass(frozen=True)
class VoiceSpec:
    engine: str
    voice: str  # espeak-ng "en-us+f3"; flite "slt"; festival "kal_diphone"
    rate: float  # espeak-ng words a minute; flite and festival kal: duration stretch
    pitch: float  # espeak-ng 0-99; flite: f0 mean in Hz (0: the voice's own); festival: 0
    tempo: float  # resampling factor after synthesis

    @property
    def name(self) -> str:
        return f"{self.engine}:{self.voice}"

    def describe(self) -> dict[str, float | str]:
        return {"voice": self.name, "rate": self.rate, "pitch": self.pitch, "tempo": self.tempo}


def pick_voice(rng: random.Random, *, engine: str | None = None) -> VoiceSpec:
    """A random voice (of `engine`, else of any engine by ENGINE_WEIGHTS)."""
    if engine is None:
        engine = rng.choices(ENGINES, ENGINE_WEIGHTS)[0]
    tempo = round(rng.uniform(0.93, 1.07), 3)
    if engine == ESPEAK:
        variant = rng.choice(ESPEAK_VARIANTS)
        language = rng.choice(ESPEAK_LANGUAGES)
        voice = f"{language}+{variant}" if variant else language
        return VoiceSpec(ESPEAK, voice, rng.randrange(140, 200), rng.randrange(25, 76), tempo)
    if engine == FLITE:
        voice = rng.choice(sorted(FLITE_VOICES))
        usual = FLITE_VOICES[voice]
        pitch = round(usual * rng.uniform(0.85, 1.2)) if usual else 0.0
        return VoiceSpec(FLITE, voice, round(rng.uniform(0.85, 1.15), 2), pitch, tempo)
    if engine == FESTIVAL:
        voice = rng.choices(FESTIVAL_VOICES, (0.6, 0.4))[0]
        stretch = round(rng.uniform(0.85, 1.15), 2) if voice == "kal_diphone" else 1.0
        return VoiceSpec(FESTIVAL, voice, stretch, 0.0, tempo)
    raise ValueError(f"unknown engine {engine!r}")
