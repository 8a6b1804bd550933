"""The AMD corpus generator: deterministic, its labels true to its audio, telephone-like."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bench.amd_corpus import (
    CATEGORIES,
    LABELS_FILE,
    Clip,
    ClipLabel,
    generate,
    read_labels,
    write_corpus,
)
from bench.amd_corpus.categories import categories_for
from bench.amd_corpus.telephone import LineConditions, telephone_line
from media.g711 import ulaw_decode_samples

RATE = 8000
FRAME = 160
SEED = 7
COUNT = 20
NOISY = {"human_noise_street", "human_noise_tv", "human_noise_babble"}


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return list(generate(COUNT, SEED))


def _frames(pcm: NDArray[np.int16], start_ms: int, end_ms: int) -> NDArray[np.float64]:
    first, last = start_ms * RATE // 1000 // FRAME, end_ms * RATE // 1000 // FRAME
    return pcm[first * FRAME : last * FRAME].astype(np.float64).reshape(-1, FRAME)


def _power(pcm: NDArray[np.int16], start_ms: int, end_ms: int) -> float:
    frames = _frames(pcm, start_ms, end_ms)
    return float(np.mean(np.square(frames))) if frames.size else 0.0


def test_the_same_seed_gives_the_same_clips_and_clip_i_does_not_depend_on_the_count(
    clips: list[Clip],
) -> None:
    again = list(generate(6, SEED))  # rendered afresh: nothing is cached between calls
    for first, second in zip(clips[:6], again, strict=True):
        assert first.label == second.label
        assert np.array_equal(first.pcm, second.pcm)
    other = next(generate(1, SEED + 1))
    assert not np.array_equal(other.pcm[: clips[0].pcm.size], clips[0].pcm[: other.pcm.size])


def test_a_small_corpus_has_every_category_and_each_its_label(clips: list[Clip]) -> None:
    assert {clip.label.category for clip in clips} == {c.name for c in CATEGORIES}
    expected = {c.name: c.label for c in CATEGORIES}
    for clip in clips:
        assert clip.label.label == expected[clip.label.category]
    assert [c.label.category for c in clips] == [c.name for c in categories_for(COUNT, SEED)]


def test_beeps_are_labelled_where_they_belong(clips: list[Clip]) -> None:
    for clip in clips:
        label = clip.label
        beeping = label.is_machine and label.category != "machine_no_beep"
        assert label.has_beep == beeping, label.file
        if label.is_machine:
            assert label.greeting_end_ms == label.speech_end_ms
        else:
            assert label.greeting_end_ms is None
        if beeping:
            assert label.beep_ms == label.beep_tones[0][0]
            assert label.beep_end_ms == label.beep_tones[-1][1]
            assert label.beep_hz == label.beep_tones[0][2]
            assert label.speech_end_ms is not None
            assert label.speech_end_ms + 200 <= label.beep_ms


def _tone_share(frame: NDArray[np.float64], hz: float, width_hz: float) -> float:
    """The share of the frame's energy within `width_hz` of `hz` (Hann window, 4x padded)."""
    spectrum = np.abs(np.fft.rfft(frame * np.hanning(frame.size), 4 * frame.size)) ** 2
    freqs = np.fft.rfftfreq(4 * frame.size, 1 / RATE)
    return float(spectrum[np.abs(freqs - hz) <= width_hz].sum() / max(spectrum.sum(), 1e-9))


def test_the_labelled_beep_is_a_tone_at_the_labelled_frequency(clips: list[Clip]) -> None:
    checked = 0
    for clip in clips:
        for onset, end, hz in clip.label.beep_tones:
            frames = _frames(clip.pcm, onset + 20, end - 20)
            frames = frames[np.any(frames != 0, axis=1)]  # not the packets lost
            width = max(80.0, 0.05 * hz)
            shares = [_tone_share(f, hz, width) for f in frames]
            assert shares and np.median(shares) > 0.6, (clip.label.file, hz, shares)
            checked += 1
        if clip.label.beep_ms is not None:
            before = _power(clip.pcm, clip.label.beep_ms - 180, clip.label.beep_ms - 20)
            assert before < _power(clip.pcm, clip.label.beep_ms, clip.label.beep_end_ms or 0) / 10
    assert checked >= 8


def test_a_beep_frequency_that_is_wrong_fails_the_check(clips: list[Clip]) -> None:
    clip = next(c for c in clips if c.label.category == "machine_standard")
    onset, end, hz = clip.label.beep_tones[0]
    frames = _frames(clip.pcm, onset + 20, end - 20)
    assert np.median([_tone_share(f, hz * 1.3, max(80.0, 0.05 * hz)) for f in frames]) < 0.2


def test_people_go_quiet_after_speaking(clips: list[Clip]) -> None:
    people = [c for c in clips if not c.label.is_machine and c.label.category not in NOISY]
    assert people
    for clip in people:
        label = clip.label
        assert label.speech_start_ms is not None and label.speech_end_ms is not None
        speaking = max(_power(clip.pcm, a, b) for a, b in label.speech_ms)
        after = _power(clip.pcm, label.speech_end_ms + 100, label.duration_ms)
        assert label.duration_ms - label.speech_end_ms >= 4000
        assert after < speaking / 300, label.file  # 25 dB down: line noise only


def test_each_category_has_its_timing(clips: list[Clip]) -> None:
    for clip in clips:
        label, category = clip.label, clip.label.category
        assert label.speech_ms and label.speech_start_ms == label.speech_ms[0][0]
        if category == "human_late":
            assert label.speech_start_ms >= 1000
        if category == "human_hello_hello":
            (_, first_end), (second_start, _) = label.speech_ms
            assert 1000 <= second_start - first_end <= 2500
        else:
            assert len(label.speech_ms) == 1
        if category == "machine_long":
            assert label.speech_end_ms - label.speech_start_ms > 6000
        if category == "machine_short_beep":
            assert label.speech_end_ms - label.speech_start_ms < 2500
        if label.beep_end_ms is not None:
            assert label.duration_ms - label.beep_end_ms >= 3000


def test_clips_are_whole_frames_at_least_six_seconds(clips: list[Clip]) -> None:
    for clip in clips:
        assert clip.pcm.dtype == np.int16
        assert clip.pcm.size % FRAME == 0
        assert clip.pcm.size == clip.label.duration_ms * RATE // 1000
        assert clip.label.duration_ms >= 6000


def test_nothing_is_left_above_the_telephone_band_but_the_codec_noise(clips: list[Clip]) -> None:
    for clip in clips:
        spectrum = np.abs(np.fft.rfft(clip.pcm.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(clip.pcm.size, 1 / RATE)
        above = spectrum[freqs > 3550].sum() / spectrum.sum()
        assert above < 10 ** (-30 / 10), (clip.label.file, above)


def test_the_line_band_limits_and_encodes_a_wideband_signal() -> None:
    rng = np.random.default_rng(3)
    white = rng.standard_normal(RATE * 2)
    line = LineConditions(-20.0, -70.0, None, 0.0)
    pcm, did = telephone_line(white, line, rng)
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(pcm.size, 1 / RATE)
    in_band = spectrum[(freqs > 400) & (freqs < 3300)].mean()
    assert spectrum[freqs > 3550].mean() < in_band / 1000
    assert spectrum[freqs < 150].mean() < in_band / 1000
    white_spectrum = np.abs(np.fft.rfft(white)) ** 2  # the check fails without the line
    assert white_spectrum[freqs > 3550].mean() > white_spectrum.mean() / 2
    assert did == {"saturated_samples": 0, "lost_frames": 0}
    assert set(np.unique(pcm)) <= set(ulaw_decode_samples(bytes(range(256))))  # μ-law steps


def test_lost_packets_are_silent_frames(clips: list[Clip]) -> None:
    lossy = [c for c in clips if c.label.params["lost_frames"]]
    assert lossy
    for clip in clips:
        silent = np.all(clip.pcm.reshape(-1, FRAME) == 0, axis=1).sum()
        assert silent == clip.label.params["lost_frames"], clip.label.file


def test_the_cli_writes_8_khz_wavs_and_json_lines(tmp_path: Path) -> None:
    labels = write_corpus(tmp_path, 3, SEED)
    assert read_labels(tmp_path / LABELS_FILE) == labels
    for label in labels:
        with wave.open(str(tmp_path / label.file), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() == label.duration_ms * 8


def test_labels_round_trip_and_refuse_unknown_fields(clips: list[Clip]) -> None:
    for clip in clips:
        assert ClipLabel.from_json(clip.label.to_json()) == clip.label
    with pytest.raises(ValueError, match="unknown label fields: colour"):
        ClipLabel.from_json(
            '{"file": "a.wav", "label": "human", "category": "x", "duration_ms": 1, "colour": 3}'
        )
