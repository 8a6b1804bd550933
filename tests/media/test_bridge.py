"""FrameRelay: any packet size in, 20 ms frames out, bounded latency, silence when empty."""

from __future__ import annotations

from media.bridge import FRAME_BYTES, FrameRelay


def frames(relay: FrameRelay, count: int) -> list[bytes | None]:
    return [relay.pull() for _ in range(count)]


def test_it_primes_then_relays_in_order() -> None:
    relay = FrameRelay(prime_frames=2, max_frames=8)
    relay.push(b"a" * FRAME_BYTES)
    assert relay.pull() is None  # priming: one frame is not yet enough
    relay.push(b"b" * FRAME_BYTES)
    assert frames(relay, 3) == [b"a" * FRAME_BYTES, b"b" * FRAME_BYTES, None]
    assert relay.underruns == 1 and relay.frames_out == 2


def test_other_packet_sizes_are_recut_into_frames() -> None:
    relay = FrameRelay(prime_frames=1)
    relay.push(bytes(range(240)))  # 30 ms
    relay.push(bytes(range(240)))
    out = frames(relay, 4)
    assert out[:3] == [
        bytes(range(160)),
        bytes(range(160, 240)) + bytes(range(80)),
        bytes(range(80, 240)),
    ]
    assert out[3] is None


def test_a_burst_keeps_the_newest_audio_and_bounded_latency() -> None:
    relay = FrameRelay(prime_frames=1, max_frames=3)
    for value in range(6):
        relay.push(bytes([value]) * FRAME_BYTES)
    assert relay.dropped_bytes == 3 * FRAME_BYTES
    assert frames(relay, 4) == [bytes([v]) * FRAME_BYTES for v in (3, 4, 5)] + [None]


def test_after_a_gap_it_primes_again() -> None:
    relay = FrameRelay(prime_frames=2)
    relay.push(b"x" * 2 * FRAME_BYTES)
    frames(relay, 3)
    relay.push(b"y" * FRAME_BYTES)
    assert relay.pull() is None
    relay.push(b"z" * FRAME_BYTES)
    assert relay.pull() == b"y" * FRAME_BYTES
