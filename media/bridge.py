"""Two calls' audio joined: what one far end says is sent to the other, both ways.

An `AudioBridge` listens to each `RtpSession` and hands what it hears to the
other session's `live_audio`, which that session's tick sends whenever no
prompt plays. The two streams run on different clocks (the far ends' and our
MediaClock), so each direction goes through a `FrameRelay`: a small byte FIFO
that re-cuts any packet size into 20 ms frames, waits for `prime_frames` before
it starts (jitter), and drops the oldest audio beyond `max_frames` so latency
stays bounded when a far end sends in bursts. An empty relay sends silence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

FRAME_BYTES = 160  # 20 ms of 8 kHz μ-law


class HeardAudio(Protocol):
    def ulaw(self) -> bytes: ...


class AudioPort(Protocol):
    """One side of a bridge: an `RtpSession`, or a browser's WebRTC audio."""

    live_audio: Callable[[], bytes | None] | None  # pulled every 20 ms when nothing plays

    def listen(self, hook: Callable[[HeardAudio], None]) -> Callable[[], None]: ...


class FrameRelay:
    """One direction of a bridge: μ-law in at any packet size, 160-byte frames out."""

    def __init__(self, *, prime_frames: int = 2, max_frames: int = 8) -> None:
        self.prime_bytes = prime_frames * FRAME_BYTES
        self.max_bytes = max_frames * FRAME_BYTES
        self._buffer = bytearray()
        self._primed = False
        self.frames_in = 0  # packets pushed
        self.frames_out = 0  # frames pulled with audio
        self.dropped_bytes = 0  # audio dropped to keep latency bounded
        self.underruns = 0  # pulls that found the relay empty after it had started

    def push(self, ulaw: bytes) -> None:
        self._buffer += ulaw
        self.frames_in += 1
        excess = len(self._buffer) - self.max_bytes
        if excess > 0:
            # Keep the newest: a burst must not become a permanent delay.
            excess = -(-excess // FRAME_BYTES) * FRAME_BYTES
            del self._buffer[:excess]
            self.dropped_bytes += excess

    def pull(self) -> bytes | None:
        """The next frame, or None (silence) while priming or empty."""
        if not self._primed:
            if len(self._buffer) < self.prime_bytes:
                return None
            self._primed = True
        if len(self._buffer) < FRAME_BYTES:
            self.underruns += 1
            self._primed = bool(self._buffer)  # re-prime after a real gap
            return None
        frame = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        self.frames_out += 1
        return frame


class AudioBridge:
    """Joins `a` and `b` until `close()`; each side's prompts still play over the bridge."""

    def __init__(self, a: AudioPort, b: AudioPort) -> None:
        self.a, self.b = a, b
        self.a_to_b = FrameRelay()
        self.b_to_a = FrameRelay()
        self._stops: list[Callable[[], None]] = [
            a.listen(lambda frame: self.a_to_b.push(frame.ulaw())),
            b.listen(lambda frame: self.b_to_a.push(frame.ulaw())),
        ]
        b.live_audio = self.a_to_b.pull
        a.live_audio = self.b_to_a.pull

    def close(self) -> None:
        for stop in self._stops:
            stop()
        self._stops = []
        for session, relay in ((self.a, self.b_to_a), (self.b, self.a_to_b)):
            if session.live_audio == relay.pull:
                session.live_audio = None
