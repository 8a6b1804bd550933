"""Audio made and measured at test time: tones, raw u-law for SIPp's rtp_stream, WAV files
(including baresip's sndfile dumps, whose header is only final once the call ends), levels."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media.g711 import ulaw_encode

Pcm16 = npt.NDArray[np.int16]
__all__ = [
    "Pcm16",
    "dominant_frequency",
    "read_wav_pcm16",
    "rms_dbfs",
    "tone_pcm16",
    "ulaw_encode",
    "write_ulaw",
    "write_wav",
]


def tone_pcm16(freq_hz: float, seconds: float, *, rate: int = 8000, dbfs: float = -6.0) -> Pcm16:
    """A sine tone as 16-bit samples, peak at `dbfs` below full scale."""
    t = np.arange(int(seconds * rate)) / rate
    peak = 32767 * 10 ** (dbfs / 20)
    return (peak * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def write_ulaw(path: Path, pcm: Pcm16) -> Path:
    """Raw headerless u-law, as SIPp's rtp_stream wants."""
    path.write_bytes(ulaw_encode(pcm))
    return path


def write_wav(path: Path, pcm: Pcm16, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    return path


def read_wav_pcm16(path: Path) -> tuple[Pcm16, int]:
    """Mono 16-bit samples and rate; tolerates a header not yet finalised (data to EOF)."""
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a WAV file")
    rate, offset = 8000, 12
    while offset + 8 <= len(raw):
        chunk, size = (
            raw[offset : offset + 4],
            int.from_bytes(raw[offset + 4 : offset + 8], "little"),
        )
        if chunk == b"fmt ":
            rate = int.from_bytes(raw[offset + 12 : offset + 16], "little")
        if chunk == b"data":
            data = raw[offset + 8 :] if size == 0 else raw[offset + 8 : offset + 8 + size]
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16), rate
        offset += 8 + size + (size & 1)
    return np.zeros(0, dtype=np.int16), rate


def rms_dbfs(pcm: Pcm16) -> float:
    """RMS level in dB below full scale (-inf for silence or no samples)."""
    if pcm.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    return 20 * float(np.log10(rms / 32768)) if rms > 0 else float("-inf")


def dominant_frequency(pcm: Pcm16, rate: int) -> float:
    """The strongest frequency in the signal (Hz), from its spectrum."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum[1:])) + 1])
