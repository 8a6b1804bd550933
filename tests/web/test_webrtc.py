"""BrowserAudio against a real aiortc peer on loopback: Opus both ways, μ-law at our side."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media.bridge import HeardAudio
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.webrtc import BrowserAudio, UlawTrack


def tone(hz: float, frames: int = 10_000) -> Callable[[], bytes | None]:
    """A source of 20 ms μ-law frames of a sine tone."""
    t = np.arange(160 * frames) / 8000
    ulaw = ulaw_encode((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16))
    offset = 0

    def pull() -> bytes | None:
        nonlocal offset
        frame = ulaw[offset : offset + 160]
        offset += 160
        return frame

    return pull


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 8000)[int(np.argmax(spectrum))])


async def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_audio_crosses_both_ways_and_keeps_its_pitch() -> None:
    audio = BrowserAudio()
    heard: list[bytes] = []
    audio.listen(lambda frame: heard.append(frame.ulaw()))
    audio.live_audio = tone(440.0)  # what the "browser" should hear
    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    received: list[np.ndarray] = []
    reading: list[asyncio.Task[None]] = []

    @browser.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        async def read() -> None:
            resampled = av.AudioResampler(format="s16", layout="mono", rate=8000)
            while True:
                frame = await track.recv()
                for mono in resampled.resample(frame):
                    received.append(mono.to_ndarray().reshape(-1))

        reading.append(asyncio.ensure_future(read()))

    browser.addTrack(UlawTrack(tone(1000.0)))  # the "browser's" microphone
    try:
        await browser.setLocalDescription(await browser.createOffer())
        answer = await audio.answer(browser.localDescription.sdp)
        assert "a=candidate" in answer and "127.0.0.1" in answer  # loopback gathered
        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await wait_until(lambda: len(heard) >= 100 and sum(map(len, received)) >= 16000, 15)
        assert audio.connection_state == "connected"
        ours = ulaw_decode_samples(b"".join(heard[-50:]))
        assert np.abs(ours).max() > 2000
        assert abs(dominant_hz(ours) - 1000) < 20
        theirs = np.concatenate(received)[-8000:]
        assert abs(dominant_hz(theirs) - 440) < 20
    finally:
        for task in reading:
            task.cancel()
        await browser.close()
        await audio.close()
    assert audio.connection_state == "closed"


async def test_silence_when_nothing_is_bridged_and_listeners_can_stop() -> None:
    audio = BrowserAudio()
    got: list[HeardAudio] = []
    stop = audio.listen(got.append)
    stop()
    audio._deliver(b"\xff" * 160, 0.0)
    assert got == []
    track = UlawTrack(lambda: None)
    frame = await track.recv()
    assert frame.samples == 160 and frame.sample_rate == 8000
    assert not frame.to_ndarray().any()
    await audio.close()
