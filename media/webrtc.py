"""A browser's audio over WebRTC (aiortc), as one side of an `AudioBridge`.

`BrowserAudio` is one agent console's media: a single `RTCPeerConnection`,
negotiated when the page connects and kept up while the agent is logged in,
so ringing a browser agent needs no new negotiation and bridging is instant.
The page offers (it owns the microphone), `answer(offer)` answers; a page that
reconnects offers again and replaces the connection, while listeners and
`live_audio` stay on this object.

It is an `AudioPort`: the outbound track pulls `live_audio()` every 20 ms
(None: silence) and hands aiortc 8 kHz mono s16 frames (its Opus encoder
resamples); inbound frames (48 kHz Opus, maybe stereo) are resampled to 8 kHz
mono, μ-law encoded and delivered to `listen` hooks in 20 ms pieces. aiortc
costs ~5% of a core per connection: fine for agents, never for the trunk.

Loopback: aioice never gathers 127.0.0.1, so a browser on this very host (a
lab, the tests, a console through an SSH tunnel) could not reach us. We add it
(`_host_addresses_with_loopback`); Chromium itself only uses loopback candidates when started
with `--allow-loopback-in-peer-connection`, and other browsers ignore them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable

import aioice.ice
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from media.bridge import FRAME_BYTES, HeardAudio
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.session import ReceivedAudio

__all__ = ["BrowserAudio", "UlawTrack"]

log = logging.getLogger(__name__)

RATE = 8000
FRAME_S = 0.02
_TIME_BASE = fractions.Fraction(1, RATE)
_SILENCE = np.zeros(FRAME_BYTES, dtype=np.int16)

Hook = Callable[[HeardAudio], None]


_gather_host_addresses = aioice.ice.get_host_addresses


def _host_addresses_with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    found = _gather_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    if use_ipv4 and "127.0.0.1" not in found:
        found.append("127.0.0.1")
    return found


# aioice looks the function up in its module at every gathering: replacing it there is
# the one way in (no option, and RTCPeerConnection builds the ICE connection itself).
aioice.ice.get_host_addresses = _host_addresses_with_loopback


class UlawTrack(MediaStreamTrack):
    """What the browser hears: `source()` every 20 ms on absolute deadlines (no drift)."""

    kind = "audio"

    def __init__(self, source: Callable[[], bytes | None]) -> None:
        super().__init__()
        self.source = source
        self._samples = 0
        self._start: float | None = None
        self.frames_with_audio = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._samples += FRAME_BYTES
            await asyncio.sleep(self._start + self._samples / RATE - loop.time())
        ulaw = self.source()
        if ulaw is not None and len(ulaw) == FRAME_BYTES:
            samples = ulaw_decode_samples(ulaw)
            self.frames_with_audio += 1
        else:
            samples = _SILENCE
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._samples
        frame.time_base = _TIME_BASE
        return frame


class BrowserAudio:
    """One console's WebRTC audio; an `AudioPort` for `AudioBridge`."""

    def __init__(self) -> None:
        self.live_audio: Callable[[], bytes | None] | None = None
        self._hooks: list[Hook] = []
        self._pc: RTCPeerConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sequence = 0
        self.frames_in = 0  # 20 ms frames heard from the browser
        self.on_connection_state: Callable[[str], None] | None = None

    @property
    def connection_state(self) -> str:
        return self._pc.connectionState if self._pc is not None else "closed"

    def listen(self, hook: Hook) -> Callable[[], None]:
        self._hooks.append(hook)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._hooks.remove(hook)

        return stop

    async def answer(self, offer_sdp: str) -> str:
        """Answer the page's offer with a new connection (the old one, if any, closed)."""
        await self._close_connection()
        # No ICE servers: the agents are on our network (and no STUN wait on a lab box).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc = pc
        outbound = UlawTrack(self._pull)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and pc is self._pc:
                if self._reader is not None:
                    self._reader.cancel()
                self._reader = asyncio.ensure_future(self._read(track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc is self._pc and self.on_connection_state is not None:
                self.on_connection_state(pc.connectionState)

        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        pc.addTrack(outbound)  # takes the offer's audio transceiver: sendrecv
        await pc.setLocalDescription(await pc.createAnswer())
        local = pc.localDescription
        assert local is not None  # set just above
        return local.sdp

    def _pull(self) -> bytes | None:
        return self.live_audio() if self.live_audio is not None else None

    async def _read(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = np.zeros(0, dtype=np.int16)
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for mono in resampler.resample(frame):
                pending = np.concatenate((pending, mono.to_ndarray().reshape(-1)))
            while len(pending) >= FRAME_BYTES:
                piece, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
                self._deliver(ulaw_encode(piece), loop.time())

    def _deliver(self, ulaw: bytes, now: float) -> None:
        self.frames_in += 1
        self._sequence = (self._sequence + 1) & 0xFFFF
        heard = ReceivedAudio(ulaw, "PCMU", (self.frames_in * FRAME_BYTES) & 0xFFFFFFFF,
                              self._sequence, now)  # fmt: skip
        for hook in list(self._hooks):
            hook(heard)

    async def _close_connection(self) -> None:
        reader, self._reader = self._reader, None
        pc, self._pc = self._pc, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        self.live_audio = None
        self._hooks.clear()
        await self._close_connection()
