"""Voice activity in 20 ms frames of 8 kHz audio: webrtcvad's verdict, smoothed, with the
frame's cheap features (level, peak, clipping, zero crossings) for answering-machine
detection.

`VoiceActivityDetector.feed(pcm)` takes one frame of 160 int16 samples (what a trunk's
20 ms G.711 packet decodes to) and returns a frozen `FrameFeatures`. Use one detector per
call and feed it every frame in order: webrtcvad adapts its noise estimate to the stream
it hears (a steady hiss stops being speech after a few frames).

- `vad_speech` is this frame alone: webrtcvad says speech AND the frame is at least
  `min_level_dbfs` loud. webrtcvad carries its own hangover of 100-250 ms into quiet
  frames; the level floor cuts that, so the last speech frame is where the voice stops.
- `speech` is smoothed: on after `onset_frames` speech frames in a row (a click or a
  single noisy frame is not speech), held for `hangover_frames` after the last one.

Levels are RMS relative to 32768 (a full-scale sine is -3 dBFS, as in media.silence); an
all-zero frame reports LEVEL_FLOOR_DBFS rather than -inf so features can be averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import webrtcvad
from numpy.typing import NDArray

__all__ = [
    "CLIP_MAGNITUDE",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "FULL_SCALE",
    "LEVEL_FLOOR_DBFS",
    "SAMPLE_RATE",
    "FrameFeatures",
    "VadSettings",
    "VoiceActivityDetector",
    "check_frame",
    "mean_square_dbfs",
]

SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160
FRAME_MS: Final = 20
FULL_SCALE: Final = 32768.0
LEVEL_FLOOR_DBFS: Final = -100.0
# Decoded G.711 never reaches 32767: μ-law's largest magnitude is 32124, A-law's 32256.
CLIP_MAGNITUDE: Final = 32000
_FLOOR_MEAN_SQUARE: Final = FULL_SCALE**2 * 10 ** (LEVEL_FLOOR_DBFS / 10)


def check_frame(pcm: NDArray[np.int16]) -> None:
    """ValueError unless `pcm` is one 20 ms frame: 160 int16 samples."""
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16:
        kind = pcm.dtype if isinstance(pcm, np.ndarray) else type(pcm).__name__
        raise ValueError(f"a frame is an int16 numpy array, got {kind}")
    if pcm.shape != (FRAME_SAMPLES,):
        raise ValueError(
            f"a frame is {FRAME_SAMPLES} samples (20 ms at 8 kHz), got shape {pcm.shape}"
        )


def mean_square_dbfs(mean_square: float) -> float:
    """A mean square (per 16-bit sample) in dB relative to 32768², floored."""
    return 10 * math.log10(max(mean_square, _FLOOR_MEAN_SQUARE) / FULL_SCALE**2)


@dataclass(frozen=True, slots=True)
class VadSettings:
    aggressiveness: int = 2  # webrtcvad's mode, 0..3: higher refuses more non-speech
    min_level_dbfs: float = -50.0  # quieter frames are never speech (see the module doc)
    onset_frames: int = 2  # speech frames in a row before `speech` turns on
    hangover_frames: int = 0  # frames `speech` stays on after the last speech frame

    def __post_init__(self) -> None:
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0..3 (got {self.aggressiveness})")
        if self.onset_frames < 1:
            raise ValueError(f"onset_frames must be at least 1 (got {self.onset_frames})")
        if self.hangover_frames < 0:
            raise ValueError(f"hangover_frames must be 0 or more (got {self.hangover_frames})")


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    """One frame heard: the speech verdicts and what else is cheap to know about it."""

    speech: bool  # smoothed: what to act on
    vad_speech: bool  # this frame alone: webrtcvad's verdict, above the level floor
    level_dbfs: float  # RMS; LEVEL_FLOOR_DBFS for digital silence
    peak_dbfs: float  # the largest magnitude; a decoded μ-law full scale is -0.2
    clipped_fraction: float  # samples at full scale (|x| >= CLIP_MAGNITUDE), 0..1
    zero_crossing_rate: float  # sign changes per sample, 0..1: hiss and fricatives high


class VoiceActivityDetector:
    """Speech or not, frame by frame, for one stream (see the module docstring)."""

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings = settings or VadSettings()
        self._vad = webrtcvad.Vad(settings.aggressiveness)
        self._min_mean_square = FULL_SCALE**2 * 10 ** (settings.min_level_dbfs / 10)
        self._run = 0  # vad_speech frames in a row
        self._speaking = False
        self._hangover_left = 0
        self.frames = 0  # fed so far

    def feed(self, pcm: NDArray[np.int16]) -> FrameFeatures:
        """One frame (160 int16 samples, ValueError otherwise); its features."""
        check_frame(pcm)
        self.frames += 1
        samples = pcm.astype(np.float64)
        mean_square = float(np.dot(samples, samples)) / FRAME_SAMPLES
        peak = float(np.abs(samples).max())
        clipped = 0.0
        if peak >= CLIP_MAGNITUDE:
            clipped = int(np.count_nonzero(np.abs(samples) >= CLIP_MAGNITUDE)) / FRAME_SAMPLES
        # Two samples differ in sign exactly when their XOR is negative (0 counts as +).
        crossings = int(np.count_nonzero((pcm[1:] ^ pcm[:-1]) < 0)) / (FRAME_SAMPLES - 1)
        # webrtcvad hears every frame, quiet ones too: they are its noise estimate.
        verdict = bool(self._vad.is_speech(pcm.tobytes(), SAMPLE_RATE))
        vad_speech = verdict and mean_square >= self._min_mean_square
        return FrameFeatures(
            speech=self._smooth(vad_speech),
            vad_speech=vad_speech,
            level_dbfs=mean_square_dbfs(mean_square),
            peak_dbfs=mean_square_dbfs(peak * peak),
            clipped_fraction=clipped,
            zero_crossing_rate=crossings,
        )

    def _smooth(self, vad_speech: bool) -> bool:
        self._run = self._run + 1 if vad_speech else 0
        if vad_speech and (self._speaking or self._run >= self.settings.onset_frames):
            self._speaking = True
            self._hangover_left = self.settings.hangover_frames
        elif self._speaking and self._hangover_left > 0:
            self._hangover_left -= 1
        else:
            self._speaking = False
        return self._speaking
