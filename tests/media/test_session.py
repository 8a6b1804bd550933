"""RtpSession end to end on loopback: two sessions, one MediaClock, real UDP sockets."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from media.clock import MediaClock
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.ports import RtpPortPool, RtpPortsExhausted
from media.rtp import RtpPacket
from media.sdp import Direction
from media.session import ReceivedAudio, RtpSession, RtpSessionClosed, RtpSessionError

HOST = "127.0.0.1"
BOUND = 5.0  # seconds any single wait may take before the test fails
# A port block of our own, so concurrent test runs do not hear each other's streams
# (a session latches to whoever sends to it first: that is symmetric RTP).
BASE_PORT = 30000 + (os.getpid() % 100) * 200


@pytest.fixture
def pool() -> RtpPortPool:
    return RtpPortPool(HOST, BASE_PORT, BASE_PORT + 98)


@pytest.fixture
async def pair(
    pool: RtpPortPool, clock: MediaClock
) -> AsyncIterator[tuple[RtpSession, RtpSession]]:
    """A (the dialer side, offerer) and B (the far end, answerer), negotiated via SDP."""
    a = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0.3)
    b = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0.3)
    try:
        a.apply_answer(b.answer_reoffer(a.local_offer()))
        yield a, b
    finally:
        a.close()
        b.close()


class TickWaiter:
    """Waits for the clock to tick n times: synchronises with media time, not wall time."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.done = asyncio.Event()

    def on_tick(self, now: float) -> None:
        self.count -= 1
        if self.count <= 0:
            self.done.set()


async def wait_ticks(clock: MediaClock, count: int) -> None:
    waiter = TickWaiter(count)
    clock.register(waiter)
    try:
        await asyncio.wait_for(waiter.done.wait(), BOUND)
    finally:
        clock.unregister(waiter)


class Collector(asyncio.DatagramProtocol):
    """A plain UDP peer that keeps what it receives."""

    def __init__(self) -> None:
        self.packets: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.put_nowait((data, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def next_packet(self) -> tuple[RtpPacket, tuple[str, int]]:
        data, addr = await asyncio.wait_for(self.packets.get(), BOUND)
        return RtpPacket.parse(data), addr


@pytest.fixture
async def raw_peer() -> AsyncIterator[Callable[[], Awaitable[Collector]]]:
    made: list[Collector] = []
    loop = asyncio.get_running_loop()

    async def make() -> Collector:
        _, protocol = await loop.create_datagram_endpoint(Collector, local_addr=(HOST, 0))
        made.append(protocol)
        return protocol

    yield make
    for collector in made:
        if collector.transport is not None:
            collector.transport.close()


def noise_prompt(seconds: float, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    return ulaw_encode((rng.standard_normal(int(8000 * seconds)) * 4000).astype(np.int16))


def normalised_match(reference: np.ndarray, signal: np.ndarray) -> float:
    """Best normalised cross-correlation of `reference` anywhere inside `signal`."""
    ref = reference.astype(np.float64)
    sig = signal.astype(np.float64)
    raw = np.correlate(sig, ref, mode="valid")
    window_energy = np.convolve(sig * sig, np.ones(len(ref)), mode="valid")
    scores = raw / np.sqrt(np.maximum(window_energy, 1e-9) * float(np.dot(ref, ref)))
    return float(scores.max())


def when_received(session: RtpSession, predicate: Callable[[ReceivedAudio], bool]) -> asyncio.Event:
    event = asyncio.Event()

    def hook(frame: ReceivedAudio) -> None:
        if predicate(frame):
            event.set()

    session.received_audio = hook
    return event


# -- audio ---------------------------------------------------------------------------------


async def test_prompt_reaches_the_peer_and_is_recorded(
    pair: tuple[RtpSession, RtpSession], tmp_path: Path
) -> None:
    a, b = pair
    prompt = noise_prompt(1.0)
    last_frame = prompt[-160:]
    arrived = when_received(b, lambda frame: frame.ulaw() == last_frame)
    b.start_recording(tmp_path / "b.wav")
    await asyncio.wait_for(a.play(prompt), BOUND)
    await asyncio.wait_for(arrived.wait(), BOUND)
    recorder = b.stop_recording()
    assert recorder is not None and recorder.dropped_frames == 0
    with wave.open(str(tmp_path / "b.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        recorded = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert normalised_match(ulaw_decode_samples(prompt), recorded) > 0.999
    sent, received = a.stats(), b.stats()
    assert sent.packets_sent >= 50 and sent.octets_sent == 160 * sent.packets_sent
    assert received.packets_received >= 50 and received.packets_lost == 0
    assert received.ssrc == a.ssrc and received.malformed == 0


async def test_pcma_is_sent_as_alaw(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    a.set_remote(HOST, b.local_port, 8, 101, "PCMA")
    b.set_remote(HOST, a.local_port, 8, 101, "PCMA")
    prompt = noise_prompt(0.4, seed=3)
    frames: list[ReceivedAudio] = []
    done = asyncio.Event()

    def hook(frame: ReceivedAudio) -> None:
        if frame.codec == "PCMA":
            frames.append(frame)
            if len(frames) >= 30:
                done.set()

    b.received_audio = hook
    a.play(prompt)
    await asyncio.wait_for(done.wait(), BOUND)
    received = np.concatenate([frame.pcm16() for frame in frames])
    assert normalised_match(ulaw_decode_samples(prompt)[:2400], received) > 0.99


async def test_packets_on_the_wire(
    pool: RtpPortPool, clock: MediaClock, raw_peer: Callable[[], Awaitable[Collector]]
) -> None:
    peer = await raw_peer()
    session = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
    try:
        session.set_remote(HOST, peer.port, 0, 101, "PCMU")
        first, _ = await peer.next_packet()
        packets = [first] + [(await peer.next_packet())[0] for _ in range(4)]
        session.send_dtmf("3", duration_ms=40)
        events: list[RtpPacket] = []
        while len(events) < 4:
            packet, _ = await peer.next_packet()
            if packet.payload_type == 101:
                events.append(packet)
    finally:
        session.close()
    assert [p.marker for p in packets] == [True, False, False, False, False]
    assert {p.ssrc for p in packets} == {session.ssrc}
    assert all(
        q.sequence_number == (p.sequence_number + 1) % 65536 for p, q in itertools.pairwise(packets)
    )
    assert all(
        (q.timestamp - p.timestamp) % (1 << 32) == 160 for p, q in itertools.pairwise(packets)
    )
    assert packets[0].payload == b"\xff" * 160  # silence between prompts
    # RFC 4733: first with marker, all with the event's start timestamp, then 3 end packets.
    assert [e.marker for e in events] == [True, False, False, False]
    assert len({e.timestamp for e in events}) == 1
    assert [e.payload[1] & 0x80 for e in events] == [0, 0x80, 0x80, 0x80]


async def test_loop_playback_until_stopped_and_queue_order(
    pair: tuple[RtpSession, RtpSession], clock: MediaClock
) -> None:
    a, _ = pair
    short = noise_prompt(0.1)
    looping = a.play(short, loop=True)
    queued = a.play(short)
    await wait_ticks(clock, 12)  # longer than the prompt: it must still be looping
    assert not looping.done() and not queued.done() and a.playing
    a.stop_playback()
    assert looping.done() and queued.done() and not a.playing
    first, second = a.play(short), a.play(short)
    await asyncio.wait_for(first, BOUND)
    assert not second.done()
    await asyncio.wait_for(second, BOUND)
    assert (await asyncio.wait_for(a.play(b""), BOUND)) is None


# -- symmetric RTP -------------------------------------------------------------------------


async def test_symmetric_rtp_latches_to_where_packets_come_from(
    pool: RtpPortPool, clock: MediaClock, raw_peer: Callable[[], Awaitable[Collector]]
) -> None:
    sdp_address = await raw_peer()  # what SDP said; nothing will ever come from there
    behind_nat = await raw_peer()  # where the far end's packets really come from
    assert behind_nat.transport is not None
    a = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
    b = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
    try:
        a.set_remote(HOST, sdp_address.port, 0, 101, "PCMU")
        await sdp_address.next_packet()  # A sends to the SDP address at first
        assert not a.latched
        # One packet from elsewhere is enough while nothing came from the SDP address.
        first = RtpPacket(0, 1, 0, 0xABC, b"\xff" * 160)
        behind_nat.transport.sendto(first.serialize(), (HOST, a.local_port))
        packet, _ = await behind_nat.next_packet()
        assert packet.ssrc == a.ssrc
        assert a.latched and a.remote_address == (HOST, behind_nat.port)

        # The source then moves (a media server change): B's steady stream takes over
        # after 5 packets in a row, since the old source fell silent.
        reached_b = when_received(b, lambda frame: True)
        b.set_remote(HOST, a.local_port, 0, 101, "PCMU")
        await asyncio.wait_for(reached_b.wait(), BOUND)
        assert a.remote_address == (HOST, b.local_port)
        assert b.stats().packets_sent >= 5
    finally:
        a.close()
        b.close()


async def test_a_single_stray_packet_does_not_steal_a_latched_stream(
    pair: tuple[RtpSession, RtpSession], raw_peer: Callable[[], Awaitable[Collector]]
) -> None:
    a, b = pair
    arrived = when_received(a, lambda frame: True)
    await asyncio.wait_for(arrived.wait(), BOUND)
    assert a.remote_address == (HOST, b.local_port)
    stray = await raw_peer()
    assert stray.transport is not None
    stray.transport.sendto(RtpPacket(0, 1, 1, 99, b"\xff" * 160).serialize(), (HOST, a.local_port))
    # B's next packet is processed after the stray one (same loopback queue, same loop).
    received_before = a.stats().packets_received
    more = when_received(a, lambda frame: True)
    await asyncio.wait_for(more.wait(), BOUND)
    assert a.remote_address == (HOST, b.local_port)
    assert a.stats().ssrc == b.ssrc and a.stats().packets_received > received_before


# -- DTMF ----------------------------------------------------------------------------------


async def test_dtmf_end_to_end_one_digit_per_press(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    await asyncio.wait_for(a.send_dtmf("5#"), BOUND)
    first = await asyncio.wait_for(b.dtmf.get(), BOUND)
    second = await asyncio.wait_for(b.dtmf.get(), BOUND)
    assert (first.digit, first.duration_ms) == ("5", 100)
    assert second.digit == "#"
    await asyncio.wait_for(a.send_dtmf("1", duration_ms=60), BOUND)
    third = await asyncio.wait_for(b.dtmf.get(), BOUND)
    assert (third.digit, third.duration_ms) == ("1", 60)  # no repeat of '#' in between
    assert b.dtmf.empty()


async def test_dtmf_needs_negotiated_telephone_event(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    with pytest.raises(ValueError):
        a.send_dtmf("5x")
    a.set_remote(HOST, b.local_port, 0, None, "PCMU")
    with pytest.raises(RtpSessionError):
        a.send_dtmf("5")


# -- dead air and hold ---------------------------------------------------------------------


async def test_dead_air_fires_when_the_peer_stops(
    pair: tuple[RtpSession, RtpSession], clock: MediaClock
) -> None:
    a, b = pair
    await wait_ticks(clock, 25)  # 0.5 s of media, longer than the 0.3 s guard
    assert not a.dead_air.done()
    b.close()
    reason = await asyncio.wait_for(asyncio.shield(a.dead_air), BOUND)
    assert "no RTP" in reason


async def test_dead_air_fires_when_nothing_ever_arrives(
    pool: RtpPortPool, clock: MediaClock, raw_peer: Callable[[], Awaitable[Collector]]
) -> None:
    silent = await raw_peer()
    session = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0.2)
    try:
        session.set_remote(HOST, silent.port, 0, None, "PCMU")
        reason = await asyncio.wait_for(asyncio.shield(session.dead_air), BOUND)
        assert "none since the call was answered" in reason
    finally:
        session.close()


async def test_hold_by_reinvite_suspends_dead_air_and_sending(
    pair: tuple[RtpSession, RtpSession], clock: MediaClock
) -> None:
    a, b = pair
    # The far end re-INVITEs with sendonly (music on hold): we answer recvonly.
    answer = a.answer_reoffer(b.local_offer(direction=Direction.SENDONLY))
    assert "a=recvonly" in answer
    b.apply_answer(answer)
    assert a.direction is Direction.RECVONLY and b.direction is Direction.SENDONLY
    await wait_ticks(clock, 2)
    sent_on_hold = a.stats().packets_sent
    b.close()  # and then sends nothing at all while we are held
    await wait_ticks(clock, 30)  # 0.6 s: twice the dead-air timeout
    assert not a.dead_air.done()
    assert a.stats().packets_sent == sent_on_hold  # recvonly: we do not send
    a.set_direction(Direction.SENDRECV)  # unhold: the guard runs again
    reason = await asyncio.wait_for(asyncio.shield(a.dead_air), BOUND)
    assert "no RTP" in reason
    assert a.stats().packets_sent > sent_on_hold


async def test_old_style_hold_keeps_the_address(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    offer = b.local_offer().replace(f"c=IN IP4 {HOST}", "c=IN IP4 0.0.0.0")
    a.answer_reoffer(offer)
    assert a.direction is Direction.RECVONLY
    assert a.remote_address == (HOST, b.local_port)
    a.answer_reoffer(b.local_offer())
    assert str(a.direction) == "sendrecv"


async def test_unacceptable_reoffer_is_refused_and_media_unchanged(
    pair: tuple[RtpSession, RtpSession],
) -> None:
    a, b = pair
    before = a.negotiated
    g729_only = b.local_offer().replace("RTP/AVP 0 8 101", "RTP/AVP 18")
    assert a.reoffer_answerer(g729_only.encode()) is None  # the SIP layer answers 488
    assert a.reoffer_answerer(b"not sdp") is None
    assert a.negotiated == before and a.direction is Direction.SENDRECV
    answer = a.reoffer_answerer(b.local_offer().encode())
    assert answer is not None and b"a=sendrecv" in answer


# -- robustness and lifecycle --------------------------------------------------------------


async def test_malformed_datagrams_are_counted_and_dropped(
    pool: RtpPortPool, clock: MediaClock, raw_peer: Callable[[], Awaitable[Collector]]
) -> None:
    peer = await raw_peer()
    assert peer.transport is not None
    session = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
    try:
        arrived = when_received(session, lambda frame: frame.sequence_number == 77)
        target = (HOST, session.local_port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
            plain.sendto(b"", target)  # asyncio will not send an empty datagram
        junk = (b"\x00", bytes(12), b"\x80\x00\x00", bytes.fromhex("a0000000") + bytes(9))
        for datagram in junk:
            peer.transport.sendto(datagram, target)
        peer.transport.sendto(bytes.fromhex("80c80006deadbeef"), target)  # RTCP
        peer.transport.sendto(RtpPacket(0, 77, 0, 5, b"\xff" * 160).serialize(), target)
        await asyncio.wait_for(arrived.wait(), BOUND)
        stats = session.stats()
        assert (stats.malformed, stats.rtcp, stats.packets_received) == (5, 1, 1)
    finally:
        session.close()


async def test_hook_errors_do_not_break_reception(pair: tuple[RtpSession, RtpSession]) -> None:
    _, b = pair
    calls = 0
    done = asyncio.Event()

    def broken(frame: ReceivedAudio) -> None:
        nonlocal calls
        calls += 1
        if calls >= 3:
            done.set()
        raise RuntimeError("bug in the call layer")

    b.received_audio = broken
    await asyncio.wait_for(done.wait(), BOUND)
    assert b.stats().packets_received >= 3


async def test_close_releases_the_port_and_is_idempotent(
    pool: RtpPortPool, clock: MediaClock
) -> None:
    session = await RtpSession.open(pool, clock, HOST)
    port = session.local_port
    assert port % 2 == 0 and pool.is_reserved(port) and session in clock
    pending = session.play(noise_prompt(1.0))
    session.close()
    session.close()
    await asyncio.wait_for(session.wait_closed(), BOUND)
    assert not pool.is_reserved(port) and session not in clock
    assert pending.cancelled() and session.dead_air.cancelled()
    with pytest.raises(RtpSessionClosed):
        session.play(b"\xff")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, port))  # the socket is really gone


async def test_exhausted_pool(clock: MediaClock) -> None:
    tiny = RtpPortPool(HOST, BASE_PORT + 100, BASE_PORT + 101)
    session = await RtpSession.open(tiny, clock, HOST)
    try:
        with pytest.raises(RtpPortsExhausted):
            await RtpSession.open(tiny, clock, HOST)
    finally:
        session.close()
    await session.wait_closed()
    again = await RtpSession.open(tiny, clock, HOST)
    again.close()


def test_port_pool_skips_ports_in_use_and_never_repeats() -> None:
    first = BASE_PORT + 150
    pool = RtpPortPool(HOST, first - 1, first + 6)  # even ports first..first+6
    assert pool.capacity == 4
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((HOST, first))  # another program holds this one
        ports = [pool.acquire() for _ in range(3)]
        assert ports == [first + 2, first + 4, first + 6]
        with pytest.raises(RtpPortsExhausted):
            pool.acquire()
    assert pool.acquire() == first  # free again now
    pool.release(first + 4)
    pool.release(first + 4)  # repeated release is harmless
    assert pool.in_use == 3 and pool.acquire() == first + 4


def test_a_call_under_uvloop() -> None:
    """Production runs uvloop: the same path (play, receive, DTMF, close) on it."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        clock = MediaClock()
        clock.start()
        pool = RtpPortPool(HOST, BASE_PORT + 160, BASE_PORT + 198)
        a = await RtpSession.open(pool, clock, HOST)
        b = await RtpSession.open(pool, clock, HOST)
        try:
            a.apply_answer(b.answer_reoffer(a.local_offer()))
            prompt = noise_prompt(0.3)
            arrived = when_received(b, lambda frame: frame.ulaw() == prompt[-160:])
            await asyncio.wait_for(a.play(prompt), BOUND)
            await asyncio.wait_for(arrived.wait(), BOUND)
            await asyncio.wait_for(b.send_dtmf("9"), BOUND)
            assert (await asyncio.wait_for(a.dtmf.get(), BOUND)).digit == "9"
            assert b.stats().packets_lost == 0 and a.latched and b.latched
        finally:
            a.close()
            b.close()
            await clock.stop()
        await asyncio.wait_for(a.wait_closed(), BOUND)
        assert pool.in_use == 0

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


async def test_listeners_come_and_go_beside_the_hook(pair: tuple[RtpSession, RtpSession]) -> None:
    a, b = pair
    prompt = noise_prompt(0.6)
    last_frame = prompt[-160:]
    arrived = when_received(b, lambda frame: frame.ulaw() == last_frame)  # the hook
    heard: dict[str, int] = {"first": 0, "second": 0}
    stop_first = b.listen(lambda frame: heard.__setitem__("first", heard["first"] + 1))
    b.listen(lambda frame: heard.__setitem__("second", heard["second"] + 1))
    await asyncio.wait_for(a.play(prompt[: len(prompt) // 2]), BOUND)
    stop_first()
    at_stop = heard["first"]
    await asyncio.wait_for(a.play(prompt[len(prompt) // 2 :]), BOUND)
    await asyncio.wait_for(arrived.wait(), BOUND)
    assert at_stop > 0 and heard["first"] == at_stop  # not called once stopped
    assert heard["second"] >= 25  # the whole prompt: 30 frames less a startup one or two
