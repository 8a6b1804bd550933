"""Audio files in and out: prompts loaded as 8 kHz μ-law, received audio recorded as WAV.

Loading decodes anything PyAV (FFmpeg) reads — WAV, MP3, FLAC, Ogg... at any rate
and channel count — downmixed and resampled to s16 mono 8000 Hz, then μ-law
encoded once so playback only slices bytes. A headerless `.ulaw`/`.mulaw`/`.pcmu`
file (what SIPp's rtp_stream wants) is taken as is.

These are blocking calls: run them in a thread from the event loop
(`await asyncio.to_thread(load_ulaw, path)`); `WavRecorder.write` only appends to
a buffered file and is cheap enough for the receive path.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Final

import av
import av.error
import numpy as np
from numpy.typing import NDArray

from media.g711 import ulaw_encode
from media.rtp import timestamp_delta

__all__ = [
    "RAW_ULAW_SUFFIXES",
    "SAMPLE_RATE",
    "AudioFileError",
    "WavRecorder",
    "load_ulaw",
    "pcm16_to_ulaw",
]

SAMPLE_RATE: Final = 8000
RAW_ULAW_SUFFIXES: Final = frozenset({".ulaw", ".mulaw", ".pcmu", ".ul", ".mu"})
DEFAULT_MAX_SECONDS: Final = 3600.0
_MAX_GAP_WITHOUT_CLOCK: Final = 60 * SAMPLE_RATE  # samples of silence believed with no arrival time


class AudioFileError(Exception):
    """An audio file that cannot be used, with the reason in the message."""


def load_ulaw(path: str | Path, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> bytes:
    """The file's audio as 8 kHz mono μ-law bytes. Raises AudioFileError."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if not path.is_file():
        raise AudioFileError(f"{path}: not a regular file")
    max_samples = int(max_seconds * SAMPLE_RATE)
    if path.suffix.lower() in RAW_ULAW_SUFFIXES:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if not data:
            raise AudioFileError(f"{path}: empty file")
        if len(data) > max_samples:
            raise AudioFileError(f"{path}: longer than {max_seconds:g} s")
        return data
    samples = _decode_to_8k_mono(path, max_samples, max_seconds)
    if samples.size == 0:
        raise AudioFileError(f"{path}: no audio samples (empty file)")
    return ulaw_encode(samples)


def _decode_to_8k_mono(path: Path, max_samples: int, max_seconds: float) -> NDArray[np.int16]:
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise AudioFileError(f"{path}: not a readable audio file (corrupt?): {exc}") from exc
    chunks: list[NDArray[np.int16]] = []
    total = 0
    try:
        with container:
            if not container.streams.audio:
                raise AudioFileError(f"{path}: no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                    chunks.append(chunk)
                    total += chunk.size
                if total > max_samples:
                    raise AudioFileError(f"{path}: longer than {max_seconds:g} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
    except av.error.FFmpegError as exc:
        raise AudioFileError(f"{path}: corrupt audio data: {exc}") from exc
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks)


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
