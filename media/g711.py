"""G.711 μ-law and A-law codecs (ITU-T G.711) through precomputed lookup tables.

Linear audio is signed 16-bit little-endian PCM, as in WAV files. The encoders
truncate to 14 bits (μ-law) or 13 bits (A-law) exactly like the reference
Sun/CCITT code that the stdlib `audioop` module used, so output is bit-exact with
`audioop.lin2ulaw` / `lin2alaw` (removed in Python 3.13, hence these tables).

Encoding one 160-sample frame is a numpy gather; transcoding μ-law <-> A-law is a
`bytes.translate` with a 256-byte table.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALAW_SILENCE",
    "ALAW_TO_ULAW",
    "ULAW_SILENCE",
    "ULAW_TO_ALAW",
    "G711Error",
    "alaw_decode",
    "alaw_decode_samples",
    "alaw_encode",
    "alaw_to_ulaw",
    "silence",
    "ulaw_decode",
    "ulaw_decode_samples",
    "ulaw_encode",
    "ulaw_to_alaw",
]

ULAW_SILENCE: Final = 0xFF
"""The μ-law byte for linear 0."""
ALAW_SILENCE: Final = 0xD5
"""The A-law byte for linear 0 (well, +8: A-law has no exact zero)."""

_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_BIAS_14 = 0x21  # 0x84 >> 2: the μ-law bias at 14-bit resolution
_ULAW_CLIP_14 = 8159
_ULAW_BIAS_16 = 0x84


PcmInput = bytes | bytearray | memoryview | NDArray[np.int16]
"""16-bit linear audio: little-endian bytes or an int16 array."""


class G711Error(ValueError):
    """Input that is not whole 16-bit samples."""


def _every_int16() -> NDArray[np.int64]:
    """All 65536 sample values, ordered by their unsigned 16-bit bit pattern."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int64)


def _build_ulaw_encoder() -> NDArray[np.uint8]:
    value = _every_int16() >> 2  # 14-bit, arithmetic shift like the reference code
    negative = value < 0
    magnitude = np.where(negative, -value, value)
    magnitude = np.minimum(magnitude, _ULAW_CLIP_14) + _ULAW_BIAS_14
    mask = np.where(negative, 0x7F, 0xFF)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude, side="left")
    mantissa = (magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa) ^ mask
    return code.astype(np.uint8)


def _build_alaw_encoder() -> NDArray[np.uint8]:
    value = _every_int16() >> 3  # 13-bit
    negative = value < 0
    magnitude = np.where(negative, -value - 1, value)
    mask = np.where(negative, 0x55, 0xD5)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude, side="left")
    shift = np.where(segment < 2, 1, np.minimum(segment, 7))
    mantissa = (magnitude >> shift) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa) ^ mask
    return code.astype(np.uint8)


def _build_ulaw_decoder() -> NDArray[np.int16]:
    inverted = ~np.arange(256, dtype=np.int64) & 0xFF
    magnitude = (((inverted & 0x0F) << 3) + _ULAW_BIAS_16) << ((inverted & 0x70) >> 4)
    linear = np.where(inverted & 0x80, _ULAW_BIAS_16 - magnitude, magnitude - _ULAW_BIAS_16)
    return linear.astype(np.int16)


def _build_alaw_decoder() -> NDArray[np.int16]:
    code = np.arange(256, dtype=np.int64) ^ 0x55
    segment = (code & 0x70) >> 4
    base = (code & 0x0F) << 4
    magnitude = np.where(segment == 0, base + 8, (base + 0x108) << np.maximum(segment - 1, 0))
    linear = np.where(code & 0x80, magnitude, -magnitude)
    return linear.astype(np.int16)


_ULAW_ENCODE: Final = _build_ulaw_encoder()
_ALAW_ENCODE: Final = _build_alaw_encoder()
_ULAW_DECODE: Final = _build_ulaw_decoder()
_ALAW_DECODE: Final = _build_alaw_decoder()

ULAW_TO_ALAW: Final = _ALAW_ENCODE[_ULAW_DECODE.view(np.uint16)].tobytes()
"""`bytes.translate` table: a μ-law byte to the A-law byte of the same linear value."""
ALAW_TO_ULAW: Final = _ULAW_ENCODE[_ALAW_DECODE.view(np.uint16)].tobytes()
"""`bytes.translate` table: an A-law byte to the μ-law byte of the same linear value."""


def _as_sample_indices(pcm: PcmInput) -> NDArray[np.uint16]:
    if isinstance(pcm, np.ndarray):
        if pcm.dtype != np.int16:
            raise G711Error(f"expected int16 samples, got {pcm.dtype}")
        return pcm.view(np.uint16)
    if len(pcm) % 2:
        raise G711Error(f"16-bit PCM must have an even length, got {len(pcm)} bytes")
    return np.frombuffer(pcm, dtype="<u2")


def ulaw_encode(pcm: PcmInput) -> bytes:
    """Signed 16-bit little-endian PCM (or an int16 array) to μ-law bytes."""
    return _ULAW_ENCODE[_as_sample_indices(pcm)].tobytes()


def alaw_encode(pcm: PcmInput) -> bytes:
    """Signed 16-bit little-endian PCM (or an int16 array) to A-law bytes."""
    return _ALAW_ENCODE[_as_sample_indices(pcm)].tobytes()


def ulaw_decode_samples(data: bytes | bytearray | memoryview) -> NDArray[np.int16]:
    """μ-law bytes to an int16 array (a fresh array: safe to modify)."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode_samples(data: bytes | bytearray | memoryview) -> NDArray[np.int16]:
    """A-law bytes to an int16 array (a fresh array: safe to modify)."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_decode(data: bytes | bytearray | memoryview) -> bytes:
    """μ-law bytes to signed 16-bit little-endian PCM."""
    return ulaw_decode_samples(data).astype("<i2", copy=False).tobytes()


def alaw_decode(data: bytes | bytearray | memoryview) -> bytes:
    """A-law bytes to signed 16-bit little-endian PCM."""
    return alaw_decode_samples(data).astype("<i2", copy=False).tobytes()


def ulaw_to_alaw(data: bytes) -> bytes:
    """Transcode μ-law to A-law byte for byte."""
    return data.translate(ULAW_TO_ALAW)


def alaw_to_ulaw(data: bytes) -> bytes:
    """Transcode A-law to μ-law byte for byte."""
    return data.translate(ALAW_TO_ULAW)


def silence(samples: int, *, alaw: bool = False) -> bytes:
    """`samples` bytes of encoded silence."""
    return bytes([ALAW_SILENCE if alaw else ULAW_SILENCE]) * samples
