"""In-band DTMF: key presses heard as tone pairs in 8 kHz audio (Goertzel, ITU-T Q.23/Q.24).

For far ends that do not send RFC 4733 events. `InbandDtmfDetector.feed(pcm, timestamp)`
takes received audio (any frame size, usually 160 samples; `feed_ulaw` takes the payload
and skips quiet frames undecoded) and returns a `DtmfDigit` when a press ENDS, once per
press, with its duration and start timestamp: the contract of `dtmf.DtmfReceiver`.
`DtmfDuplicateFilter` keeps one report per press when both listen (rtp.dtmf_inband).

Analysis: 160-sample (20 ms) rectangular windows every 80 samples (10 ms). A window's
energy at a DTMF frequency is a Goertzel value; numpy computes them all in one matrix
product (the single-bin DFT the Goertzel recurrence computes, without a Python loop per
sample). A screen on the 8 nominal bins stops silence and nearly all speech; a window
that passes it is measured at -1 %, 0 and +1 % of each frequency (best kept: a generator
off by the ±1.5 % Q.24 tolerates loses at most ~0.4 dB, beyond ±2.5 % it is refused)
and at their second harmonics. It holds digit d when (see `InbandDtmfLimits`):

- both tones reach the minimum level, the strongest row and column tone;
- twist: the high tone is at most 8 dB weaker (normal) or 4 dB stronger (reverse);
- each tone stands above the other tones of its group (no chords, no broadband noise);
- the two tones carry most of the window's energy: rejects speech and music, and a
  window only partly filled with tone (this is what makes short bursts fail);
- the high tone's second harmonic is weak (a voice or an instrument, not a generator).

A press starts when two consecutive windows hold the same digit: any tone of 40 ms or
more has two whole windows, one of 24 ms or less never has two windows filled past
the energy share (Q.24's accept 40 ms / reject 23 ms). It ends after four windows
without it, so a 10 ms drop-out is bridged and a 40 ms pause separates two presses.
Lost packets count as windows without tone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from media.dtmf import DtmfDigit
from media.g711 import ulaw_decode_samples
from media.rtp import timestamp_delta

__all__ = [
    "DTMF_COLUMN_HZ",
    "DTMF_KEYPAD",
    "DTMF_ROW_HZ",
    "INBAND_MODES",
    "DtmfDuplicateFilter",
    "InbandDtmfDetector",
    "InbandDtmfLimits",
    "WindowAnalysis",
    "analyse_window",
    "check_inband_mode",
    "dbm0_power",
]

SAMPLE_RATE: Final = 8000
DTMF_ROW_HZ: Final = (697.0, 770.0, 852.0, 941.0)
DTMF_COLUMN_HZ: Final = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYPAD: Final = ("123A", "456B", "789C", "*0#D")
"""DTMF_KEYPAD[row][column]."""

WINDOW: Final = 160  # 20 ms: 50 Hz resolution separates the rows (73 Hz apart)
HOP: Final = 80  # 10 ms
_OFFSETS: Final = (-0.01, 0.0, 0.01)
_TONES: Final = DTMF_ROW_HZ + DTMF_COLUMN_HZ
_GRID: Final = len(_TONES) * len(_OFFSETS)  # fundamentals; as many second harmonics follow
# Largest decoded μ-law magnitude: a full-scale sine is +3.17 dBm0 (G.711).
_FULL_SCALE: Final = 32124.0
_FULL_SCALE_DBM0: Final = 3.17
_RESYNC_SAMPLES: Final = SAMPLE_RATE  # a timestamp this far back is a new timeline
_CHUNK_WINDOWS: Final = 6  # windows screened in one product (3 for 30 ms frames)
_ULAW_MAGNITUDES: Final = tuple(abs(v) for v in ulaw_decode_samples(bytes(range(256))).tolist())


INBAND_MODES: Final = ("auto", "always", "off")
"""rtp.dtmf_inband: listen for tones when the far end did not negotiate telephone-event,
beside RFC 4733 events as well, or never."""


def check_inband_mode(mode: str) -> None:
    """ValueError unless `mode` is one of INBAND_MODES."""
    if mode not in INBAND_MODES:
        raise ValueError(f"dtmf_inband must be one of {', '.join(INBAND_MODES)} (got {mode!r})")


def dbm0_power(level_dbm0: float) -> float:
    """Mean power (per 16-bit sample) of a sine at `level_dbm0`."""
    peak = _FULL_SCALE * 10 ** ((level_dbm0 - _FULL_SCALE_DBM0) / 20)
    return peak * peak / 2


@dataclass(frozen=True, slots=True)
class InbandDtmfLimits:
    """What a window must show to hold a digit; defaults after Q.24 and common practice."""

    min_tone_dbm0: float = -30.0  # per tone; Q.24 asks for -25 dBm0 to be accepted
    normal_twist_db: float = 8.0  # high tone weaker than the low one by at most this
    reverse_twist_db: float = 4.0  # high tone stronger by at most this
    group_margin_db: float = 8.0  # each tone above the other three of its group
    min_energy_share: float = 0.86  # the two tones' share of the window's energy
    # The high tone's second harmonic (2418..3266 Hz), relative to it. The low tone's
    # (1394..1882 Hz) lies 44..83 Hz from a column tone whose side lobes reach it (-9 dB
    # measured): there the energy share is the check, and it bounds it at about -5 dB.
    max_harmonic_db: float = -15.0
    end_windows: int = 4  # consecutive 10 ms windows without the digit that end a press

    def __post_init__(self) -> None:
        if not 0 < self.min_energy_share <= 1:
            raise ValueError("min_energy_share must be in (0, 1]")
        if self.end_windows < 2:
            raise ValueError("end_windows must be at least 2")


@dataclass(frozen=True, slots=True)
class WindowAnalysis:
    """One window's energies: per DTMF tone (best of its -1/0/+1 % points), its second
    harmonic there, and the whole window's. The energy of a tone is 2|X|²/N, the energy
    that tone alone puts in the window, so the three compare directly."""

    tones: tuple[float, ...]  # rows then columns, DTMF_ROW_HZ + DTMF_COLUMN_HZ
    harmonics: tuple[float, ...]
    energy: float


def _cos_sin(frequencies: NDArray[np.float64]) -> NDArray[np.float64]:
    """(160, 2F): the cos and sin sums of a window at `frequencies` in one product."""
    phase = np.outer(np.arange(WINDOW), 2 * np.pi * frequencies / SAMPLE_RATE)
    return np.hstack([np.cos(phase), np.sin(phase)])


_GRID_HZ: Final = np.array([tone * (1 + offset) for tone in _TONES for offset in _OFFSETS])
_ANALYSIS_BASIS: Final = _cos_sin(np.concatenate([_GRID_HZ, 2 * _GRID_HZ]))
_SCREEN_BASIS: Final = _cos_sin(np.array(_TONES))
# A tone 1.5 % off keeps 42 % of its energy in its nominal bin (sinc² at half a bin):
# the screen on nominal bins is that much looser than the checks it lets through.
_SCREEN_LOSS: Final = 0.4


@lru_cache(maxsize=8)
def _screen_basis(windows: int) -> NDArray[np.float64]:
    """(80 * (windows + 1), windows * 16): every window of a buffer at the 8 nominal
    frequencies in one product; window w is rows 80w .. 80w + 159."""
    width = _SCREEN_BASIS.shape[1]
    basis = np.zeros((HOP * (windows + 1), windows * width))
    for w in range(windows):
        basis[HOP * w : HOP * w + WINDOW, w * width : (w + 1) * width] = _SCREEN_BASIS
    return basis


def analyse_window(window: NDArray[np.float64] | NDArray[np.int16]) -> WindowAnalysis:
    """The energies of one 160-sample window (Goertzel values, see the module docstring)."""
    samples = np.asarray(window, dtype=np.float64)
    if samples.shape != (WINDOW,):
        raise ValueError(f"a window is {WINDOW} samples, got {samples.shape}")
    sums = np.dot(samples, _ANALYSIS_BASIS)
    half = sums.size // 2
    power = ((2 / WINDOW) * (np.square(sums[:half]) + np.square(sums[half:]))).tolist()
    steps = len(_OFFSETS)
    tones: list[float] = []
    harmonics: list[float] = []
    for k in range(len(_TONES)):
        grid = power[k * steps : (k + 1) * steps]
        best = max(range(steps), key=grid.__getitem__)
        tones.append(grid[best])
        harmonics.append(power[_GRID + k * steps + best])
    return WindowAnalysis(tuple(tones), tuple(harmonics), float(np.dot(samples, samples)))


_QUIET_HALF: Final = np.zeros(HOP)


@dataclass(slots=True)
class _Press:
    digit: str
    start: int  # RTP timestamp of its first window
    end: int  # RTP timestamp just after its last window
    misses: int = 0


class InbandDtmfDetector:
    """Turns received audio into one `DtmfDigit` per key press (reported when it ends).

    `timestamp` is the RTP timestamp of the frame's first sample: a gap (lost packets)
    counts as audio without tone, a frame from the past (late, duplicate) is ignored.
    """

    def __init__(self, limits: InbandDtmfLimits | None = None) -> None:
        self.limits = limits = limits or InbandDtmfLimits()
        tone_energy = WINDOW * dbm0_power(limits.min_tone_dbm0)  # in one whole window
        self._min_tone = tone_energy
        self._min_window_energy = 2 * tone_energy
        # The screen compares c² + s² (= N/2 times a tone's energy) on nominal bins.
        self._screen_tone = _SCREEN_LOSS * tone_energy * WINDOW / 2
        self._screen = _SCREEN_LOSS * limits.min_energy_share * WINDOW / 2
        self._normal_twist = 10 ** (-limits.normal_twist_db / 10)
        self._reverse_twist = 10 ** (limits.reverse_twist_db / 10)
        self._group_margin = 10 ** (limits.group_margin_db / 10)
        self._harmonic = 10 ** (limits.max_harmonic_db / 10)
        # μ-law codes quieter than one tone's peak at the minimum level.
        peak = math.sqrt(2 * dbm0_power(limits.min_tone_dbm0))
        self._quiet_ulaw = bytes(c for c, value in enumerate(_ULAW_MAGNITUDES) if value < peak)
        self._buffer: NDArray[np.float64] = np.zeros(0)
        self._buffer_timestamp = 0  # of self._buffer[0]
        self._next_timestamp: int | None = None  # expected timestamp of the next frame
        self._candidate: str | None = None  # the previous window's digit
        self._candidate_start = 0
        self._press: _Press | None = None

    @property
    def in_press(self) -> bool:
        """A press has started and is not reported yet."""
        return self._press is not None

    def feed(self, pcm: NDArray[np.int16], timestamp: int) -> list[DtmfDigit]:
        """Add one frame of 16-bit samples; returns the presses that ended in it."""
        digits: list[DtmfDigit] = []
        if self._next_timestamp is not None and timestamp != self._next_timestamp:
            gap = timestamp_delta(timestamp, self._next_timestamp)
            if -_RESYNC_SAMPLES < gap < 0:
                return digits  # already past it
            self._lose(gap if gap > 0 else _RESYNC_SAMPLES, digits)
        if self._buffer.size == 0:
            self._buffer_timestamp = timestamp
        self._next_timestamp = (timestamp + pcm.size) & 0xFFFF_FFFF
        buffer = np.concatenate((self._buffer, pcm), dtype=np.float64)
        windows = (buffer.size - WINDOW) // HOP + 1 if buffer.size >= WINDOW else 0
        if windows <= 0:
            self._buffer = buffer
            return digits
        used = buffer[: HOP * (windows + 1)]
        self._buffer = buffer[HOP * windows :]
        first = self._buffer_timestamp
        self._buffer_timestamp = (first + HOP * windows) & 0xFFFF_FFFF
        for index, digit in enumerate(self._classify(used, windows)):
            self._step(digit, (first + HOP * index) & 0xFFFF_FFFF, digits)
        return digits

    def feed_ulaw(self, ulaw: bytes, timestamp: int) -> list[DtmfDigit]:
        """`feed` for a μ-law payload. A quiet frame (no sample as loud as one tone at the
        minimum level: silence, a pause) holds no tone, nor do the windows it half fills, so
        it is not even decoded: the cheap path of a call where the far end listens."""
        quiet = (
            len(ulaw) == WINDOW
            and timestamp == self._next_timestamp
            and self._buffer.size == HOP
            and not ulaw.translate(None, self._quiet_ulaw)
        )
        if not quiet:
            return self.feed(ulaw_decode_samples(ulaw), timestamp)
        digits: list[DtmfDigit] = []
        first = self._buffer_timestamp
        self._step(None, first, digits)
        self._step(None, (first + HOP) & 0xFFFF_FFFF, digits)
        self._buffer = _QUIET_HALF  # what is left of it for the next window: quiet
        self._buffer_timestamp = (first + WINDOW) & 0xFFFF_FFFF
        self._next_timestamp = (timestamp + WINDOW) & 0xFFFF_FFFF
        return digits

    def flush(self) -> DtmfDigit | None:
        """End of the audio (or a long silence): report the press in progress, if any."""
        press, self._press = self._press, None
        self._buffer = np.zeros(0)
        self._next_timestamp = None
        self._candidate = None
        return None if press is None else self._digit(press)

    # -- per window -----------------------------------------------------------------------

    def _classify(self, used: NDArray[np.float64], windows: int) -> list[str | None]:
        """The digit each window holds, or None. A cheap screen on the nominal bins first
        (speech and silence stop there); the full checks only for windows it passes."""
        if windows > _CHUNK_WINDOWS:  # a long buffer: keep the screen's basis small
            return [
                digit
                for first in range(0, windows, _CHUNK_WINDOWS)
                for digit in self._classify(
                    used[HOP * first : HOP * (min(windows, first + _CHUNK_WINDOWS) + 1)],
                    min(_CHUNK_WINDOWS, windows - first),
                )
            ]
        halves = np.square(used).reshape(windows + 1, HOP).sum(axis=1).tolist()
        digits: list[str | None] = [None] * windows
        if max(halves) * 2 < self._min_window_energy:
            return digits  # silence: no window can hold two tones
        sums = np.dot(used, _screen_basis(windows)).tolist()
        for w in range(windows):
            energy = halves[w] + halves[w + 1]
            if energy >= self._min_window_energy:
                base = 16 * w
                power = [
                    c * c + s * s
                    for c, s in zip(sums[base : base + 8], sums[base + 8 : base + 16], strict=True)
                ]
                row, column = max(power[:4]), max(power[4:])
                floor = self._screen_tone
                if row >= floor and column >= floor and row + column >= self._screen * energy:
                    digits[w] = self.window_digit(analyse_window(used[HOP * w : HOP * w + WINDOW]))
        return digits

    def window_digit(self, window: WindowAnalysis) -> str | None:
        """The digit one window holds by every check, or None."""
        rows, columns = window.tones[:4], window.tones[4:]
        r = max(range(4), key=rows.__getitem__)
        c = max(range(4), key=columns.__getitem__)
        low, high = rows[r], columns[c]
        if low < self._min_tone or high < self._min_tone:
            return None
        if low + high < self.limits.min_energy_share * window.energy:
            return None
        if not self._normal_twist * low <= high <= self._reverse_twist * low:
            return None
        margin = self._group_margin
        if any(margin * v > low for i, v in enumerate(rows) if i != r):
            return None
        if any(margin * v > high for i, v in enumerate(columns) if i != c):
            return None
        if window.harmonics[4 + c] > self._harmonic * high:
            return None
        return DTMF_KEYPAD[r][c]

    # -- presses --------------------------------------------------------------------------

    def _step(self, digit: str | None, start: int, digits: list[DtmfDigit]) -> None:
        """Advance the press state by one window starting at RTP time `start`."""
        press = self._press
        confirmed = digit is not None and digit == self._candidate
        if press is not None:
            if digit == press.digit:
                press.end = (start + WINDOW) & 0xFFFF_FFFF
                press.misses = 0
            else:
                press.misses += 1
                if confirmed or press.misses >= self.limits.end_windows:
                    digits.append(self._digit(press))
                    self._press = press = None
        if press is None and confirmed:
            assert digit is not None
            end = (start + WINDOW) & 0xFFFF_FFFF
            self._press = _Press(digit, self._candidate_start, end)
        self._candidate, self._candidate_start = digit, start

    def _lose(self, samples: int, digits: list[DtmfDigit]) -> None:
        """Audio that never came: windows without tone; what was buffered is dropped."""
        self._buffer = np.zeros(0)
        self._candidate = None
        press = self._press
        if press is not None:
            press.misses += math.ceil(samples / HOP)
            if press.misses >= self.limits.end_windows:
                digits.append(self._digit(press))
                self._press = None

    @staticmethod
    def _digit(press: _Press) -> DtmfDigit:
        samples = timestamp_delta(press.end, press.start)
        return DtmfDigit(press.digit, samples * 1000 // SAMPLE_RATE, press.start)


class DtmfDuplicateFilter:
    """One report per key press when RFC 4733 events and in-band tones both listen.

    A far end may send both for the same press (rtp.dtmf_inband = "always"). Whichever
    source reports the press first wins; a report from the other source of the same digit
    whose press overlaps it in arrival time (give or take `slack`: the detector reports a
    few windows after the tone ends) is dropped. Each report cancels at most one from the
    other source, so a key pressed twice still counts twice.
    """

    def __init__(self, *, slack: float = 0.15, memory: float = 2.0) -> None:
        self._slack = slack
        self._memory = memory
        self._recent: list[tuple[str, bool, float, float]] = []  # digit, inband, start, end

    def admit(self, digit: DtmfDigit, *, inband: bool, now: float) -> bool:
        """Whether to report `digit`, which its source reports at `now` (seconds)."""
        start = now - digit.duration_ms / 1000 - self._slack
        self._recent = [entry for entry in self._recent if entry[3] > now - self._memory]
        for index, (other, other_inband, other_start, other_end) in enumerate(self._recent):
            overlaps = start <= other_end + self._slack and other_start <= now
            if other == digit.digit and other_inband != inband and overlaps:
                del self._recent[index]
                return False
        self._recent.append((digit.digit, inband, start, now))
        return True
