"""Audio made and measured at test time: tones, raw u-law for SIPp's rtp_stream, WAV files
(including baresip's sndfile dumps, whose header is only final once the call ends), levels;
DTMF tone pairs and pcap files of RTP for SIPp's play_pcap_audio."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media.g711 import ulaw_encode
from media.inband_dtmf import DTMF_COLUMN_HZ, DTMF_KEYPAD, DTMF_ROW_HZ, dbm0_power

Pcm16 = npt.NDArray[np.int16]
__all__ = [
    "Pcm16",
    "dominant_frequency",
    "dtmf_keys_pcm16",
    "dtmf_pcm16",
    "read_wav_pcm16",
    "rms_dbfs",
    "tone_pcm16",
    "ulaw_encode",
    "write_rtp_pcap",
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


def dtmf_pcm16(
    key: str,
    seconds: float,
    *,
    dbm0: float = -10.0,
    twist_db: float = 0.0,
    deviation: float = 0.0,
    phase: float = 0.0,
    rate: int = 8000,
) -> Pcm16:
    """One key's tone pair: each tone at `dbm0`, the high one `twist_db` above the low one,
    both frequencies off by `deviation` (0.015 = +1.5 %)."""
    row = next(i for i, keys in enumerate(DTMF_KEYPAD) if key in keys)
    column = DTMF_KEYPAD[row].index(key)
    n = np.arange(round(seconds * rate))
    low = np.sqrt(2 * dbm0_power(dbm0))
    high = np.sqrt(2 * dbm0_power(dbm0 + twist_db))
    omega = 2 * np.pi * (1 + deviation) / rate
    pair = low * np.sin(omega * DTMF_ROW_HZ[row] * n + phase) + high * np.sin(
        omega * DTMF_COLUMN_HZ[column] * n
    )
    return np.clip(np.round(pair), -32768, 32767).astype(np.int16)


def dtmf_keys_pcm16(
    keys: str, *, tone_s: float = 0.1, gap_s: float = 0.1, lead_s: float = 0.2, **tone: float
) -> Pcm16:
    """Keys one after the other (silence before, between and after them)."""
    parts = [np.zeros(round(lead_s * 8000), dtype=np.int16)]
    for key in keys:
        parts += [dtmf_pcm16(key, tone_s, **tone), np.zeros(round(gap_s * 8000), dtype=np.int16)]
    parts.append(np.zeros(round(lead_s * 8000), dtype=np.int16))
    return np.concatenate(parts)


_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")


def write_rtp_pcap(
    path: Path,
    ulaw: bytes,
    *,
    payload_type: int = 0,
    ssrc: int = 0x1234_5678,
    ptime_ms: int = 20,
) -> Path:
    """RTP packets of `ulaw` audio, one per `ptime_ms`, in a pcap (Ethernet/IPv4/UDP) for
    SIPp's play_pcap_audio: it keeps the packets' timing and RTP headers and rewrites the
    addresses and ports, so the ones here are placeholders."""
    samples = 8 * ptime_ms
    records = [_PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # link type 1: Ethernet
    for index, offset in enumerate(range(0, len(ulaw), samples)):
        payload = ulaw[offset : offset + samples].ljust(samples, b"\xff")
        rtp = (
            struct.pack(
                "!BBHII",
                0x80,
                payload_type | (0x80 if index == 0 else 0),
                index & 0xFFFF,
                (index * samples) & 0xFFFF_FFFF,
                ssrc,
            )
            + payload
        )
        udp = struct.pack("!HHHH", 40000, 40002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            index & 0xFFFF,
            0,
            64,
            17,
            0,
            bytes([127, 0, 0, 1]),
            bytes([127, 0, 0, 1]),
        )
        ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
        frame = bytes(6) + bytes(6) + b"\x08\x00" + ip + udp
        micros = index * ptime_ms * 1000
        records.append(
            _PCAP_RECORD.pack(micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
            + frame
        )
    path.write_bytes(b"".join(records))
    return path


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
