"""RTP packets (RFC 3550 §5.1): strict parsing and serialising, demux and sequence arithmetic.

Parsing checks everything the header promises (version, CSRC list, extension and
padding lengths) and raises `RtpParseError`, never anything else, so a receive
path can count and drop bad datagrams with one `except`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

__all__ = [
    "RTP_HEADER_SIZE",
    "RtpExtension",
    "RtpPacket",
    "RtpParseError",
    "SequenceUnwrapper",
    "looks_like_rtcp",
    "looks_like_rtp",
    "pack_header",
    "seq_delta",
    "timestamp_delta",
]

RTP_VERSION: Final = 2
RTP_HEADER_SIZE: Final = 12
SEQ_MOD: Final = 1 << 16
TIMESTAMP_MOD: Final = 1 << 32

_FIXED_HEADER: Final = struct.Struct("!BBHII")
_EXTENSION_HEADER: Final = struct.Struct("!HH")


class RtpParseError(ValueError):
    """A datagram that is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """A header extension (RFC 3550 §5.3.1): 16-bit profile field and whole 32-bit words."""

    profile: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. `padding` is the number of padding octets (0 = no P bit)."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    version = RTP_VERSION

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram. Raises RtpParseError."""
        size = len(data)
        if size < RTP_HEADER_SIZE:
            raise RtpParseError(f"datagram of {size} bytes is shorter than the RTP header")
        first, second, seq, timestamp, ssrc = _FIXED_HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        offset = RTP_HEADER_SIZE
        csrc_count = first & 0x0F
        csrc: tuple[int, ...] = ()
        if csrc_count:
            end = offset + 4 * csrc_count
            if end > size:
                raise RtpParseError(f"{csrc_count} CSRCs announced, datagram too short")
            csrc = struct.unpack_from(f"!{csrc_count}I", data, offset)
            offset = end
        extension = None
        if first & 0x10:
            if offset + 4 > size:
                raise RtpParseError("extension bit set but no extension header")
            profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
            start = offset + 4
            offset = start + 4 * words
            if offset > size:
                raise RtpParseError(f"extension of {words} words overruns the datagram")
            extension = RtpExtension(profile, bytes(data[start:offset]))
        end = size
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0:
                raise RtpParseError("padding bit set with a zero padding count")
            if offset + padding > size:
                raise RtpParseError(f"padding of {padding} bytes overruns the payload")
            end = size - padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=csrc,
            extension=extension,
            padding=padding,
        )

    def serialize(self) -> bytes:
        """Encode. Raises ValueError when a field is out of range."""
        if not 0 <= self.payload_type <= 127:
            raise ValueError(f"payload type {self.payload_type} out of range 0..127")
        if len(self.csrc) > 15:
            raise ValueError(f"{len(self.csrc)} CSRCs, at most 15")
        if not 0 <= self.padding <= 255:
            raise ValueError(f"padding {self.padding} out of range 0..255")
        if self.extension is not None and len(self.extension.data) % 4:
            raise ValueError("extension data must be whole 32-bit words")
        first = RTP_VERSION << 6 | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        try:
            parts = [
                pack_header(
                    self.payload_type,
                    self.sequence_number,
                    self.timestamp,
                    self.ssrc,
                    marker=self.marker,
                    first_octet=first,
                ),
                struct.pack(f"!{len(self.csrc)}I", *self.csrc),
            ]
            if self.extension is not None:
                words = len(self.extension.data) // 4
                parts.append(_EXTENSION_HEADER.pack(self.extension.profile, words))
                parts.append(self.extension.data)
        except struct.error as exc:
            raise ValueError(f"RTP field out of range: {exc}") from exc
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def pack_header(
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    *,
    marker: bool = False,
    first_octet: int = RTP_VERSION << 6,
) -> bytes:
    """The 12-byte fixed header; the send path's fast route (no CSRC, extension or padding)."""
    second = payload_type | 0x80 if marker else payload_type
    return _FIXED_HEADER.pack(first_octet, second, sequence_number, timestamp, ssrc)


def looks_like_rtcp(data: bytes) -> bool:
    """RFC 5761 §4 demux: version 2 and a second octet of 192..223 (RTCP packet types)."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


def looks_like_rtp(data: bytes) -> bool:
    """Cheap pre-check: long enough, version 2, and not RTCP by the RFC 5761 rule."""
    return (
        len(data) >= RTP_HEADER_SIZE and data[0] >> 6 == RTP_VERSION and not (192 <= data[1] <= 223)
    )


def seq_delta(newer: int, older: int) -> int:
    """Signed distance between two 16-bit sequence numbers, in -32768..32767."""
    return (newer - older + 0x8000) % SEQ_MOD - 0x8000


def timestamp_delta(newer: int, older: int) -> int:
    """Signed distance between two 32-bit RTP timestamps."""
    return (newer - older + 0x8000_0000) % TIMESTAMP_MOD - 0x8000_0000


class SequenceUnwrapper:
    """Extends 16-bit sequence numbers to a monotonic-ish integer across wraps.

    Each value is placed nearest to the previous one, so reordering within half
    the sequence space unwraps correctly (including backwards across a wrap).
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: int | None = None

    def unwrap(self, seq: int) -> int:
        if self._last is None:
            self._last = seq
            return seq
        extended = self._last + seq_delta(seq, self._last & 0xFFFF)
        self._last = extended
        return extended
