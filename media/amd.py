"""Answering-machine detection, sans-IO: a person or a recorded greeting, from the far end's audio.

Fed the far end's audio from the moment of answer, 20 ms at a time (160 samples,
8 kHz), `AnsweringMachineDetector` says `human` or `machine` as soon as it is
sure enough, and `unknown` at `max_ms`. It is causal: a decision at t uses
only audio before t. Each frame costs a few microseconds (bench/amd.py).

What it listens for is how the two talk, not what they say:

- A person answers briefly ("Hello?", "Yeah, Dave speaking") and then waits for
  the caller: a burst of speech followed by a silence. Even the long business
  answers ("Good afternoon, Smith and Partners, Julia speaking, how can I
  help?") stop and wait.
- A greeting talks on: many seconds of speech with only the short pauses of
  reading aloud, usually ending in a beep.

So the rules, in the order they can fire:

1. `machine` when the far end has talked for `machine_run_ms` (speech and the
   short pauses within it) without once pausing for `human_pause_ms`; or on a
   beep (passed in by `media.answering.AnswerAnalysis` through `beep_heard`).
2. `human` when the far end spoke (at least `min_speech_ms`) and then paused for
   `human_pause_ms`: it is waiting for an answer.
3. `unknown` at `max_ms` (silence, or noise that never settles).

Speech is webrtcvad's verdict (media.vad, held over its gaps inside words) where
the level's ~100 ms envelope stands `speech_over_floor_db` above the line's
background. The background is tracked as it goes (it falls at once to a quieter
frame and rises slowly; lost packets are no news). On a noisy line, where the
background comes within `noisy_line_db` of the voice, speech must also come
within `below_voice_db` of the voice's recent peaks: the television or the crowd
behind a person who answered is background, not a greeting reading on.

The thresholds were set on the generated corpus (bench/amd_corpus, seeds 1 and 2)
and are reported on another seed by bench/amd.py.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from media.vad import FRAME_MS, FRAME_SAMPLES, FrameFeatures, VadSettings, VoiceActivityDetector

__all__ = [
    "FRAME_MS",
    "FRAME_SAMPLES",
    "AmdDecision",
    "AmdLabel",
    "AmdSettings",
    "AnsweringMachineDetector",
    "frames",
]


_DIGITAL_SILENCE_DBFS = -90.0  # decoded G.711 silence, or a concealed lost packet
_ENVELOPE_ALPHA = 0.2  # one frame's weight in the level envelope: about 100 ms
_VAD_HOLD_FRAMES = 3  # webrtcvad's speech verdict held this long (its gaps inside words)


class AmdLabel(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AmdSettings:
    max_ms: int = 15000  # no decision by then: unknown
    human_pause_ms: int = 1200  # a pause this long after speaking: waiting for the caller
    min_speech_ms: int = 120  # less is a click or a breath, not a word
    machine_run_ms: int = 5000  # talking this long without a human pause: a greeting
    speech_gap_ms: int = 200  # shorter silences are inside a run of speech
    vad_aggressiveness: int = 2  # webrtcvad 0-3
    min_level_dbfs: float = -50.0  # quieter frames are never speech
    speech_over_floor_db: float = 8.0  # speech stands this far above the background
    floor_rise_db_per_s: float = 3.0  # how fast the background estimate may climb
    below_voice_db: float = 8.0  # this much under the voice's recent peaks: background
    voice_decay_db_per_s: float = 1.5  # how fast those peaks are forgotten
    noisy_line_db: float = 25.0  # a background this close to the voice: judge by the voice

    def __post_init__(self) -> None:
        if not 0 <= self.vad_aggressiveness <= 3:
            raise ValueError("vad_aggressiveness must be 0..3")
        if self.human_pause_ms <= self.speech_gap_ms:
            raise ValueError("human_pause_ms must be longer than speech_gap_ms")
        if min(self.max_ms, self.human_pause_ms, self.machine_run_ms) <= 0:
            raise ValueError("times must be positive")

    def vad(self) -> VadSettings:
        return VadSettings(
            aggressiveness=self.vad_aggressiveness, min_level_dbfs=self.min_level_dbfs
        )


@dataclass(frozen=True)
class AmdDecision:
    label: str  # an AmdLabel
    at_ms: int  # audio time of the decision, from the first frame
    reason: str


class AnsweringMachineDetector:
    def __init__(self, settings: AmdSettings | None = None) -> None:
        self.settings = settings or AmdSettings()
        self._vad: VoiceActivityDetector | None = None  # made when no features are given
        self.decision: AmdDecision | None = None
        self.elapsed_ms = 0
        self.speech_ms = 0  # all speech so far
        self.floor_dbfs: float | None = None  # the background's level
        self.voice_dbfs: float | None = None  # the foreground voice's recent peaks
        self._envelope: float | None = None  # the level's envelope, as a power
        self._vad_recent = 0  # frames left since webrtcvad last said speech
        self._rise = self.settings.floor_rise_db_per_s * FRAME_MS / 1000
        self._voice_decay = self.settings.voice_decay_db_per_s * FRAME_MS / 1000
        self._run_start_ms: int | None = None  # when the current run of talking began
        self._last_speech_ms = 0  # end of the last speech frame
        self._silence_ms = 0  # since then

    def feed(
        self, pcm: NDArray[np.int16], voice: FrameFeatures | None = None
    ) -> AmdDecision | None:
        """One 20 ms frame (and its VAD features, when the caller has them already);
        the decision the first time one is made, else None."""
        if self.decision is not None:
            return None
        if voice is None:
            if self._vad is None:
                self._vad = VoiceActivityDetector(self.settings.vad())
            voice = self._vad.feed(pcm)
        self.elapsed_ms += FRAME_MS
        if self._is_speech(voice):
            self._speech_frame()
        else:
            self._silence_ms += FRAME_MS
        return self._decide()

    def beep_heard(self, at_ms: int) -> AmdDecision | None:
        """A beep means a recording is waiting for its message: a machine."""
        if self.decision is not None:
            return None
        return self._decided(AmdLabel.MACHINE, f"beep at {at_ms} ms")

    def _is_speech(self, voice: FrameFeatures) -> bool:
        if voice.level_dbfs <= _DIGITAL_SILENCE_DBFS:
            return False  # a lost packet, or a line muted: no news about the background
        # The level's envelope (about 100 ms), not the frame's: syllables dip, voices don't.
        power = 10 ** (voice.level_dbfs / 10)
        self._envelope = (
            power
            if self._envelope is None
            else (self._envelope + _ENVELOPE_ALPHA * (power - self._envelope))
        )
        level = 10 * math.log10(self._envelope)
        self._vad_recent = _VAD_HOLD_FRAMES if voice.vad_speech else max(0, self._vad_recent - 1)
        floor = self.floor_dbfs
        if floor is None or level < floor:
            self.floor_dbfs = level
        else:
            self.floor_dbfs = floor + self._rise
        s = self.settings
        if not self._vad_recent or (floor is not None and level < floor + s.speech_over_floor_db):
            return False
        voice_level = self.voice_dbfs
        if voice_level is not None:
            voice_level -= self._voice_decay  # the voice's peaks, forgotten slowly
        noisy = (
            voice_level is not None
            and self.floor_dbfs is not None
            and self.floor_dbfs > voice_level - s.noisy_line_db
        )
        if noisy and voice_level is not None and level < voice_level - s.below_voice_db:
            self.voice_dbfs = voice_level
            return False  # the television behind the person who answered
        self.voice_dbfs = level if voice_level is None else max(voice_level, level)
        return True

    def _speech_frame(self) -> None:
        s = self.settings
        if self._run_start_ms is None or self._silence_ms >= s.human_pause_ms:
            self._run_start_ms = self.elapsed_ms - FRAME_MS  # talking (again) after waiting
        self._silence_ms = 0
        self.speech_ms += FRAME_MS
        self._last_speech_ms = self.elapsed_ms

    def _decide(self) -> AmdDecision | None:
        s = self.settings
        if self._run_start_ms is not None and self._silence_ms < s.human_pause_ms:
            run = self._last_speech_ms - self._run_start_ms
            if run >= s.machine_run_ms:
                return self._decided(AmdLabel.MACHINE, f"talked {run} ms without pausing to listen")
        if self._silence_ms >= s.human_pause_ms and self.speech_ms >= s.min_speech_ms:
            return self._decided(
                AmdLabel.HUMAN, f"spoke {self.speech_ms} ms, then waited {self._silence_ms} ms"
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
