"""Voice activity per 20 ms frame: webrtcvad's verdict, the level floor that trims its own
hangover, smoothing, and the frame features, on generated signals and espeak-ng speech,
all through a G.711 μ-law round trip."""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from media.audiofile import load_ulaw
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.vad import (
    LEVEL_FLOOR_DBFS,
    FrameFeatures,
    VadSettings,
    VoiceActivityDetector,
    check_frame,
)
from tests.e2e.audio_fixtures import Pcm16

GREETING = (
    "Hi, you have reached the voicemail of Jane Smith. I can't take your call right now. "
    "Please leave your name and number after the tone, and I will call you back."
)


def through_ulaw(signal: NDArray[np.float64] | Pcm16) -> Pcm16:
    """What a trunk delivers: the signal clipped to 16 bits, μ-law encoded and decoded."""
    pcm = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    return ulaw_decode_samples(ulaw_encode(pcm))


def sine(frequency: float, seconds: float, *, peak: float = 10000.0) -> NDArray[np.float64]:
    return peak * np.sin(2 * np.pi * frequency * np.arange(round(seconds * 8000)) / 8000 + 0.3)


def silence(seconds: float) -> Pcm16:
    return np.zeros(round(seconds * 8000), dtype=np.int16)


def render_speech(folder: Path, text: str, *, voice: str = "en-us", pitch: int = 50) -> Pcm16:
    """`text` spoken by espeak-ng (or flite, for a voice named "flite:NAME"), as 8 kHz audio
    decoded from μ-law. Skips the test when the engine is not installed."""
    engine = "flite" if voice.startswith("flite:") else "espeak-ng"
    if shutil.which(engine) is None:
        pytest.skip(f"{engine} is not installed")
    path = folder / f"{voice.replace(':', '_')}-{pitch}-{abs(hash(text))}.wav"
    if engine == "flite":
        argv = ["flite", "-voice", voice.removeprefix("flite:"), "-t", text, "-o", str(path)]
    else:
        argv = ["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(path), text]
    subprocess.run(argv, check=True, timeout=60, capture_output=True)
    return ulaw_decode_samples(load_ulaw(path))


def frames_of(pcm: Pcm16) -> list[Pcm16]:
    return [pcm[i : i + 160] for i in range(0, pcm.size - 159, 160)]


def features(pcm: Pcm16, settings: VadSettings | None = None) -> list[FrameFeatures]:
    detector = VoiceActivityDetector(settings)
    return [detector.feed(frame) for frame in frames_of(pcm)]


def voice_end_ms(pcm: Pcm16) -> int:
    """The truth for where speech stops: the end of its last frame louder than -45 dBFS."""
    levels = [float(np.mean(np.square(f, dtype=np.float64))) for f in frames_of(pcm)]
    loud = [i for i, level in enumerate(levels) if level > 32768**2 * 10 ** (-45 / 10)]
    return 20 * (loud[-1] + 1)


@pytest.fixture(scope="module")
def greeting(tmp_path_factory: pytest.TempPathFactory) -> Pcm16:
    return render_speech(tmp_path_factory.mktemp("vad"), GREETING)


# -- frames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros(80, np.int16),
        np.zeros(161, np.int16),
        np.zeros((2, 80), np.int16),
        np.zeros(160, np.float64),
        np.zeros(160, np.int32),
        bytes(320),
    ],
)
def test_anything_but_160_int16_samples_is_refused(frame: object) -> None:
    detector = VoiceActivityDetector()
    with pytest.raises(ValueError, match="a frame is"):
        detector.feed(frame)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a frame is"):
        check_frame(frame)  # type: ignore[arg-type]
    assert detector.frames == 0


def test_the_size_error_says_what_a_frame_is() -> None:
    with pytest.raises(ValueError, match=r"160 samples \(20 ms at 8 kHz\), got shape \(240,\)"):
        VoiceActivityDetector().feed(np.zeros(240, np.int16))


def test_digital_silence_is_quiet_non_speech_at_the_floor() -> None:
    (frame,) = features(silence(0.02))
    assert frame == FrameFeatures(
        speech=False,
        vad_speech=False,
        level_dbfs=LEVEL_FLOOR_DBFS,
        peak_dbfs=LEVEL_FLOOR_DBFS,
        clipped_fraction=0.0,
        zero_crossing_rate=0.0,
    )
    assert all(isinstance(v, float) for v in dataclasses.astuple(frame)[2:])
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.speech = True  # type: ignore[misc]


@pytest.mark.parametrize("peak", [30000.0, 3000.0, 300.0])
def test_level_and_peak_of_a_sine(peak: float) -> None:
    frames = features(through_ulaw(sine(1000, 0.2, peak=peak)))
    rms_dbfs = 20 * math.log10(peak / math.sqrt(2) / 32768)
    assert all(abs(f.level_dbfs - rms_dbfs) < 0.3 for f in frames)
    assert all(abs(f.peak_dbfs - 20 * math.log10(peak / 32768)) < 0.5 for f in frames)
    assert all(f.clipped_fraction == 0.0 for f in frames)


def test_a_clipped_frame_reports_its_share_at_full_scale() -> None:
    # Four times full scale: the sine is flat-topped for 84 % of each period.
    clipped = features(through_ulaw(sine(443.1, 0.2, peak=4 * 32768)))
    share = 1 - 2 / math.pi * math.asin(1 / 4)
    assert all(abs(f.clipped_fraction - share) < 0.06 for f in clipped)
    assert all(-0.2 < f.peak_dbfs < 0.0 for f in clipped)  # μ-law's largest value, 32124
    # Just under full scale is not clipped.
    assert all(
        f.clipped_fraction == 0.0 for f in features(through_ulaw(sine(1000, 0.2, peak=29000)))
    )


def test_zero_crossings_tell_a_tone_from_hiss() -> None:
    tone = features(through_ulaw(sine(1000, 0.2)))  # 2,000 sign changes a second
    assert all(abs(f.zero_crossing_rate - 0.25) < 0.01 for f in tone)
    rng = np.random.default_rng(1)
    hiss = features(through_ulaw(rng.standard_normal(1600) * 3000))
    assert all(0.4 < f.zero_crossing_rate < 0.6 for f in hiss)
    low = features(through_ulaw(sine(300, 0.2)))
    assert all(abs(f.zero_crossing_rate - 0.075) < 0.01 for f in low)


# -- speech -------------------------------------------------------------------------------


def test_speech_is_speech_and_silence_after_it_is_not(greeting: Pcm16) -> None:
    heard = features(np.concatenate([silence(0.5), greeting, silence(1.0)]))
    lead, talk, tail = heard[:25], heard[25 : 25 + greeting.size // 160], heard[-40:]
    assert not any(f.speech or f.vad_speech for f in lead + tail)
    assert sum(f.speech for f in talk) > 0.6 * len(talk)


@pytest.mark.parametrize("aggressiveness", [0, 2, 3])
def test_the_level_floor_ends_speech_where_the_voice_stops(
    greeting: Pcm16, aggressiveness: int
) -> None:
    # webrtcvad alone goes on 100-250 ms into the silence (its own hangover).
    pcm = np.concatenate([greeting, silence(1.0)])
    heard = features(pcm, VadSettings(aggressiveness=aggressiveness))
    last_speech_ms = 20 * (max(i for i, f in enumerate(heard) if f.vad_speech) + 1)
    assert abs(last_speech_ms - voice_end_ms(pcm)) <= 40


def test_hiss_under_the_floor_is_never_speech_and_steady_noise_soon_is_not() -> None:
    rng = np.random.default_rng(2)
    hiss = features(through_ulaw(rng.standard_normal(8000 * 3) * 32768 * 10 ** (-60 / 20)))
    assert not any(f.vad_speech for f in hiss)
    noise = features(through_ulaw(rng.standard_normal(8000 * 3) * 32768 * 10 ** (-40 / 20)))
    assert sum(f.speech for f in noise[25:]) <= 0.05 * len(noise[25:])


def smoothed(verdicts: list[bool], onset: int, hangover: int) -> list[bool]:
    """The reference: on after `onset` verdicts in a row (or while on), held `hangover`."""
    out, run, on, held = [], 0, False, 0
    for verdict in verdicts:
        run = run + 1 if verdict else 0
        if verdict and (on or run >= onset):
            on, held = True, hangover
        elif on and held:
            held -= 1
        else:
            on = False
        out.append(on)
    return out


@pytest.mark.parametrize(("onset", "hangover"), [(1, 0), (2, 0), (3, 5), (1, 10)])
def test_smoothing_follows_onset_and_hangover(greeting: Pcm16, onset: int, hangover: int) -> None:
    heard = features(greeting, VadSettings(onset_frames=onset, hangover_frames=hangover))
    verdicts = [f.vad_speech for f in heard]
    assert [f.speech for f in heard] == smoothed(verdicts, onset, hangover)
    if (onset, hangover) == (1, 0):
        assert [f.speech for f in heard] == verdicts


def test_a_single_speech_frame_is_not_speech_by_default() -> None:
    heard = smoothed([False, True, False, False, True, True, True, False], 2, 0)
    assert heard == [False, False, False, False, False, True, True, False]
    detector = VoiceActivityDetector()
    assert detector.settings.onset_frames == 2 and detector.settings.hangover_frames == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("aggressiveness", 4, "aggressiveness"),
        ("aggressiveness", -1, "aggressiveness"),
        ("onset_frames", 0, "onset_frames"),
        ("hangover_frames", -1, "hangover_frames"),
    ],
)
def test_settings_are_validated(field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VadSettings(**{field: value})


def test_each_detector_keeps_its_own_state(greeting: Pcm16) -> None:
    alone = features(greeting)
    first, second = VoiceActivityDetector(), VoiceActivityDetector()
    together = [(first.feed(f), second.feed(f)) for f in frames_of(greeting)]
    assert [a for a, _ in together] == alone == [b for _, b in together]
    assert first.frames == len(alone)
