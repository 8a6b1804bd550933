"""What happens on each kind of clip, and the clip's audio and label made from it.

`plan_clip` makes every random choice of a clip (words, voice, timing, beep, backgrounds,
line) from the seed and the clip's number, before anything is rendered, so the corpus can
render all its utterances at once. `assemble` lays the rendered speech, the beep and the
backgrounds on a timeline, sends it down the telephone line and writes the label.

The timeline: a silence (the far end's pause after answering), the answering voice's
utterances with their pauses, then for machines a pause and the beep, then a tail of line
noise long enough for a detector to decide (every clip lasts at least `MIN_DURATION_MS`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from bench.amd_corpus import backgrounds, texts
from bench.amd_corpus.beeps import BeepSpec, odd_beep, render_beep, standard_beep
from bench.amd_corpus.categories import BY_NAME, Category
from bench.amd_corpus.filters import fade
from bench.amd_corpus.labels import MACHINE, ClipLabel
from bench.amd_corpus.synthesis import Samples, Utterance
from bench.amd_corpus.telephone import FRAME, LineConditions, pick_line, telephone_line
from bench.amd_corpus.voices import VoiceSpec, pick_voice

RATE: Final = 8000
MIN_DURATION_MS: Final = 6000  # past Asterisk's 5 s analysis, so every detector can decide


@dataclass(frozen=True)
class Background:
    kind: str  # street, tv, babble, music, hiss or rustle
    snr_db: float  # the answering voice's RMS over the background's
    span: str  # "clip": all of it; "greeting": under the speech; "lead": before it


@dataclass(frozen=True)
class Scene:
    speech: tuple[tuple[int, str], ...]  # (pause before it in ms, words), in order
    tail_ms: int  # after the last sound
    beep_gap_ms: int = 0  # from the end of the speech to the beep
    beep: BeepSpec | None = None
    backgrounds: tuple[Background, ...] = ()


@dataclass(frozen=True)
class ClipPlan:
    index: int
    seed: int
    category: Category
    voice: VoiceSpec
    scene: Scene
    line: LineConditions
    utterances: tuple[Utterance, ...] = field(init=False)

    def __post_init__(self) -> None:
        words = tuple(Utterance(text, self.voice) for _, text in self.scene.speech)
        object.__setattr__(self, "utterances", words)


@dataclass(frozen=True)
class Banks:
    """Rendered sentences shared by the clips: far-off talkers and television voices."""

    babble: Sequence[Samples]
    tv: Sequence[Samples]


def plan_clip(index: int, seed: int, category: Category) -> ClipPlan:
    rng = random.Random(f"amd-corpus/{seed}/clip/{index}")
    scene = _SCENES[category.name](rng)
    return ClipPlan(index, seed, category, pick_voice(rng), scene, pick_line(rng))


def _ms(rng: random.Random, low: int, high: int) -> int:
    return rng.randrange(low, high + 1, 10)


def _human_wait(rng: random.Random) -> int:
    return _ms(rng, 4000, 6000)


def _answer_pause(rng: random.Random) -> int:
    return _ms(rng, 150, 900)


def _machine_pause(rng: random.Random) -> int:
    """Machines mostly start at once; some take a second or more to start playing."""
    return _ms(rng, 100, 1200) if rng.random() < 0.8 else _ms(rng, 1200, 3000)


def _machine_hiss(rng: random.Random) -> tuple[Background, ...]:
    """A quarter of machines play their greeting with tape or line hiss."""
    if rng.random() < 0.25:
        return (Background("hiss", round(rng.uniform(25.0, 40.0), 1), "clip"),)
    return ()


def _short_hello(rng: random.Random) -> Scene:
    return Scene(((_answer_pause(rng), texts.short_answer(rng)),), _human_wait(rng))


def _name(rng: random.Random) -> Scene:
    return Scene(((_answer_pause(rng), texts.name_answer(rng)),), _human_wait(rng))


def _long_greeting(rng: random.Random) -> Scene:
    return Scene(((_answer_pause(rng), texts.long_answer(rng)),), _human_wait(rng))


def _in_noise(kind: str, low_db: float) -> Callable[[random.Random], Scene]:
    def scene(rng: random.Random) -> Scene:
        noise = Background(kind, round(rng.uniform(low_db, 20.0), 1), "clip")
        speech = ((_answer_pause(rng), texts.any_short_answer(rng)),)
        return Scene(speech, _human_wait(rng), backgrounds=(noise,))

    return scene


def _hello_hello(rng: random.Random) -> Scene:
    first = (_answer_pause(rng), texts.short_answer(rng))
    return Scene((first, (_ms(rng, 1000, 2500), texts.second_hello(rng))), _human_wait(rng))


def _late(rng: random.Random) -> Scene:
    handled = rng.random() < 0.5
    lead = (Background("rustle", round(rng.uniform(6.0, 18.0), 1), "lead"),) if handled else ()
    speech = ((_ms(rng, 1000, 3000), texts.any_short_answer(rng)),)
    return Scene(speech, _human_wait(rng), backgrounds=lead)


def _beeping(
    words: Callable[[random.Random], str], *, odd: bool = False, music: bool = False
) -> Callable[[random.Random], Scene]:
    def scene(rng: random.Random) -> Scene:
        speech = ((_machine_pause(rng), words(rng)),)
        beep = odd_beep(rng) if odd else standard_beep(rng)
        extra = _machine_hiss(rng)
        if music:
            extra += (Background("music", round(rng.uniform(6.0, 16.0), 1), "greeting"),)
        tail = _ms(rng, 3000, 5000)
        return Scene(speech, tail, _ms(rng, 200, 1200), beep, extra)

    return scene


def _no_beep(rng: random.Random) -> Scene:
    speech = ((_machine_pause(rng), texts.no_beep_greeting(rng)),)
    return Scene(speech, _ms(rng, 4000, 6000), backgrounds=_machine_hiss(rng))


def _standard_words(rng: random.Random) -> str:
    return texts.greeting(rng, extras=int(rng.random() < 0.2))


def _long_words(rng: random.Random) -> str:
    return texts.greeting(rng, extras=rng.randrange(1, 3))


_SCENES: Final[dict[str, Callable[[random.Random], Scene]]] = {
    "human_short_hello": _short_hello,
    "human_name": _name,
    "human_long_greeting": _long_greeting,
    "human_noise_street": _in_noise("street", 5.0),
    "human_noise_tv": _in_noise("tv", 8.0),
    "human_noise_babble": _in_noise("babble", 8.0),
    "human_hello_hello": _hello_hello,
    "human_late": _late,
    "machine_standard": _beeping(_standard_words),
    "machine_long": _beeping(_long_words),
    "machine_carrier": _beeping(texts.carrier_announcement),
    "machine_short_beep": _beeping(texts.short_greeting),
    "machine_music": _beeping(_standard_words, music=True),
    "machine_no_beep": _no_beep,
    "machine_odd_beep": _beeping(_standard_words, odd=True),
}
assert set(_SCENES) == set(BY_NAME)


def assemble(
    plan: ClipPlan, rendered: dict[Utterance, Samples], banks: Banks
) -> tuple[NDArray[np.int16], ClipLabel]:
    rng = np.random.default_rng([plan.seed, plan.index])
    scene = plan.scene
    placed: list[tuple[int, NDArray[np.floating]]] = []
    spans: list[tuple[int, int]] = []
    at = 0  # samples
    for (pause_ms, _), utterance in zip(scene.speech, plan.utterances, strict=True):
        at += pause_ms * RATE // 1000
        speech = rendered[utterance]
        placed.append((at, speech))
        spans.append((at, at + speech.size))
        at += speech.size
    tones: list[tuple[int, int, float]] = []
    if scene.beep is not None:
        at += scene.beep_gap_ms * RATE // 1000
        placed.append((at, render_beep(scene.beep, rng)))
        for tone in scene.beep.tones:
            onset = at + tone.offset_ms * RATE // 1000
            tones.append((onset, onset + tone.duration_ms * RATE // 1000, tone.hz))
        at += scene.beep.duration_ms * RATE // 1000
    end = max(at + scene.tail_ms * RATE // 1000, MIN_DURATION_MS * RATE // 1000)
    end = -(-end // FRAME) * FRAME  # whole 20 ms frames
    mix = np.zeros(end)
    for start, sound in placed:
        mix[start : start + sound.size] += sound
    beep_at = tones[0][0] if tones else end
    described = [_add_background(mix, b, spans, beep_at, rng, banks) for b in scene.backgrounds]
    pcm, line_did = telephone_line(mix, plan.line, rng)
    return pcm, _label(plan, spans, tones, end, described, line_did)


def _add_background(
    mix: NDArray[np.float64],
    background: Background,
    spans: list[tuple[int, int]],
    beep_at: int,
    rng: np.random.Generator,
    banks: Banks,
) -> dict[str, Any]:
    """Mixes the background in; returns its description. Music under a greeting stops at
    least 100 ms before the beep, as the greeting's recording does."""
    if background.span == "greeting":
        start = max(0, spans[0][0] - int(rng.uniform(0.1, 0.5) * RATE))
        stop = min(spans[-1][1] + int(rng.uniform(0.0, 0.3) * RATE), beep_at - RATE // 10)
    elif background.span == "lead":
        start, stop = 0, max(0, spans[0][0] - RATE // 10)
    else:
        start, stop = 0, mix.size
    described: dict[str, Any] = {**asdict(background), "start_ms": start * 1000 // RATE}
    described["end_ms"] = stop * 1000 // RATE
    if stop - start < RATE // 10:
        return described
    samples = stop - start
    kind = background.kind
    if kind == "babble":
        sound, made = backgrounds.babble(samples, rng, banks.babble)
    elif kind == "tv":
        sound, made = backgrounds.tv(samples, rng, banks.tv)
    else:
        sound, made = _PLAIN_BACKGROUNDS[kind](samples, rng)
    if background.span == "greeting":
        fade(sound, RATE // 20)
    mix[start:stop] += sound * 10 ** (-background.snr_db / 20)
    if "horn_ms" in made:  # from the background's start to the clip's
        made["horn_ms"] = [start * 1000 // RATE + t for t in made["horn_ms"]]
    return {**described, **made}


_PLAIN_BACKGROUNDS: Final = {
    "street": backgrounds.street,
    "music": backgrounds.music,
    "hiss": backgrounds.hiss,
    "rustle": backgrounds.rustle,
}


def _label(
    plan: ClipPlan,
    spans: list[tuple[int, int]],
    tones: list[tuple[int, int, float]],
    end: int,
    described: list[dict[str, Any]],
    line_did: dict[str, int],
) -> ClipLabel:
    def ms(samples: int) -> int:
        return samples * 1000 // RATE

    scene, category = plan.scene, plan.category
    params: dict[str, Any] = {
        "initial_silence_ms": scene.speech[0][0],
        **plan.voice.describe(),
        **plan.line.describe(),
        **line_did,
        "backgrounds": described,
        "beep": scene.beep.describe() if scene.beep else None,
    }
    return ClipLabel(
        file=f"{plan.index:04d}_{category.name}.wav",
        label=category.label,
        category=category.name,
        duration_ms=ms(end),
        speech_start_ms=ms(spans[0][0]),
        speech_end_ms=ms(spans[-1][1]),
        speech_ms=tuple((ms(a), ms(b)) for a, b in spans),
        greeting_end_ms=ms(spans[-1][1]) if category.label == MACHINE else None,
        beep_ms=ms(tones[0][0]) if tones else None,
        beep_end_ms=ms(tones[-1][1]) if tones else None,
        beep_hz=tones[0][2] if tones else None,
        beep_tones=tuple((ms(a), ms(b), hz) for a, b, hz in tones),
        engine=plan.voice.engine,
        voice=plan.voice.name,
        text=" ... ".join(text for _, text in scene.speech),
        params=params,
        seed=plan.seed,
        index=plan.index,
    )
