"""DTMF as RFC 4733 telephone-events: the payload, a de-duplicating receiver, a sender.

Payload (§2.3): event (8 bits) | E | R | volume (6 bits) | duration (16 bits, in
timestamp units). Every packet of one key press carries the same RTP timestamp
(the event's start); the sender repeats the end packet three times (§2.5.1.4), so
the receiver reports a digit once per timestamp and ignores the repeats.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DTMF_EVENTS",
    "DtmfDigit",
    "DtmfPacketPlan",
    "DtmfParseError",
    "DtmfReceiver",
    "DtmfSender",
    "OutgoingEvent",
    "TelephoneEvent",
    "dtmf_packet_plan",
]

DTMF_EVENTS: Final = "0123456789*#ABCD!"
"""Event codes 0..16 as characters: digits, *, #, A-D, and '!' for flash (event 16)."""

_CLOCK_RATE: Final = 8000
_PAYLOAD: Final = struct.Struct("!BBH")
_END_PACKETS: Final = 3
_MAX_DURATION: Final = 0xFFFF


class DtmfParseError(ValueError):
    """A telephone-event payload that cannot be read."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One RFC 4733 event block. `duration` is in timestamp units (1/8 ms at 8 kHz)."""

    event: int
    end: bool
    volume: int  # 0..63, in -dBm0 (bigger is quieter)
    duration: int

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Read the first event block (redundant blocks after it are ignored)."""
        if len(payload) < 4:
            raise DtmfParseError(f"telephone-event payload of {len(payload)} bytes, need 4")
        event, flags, duration = _PAYLOAD.unpack_from(payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def to_bytes(self) -> bytes:
        if not 0 <= self.event <= 255:
            raise ValueError(f"event {self.event} out of range 0..255")
        if not 0 <= self.volume <= 63:
            raise ValueError(f"volume {self.volume} out of range 0..63")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise ValueError(f"duration {self.duration} out of range 0..65535")
        flags = (0x80 if self.end else 0) | self.volume
        return _PAYLOAD.pack(self.event, flags, self.duration)


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key press as the far end reported it."""

    digit: str
    duration_ms: int
    timestamp: int  # RTP timestamp of the event's start


def _digit_event(digit: str) -> int:
    code = DTMF_EVENTS.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return code


# -- receiving ----------------------------------------------------------------------------


@dataclass(slots=True)
class _EventInProgress:
    timestamp: int
    event: int
    duration: int
    last_seen: float


class DtmfReceiver:
    """Turns a stream of telephone-event packets into one `DtmfDigit` per key press.

    A digit is reported at its first end packet; if every end packet is lost, it is
    reported when the next event starts or when `expire(now)` finds it silent for
    `timeout` seconds. Events above 16 (non-DTMF tones) are ignored.
    """

    def __init__(self, *, timeout: float = 0.5) -> None:
        self._timeout = timeout
        self._current: _EventInProgress | None = None
        self._finished: deque[int] = deque(maxlen=16)
        self.malformed = 0
        self.in_progress = False  # an event started and is not reported yet

    def on_packet(self, payload: bytes, timestamp: int, now: float) -> list[DtmfDigit]:
        """Feed one packet's payload and RTP timestamp; returns the digits completed."""
        try:
            event = TelephoneEvent.parse(payload)
        except DtmfParseError:
            self.malformed += 1
            return []
        if event.event >= len(DTMF_EVENTS) or timestamp in self._finished:
            return []
        digits: list[DtmfDigit] = []
        current = self._current
        if current is not None and current.timestamp != timestamp:
            digits.append(self._finish(current))  # its end packets never came
            current = None
        if current is None:
            current = _EventInProgress(timestamp, event.event, event.duration, now)
            self._current = current
            self.in_progress = True
        else:
            current.duration = max(current.duration, event.duration)
            current.last_seen = now
        if event.end:
            digits.append(self._finish(current))
        return digits

    def expire(self, now: float) -> DtmfDigit | None:
        """Report an event whose end packets were all lost, once it has gone quiet."""
        current = self._current
        if current is not None and now - current.last_seen >= self._timeout:
            return self._finish(current)
        return None

    def _finish(self, current: _EventInProgress) -> DtmfDigit:
        self._current = None
        self.in_progress = False
        self._finished.append(current.timestamp)
        return DtmfDigit(
            digit=DTMF_EVENTS[current.event],
            duration_ms=current.duration * 1000 // _CLOCK_RATE,
            timestamp=current.timestamp,
        )


# -- sending ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DtmfPacketPlan:
    payload: bytes
    marker: bool


def dtmf_packet_plan(
    digit: str, *, duration_ms: int = 100, volume: int = 10, ptime_ms: int = 20
) -> tuple[DtmfPacketPlan, ...]:
    """The RFC 4733 packets for one key press, one per packet interval.

    The first packet carries the marker; updates grow the duration by one packet
    interval each; the end packet (final duration, E bit) is sent three times.
    """
    code = _digit_event(digit)
    if duration_ms <= 0 or ptime_ms <= 0:
        raise ValueError("duration and packet interval must be positive")
    step = ptime_ms * _CLOCK_RATE // 1000
    intervals = max(1, -(-duration_ms // ptime_ms))
    final = min(_MAX_DURATION, intervals * step)
    blocks = [
        TelephoneEvent(code, False, volume, min(_MAX_DURATION, k * step))
        for k in range(1, intervals)
    ]
    blocks += [TelephoneEvent(code, True, volume, final)] * _END_PACKETS
    return tuple(
        DtmfPacketPlan(payload=block.to_bytes(), marker=index == 0)
        for index, block in enumerate(blocks)
    )


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """What to send on this tick instead of audio."""

    payload: bytes
    marker: bool
    timestamp: int  # the event's start timestamp, the same for all its packets
    last: bool  # the final packet of its digit


class DtmfSender:
    """Queues digits and yields their packets one per tick.

    `next_packet(timestamp)` is called with the audio timestamp of the current tick;
    it returns None when audio should be sent instead (idle, or the `gap_packets`
    pause between digits).
    """

    def __init__(self, *, duration_ms: int = 100, volume: int = 10, gap_packets: int = 2) -> None:
        self._duration_ms = duration_ms
        self._volume = volume
        self._gap_packets = gap_packets
        self._queue: deque[DtmfPacketPlan | None] = deque()
        self._event_timestamp = 0

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    def queue(self, digits: str, *, duration_ms: int | None = None) -> int:
        """Queue digits (validated first, so a bad string queues nothing). Returns how many."""
        plans = [
            dtmf_packet_plan(
                digit, duration_ms=duration_ms or self._duration_ms, volume=self._volume
            )
            for digit in digits
        ]
        for plan in plans:
            if self._queue:
                self._queue.extend([None] * self._gap_packets)
            self._queue.extend(plan)
        return len(plans)

    def clear(self) -> None:
        self._queue.clear()

    def next_packet(self, timestamp: int) -> OutgoingEvent | None:
        if not self._queue:
            return None
        plan = self._queue.popleft()
        if plan is None:
            return None
        if plan.marker:
            self._event_timestamp = timestamp
        upcoming = self._queue[0] if self._queue else None
        last = upcoming is None or upcoming.marker
        return OutgoingEvent(plan.payload, plan.marker, self._event_timestamp, last)
