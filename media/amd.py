"""Answering-machine detection, sans-IO: a person or a recorded greeting, from the far end's audio.

Fed the far end's audio from the moment of answer, 20 ms at a time (160 samples,
8 kHz), `AnsweringMachineDetector` says `human` or `machine` as soon as it is
sure enough, and `unknown` at `max_ms`. It is causal: a decision at t uses
only audio before t. Every frame costs a few microseconds (bench/amd.py).

What it listens for is how the two talk, not what they say:

- A person answers briefly ("Hello?", "Yeah, Dave speaking") and then waits for
  the caller: a short burst of speech followed by a silence. Even the long
  business answers ("Good afternoon, Smith and Partners, Julia speaking, how
  can I help?") stop and wait.
- A greeting talks on: several seconds of speech with only the short pauses of
  reading aloud, usually ending in a beep.

So the rules, in the order they can fire:

1. `machine` when the far end has spoken for `machine_speech_ms` in all without
   once pausing for `human_pause_ms` (a greeting reading on), or on a beep (the
   caller may pass one from a `BeepDetector` through `beep_heard`).
2. `human` when the far end spoke (at least `min_speech_ms`, at most
   `max_human_speech_ms`) and then paused for `human_pause_ms`: it is waiting
   for an answer. A second "Hello?" after a pause is a person too.
3. `unknown` at `max_ms` (silence, noise that never settles).

Speech is webrtcvad's verdict on each frame, held over short gaps and gated by
level (a hiss that webrtcvad calls speech is not a word).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import webrtcvad
from numpy.typing import NDArray

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
FRAME_MS = 20


class AmdLabel(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AmdSettings:
    max_ms: int = 5000  # no decision by then: unknown
    human_pause_ms: int = 800  # a pause this long after speaking: waiting for the caller
    min_speech_ms: int = 120  # less is a click or a breath, not a word
    max_human_speech_ms: int = 4000  # more before the first pause: reading a greeting
    machine_speech_ms: int = 4000  # speech without a human pause up to here: a greeting
    speech_gap_ms: int = 200  # shorter silences inside speech are part of it
    vad_aggressiveness: int = 2  # webrtcvad 0-3
    min_level_dbfs: float = -50.0  # quieter frames are not speech whatever the VAD says

    def __post_init__(self) -> None:
        if not 0 <= self.vad_aggressiveness <= 3:
            raise ValueError("vad_aggressiveness must be 0..3")
        if self.human_pause_ms <= self.speech_gap_ms:
            raise ValueError("human_pause_ms must be longer than speech_gap_ms")
        if min(self.max_ms, self.human_pause_ms, self.machine_speech_ms) <= 0:
            raise ValueError("times must be positive")


@dataclass(frozen=True)
class AmdDecision:
    label: str  # an AmdLabel
    at_ms: int  # audio time of the decision, from the first frame
    reason: str


class AnsweringMachineDetector:
    def __init__(self, settings: AmdSettings | None = None) -> None:
        self.settings = settings or AmdSettings()
        self._vad = webrtcvad.Vad(self.settings.vad_aggressiveness)
        self._threshold = 32768.0 * 10 ** (self.settings.min_level_dbfs / 20)
        self.decision: AmdDecision | None = None
        self.elapsed_ms = 0
        self.speech_ms = 0  # all speech so far
        self.utterances = 0  # runs of speech separated by silences over speech_gap_ms
        self._run_ms = 0  # speech since the last human-length pause
        self._silence_ms = 0  # silence since the last speech frame
        self._in_speech = False

    def feed(self, pcm: NDArray[np.int16]) -> AmdDecision | None:
        """One 20 ms frame; the decision the first time one is made, else None."""
        if self.decision is not None:
            return None
        if len(pcm) != FRAME_SAMPLES:
            raise ValueError(f"frames are {FRAME_SAMPLES} samples (got {len(pcm)})")
        self.elapsed_ms += FRAME_MS
        if self._is_speech(pcm):
            self._speech_frame()
        else:
            self._silence_frame()
        return self._decide()

    def beep_heard(self, at_ms: int) -> AmdDecision | None:
        """A beep means a recording is waiting for its message: a machine."""
        if self.decision is not None:
            return None
        return self._decided(AmdLabel.MACHINE, f"beep at {at_ms} ms")

    def _is_speech(self, pcm: NDArray[np.int16]) -> bool:
        rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
        if rms < self._threshold:
            return False
        return bool(self._vad.is_speech(pcm.astype("<i2", copy=False).tobytes(), SAMPLE_RATE))

    def _speech_frame(self) -> None:
        s = self.settings
        if not self._in_speech:
            if self._silence_ms >= s.human_pause_ms:
                self._run_ms = 0  # spoke again after waiting: a new start
            if self._silence_ms >= s.speech_gap_ms or self.utterances == 0:
                self.utterances += 1
            self._in_speech = True
        elif self._silence_ms:
            self._run_ms += self._silence_ms  # a short pause inside speech belongs to it
        self._silence_ms = 0
        self.speech_ms += FRAME_MS
        self._run_ms += FRAME_MS

    def _silence_frame(self) -> None:
        self._silence_ms += FRAME_MS
        if self._silence_ms >= self.settings.speech_gap_ms:
            self._in_speech = False

    def _decide(self) -> AmdDecision | None:
        s = self.settings
        if self._run_ms >= s.machine_speech_ms:
            return self._decided(
                AmdLabel.MACHINE, f"{self._run_ms} ms of speech without a pause to listen"
            )
        waited = self._silence_ms >= s.human_pause_ms and self.speech_ms >= s.min_speech_ms
        if waited and self.speech_ms <= s.max_human_speech_ms:
            return self._decided(
                AmdLabel.HUMAN,
                f"spoke {self.speech_ms} ms, then waited {self._silence_ms} ms",
            )
        if self.elapsed_ms >= s.max_ms:
            return self._decided(AmdLabel.UNKNOWN, f"no decision in {s.max_ms} ms")
        return None

    def _decided(self, label: AmdLabel, reason: str) -> AmdDecision:
        self.decision = AmdDecision(str(label), self.elapsed_ms, reason)
        return self.decision


def frames(pcm: NDArray[np.int16]) -> list[NDArray[np.int16]]:
    """Audio cut into whole 20 ms frames (a partial last one is dropped)."""
    usable = len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES
    return list(pcm[:usable].reshape(-1, FRAME_SAMPLES))
