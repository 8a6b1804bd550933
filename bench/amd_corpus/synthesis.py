"""Text to 8 kHz speech with espeak-ng, flite and festival, each run as its program.

espeak-ng runs as a program too, not in process: libespeak-ng keeps state from one
synthesis to the next (the same text comes out a few samples longer or shorter depending on
what was said before), which would make a clip depend on the corpus around it. A fresh
process renders the same text the same way every time.

`render_all` renders each distinct utterance once, on a few threads (each waiting on its
engine's process, so every core works), and returns every utterance as float samples at
8 kHz: resampled by its voice's `tempo`, trimmed to its first and last sound, and scaled so
its active speech has an RMS of 1.0 (the clip sets the level later). festival starts
slowly (about a second), so its utterances go to it in batches of one script each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Final

import av
import numpy as np
from numpy.typing import NDArray

from bench.amd_corpus.voices import ESPEAK, FESTIVAL, FLITE, VoiceSpec
from tts.errors import EngineError
from tts.espeak_command import EspeakCommand

RATE: Final = 8000
FESTIVAL_BATCH: Final = 12  # utterances a festival process renders
_TRIM_WINDOW: Final = 40  # 5 ms: where speech starts and ends, to the window
_TRIM_BELOW_PEAK_DB: Final = 40.0
_ACTIVE_BELOW_PEAK_DB: Final = 30.0  # 20 ms frames this close to the loudest are speech
_TIMEOUT_S: Final = 300.0

Samples = NDArray[np.float32]


class SynthesisError(Exception):
    """An engine is missing or failed; the message names it and the text."""


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: VoiceSpec


def render_all(
    utterances: Iterable[Utterance], *, workers: int | None = None
) -> dict[Utterance, Samples]:
    """Every distinct utterance rendered once. Raises SynthesisError."""
    by_engine: dict[str, list[Utterance]] = {ESPEAK: [], FLITE: [], FESTIVAL: []}
    for utterance in dict.fromkeys(utterances):
        by_engine[utterance.voice.engine].append(utterance)
    for engine, wanted in by_engine.items():
        if wanted and shutil.which(engine) is None:
            raise SynthesisError(f"{engine} is not installed (apt-get install {engine})")
    if by_engine[ESPEAK]:
        _espeak_backend()  # once, before the threads
    festival = sorted(by_engine[FESTIVAL], key=lambda u: (u.voice.voice, u.voice.rate))
    jobs = [partial(_festival, batch) for batch in _batches(festival, FESTIVAL_BATCH)]
    jobs += [partial(_each, _flite, batch) for batch in _batches(by_engine[FLITE], 4)]
    jobs += [partial(_each, _espeak, batch) for batch in _batches(by_engine[ESPEAK], 8)]
    rendered: dict[Utterance, Samples] = {}
    with ThreadPoolExecutor(workers or max(2, os.cpu_count() or 2)) as pool:
        for result in pool.map(lambda job: job(), jobs):
            rendered.update(result)
    return rendered


def _batches(utterances: list[Utterance], size: int) -> list[list[Utterance]]:
    return [utterances[start : start + size] for start in range(0, len(utterances), size)]


def _each(
    render: Callable[[Utterance], Samples], batch: list[Utterance]
) -> dict[Utterance, Samples]:
    return {utterance: render(utterance) for utterance in batch}


def _espeak(utterance: Utterance) -> Samples:
    voice = utterance.voice
    try:
        pcm, rate = _espeak_backend().synthesize(
            utterance.text, voice.voice, speed_wpm=int(voice.rate), pitch=int(voice.pitch)
        )
    except EngineError as exc:
        raise SynthesisError(f"espeak-ng {voice.voice}: {exc} ({utterance.text!r})") from exc
    return finish(np.frombuffer(pcm, dtype="<i2").astype(np.int16), rate, voice.tempo)


@cache
def _espeak_backend() -> EspeakCommand:
    try:
        return EspeakCommand()
    except EngineError as exc:
        raise SynthesisError(f"{exc} (apt-get install espeak-ng)") from exc


def _flite(utterance: Utterance) -> Samples:
    voice = utterance.voice
    with tempfile.TemporaryDirectory(prefix="amd-flite-") as folder:
        path = Path(folder) / "out.wav"
        argv = ["flite", "-voice", voice.voice, "--setf", f"duration_stretch={voice.rate}"]
        if voice.pitch:
            argv += ["--setf", f"int_f0_target_mean={voice.pitch}"]
        _run([*argv, "-t", utterance.text, "-o", str(path)], utterance)
        pcm, rate = read_wav(path)
    return finish(pcm, rate, voice.tempo)


def _festival(batch: list[Utterance]) -> dict[Utterance, Samples]:
    with tempfile.TemporaryDirectory(prefix="amd-festival-") as folder:
        lines: list[str] = []
        current: tuple[str, float] | None = None
        for number, utterance in enumerate(batch):
            voice = utterance.voice
            if current != (voice.voice, voice.rate):
                lines.append(f"(voice_{voice.voice})")
                lines.append(f"(Parameter.set 'Duration_Stretch {voice.rate})")
                current = (voice.voice, voice.rate)
            text = utterance.text.replace("\\", " ").replace('"', " ")
            lines.append(f'(utt.save.wave (SynthText "{text}") "{folder}/{number}.wav" \'riff)')
        script = Path(folder) / "batch.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _run(["festival", "-b", str(script)], batch[0])
        out: dict[Utterance, Samples] = {}
        for number, utterance in enumerate(batch):
            path = Path(folder) / f"{number}.wav"
            if not path.exists():
                raise SynthesisError(f"festival wrote nothing for {utterance.text!r}")
            pcm, rate = read_wav(path)
            out[utterance] = finish(pcm, rate, utterance.voice.tempo)
    return out


def _run(argv: list[str], utterance: Utterance) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SynthesisError(
            f"{argv[0]} failed on {utterance.text!r}: {exc} {detail.decode(errors='replace')}"
        ) from exc


def read_wav(path: Path) -> tuple[NDArray[np.int16], int]:
    """A 16-bit WAV's first channel and its rate."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise SynthesisError(f"{path}: not 16-bit")
        channels = wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return samples[::channels].astype(np.int16), wav.getframerate()


def finish(pcm: NDArray[np.int16], rate: int, tempo: float) -> Samples:
    """Resampled to 8 kHz (`tempo` > 1: faster and higher), trimmed, active RMS 1.0."""
    speech = resample(pcm, round(rate * tempo), RATE).astype(np.float32)
    speech = trim(speech)
    if speech.size == 0:
        raise SynthesisError("the engine rendered silence")
    return (speech / active_rms(speech)).astype(np.float32)


def resample(pcm: NDArray[np.int16], rate: int, to_rate: int) -> NDArray[np.int16]:
    """`pcm` taken as sampled at `rate`, resampled to `to_rate` (swresample, as PyAV ships)."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


def trim(speech: Samples) -> Samples:
    """Without the silence before the first and after the last 5 ms that sounds."""
    windows = speech[: speech.size // _TRIM_WINDOW * _TRIM_WINDOW].reshape(-1, _TRIM_WINDOW)
    if windows.size == 0:
        return speech[:0]
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-_TRIM_BELOW_PEAK_DB / 20))
    if loud.size == 0:
        return speech[:0]
    return speech[loud[0] * _TRIM_WINDOW : (loud[-1] + 1) * _TRIM_WINDOW]


def active_rms(speech: Samples, frame: int = 160) -> float:
    """The RMS of the 20 ms frames within 30 dB of the loudest: the level of the speech."""
    frames = speech[: max(frame, speech.size // frame * frame)]
    if frames.size < frame:
        frames = np.pad(frames, (0, frame - frames.size))
    power = np.mean(np.square(frames.reshape(-1, frame), dtype=np.float64), axis=1)
    active = power[power >= power.max() * 10 ** (-_ACTIVE_BELOW_PEAK_DB / 10)]
    return float(np.sqrt(active.mean())) or 1.0
