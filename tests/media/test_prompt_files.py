"""Recorded prompts: WAV and MP3 made by espeak-ng and PyAV, within a size limit, and every
way a file can be unusable refused with its name and the reason."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from media.audiofile import (
    DEFAULT_MAX_PROMPT_BYTES,
    AudioFileError,
    decode_prompt_bytes,
    load_ulaw,
)
from media.g711 import ulaw_decode_samples

MB = 1024 * 1024


def encode(pcm: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    """Mono s16 samples encoded by PyAV (FFmpeg), e.g. ("mp3", "libmp3lame")."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


def video_only() -> bytes:
    """A Matroska file with one video frame and no sound."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        picture = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(picture), *stream.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, float]:
    """A prompt spoken by espeak-ng (22.05 kHz WAV), the same as MP3, and its length."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("prompt") / "prompt.wav"
    text = "Your appointment is tomorrow at ten. Press one to confirm, two to cancel."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, timeout=30)
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
    return path.read_bytes(), encode(pcm, rate, "mp3", "libmp3lame"), pcm.size / rate


def test_wav_and_mp3_prompts_become_8k_ulaw_of_the_same_length(
    spoken: tuple[bytes, bytes, float], tmp_path: Path
) -> None:
    wav, mp3, seconds = spoken
    for name, data in (("prompt.wav", wav), ("prompt.mp3", mp3)):
        (tmp_path / name).write_bytes(data)
        ulaw = load_ulaw(tmp_path / name)
        assert decode_prompt_bytes(data, f"https://example.test/{name}") == ulaw
        # MP3 adds an encoder delay of a few ms at each end.
        assert len(ulaw) / 8000 == pytest.approx(seconds, abs=0.08)
        assert np.abs(ulaw_decode_samples(ulaw)).max() > 1000  # speech, not silence


def test_a_file_over_the_limit_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "huge.wav"
    path.write_bytes(bytes(int(12.3 * MB)))  # not even audio: the size is checked first
    with pytest.raises(AudioFileError) as error:
        load_ulaw(path)
    assert str(error.value) == f"{path}: too large: 12.3 MB, the limit is 10 MB"
    with pytest.raises(
        AudioFileError, match=r"^huge\.mp3: too large: 12\.3 MB, the limit is 10 MB$"
    ):
        decode_prompt_bytes(path.read_bytes(), "huge.mp3")
    assert DEFAULT_MAX_PROMPT_BYTES == 10 * MB


def test_the_limit_is_a_parameter(spoken: tuple[bytes, bytes, float], tmp_path: Path) -> None:
    wav, mp3, _ = spoken
    with pytest.raises(AudioFileError, match=r"too large: 0\.0\d+ MB, the limit is 0\.01 MB"):
        decode_prompt_bytes(mp3, "prompt.mp3", max_bytes=MB // 100)
    raw = tmp_path / "prompt.ulaw"
    raw.write_bytes(bytes(20_000))
    with pytest.raises(AudioFileError, match="too large"):
        load_ulaw(raw, max_bytes=10_000)
    assert load_ulaw(raw, max_bytes=None) == bytes(20_000)
    path = tmp_path / "prompt.wav"
    path.write_bytes(wav)
    assert load_ulaw(path, max_bytes=len(wav)) == load_ulaw(path, max_bytes=None)


def test_truncated_files_are_not_audio(spoken: tuple[bytes, bytes, float]) -> None:
    wav, mp3, _ = spoken
    with pytest.raises(
        AudioFileError, match=r"^cut\.mp3: not audio: truncated \(2\.\d\d s of the 4\.\d\d s"
    ):
        decode_prompt_bytes(mp3[: len(mp3) // 2], "cut.mp3")
    with pytest.raises(AudioFileError, match=r"^cut\.wav: not audio: truncated WAV"):
        decode_prompt_bytes(wav[: len(wav) // 2], "cut.wav")
    with pytest.raises(AudioFileError, match=r"^head\.mp3: not audio: "):
        decode_prompt_bytes(mp3[:300], "head.mp3")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (bytes(range(256)) * 40, "not audio: Invalid data found"),
        (b"<html><body>404 Not Found</body></html>\n" * 30, "not audio: Invalid data found"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(500), "not audio"),
    ],
    ids=["empty", "garbage", "an error page", "a tag and nothing"],
)
def test_garbage_is_refused_with_the_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "prompt.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=f"^{path}: {reason}"):
        load_ulaw(path)
    with pytest.raises(AudioFileError, match=f"^prompt.mp3: {reason}"):
        decode_prompt_bytes(content, "prompt.mp3")


def test_other_formats_and_files_without_sound_are_refused() -> None:
    flac = encode(np.zeros(8000, np.int16), 8000, "flac", "flac")
    with pytest.raises(
        AudioFileError, match=r"unsupported format 'flac' \(prompts are WAV or MP3\)"
    ):
        decode_prompt_bytes(flac, "prompt.flac")
    with pytest.raises(AudioFileError, match=r"^clip\.mkv: no audio stream \(Matroska"):
        decode_prompt_bytes(video_only(), "clip.mkv")


def test_a_wav_header_without_samples(spoken: tuple[bytes, bytes, float]) -> None:
    wav, _, _ = spoken
    with pytest.raises(AudioFileError, match=r"not audio: truncated WAV \(0 of"):
        decode_prompt_bytes(wav[:44], "header.wav")
