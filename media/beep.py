"""A voicemail greeting's beep, or its end without one, heard in 20 ms frames of 8 kHz audio.

On a machine the dialer must start its message only once the beep has ENDED, or, when no
beep comes, once the greeting has been followed by silence. `BeepDetector.feed(pcm)`
takes every 160-sample frame from the answer on and returns a `BeepEvent` once per event,
times in audio milliseconds from the first frame fed. Every decision uses only the audio
fed so far.

Tone windows. Each frame closes a 40 ms window (it and the frame before, Hann-weighted:
25 Hz bins, so a voice's harmonics, 100 Hz or more apart, land in different bins). A
window holds a tone when (limits in `BeepSettings`):

- it is at least `min_level_dbfs` loud;
- its strongest bin is within `min_frequency_hz`..`max_frequency_hz` (the frequency is
  interpolated between bins: within ~1 Hz for a clean tone);
- the band of ±75 Hz around that bin holds `min_purity` of the window's energy: noise,
  chords and DTMF pairs spread their energy wider;
- no other bin comes within `max_side_peak_db` of that band, but for the tone's odd
  harmonics below 4 kHz (a square-ish beep has them; in a window with clipped samples,
  media.vad's `clipped_fraction`, the ones aliased from above too): a voice has an even
  harmonic or a subharmonic there, music another note, DTMF its other tone. (A high
  voice's fundamental alone reaches a purity of 0.95.)

Tones. A tone is a run of tone windows whose frequency moves less than
`max_frequency_step` from one window to the next; two failing windows are bridged (a lost
packet, a burst of noise). Its onset and end are found in 5 ms block energies, as the
first and last block within 6 dB of the tone's loudest, so its duration is known to a few
ms. It counts when

- it lasts `min_tone_ms`..`max_tone_ms` (and fills at least 3 windows);
- it rises out of quieter sound: the energy is 6 dB down within 40 ms before its first
  tone window. A beep follows a pause; a pure vowel grows out of a syllable;
- its frequency varies by at most `max_frequency_spread` (FM of up to ±3 % passes), the
  level of its 20 ms frames by at most `max_level_deviation_db` (standard deviation, lost
  packets aside), and it rises and falls between 6 and 3 dB under its level within
  `max_edge_ms`: a generator holds its level and switches it; the purest vowels of a high
  voice swell, fade, and take tens of ms to start and stop.

Beeps. A beep is one to `max_tones` tones, each starting within `max_gap_ms` of the end
of the one before, with quiet between them and after the last (no 20 ms frame within 6 dB
of the tone's level: the machine now records, where a vowel is followed by the rest of
the greeting). It is reported `max_gap_ms` after its last tone ended, once no tone that
began within the gap is being heard: that wait is what reports a double or triple beep
once, after its last tone, and it is the delay before the message starts. More tones (a
tune), or a tone longer than `max_tone_ms` among them or within the gap after them, is
not a beep.

The end of a greeting. Once `min_speech_ms` of speech has been heard (media.vad), silence
for `silence_ms` after the last speech frame reports `greeting_end`, its onset the end of
that speech, unless a beep is in the making (a tone being heard, or tones waiting for the
gap to pass): a beep wins when it comes. It is also the fallback for a beep these rules
refuse: webrtcvad hears a tone as speech, so the silence is counted from the tone's end.
After a greeting_end a late beep is still reported; after a beep the detector is finished.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from media.vad import (
    FRAME_MS,
    FRAME_SAMPLES,
    FULL_SCALE,
    SAMPLE_RATE,
    FrameFeatures,
    VadSettings,
    VoiceActivityDetector,
    check_frame,
)

__all__ = [
    "BEEP",
    "GREETING_END",
    "BeepDetector",
    "BeepEvent",
    "BeepKind",
    "BeepSettings",
    "WindowTone",
    "analyse_window",
]

BEEP: Final = "beep"
GREETING_END: Final = "greeting_end"
BeepKind = Literal["beep", "greeting_end"]

WINDOW: Final = 2 * FRAME_SAMPLES  # 40 ms
BIN_HZ: Final = SAMPLE_RATE / WINDOW
BAND_BINS: Final = 3  # ±75 Hz: the Hann main lobe (±2 bins) and a slight FM's spread
BLOCK: Final = 40  # 5 ms
BLOCK_MS: Final = 5
BLOCKS_PER_FRAME: Final = FRAME_SAMPLES // BLOCK
_DROPOUT_WINDOWS: Final = 2  # failing windows bridged inside a tone: a lost packet, noise
_ONSET_LOOKBACK_FRAMES: Final = 2  # before a tone's first window (partial ones may fail)
_END_LOOKAHEAD_FRAMES: Final = 2  # after its last window (the one bridged, a partial one)
_MIN_WINDOWS: Final = 3  # a 100 ms tone fills at least 3 windows
# Enough blocks for the onset's look back, and for the end of a tone bridged to its limit.
_HISTORY_BLOCKS: Final = (
    max(_ONSET_LOOKBACK_FRAMES + 2, _DROPOUT_WINDOWS + _END_LOOKAHEAD_FRAMES + 2) * BLOCKS_PER_FRAME
)
_EDGE_SHARE: Final = 0.25  # a block within 6 dB of the tone's loudest is tone
_QUIET_SHARE: Final = 0.25  # after a beep, a frame within 6 dB of its level is not quiet
_ODD_HARMONICS: Final = (3, 5, 7, 9, 11, 13, 15)
# Where a tone's harmonics fall is worked out for its frequency rounded to this: the 15th
# harmonic then lands within 24 Hz, inside the ±75 Hz band left out around it.
_HARMONIC_STEP_HZ: Final = BIN_HZ / 8
_HANN: Final = np.hanning(WINDOW)
_TINY: Final = 1e-30


@dataclass(frozen=True, slots=True)
class BeepEvent:
    """A beep that ended, or a greeting that ended without one (see the module doc)."""

    kind: BeepKind
    onset_ms: int  # beep: its first tone's start; greeting_end: the end of the last speech
    end_ms: int  # beep: its last tone's end; greeting_end: when the silence was long enough
    frequency_hz: float | None  # beep: its last tone's; greeting_end: None


@dataclass(frozen=True, slots=True)
class BeepSettings:
    """What a beep is and how long a silence ends a greeting. The tone limits hold a
    margin over the range they serve (300-2,500 Hz, 100 ms-1.5 s) for a generator's and
    the measurement's error."""

    min_frequency_hz: float = 290.0
    max_frequency_hz: float = 2560.0
    min_tone_ms: int = 90
    max_tone_ms: int = 1700
    max_tones: int = 3  # in one beep
    max_gap_ms: int = 400  # between the tones of a beep; the wait after its last one
    min_level_dbfs: float = -45.0  # of a tone window
    min_purity: float = 0.8  # a tone at 10 dB SNR in white noise: ~0.9; a square wave 0.81
    max_side_peak_db: float = -22.0  # of the band; that tone's noise bins: -23 to -30
    max_frequency_step: float = 0.05  # window to window (a 3 % FM at 8 Hz: 3 %)
    max_frequency_spread: float = 0.07  # over a tone, (max - min) / median: that FM, 6 %
    # The standard deviation of its 20 ms frames' levels: 0.2-0.5 dB at 10 dB SNR; the
    # purest vowels of espeak-ng's highest voices swell or fade by 0.8 dB or more.
    max_level_deviation_db: float = 0.7
    max_edge_ms: int = 10  # a tone's rise and fall, from 6 to 3 dB under its level
    silence_ms: int = 1200  # after the greeting's speech: its end
    min_speech_ms: int = 300  # heard before a silence can end a greeting
    vad: VadSettings = VadSettings(aggressiveness=3)  # when feed is not given features

    def __post_init__(self) -> None:
        if not 0 < self.min_frequency_hz < self.max_frequency_hz <= SAMPLE_RATE / 2:
            raise ValueError("need 0 < min_frequency_hz < max_frequency_hz <= 4000")
        if not 0 < self.min_tone_ms <= self.max_tone_ms:
            raise ValueError("need 0 < min_tone_ms <= max_tone_ms")
        if self.max_tones < 1:
            raise ValueError(f"max_tones must be at least 1 (got {self.max_tones})")
        if self.max_gap_ms < FRAME_MS or self.silence_ms < FRAME_MS:
            raise ValueError(f"max_gap_ms and silence_ms must be at least {FRAME_MS}")
        if not 0 < self.min_purity <= 1:
            raise ValueError(f"min_purity must be in (0, 1] (got {self.min_purity})")


@dataclass(frozen=True, slots=True)
class WindowTone:
    """What one 40 ms window shows of a tone: its strongest frequency and how alone it is."""

    frequency_hz: float
    purity: float  # share of the window's energy within ±75 Hz of the peak bin
    side_peak_db: float  # the strongest other bin (odd harmonics aside when clipped), in dB
    # relative to the band's energy


def analyse_window(window: NDArray[np.float64], *, clipped: bool = False) -> WindowTone:
    """The tone a window of 320 samples (40 ms) holds, if it holds one. In a `clipped`
    window the odd harmonics aliased from above 4 kHz are not counted as other peaks either."""
    if window.shape != (WINDOW,):
        raise ValueError(f"a window is {WINDOW} samples, got shape {window.shape}")
    power = _power_spectrum(window)
    peak = int(np.argmax(power))
    if power[peak] <= 0.0:
        return WindowTone(0.0, 0.0, 0.0)
    low, high = max(peak - BAND_BINS, 0), peak + BAND_BINS + 1
    band = float(power[low:high].sum())
    frequency = _interpolated_hz(power, peak)
    side = max(_side_peak(power, low, high, frequency, clipped) / band, _TINY)
    return WindowTone(frequency, band / float(power.sum()), 10 * math.log10(side))


def _power_spectrum(window: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.abs(np.fft.rfft(window * _HANN)) ** 2


def _side_peak(
    power: NDArray[np.float64], low: int, high: int, frequency: float, clipped: bool
) -> float:
    """The strongest bin outside `low:high` and the tone's odd harmonics: those below 4 kHz
    (a square-ish beep has them), and when `clipped` the ones aliased from above it too."""
    others = _other_bins(low, high, round(frequency / _HARMONIC_STEP_HZ), clipped)
    return float(power[others].max())


@lru_cache(maxsize=4096)
def _other_bins(low: int, high: int, step: int, clipped: bool) -> NDArray[np.bool_]:
    """The bins `_side_peak` looks at, for the peak band `low:high` and a frequency of
    `step` eighths of a bin: worked out once per frequency, not once per window."""
    others = np.ones(WINDOW // 2 + 1, dtype=np.bool_)
    others[low:high] = False
    for harmonic in _ODD_HARMONICS:
        at = harmonic * step * _HARMONIC_STEP_HZ
        if at >= SAMPLE_RATE / 2:
            if not clipped:
                break
            at %= SAMPLE_RATE
            at = min(at, SAMPLE_RATE - at)
        centre = round(at / BIN_HZ)
        others[max(centre - BAND_BINS, 0) : centre + BAND_BINS + 1] = False
    return others


def _spread(frequencies: list[float]) -> tuple[float, float]:
    """The median of `frequencies` and their spread, (max - min) / median."""
    median = statistics.median(frequencies)
    return median, (max(frequencies) - min(frequencies)) / median


def _deviation_db(energies: list[float]) -> float:
    """The standard deviation of the levels of `energies` (inf for fewer than two)."""
    if len(energies) < 2 or min(energies) <= 0.0:
        return math.inf
    return statistics.pstdev(10 * math.log10(energy) for energy in energies)


def _interpolated_hz(power: NDArray[np.float64], peak: int) -> float:
    """The peak's frequency between bins: a parabola through the log powers of the peak bin
    and its neighbours (a Hann window's main lobe is nearly Gaussian: bias < 0.1 Hz)."""
    if not 0 < peak < power.size - 1:
        return peak * BIN_HZ
    before, at, after = (math.log(float(power[i]) + _TINY) for i in (peak - 1, peak, peak + 1))
    curvature = before - 2 * at + after
    offset = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
    return (peak + offset) * BIN_HZ


@dataclass(slots=True)
class _Tone:
    """A run of tone windows being heard."""

    onset_ms: int
    first_frame: int  # the frame its first window began in (`energies` start there)
    last_window: int  # the frame whose window was the last to hold the tone
    frequencies: list[float]  # of its windows
    energies: list[float]  # of every frame since its first window began
    head: list[float]  # energies of its 5 ms blocks from its onset to its first window's end
    misses: int = 0  # windows since its last, without it
    clean_onset: bool = True  # it rose out of quieter sound
    too_long: bool = False  # longer than max_tone_ms already


@dataclass(slots=True)
class _Beep:
    """Tones heard close together, waiting for the gap after the last."""

    onset_ms: int
    end_ms: int
    frequency_hz: float
    loud: float  # a frame this loud after a tone breaks the quiet that follows a beep
    since: list[tuple[int, float]]  # the frames heard after its last tone: (start ms, energy)
    tones: int = 1
    refused: bool = False  # too many tones, one too long, or loud sound after: not a beep

    def quiet_until(self, until_ms: int) -> bool:
        """Whether every frame wholly between its last tone and `until_ms` was quiet."""
        return all(
            energy < self.loud
            for start, energy in self.since
            if start >= self.end_ms and start + FRAME_MS <= until_ms
        )


class BeepDetector:
    """Beeps and greeting ends in one call's received audio (see the module docstring)."""

    def __init__(self, settings: BeepSettings | None = None) -> None:
        self.settings = settings = settings or BeepSettings()
        self._vad = VoiceActivityDetector(settings.vad)
        self._min_mean_square = FULL_SCALE**2 * 10 ** (settings.min_level_dbfs / 10)
        self._max_side = 10 ** (settings.max_side_peak_db / 10)
        # Bins whose peak can interpolate into the frequency range (±half a bin).
        self._first_bin = max(math.floor(settings.min_frequency_hz / BIN_HZ), BAND_BINS)
        self._last_bin = min(math.ceil(settings.max_frequency_hz / BIN_HZ), WINDOW // 2 - BAND_BINS)
        self._frames = 0
        self._previous = np.zeros(FRAME_SAMPLES)
        self._previous_energy = 0.0
        self._previous_clipped = False
        # Energies of the last 5 ms blocks; silence before the first frame.
        self._blocks = [0.0] * _HISTORY_BLOCKS
        self._tone: _Tone | None = None
        self._beep: _Beep | None = None
        self._speech_ms = 0
        self._speech_end_ms = 0
        self._greeting_reported = False
        self._finished = False

    @property
    def heard_ms(self) -> int:
        """Audio fed so far."""
        return self._frames * FRAME_MS

    @property
    def finished(self) -> bool:
        """A beep was reported: nothing more will be."""
        return self._finished

    def feed(self, pcm: NDArray[np.int16], voice: FrameFeatures | None = None) -> BeepEvent | None:
        """One frame (160 int16 samples, ValueError otherwise); the event it completes.

        `voice` is this frame's `FrameFeatures` when the caller runs its own
        VoiceActivityDetector (answering-machine detection does): then none runs here."""
        check_frame(pcm)
        frame = self._frames
        self._frames += 1
        if self._finished:
            return None
        if voice is None:
            voice = self._vad.feed(pcm)
        now = self._frames * FRAME_MS
        if voice.speech and voice.vad_speech:
            self._speech_ms += FRAME_MS
            self._speech_end_ms = now
        samples = pcm.astype(np.float64)
        blocks = np.square(samples).reshape(BLOCKS_PER_FRAME, BLOCK).sum(axis=1).tolist()
        self._blocks = self._blocks[BLOCKS_PER_FRAME - _HISTORY_BLOCKS :] + blocks
        energy = sum(blocks)
        frequency = None
        if energy + self._previous_energy >= self._min_mean_square * WINDOW:
            clipped = voice.clipped_fraction > 0.0 or self._previous_clipped
            frequency = self._tone_hz(np.concatenate((self._previous, samples)), clipped)
        if self._beep is not None and not self._beep.refused:
            self._beep.since.append((frame * FRAME_MS, energy))
        self._follow_tone(frame, frequency, energy)
        self._previous, self._previous_energy = samples, energy
        self._previous_clipped = voice.clipped_fraction > 0.0
        return self._beep_ended(now) or self._greeting_ended(now)

    def _tone_hz(self, window: NDArray[np.float64], clipped: bool) -> float | None:
        """The frequency of the tone the window holds by every check, or None: what
        `analyse_window` measures, cheapest check first (speech and noise stop early)."""
        power = _power_spectrum(window)
        peak = int(np.argmax(power))
        if not self._first_bin <= peak <= self._last_bin:
            return None
        low, high = peak - BAND_BINS, peak + BAND_BINS + 1
        band = float(power[low:high].sum())
        if band < self.settings.min_purity * float(power.sum()):
            return None
        frequency = _interpolated_hz(power, peak)
        if not self.settings.min_frequency_hz <= frequency <= self.settings.max_frequency_hz:
            return None
        if _side_peak(power, low, high, frequency, clipped) > self._max_side * band:
            return None
        return frequency

    # -- tones ----------------------------------------------------------------------------

    def _follow_tone(self, frame: int, frequency: float | None, energy: float) -> None:
        """Extend, end or start the tone being heard with this frame's window."""
        tone = self._tone
        if tone is not None:
            if not tone.too_long:
                tone.energies.append(energy)
            previous = tone.frequencies[-1]
            if frequency is None:
                tone.misses += 1
                if tone.misses > _DROPOUT_WINDOWS:
                    self._tone = None
                    self._tone_ended(tone, self._end_ms(tone))
                return
            if abs(frequency - previous) <= self.settings.max_frequency_step * previous:
                tone.last_window, tone.misses = frame, 0
                if tone.too_long:
                    tone.frequencies[-1] = frequency  # what the next window is compared to
                elif (frame + 1) * FRAME_MS - tone.onset_ms > self.settings.max_tone_ms:
                    tone.too_long = True  # no beep, whatever follows: stop keeping its story
                    self._refuse_beep(tone.onset_ms)
                else:
                    tone.frequencies.append(frequency)
                return
            # Another frequency straight after: the boundary is mid-way between the last
            # window of one and the first of the other, the end of the frame before.
            boundary = frame * FRAME_MS
            self._tone_ended(tone, boundary, adjacent=True)
            self._start_tone(boundary, frame, frequency, energy, head=[])
        elif frequency is not None:
            onset_ms = self._onset_ms(frame)
            if onset_ms is None:
                onset_ms = (frame - 1) * FRAME_MS
                self._start_tone(onset_ms, frame, frequency, energy, head=[], clean=False)
            else:
                head = self._blocks[onset_ms // BLOCK_MS - self._frames * BLOCKS_PER_FRAME :]
                self._start_tone(onset_ms, frame, frequency, energy, head=head)

    def _start_tone(
        self,
        onset_ms: int,
        frame: int,
        frequency: float,
        energy: float,
        *,
        head: list[float],
        clean: bool = True,
    ) -> None:
        energies = [self._previous_energy, energy]
        self._tone = _Tone(
            onset_ms, frame - 1, frame, [frequency], energies, head, clean_onset=clean
        )

    def _block(self, index: int) -> float:
        """The energy of absolute 5 ms block `index` (one of the last _HISTORY_BLOCKS)."""
        return self._blocks[index - self._frames * BLOCKS_PER_FRAME]

    def _loudest_block(self, window_frame: int) -> int:
        """The loudest 5 ms block of the window that frame `window_frame` closed."""
        first = max((window_frame - 1) * BLOCKS_PER_FRAME, 0)
        last = (window_frame + 1) * BLOCKS_PER_FRAME
        return max(range(first, last), key=self._block)

    def _onset_ms(self, frame: int) -> int | None:
        """Where a tone whose first window frame `frame` closed began: back from the window's
        loudest block, the first of the blocks within 6 dB of it. None when the sound was as
        loud a frame before that window already: a vowel out of the syllable before, not a
        beep, which rises out of a pause."""
        index = self._loudest_block(frame)
        threshold = _EDGE_SHARE * self._block(index)
        lowest = (frame - 1 - _ONSET_LOOKBACK_FRAMES) * BLOCKS_PER_FRAME
        while self._block(index - 1) >= threshold:
            index -= 1
            if index == lowest:
                return None
        return index * BLOCK_MS

    def _end_ms(self, tone: _Tone) -> int:
        """Where a tone ended: on from its last window's loudest block, the last block within
        6 dB of it, at most _END_LOOKAHEAD_FRAMES after that window (a sound that goes on as
        loud is no beep: the quiet after it will say so)."""
        index = self._loudest_block(tone.last_window)
        threshold = _EDGE_SHARE * self._block(index)
        highest = (tone.last_window + 1 + _END_LOOKAHEAD_FRAMES) * BLOCKS_PER_FRAME
        while index + 1 < highest and self._block(index + 1) >= threshold:
            index += 1
        return (index + 1) * BLOCK_MS

    def _tone_ended(self, tone: _Tone, end_ms: int, *, adjacent: bool = False) -> None:
        """Judge a tone that ended (`adjacent`: into another); one that counts joins the beep
        in the making."""
        if tone.too_long:
            self._refuse_beep(end_ms)  # the gap counts from its end
            return
        judged = self._judge(tone, end_ms, adjacent)
        if judged is None:
            return
        frequency, level = judged
        since = [
            (FRAME_MS * (tone.first_frame + index), energy)
            for index, energy in enumerate(tone.energies)
            if FRAME_MS * (tone.first_frame + index) >= end_ms
        ]
        loud = _QUIET_SHARE * level
        beep = self._beep
        if beep is None:
            beep = self._beep = _Beep(tone.onset_ms, end_ms, frequency, loud, since)
        else:
            if not beep.quiet_until(tone.onset_ms):
                beep.refused = True
            beep.end_ms, beep.frequency_hz, beep.loud, beep.since = end_ms, frequency, loud, since
            beep.tones += 1
        if beep.tones > self.settings.max_tones:
            beep.refused = True

    def _judge(self, tone: _Tone, end_ms: int, adjacent: bool) -> tuple[float, float] | None:
        """A tone's frequency and level (the median energy of its frames) if it counts."""
        limits = self.settings
        if (
            end_ms - tone.onset_ms < limits.min_tone_ms
            or len(tone.frequencies) < _MIN_WINDOWS
            or not tone.clean_onset
        ):
            return None  # a blip in speech, or a vowel out of a syllable
        frequency, spread = _spread(tone.frequencies)
        inside = self._frames_inside(tone, end_ms)
        level = statistics.median(inside) if inside else 0.0
        steady = [energy for energy in inside if energy >= _QUIET_SHARE * level]  # no gaps
        if spread > limits.max_frequency_spread or _deviation_db(steady) > (
            limits.max_level_deviation_db
        ):
            return None  # a voice: its pitch or its loudness moves
        # Its edges, from 6 to 3 dB under its level: a generator switches, a voice swells.
        half = 0.5 * level / BLOCKS_PER_FRAME
        rise = next((i for i, energy in enumerate(tone.head) if energy >= half), None)
        if tone.head and (rise is None or rise * BLOCK_MS > limits.max_edge_ms):
            return None
        if not adjacent:
            index, lowest = end_ms // BLOCK_MS - 1, (tone.last_window - 1) * BLOCKS_PER_FRAME
            while index > lowest and self._block(index) < half:
                index -= 1
            if end_ms - (index + 1) * BLOCK_MS > limits.max_edge_ms:
                return None
        return frequency, level

    def _refuse_beep(self, end_ms: int) -> None:
        """A tone too long: no beep in the making, nor with the tones within the gap after."""
        if self._beep is None:
            self._beep = _Beep(end_ms, end_ms, 0.0, math.inf, [], refused=True)
        self._beep.end_ms, self._beep.refused = end_ms, True
        self._beep.since.clear()

    def _frames_inside(self, tone: _Tone, end_ms: int) -> list[float]:
        """The energies of the frames wholly inside the tone."""
        first = -(-tone.onset_ms // FRAME_MS) - tone.first_frame
        last = end_ms // FRAME_MS - tone.first_frame
        return tone.energies[max(first, 0) : last]

    # -- events ---------------------------------------------------------------------------

    def _beep_ended(self, now: int) -> BeepEvent | None:
        """The beep in the making, once `max_gap_ms` has passed after its last tone with no
        tone since that began within the gap, if all was quiet since."""
        beep = self._beep
        if beep is None or now - beep.end_ms < self.settings.max_gap_ms:
            return None
        tone = self._tone
        if tone is not None and tone.onset_ms - beep.end_ms <= self.settings.max_gap_ms:
            return None  # it may be the beep's next tone
        self._beep = None
        if beep.refused or not beep.quiet_until(now):
            return None
        self._finished = True
        return BeepEvent(BEEP, beep.onset_ms, beep.end_ms, beep.frequency_hz)

    def _greeting_ended(self, now: int) -> BeepEvent | None:
        limits = self.settings
        if (
            self._greeting_reported
            or self._speech_ms < limits.min_speech_ms
            or now - self._speech_end_ms < limits.silence_ms
            or self._tone is not None
            or (self._beep is not None and not self._beep.refused)
        ):
            return None
        self._greeting_reported = True
        return BeepEvent(GREETING_END, self._speech_end_ms, now, None)
