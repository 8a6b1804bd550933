"""RtpSession's in-band DTMF option on loopback: when it listens, what it queues, no doubles."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest

from media.clock import MediaClock
from media.g711 import ulaw_encode
from media.ports import RtpPortPool
from media.session import ReceivedAudio, RtpSession
from tests.e2e.audio_fixtures import dtmf_keys_pcm16, dtmf_pcm16
from tests.media.test_session import BASE_PORT, BOUND, HOST

Pair = tuple[RtpSession, RtpSession]


@pytest.fixture
def pool() -> RtpPortPool:
    # Above test_session's block, so the two files never share a port.
    return RtpPortPool(HOST, BASE_PORT + 100, BASE_PORT + 198)


def without_telephone_event(sdp: str) -> str:
    """The far end's answer as a phone that knows no RFC 4733 would give it."""
    sdp = re.sub(r"a=(rtpmap|fmtp):101 [^\r\n]*\r\n", "", sdp)
    return re.sub(r"(m=audio \d+ RTP/AVP[ 0-9]*?) 101", r"\1", sdp)


OpenPair = Callable[..., Awaitable[Pair]]


@pytest.fixture
async def open_pair(pool: RtpPortPool, clock: MediaClock) -> AsyncIterator[OpenPair]:
    """Opens A (the dialer, offerer, listening per `mode`) and B (the far end); closes both."""
    opened: list[RtpSession] = []

    async def open_pair(mode: str, *, events: bool) -> Pair:
        a = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0, dtmf_inband=mode)
        b = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
        opened.extend((a, b))
        answer = b.answer_reoffer(a.local_offer())
        a.apply_answer(answer if events else without_telephone_event(answer))
        return a, b

    yield open_pair
    for session in opened:
        session.close()


async def play_and_drain(a: RtpSession, b: RtpSession, ulaw: bytes) -> list[str]:
    """B plays `ulaw`; once A has heard a frame sent after it, every key A queued."""
    await asyncio.wait_for(b.play(ulaw), BOUND)
    heard_after = asyncio.Event()

    def hook(frame: ReceivedAudio) -> None:
        heard_after.set()

    a.received_audio = hook
    await asyncio.wait_for(heard_after.wait(), BOUND)
    keys = []
    while not a.dtmf.empty():
        keys.append(a.dtmf.get_nowait().digit)
    return keys


def tones(keys: str) -> bytes:
    return ulaw_encode(dtmf_keys_pcm16(keys, tone_s=0.08, gap_s=0.08))


async def test_auto_listens_when_the_answer_has_no_telephone_event(open_pair: OpenPair) -> None:
    a, b = await open_pair("auto", events=False)
    assert a.negotiated is not None and a.negotiated.dtmf_payload_type is None
    assert a.listening_inband
    assert await play_and_drain(a, b, tones("159#")) == list("159#")


@pytest.mark.parametrize("mode", ["auto", "off"])
async def test_no_listening_with_telephone_event_in_auto_or_ever_when_off(
    open_pair: OpenPair, mode: str
) -> None:
    a, b = await open_pair(mode, events=mode == "auto")
    assert not a.listening_inband
    assert await play_and_drain(a, b, tones("42")) == []


async def test_always_queues_a_press_sent_both_ways_once(open_pair: OpenPair) -> None:
    a, b = await open_pair("always", events=True)
    assert a.listening_inband
    # B presses 5 as an RFC 4733 event while its audio carries the 5 tone too (the event
    # replaces the first 140 ms of it on the wire), then 8 only as a tone.
    silence = np.zeros(1600, dtype=np.int16)
    audio = np.concatenate([dtmf_pcm16("5", 0.3), silence, dtmf_pcm16("8", 0.1), silence])
    sent = b.send_dtmf("5", duration_ms=100)
    keys = await play_and_drain(a, b, ulaw_encode(audio))
    assert sent.done()
    assert keys == ["5", "8"]


async def test_a_reoffer_adding_telephone_event_stops_auto_listening(open_pair: OpenPair) -> None:
    a, b = await open_pair("auto", events=False)
    assert a.listening_inband
    a.set_remote(HOST, b.local_port, 0, 101, "PCMU")  # as a re-INVITE would
    assert not a.listening_inband
    a.set_remote(HOST, b.local_port, 0, None, "PCMU")
    assert a.listening_inband
    a.dtmf_inband = "off"
    assert (a.dtmf_inband, a.listening_inband) == ("off", False)
    with pytest.raises(ValueError, match="dtmf_inband"):
        a.dtmf_inband = "sometimes"


async def test_a_key_held_when_the_audio_stops_is_still_reported(open_pair: OpenPair) -> None:
    a, b = await open_pair("auto", events=False)
    await asyncio.wait_for(b.play(ulaw_encode(dtmf_pcm16("4", 0.3))), BOUND)
    b.close()  # the far end goes silent with the tone still sounding
    digit = await asyncio.wait_for(a.dtmf.get(), BOUND)
    assert digit.digit == "4" and 250 <= digit.duration_ms <= 320


async def test_an_unknown_mode_is_refused_at_open(pool: RtpPortPool, clock: MediaClock) -> None:
    with pytest.raises(ValueError, match="auto, always, off"):
        await RtpSession.open(pool, clock, HOST, dtmf_inband="on")
    assert pool.in_use == 0  # refused before a port was taken
