"""Loading prompts as 8 kHz μ-law, and recording received audio as real-time WAV."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from media.audiofile import AudioFileError, WavRecorder, load_ulaw, pcm16_to_ulaw
from media.g711 import ulaw_decode_samples, ulaw_encode


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def tone(frequency: float, seconds: float, rate: int, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_44k1_stereo_wav_becomes_8k_mono_ulaw_of_the_same_duration(tmp_path: Path) -> None:
    left = tone(440, 1.5, 44100)
    stereo = np.stack([left, left], axis=1)
    path = tmp_path / "prompt.wav"
    write_wav(path, stereo, 44100)
    ulaw = load_ulaw(path)
    assert abs(len(ulaw) - 12000) <= 16  # 1.5 s at 8 kHz, give or take resampler edges
    decoded = ulaw_decode_samples(ulaw)
    assert dominant_frequency(decoded, 8000) == pytest.approx(440, abs=2)
    # Downmixing two equal channels keeps the level (not doubled, not halved).
    assert 0.5 * 8000 < np.abs(decoded).max() < 1.2 * 8000


def test_8k_mono_wav_is_taken_sample_for_sample(tmp_path: Path) -> None:
    samples = tone(1000, 0.2, 8000)
    path = tmp_path / "p.wav"
    write_wav(path, samples, 8000)
    assert load_ulaw(path) == ulaw_encode(samples)


def test_raw_ulaw_is_read_as_is(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    for suffix in (".ulaw", ".mulaw", ".pcmu"):
        path = tmp_path / f"raw{suffix}"
        path.write_bytes(data)
        assert load_ulaw(path) == data


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.wav", b"RIFF\x00\x00\x00\x00garbage" * 50, "corrupt"),
        ("noise.mp3", bytes(range(256)) * 8, "corrupt"),
        ("empty.wav", b"", "empty"),
        ("empty.ulaw", b"", "empty"),
    ],
)
def test_bad_files_raise_audio_file_error(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=reason):
        load_ulaw(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        load_ulaw(tmp_path / "absent.wav")
    with pytest.raises(AudioFileError, match="not a regular file"):
        load_ulaw(tmp_path)


def test_wav_without_samples_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    write_wav(path, np.zeros(0, dtype=np.int16), 8000)
    with pytest.raises(AudioFileError, match="empty"):
        load_ulaw(path)


def test_too_long_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    write_wav(path, tone(300, 2.0, 16000), 16000)
    with pytest.raises(AudioFileError, match="longer than"):
        load_ulaw(path, max_seconds=1.0)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_ng_speech_loads(tmp_path: Path) -> None:
    path = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "press one for sales"],
        check=True,
        timeout=20,
        capture_output=True,
    )
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    ulaw = load_ulaw(path)
    assert abs(len(ulaw) / 8000 - seconds) < 0.01
    assert np.abs(ulaw_decode_samples(ulaw)).max() > 1000  # speech, not silence


def test_pcm16_to_ulaw_resamples(tmp_path: Path) -> None:
    pcm = tone(500, 1.0, 22050).tobytes()
    ulaw = pcm16_to_ulaw(pcm, 22050)
    assert abs(len(ulaw) - 8000) <= 16
    assert dominant_frequency(ulaw_decode_samples(ulaw), 8000) == pytest.approx(500, abs=2)
    assert pcm16_to_ulaw(tone(500, 0.1, 8000).tobytes(), 8000) == ulaw_encode(tone(500, 0.1, 8000))
    with pytest.raises(AudioFileError):
        pcm16_to_ulaw(b"\x00\x01\x02", 8000)


# -- recording -----------------------------------------------------------------------------


def frame(value: int) -> bytes:
    return np.full(160, value, dtype="<i2").tobytes()


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def test_recorder_fills_lost_packets_with_silence_and_drops_late_ones(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    recorder = WavRecorder(path)
    base = (1 << 32) - 320  # the timeline crosses the 32-bit timestamp wrap
    recorder.write(frame(100), base, arrival=0.0)
    recorder.write(frame(200), base + 160, arrival=0.02)
    recorder.write(frame(400), (base + 480) % (1 << 32), arrival=0.06)  # 320 was lost
    recorder.write(frame(999), base + 160, arrival=0.07)  # a duplicate, too late
    recorder.close()
    recorder.close()  # idempotent
    samples = read_wav(path)
    assert len(samples) == 4 * 160
    assert list(samples[::160]) == [100, 200, 0, 400]
    assert recorder.silence_samples == 160 and recorder.dropped_frames == 1
    assert recorder.duration_seconds == pytest.approx(0.08)


def test_recorder_trims_overlap_of_a_partially_late_frame(tmp_path: Path) -> None:
    recorder = WavRecorder(tmp_path / "r.wav")
    recorder.write(frame(1), 0)
    recorder.write(frame(2), 80)  # half of it overlaps what is written
    recorder.close()
    samples = read_wav(tmp_path / "r.wav")
    assert len(samples) == 240 and samples[159] == 1 and samples[160] == 2


def test_recorder_resyncs_on_a_timestamp_jump_using_arrival_time(tmp_path: Path) -> None:
    recorder = WavRecorder(tmp_path / "jump.wav")
    recorder.write(frame(1), 1000, arrival=10.0)
    # A new SSRC starts at a random timestamp 0.1 s later (arrival says so).
    recorder.write(frame(2), 3_000_000_000, arrival=10.1)
    recorder.write(frame(3), 3_000_000_160, arrival=10.12)
    recorder.close()
    samples = read_wav(tmp_path / "jump.wav")
    assert len(samples) == 160 + 640 + 160 + 160  # 0.1 s minus one frame of silence
    assert samples[0] == 1 and samples[800] == 2 and samples[960] == 3


def test_recorder_keeps_real_time_over_a_hold(tmp_path: Path) -> None:
    recorder = WavRecorder(tmp_path / "hold.wav")
    recorder.write(frame(1), 0, arrival=0.0)
    recorder.write(frame(2), 160 + 5 * 8000, arrival=5.02)  # 5 s without packets
    recorder.close()
    assert recorder.duration_seconds == pytest.approx(5.04)


def test_recorder_unwritable_path_raises_audio_file_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError):
        WavRecorder(tmp_path / "no" / "such" / "dir.wav")
