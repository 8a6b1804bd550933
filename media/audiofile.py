"""Audio files in and out: prompts loaded as 8 kHz μ-law, received audio recorded as WAV.

Prompts are WAV or MP3 (any rate, any channel count; PyAV decodes them), downmixed and
resampled to s16 mono 8000 Hz, then μ-law encoded once so playback only slices bytes.
A headerless `.ulaw`/`.mulaw`/`.pcmu` file (what SIPp's rtp_stream wants) is taken as
is. `load_ulaw` reads a file, `decode_prompt_bytes` a download. Anything else is refused
with an `AudioFileError` naming the file and why: larger than `max_bytes` (checked
before decoding; the flows take it from `flows.max_prompt_mb`), empty, another format,
no audio stream, not audio at all or truncated (a WAV shorter than its header says, an
MP3 shorter than its Xing/Info header says), longer than `max_seconds`.

These are blocking calls: run them in a thread from the event loop
(`await asyncio.to_thread(load_ulaw, path)`); `WavRecorder.write` only appends to
a buffered file and is cheap enough for the receive path.
"""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path
from typing import BinaryIO, Final

import av
import av.error
import numpy as np
from numpy.typing import NDArray

from media.g711 import ulaw_encode
from media.rtp import timestamp_delta

__all__ = [
    "DEFAULT_MAX_PROMPT_BYTES",
    "PROMPT_FORMATS",
    "RAW_ULAW_SUFFIXES",
    "SAMPLE_RATE",
    "AudioFileError",
    "WavRecorder",
    "decode_prompt_bytes",
    "load_ulaw",
    "pcm16_to_ulaw",
]

SAMPLE_RATE: Final = 8000
RAW_ULAW_SUFFIXES: Final = frozenset({".ulaw", ".mulaw", ".pcmu", ".ul", ".mu"})
DEFAULT_MAX_SECONDS: Final = 3600.0
MEGABYTE: Final = 1024 * 1024
DEFAULT_MAX_PROMPT_BYTES: Final = 10 * MEGABYTE  # flows.max_prompt_mb's default
PROMPT_FORMATS: Final = frozenset({"wav", "mp3"})  # FFmpeg demuxer names
_MAX_GAP_WITHOUT_CLOCK: Final = 60 * SAMPLE_RATE  # samples of silence believed with no arrival time
_TRUNCATION_SLACK_S: Final = 0.1  # decoded this much shorter than declared: cut off
_HEAD_BYTES: Final = 64 * 1024  # enough for the WAV chunk list or the MP3 tag after ID3
_RIFF_CHUNK: Final = struct.Struct("<4sI")
_UNKNOWN_WAV_SIZES: Final = (0, 0xFFFF_FFFF)  # streamed WAVs whose header was never finished


class AudioFileError(Exception):
    """An audio file that cannot be used, with the reason in the message."""


def load_ulaw(
    path: str | Path,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int | None = DEFAULT_MAX_PROMPT_BYTES,
) -> bytes:
    """The file's audio as 8 kHz mono μ-law bytes (None: no size limit). Raises
    AudioFileError."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        _check_size(str(path), size, max_bytes)
        if path.suffix.lower() in RAW_ULAW_SUFFIXES:
            return _raw_ulaw(str(path), path.read_bytes(), max_seconds)
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    _check_wav_complete(str(path), head, size)
    return _decode(str(path), str(path), max_seconds, _has_mp3_length_tag(head))


def decode_prompt_bytes(
    data: bytes,
    name: str,
    *,
    max_bytes: int | None = DEFAULT_MAX_PROMPT_BYTES,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> bytes:
    """A prompt held in memory (e.g. fetched over HTTP) as 8 kHz mono μ-law; `name` (its
    URL or file name) is for messages and picks raw μ-law by its suffix. Raises
    AudioFileError like `load_ulaw`."""
    _check_size(name, len(data), max_bytes)
    if Path(name).suffix.lower() in RAW_ULAW_SUFFIXES:
        return _raw_ulaw(name, data, max_seconds)
    head = data[:_HEAD_BYTES]
    _check_wav_complete(name, head, len(data))
    return _decode(io.BytesIO(data), name, max_seconds, _has_mp3_length_tag(head))


def _check_size(name: str, size: int, max_bytes: int | None) -> None:
    if size == 0:
        raise AudioFileError(f"{name}: empty file")
    if max_bytes is not None and size > max_bytes:
        raise AudioFileError(
            f"{name}: too large: {_megabytes(size)} MB, the limit is {_megabytes(max_bytes)} MB"
        )


def _megabytes(size: int) -> str:
    """12.3, 10.01 or 10 (0.0172 for a tiny limit): no more digits than the message needs."""
    value = size / MEGABYTE
    return f"{value:.2f}".rstrip("0").rstrip(".") if value >= 0.1 else f"{value:.3g}"


def _raw_ulaw(name: str, data: bytes, max_seconds: float) -> bytes:
    if len(data) > max_seconds * SAMPLE_RATE:
        raise AudioFileError(f"{name}: longer than {max_seconds:g} s")
    return data


def _check_wav_complete(name: str, head: bytes, size: int) -> None:
    """A WAV whose data chunk is shorter than its header says was cut off (FFmpeg would
    quietly play the part that is there)."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    offset = 12
    while offset + _RIFF_CHUNK.size <= len(head):
        chunk, length = _RIFF_CHUNK.unpack_from(head, offset)
        offset += _RIFF_CHUNK.size
        if chunk == b"data":
            present = size - offset
            if length not in _UNKNOWN_WAV_SIZES and present < length:
                raise AudioFileError(
                    f"{name}: not audio: truncated WAV ({present} of {length} bytes of samples)"
                )
            return
        offset += length + (length & 1)


def _has_mp3_length_tag(head: bytes) -> bool:
    """Whether an MP3 states its length (a Xing/Info/VBRI frame first, as LAME writes):
    only then is FFmpeg's duration a promise rather than a guess from the bitrate."""
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        size = 0
        for byte in head[6:10]:  # syncsafe: 7 bits a byte
            size = size << 7 | (byte & 0x7F)
        start = 10 + size
    frame = head[start : start + 200]
    return frame[:1] == b"\xff" and any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def _decode(source: str | BinaryIO, name: str, max_seconds: float, length_tag: bool) -> bytes:
    try:
        container = av.open(source, mode="r")
    except av.error.FFmpegError as exc:
        raise AudioFileError(
            f"{name}: not audio: {_ffmpeg_reason(exc)} (corrupt, truncated or not a sound file)"
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioFileError(f"{name}: no audio stream ({container.format.long_name})")
        formats = set(container.format.name.split(","))
        if not formats & PROMPT_FORMATS:
            raise AudioFileError(
                f"{name}: unsupported format {container.format.name!r} (prompts are WAV or MP3)"
            )
        declared = None
        if length_tag and "mp3" in formats and container.duration:
            declared = container.duration / av.time_base
        samples = _decode_to_8k_mono(container, name, max_seconds)
    if samples.size == 0:
        raise AudioFileError(f"{name}: no audio samples (empty file)")
    decoded = samples.size / SAMPLE_RATE
    if declared is not None and decoded < declared - _TRUNCATION_SLACK_S:
        raise AudioFileError(
            f"{name}: not audio: truncated ({decoded:.2f} s of the {declared:.2f} s declared)"
        )
    return ulaw_encode(samples)


def _decode_to_8k_mono(
    container: av.container.InputContainer, name: str, max_seconds: float
) -> NDArray[np.int16]:
    max_samples = int(max_seconds * SAMPLE_RATE)
    chunks: list[NDArray[np.int16]] = []
    total = 0
    try:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                chunks.append(chunk)
                total += chunk.size
            if total > max_samples:
                raise AudioFileError(f"{name}: longer than {max_seconds:g} s")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
    except av.error.FFmpegError as exc:
        raise AudioFileError(f"{name}: not audio: corrupt data ({_ffmpeg_reason(exc)})") from exc
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks)


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    return str(exc.strerror or exc)


def pcm16_to_ulaw(pcm: bytes, sample_rate: int, *, channels: int = 1) -> bytes:
    """Interleaved s16 little-endian PCM at any rate to 8 kHz mono μ-law (e.g. TTS output)."""
    if channels < 1 or len(pcm) % (2 * channels):
        raise AudioFileError(f"PCM of {len(pcm)} bytes is not whole {channels}-channel samples")
    if not pcm:
        return b""
    if sample_rate == SAMPLE_RATE and channels == 1:
        return ulaw_encode(pcm)
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}c"
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16).reshape(1, -1)
    try:
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout=layout)
        frame.sample_rate = sample_rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioFileError(f"cannot resample {sample_rate} Hz x{channels}: {exc}") from exc
    merged = np.concatenate(chunks).astype(np.int16, copy=False) if chunks else np.zeros(0)
    return ulaw_encode(merged.astype(np.int16, copy=False))


class WavRecorder:
    """Writes received audio as 16-bit 8 kHz mono WAV, in real time.

    Each frame is placed by its RTP timestamp, so lost packets become silence and
    late or duplicate ones are dropped. When the timestamp jumps further than the
    arrival times allow (plus `resync_seconds`), or backwards by more than that (a
    new SSRC with a random start), the arrival time wins and the timeline restarts.
    """

    def __init__(self, path: str | Path, *, resync_seconds: float = 1.0) -> None:
        self.path = Path(path)
        try:
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise AudioFileError(f"{self.path}: cannot create: {exc.strerror or exc}") from exc
        # wave does not close a file it was given; close() closes both.
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self._resync_samples = int(resync_seconds * SAMPLE_RATE)
        self._next_timestamp: int | None = None
        self._last_arrival: float | None = None
        self.samples_written = 0
        self.silence_samples = 0
        self.dropped_frames = 0
        self.closed = False

    @property
    def duration_seconds(self) -> float:
        return self.samples_written / SAMPLE_RATE

    def write(self, pcm16: bytes, timestamp: int, arrival: float | None = None) -> None:
        """Append one frame of s16le samples that starts at RTP `timestamp`."""
        if self.closed:
            return
        samples = len(pcm16) // 2
        if self._next_timestamp is None:
            self._next_timestamp = timestamp
        gap = timestamp_delta(timestamp, self._next_timestamp)
        if arrival is not None and self._last_arrival is not None:
            # A late burst after a network stall has a small gap and a big arrival gap:
            # trust the timestamps then. Only a gap beyond what the clock allows is a jump.
            by_clock = max(0, round((arrival - self._last_arrival) * SAMPLE_RATE) - samples)
            if gap > by_clock + self._resync_samples or gap < -self._resync_samples:
                gap = by_clock
        elif gap > _MAX_GAP_WITHOUT_CLOCK or gap < -self._resync_samples:
            gap = 0
        if gap < 0:
            if gap + samples <= 0:
                self.dropped_frames += 1
                return
            pcm16 = pcm16[-gap * 2 :]  # only the part after what is already written
            samples += gap
            gap = 0
        if gap > 0:
            self._write_silence(gap)
        self._wav.writeframesraw(pcm16)
        self.samples_written += samples
        self._next_timestamp = (timestamp + samples) & 0xFFFF_FFFF
        if arrival is not None:
            self._last_arrival = arrival

    def _write_silence(self, samples: int) -> None:
        chunk = bytes(2 * min(samples, SAMPLE_RATE))
        left = samples
        while left > 0:
            part = min(left, SAMPLE_RATE)
            self._wav.writeframesraw(chunk[: 2 * part])
            left -= part
        self.samples_written += samples
        self.silence_samples += samples

    def close(self) -> None:
        """Finish the WAV header. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            try:
                self._wav.close()
            finally:
                self._file.close()
        except OSError as exc:
            raise AudioFileError(f"{self.path}: cannot finish: {exc.strerror or exc}") from exc
