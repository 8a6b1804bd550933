"""RtpSession: one call's audio, paced by the shared MediaClock.

The SIP layer's whole view of media:

    session = await RtpSession.open(pool, clock, local_host)
    offer = session.local_offer()            # SDP for the INVITE
    session.apply_answer(answer_sdp)         # from the 2xx (or a 183)
    answer = session.answer_reoffer(sdp)     # far-end re-INVITE: hold / unhold
    ...
    finally: session.close()

Sending: every tick sends exactly one packet (prompt audio, silence between
prompts, or a DTMF event), so the far end always gets a steady 20 ms stream, which
keeps NAT bindings open and echo tests meaningful. Prompts are μ-law bytes,
sliced per frame; A-law is a 160-byte translate when PCMA was negotiated.

Receiving: symmetric RTP — after the first packet from an address other than the
SDP one, we send there (NAT); a later change of source needs several packets in a
row. Malformed datagrams are counted and dropped. Stats, DTMF digits (`dtmf`
queue), optional WAV recording, a `received_audio` hook, and the dead-air guard
(`dead_air` future) all hang off the receive path and the tick.

DTMF: RFC 4733 events always; tones in the audio too per `dtmf_inband` (the call layer
passes `config.rtp.dtmf_inband`): "auto" listens while the negotiated media has no
telephone-event, "always" listens beside RFC 4733 (a press sent both ways is queued
once), "off" (the default) never. Both put `DtmfDigit`s in the same `dtmf` queue, one
per press, when it ends. The in-band detector costs only while it listens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from media.audiofile import AudioFileError, WavRecorder
from media.clock import FRAME_INTERVAL, MediaClock
from media.dtmf import DtmfDigit, DtmfReceiver, DtmfSender
from media.g711 import (
    ALAW_TO_ULAW,
    ULAW_TO_ALAW,
    alaw_decode_samples,
    silence,
    ulaw_decode_samples,
)
from media.inband_dtmf import DtmfDuplicateFilter, InbandDtmfDetector, check_inband_mode
from media.ports import RtpPortPool
from media.rtp import RTP_HEADER_SIZE, RtpPacket, RtpParseError, looks_like_rtcp
from media.sdp import (
    Direction,
    NegotiatedMedia,
    SdpError,
    SdpSession,
    SessionDescription,
    negotiate,
)
from media.stats import RtpStatsSnapshot, RtpStreamStats

__all__ = ["AudioHook", "ReceivedAudio", "RtpSession", "RtpSessionClosed", "RtpSessionError"]

log = logging.getLogger(__name__)

SAMPLES_PER_FRAME: Final = 160
RELATCH_PACKETS: Final = 5  # consecutive packets a new source needs once we are latched
_STATIC_G711: Final = {0: "PCMU", 8: "PCMA"}
_HEADER: Final = struct.Struct("!BBHII")
_LATE_TICK: Final = 1.5 * FRAME_INTERVAL  # a tick this late means some were missed
_RECEIVE_HEADER: Final = struct.Struct("!xBHII")  # marker known clear: PT is the byte
_VERSION_OCTET: Final = 0x80
_UNSPECIFIED: Final = ("0.0.0.0", "::")
_INBAND_STALL: Final = 0.2  # s without audio that end an in-band press in progress

Address = tuple[str, int]


class RtpSessionError(RuntimeError):
    """A media operation that cannot be done (no port, nothing negotiated...)."""


class RtpSessionClosed(RtpSessionError):
    """The session was closed."""


@dataclass(frozen=True, slots=True)
class ReceivedAudio:
    """One received audio packet's payload (usually 160 samples), decoded on demand."""

    payload: bytes
    codec: str  # "PCMU" or "PCMA"
    timestamp: int
    sequence_number: int
    arrival: float  # loop.time()

    def ulaw(self) -> bytes:
        return self.payload if self.codec == "PCMU" else self.payload.translate(ALAW_TO_ULAW)

    def pcm16(self) -> NDArray[np.int16]:
        if self.codec == "PCMU":
            return ulaw_decode_samples(self.payload)
        return alaw_decode_samples(self.payload)


AudioHook = Callable[[ReceivedAudio], None]


class _Prompt:
    __slots__ = ("data", "future", "loop", "offset")

    def __init__(self, data: bytes, loop: bool, future: asyncio.Future[None]) -> None:
        self.data = data
        self.loop = loop
        self.future = future
        self.offset = 0


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.session: RtpSession | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.session is not None:
            self.session._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable once the far end is gone: the dead-air guard decides.
        if self.session is not None:
            self.session._send_errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def _payload(data: bytes) -> bytes:
    """The payload of a packet already checked by `_on_datagram`'s fast path or RtpPacket."""
    if data[0] == _VERSION_OCTET:
        return data[RTP_HEADER_SIZE:]
    return RtpPacket.parse(data).payload


class RtpSession:
    """One call's RTP stream; a `TickedStream` of the MediaClock. Create with `open()`."""

    def __init__(
        self,
        *,
        pool: RtpPortPool,
        clock: MediaClock,
        port: int,
        transport: asyncio.DatagramTransport,
        protocol: _RtpProtocol,
        local_host: str,
        advertised_host: str,
        dead_air_timeout: float,
        ssrc: int | None,
    ) -> None:
        rng = np.random.default_rng()
        self._loop = asyncio.get_running_loop()
        self._pool = pool
        self._clock = clock
        self._transport = transport
        self._protocol = protocol
        self.local_host = local_host
        self.local_port = port
        self.ssrc = int(rng.integers(1, 1 << 32)) if ssrc is None else ssrc
        self._dead_air_timeout = dead_air_timeout
        self._seq = int(rng.integers(0, 1 << 16))
        self._timestamp = int(rng.integers(0, 1 << 32))
        self._last_tick: float | None = None
        # What negotiation decided.
        self._sdp = SdpSession(advertised_host)
        self._last_offer: SessionDescription | None = None
        self.negotiated: NegotiatedMedia | None = None
        self._remote: Address | None = None  # from SDP
        self._send_to: Address | None = None  # the SDP address, or the latched source
        self._latched = False
        self._candidate: Address | None = None
        self._candidate_count = 0
        self._payload_type = 0
        self._dtmf_payload_type: int | None = None
        self.codec = "PCMU"
        self._alaw = False
        self._silence = silence(SAMPLES_PER_FRAME)
        self._receive_codecs: dict[int, str] = dict(_STATIC_G711)
        self.direction = Direction.SENDRECV
        self._sending = False  # direction sends and there is an address to send to
        self._marker_pending = True
        # Sending.
        self._prompts: deque[_Prompt] = deque()
        self._dtmf_sender = DtmfSender()
        self._dtmf_waiters: deque[tuple[asyncio.Future[None], list[int]]] = deque()
        # Receiving.
        self._stats = RtpStreamStats()
        self._dtmf_receiver = DtmfReceiver()
        self.dtmf: asyncio.Queue[DtmfDigit] = asyncio.Queue()
        self._dtmf_inband = "off"
        self._inband: InbandDtmfDetector | None = None  # set while listening for tones
        self._inband_pressed = False  # a tone press has started and is not reported yet
        self._dtmf_filter: DtmfDuplicateFilter | None = None  # both sources listen
        self.received_audio: AudioHook | None = None
        self.live_audio: Callable[[], bytes | None] | None = None  # sent when no prompt plays
        self._listeners: tuple[AudioHook, ...] = ()  # see listen()
        self._recorder: WavRecorder | None = None
        self._malformed = 0
        self._rtcp = 0
        self._send_errors = 0
        self._hook_failed = False
        # Dead air.
        self.dead_air: asyncio.Future[str] = self._loop.create_future()
        self._media_started = False
        self._dead_air_armed = False  # media started, SENDRECV, guard on, not fired yet
        self._last_received = 0.0
        self.closed = False

    @classmethod
    async def open(
        cls,
        pool: RtpPortPool,
        clock: MediaClock,
        local_host: str,
        *,
        advertised_host: str | None = None,
        dead_air_timeout: float = 30.0,
        ssrc: int | None = None,
        bind_attempts: int = 8,
        dtmf_inband: str = "off",
    ) -> RtpSession:
        """Bind a port from `pool` on `local_host` and join `clock`.

        `advertised_host` is what SDP says (the public address behind NAT); it defaults
        to `local_host`. `dead_air_timeout` 0 disables the guard. `dtmf_inband` is one of
        INBAND_MODES (see the module docstring; ValueError otherwise). Raises
        RtpPortsExhausted or RtpSessionError.
        """
        check_inband_mode(dtmf_inband)  # before a port is taken
        loop = asyncio.get_running_loop()
        failures: list[str] = []
        for _ in range(bind_attempts):
            port = pool.acquire()
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    _RtpProtocol, local_addr=(local_host, port)
                )
            except OSError as exc:
                pool.release(port)
                failures.append(f"{port}: {exc.strerror or exc}")
                continue
            session = cls(
                pool=pool,
                clock=clock,
                port=port,
                transport=transport,
                protocol=protocol,
                local_host=local_host,
                advertised_host=advertised_host or local_host,
                dead_air_timeout=dead_air_timeout,
                ssrc=ssrc,
            )
            protocol.session = session
            session.dtmf_inband = dtmf_inband
            clock.register(session)
            return session
        raise RtpSessionError(f"could not bind an RTP port on {local_host}: {'; '.join(failures)}")

    # -- negotiation --------------------------------------------------------------------

    def local_offer(self, *, direction: Direction = Direction.SENDRECV) -> str:
        """Our SDP offer (a new o= version each time)."""
        offer = self._sdp.build_offer(self.local_port, direction=direction)
        self._last_offer = offer
        return offer.to_text()

    def apply_answer(self, sdp: str | bytes) -> NegotiatedMedia:
        """Apply the far end's answer to our last offer. Raises SdpError
        (SdpNegotiationError when nothing in common) and leaves the media as it was."""
        if self._last_offer is None:
            raise RtpSessionError("no offer was made")
        media = negotiate(self._last_offer, SessionDescription.parse(sdp))
        self.apply_negotiated(media)
        return media

    def answer_reoffer(self, sdp: str | bytes) -> str:
        """Answer a far-end offer (a re-INVITE putting us on hold or back, or an initial
        offer). Media keeps flowing; raises SdpError when it cannot be accepted (488)."""
        answer, media = self._sdp.build_answer(SessionDescription.parse(sdp), self.local_port)
        self.apply_negotiated(media)
        return answer.to_text()

    def reoffer_answerer(self, body: bytes) -> bytes | None:
        """`answer_reoffer` shaped for dialer.sip.call's OfferAnswerer: None means 488."""
        try:
            return self.answer_reoffer(body).encode()
        except SdpError as exc:
            log.info("RTP %d: refusing re-offer: %s", self.local_port, exc)
            return None

    def apply_negotiated(self, media: NegotiatedMedia) -> None:
        self.negotiated = media
        self.set_remote(
            media.remote_host,
            media.remote_port,
            media.payload_type,
            media.dtmf_payload_type,
            media.codec_name,
        )
        self.set_direction(media.direction)

    def set_remote(
        self, host: str, port: int, payload_type: int, dtmf_pt: int | None, codec: str
    ) -> None:
        """Where and how to send. An unspecified host (RFC 2543 hold, c=0.0.0.0) keeps
        the previous address; a new address forgets the latched source."""
        if codec not in ("PCMU", "PCMA"):
            raise ValueError(f"unsupported codec {codec!r}")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"remote host must be an IP address, got {host!r}") from None
        if not 0 < port < 65536 and host not in _UNSPECIFIED:
            raise ValueError(f"bad remote port {port}")
        self._payload_type = payload_type
        self._dtmf_payload_type = dtmf_pt
        self.codec = codec
        self._alaw = codec == "PCMA"
        self._silence = silence(SAMPLES_PER_FRAME, alaw=self._alaw)
        self._receive_codecs = {**_STATIC_G711, payload_type: codec}
        if host not in _UNSPECIFIED and (host, port) != self._remote:
            self._remote = (host, port)
            self._send_to = self._remote
            self._latched = False
            self._candidate = None
        if not self._media_started:
            self._media_started = True
            self._last_received = self._loop.time()
            self._marker_pending = True
        self._update_flags()
        self._update_inband()

    def set_direction(self, direction: Direction) -> None:
        """Our direction, the mirror of the far end's: RECVONLY when it holds us with
        sendonly (music on hold), INACTIVE when it holds with inactive, SENDONLY when it
        only listens. We send in SENDRECV/SENDONLY; the dead-air guard runs in SENDRECV."""
        if direction == self.direction:
            return
        if direction.sends and not self.direction.sends:
            self._marker_pending = True
        if direction == Direction.SENDRECV:
            self._last_received = self._loop.time()  # a fresh grace period after hold
        log.info("RTP %d: direction %s -> %s", self.local_port, self.direction, direction)
        self.direction = direction
        self._update_flags()

    def _update_flags(self) -> None:
        self._sending = self.direction.sends and self._send_to is not None
        self._dead_air_armed = (
            self._media_started
            and self._dead_air_timeout > 0
            and self.direction is Direction.SENDRECV
            and not self.dead_air.done()
        )

    @property
    def dtmf_inband(self) -> str:
        """When tones in the received audio are heard as DTMF: "auto", "always" or "off"."""
        return self._dtmf_inband

    @dtmf_inband.setter
    def dtmf_inband(self, mode: str) -> None:
        check_inband_mode(mode)
        self._dtmf_inband = mode
        self._update_inband()

    @property
    def listening_inband(self) -> bool:
        """Whether the in-band detector runs now (the mode and the negotiated media)."""
        return self._inband is not None

    def _update_inband(self) -> None:
        mode = self._dtmf_inband
        listen = mode == "always" or (
            mode == "auto" and self._media_started and self._dtmf_payload_type is None
        )
        if listen and self._inband is None:
            self._inband = InbandDtmfDetector()
        elif not listen and self._inband is not None:
            self._end_inband_press(self._loop.time())
            self._inband = None
        if mode != "always":
            self._dtmf_filter = None
        elif self._dtmf_filter is None:  # kept across re-offers: it remembers recent presses
            self._dtmf_filter = DtmfDuplicateFilter()

    @property
    def dead_air_timeout(self) -> float:
        return self._dead_air_timeout

    @property
    def remote_address(self) -> Address | None:
        """Where packets go now: the SDP address, or the latched source."""
        return self._send_to

    @property
    def latched(self) -> bool:
        """True once packets arrived from the address we send to (SDP or learnt)."""
        return self._latched

    # -- sending ------------------------------------------------------------------------

    def play(self, ulaw: bytes, *, loop: bool = False) -> asyncio.Future[None]:
        """Queue μ-law audio; the future resolves when it has been sent (or stopped).
        With `loop=True` it repeats until `stop_playback()`."""
        if self.closed:
            raise RtpSessionClosed("session closed")
        future: asyncio.Future[None] = self._loop.create_future()
        if not ulaw:
            future.set_result(None)
            return future
        self._prompts.append(_Prompt(bytes(ulaw), loop, future))
        return future

    def stop_playback(self) -> None:
        """Drop the current and queued prompts (barge-in); their futures resolve."""
        while self._prompts:
            future = self._prompts.popleft().future
            if not future.done():
                future.set_result(None)

    @property
    def playing(self) -> bool:
        return bool(self._prompts)

    def send_dtmf(self, digits: str, *, duration_ms: int = 100) -> asyncio.Future[None]:
        """Send digits as RFC 4733 events (they replace audio while sent); the future
        resolves after the last end packet. Raises ValueError for a non-DTMF character."""
        if self.closed:
            raise RtpSessionClosed("session closed")
        if self._dtmf_payload_type is None:
            raise RtpSessionError("the far end did not negotiate telephone-event")
        count = self._dtmf_sender.queue(digits, duration_ms=duration_ms)
        future: asyncio.Future[None] = self._loop.create_future()
        if count == 0:
            future.set_result(None)
        else:
            self._dtmf_waiters.append((future, [count]))
        return future

    def on_tick(self, now: float) -> None:
        """MediaClock callback: one packet per tick (see module docstring).

        The hot path of the process (every call, 50 times a second): flags are
        precomputed so the common case is a slice, a struct pack and one sendto.
        """
        last, self._last_tick = self._last_tick, now
        elapsed = 1
        if last is not None:
            if now - last > _LATE_TICK:  # the clock caught up on missed ticks
                elapsed = round((now - last) / FRAME_INTERVAL)
            elif now <= last:
                return
            self._timestamp = (self._timestamp + SAMPLES_PER_FRAME * elapsed) & 0xFFFF_FFFF
        if not self._media_started:
            return
        if self._dead_air_armed and now - self._last_received > self._dead_air_timeout:
            self._fire_dead_air(now)
        if self._dtmf_receiver.in_progress:
            digit = self._dtmf_receiver.expire(now)
            if digit is not None:
                self._report_dtmf(digit, now, inband=False)
        if self._inband_pressed and now - self._last_received > _INBAND_STALL:
            self._end_inband_press(now)  # the audio stopped under a held key
        # Prompts run in real time: skipped ticks and hold consume audio too.
        payload = None
        if self._prompts:
            payload = self._next_frame()
            for _ in range(elapsed - 1):
                payload = self._next_frame() if self._prompts else None
        elif self.live_audio is not None:
            payload = self.live_audio()
        if not self._sending:
            return
        if self._dtmf_waiters and self._send_dtmf_event():
            return
        if payload is None:
            payload = self._silence
        elif self._alaw:
            payload = payload.translate(ULAW_TO_ALAW)
        if self._marker_pending:
            self._marker_pending = False
            self._send(self._payload_type, True, self._timestamp, payload)
            return
        # Inlined _send for the common packet.
        header = _HEADER.pack(
            _VERSION_OCTET, self._payload_type, self._seq, self._timestamp, self.ssrc
        )
        self._transport.sendto(header + payload, self._send_to)
        self._seq = (self._seq + 1) & 0xFFFF
        stats = self._stats
        stats.packets_sent += 1
        stats.octets_sent += len(payload)

    def _send_dtmf_event(self) -> bool:
        """Send this tick's DTMF packet, if any (False: the inter-digit gap, send audio)."""
        if self._dtmf_payload_type is None:
            return False
        event = self._dtmf_sender.next_packet(self._timestamp)
        if event is None:
            return False
        self._send(self._dtmf_payload_type, event.marker, event.timestamp, event.payload)
        if event.last:
            self._dtmf_digit_sent()
        return True

    def _send(self, payload_type: int, marker: bool, timestamp: int, payload: bytes) -> None:
        # A fresh bytes object per packet: uvloop keeps a reference to what it could not
        # send at once, so a reused bytearray could change under it.
        second = payload_type | 0x80 if marker else payload_type
        header = _HEADER.pack(_VERSION_OCTET, second, self._seq, timestamp, self.ssrc)
        self._transport.sendto(header + payload, self._send_to)
        self._seq = (self._seq + 1) & 0xFFFF
        self._stats.on_sent(len(payload))

    def _next_frame(self) -> bytes:
        """The next 160 μ-law bytes of the current prompt (padded with silence at its end)."""
        prompt = self._prompts[0]
        data, start = prompt.data, prompt.offset
        end = start + SAMPLES_PER_FRAME
        if end < len(data):
            prompt.offset = end
            return data[start:end]
        frame = data[start:]
        if prompt.loop:
            while len(frame) < SAMPLES_PER_FRAME:
                frame += data[: SAMPLES_PER_FRAME - len(frame)]
            prompt.offset = (end - len(data)) % len(data)
            return frame
        self._prompts.popleft()
        if not prompt.future.done():
            prompt.future.set_result(None)
        return frame + silence(SAMPLES_PER_FRAME - len(frame))

    def _dtmf_digit_sent(self) -> None:
        if not self._dtmf_waiters:
            return
        future, remaining = self._dtmf_waiters[0]
        remaining[0] -= 1
        if remaining[0] <= 0:
            self._dtmf_waiters.popleft()
            if not future.done():
                future.set_result(None)

    def _fire_dead_air(self, now: float) -> None:
        self._dead_air_armed = False
        silent_for = now - self._last_received
        reason = f"dead air: no RTP received for {silent_for:.1f} s"
        if self._stats.packets_received == 0:
            reason += " (none since the call was answered)"
        log.info("RTP %d: %s", self.local_port, reason)
        self.dead_air.set_result(reason)

    # -- receiving ----------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.closed:
            return
        if len(data) >= RTP_HEADER_SIZE and data[0] == _VERSION_OCTET and data[1] < 0x80:
            # The usual packet: no padding, extension, CSRC or marker. A second octet
            # below 128 cannot be RTCP (192..223), so the demux check is skipped too.
            payload_type, seq, timestamp, ssrc = _RECEIVE_HEADER.unpack_from(data)
            payload_size = len(data) - RTP_HEADER_SIZE
        else:
            if looks_like_rtcp(data):
                self._rtcp += 1
                return
            try:
                packet = RtpPacket.parse(data)
            except RtpParseError:
                self._malformed += 1
                return
            payload_type, seq, timestamp, ssrc = (
                packet.payload_type,
                packet.sequence_number,
                packet.timestamp,
                packet.ssrc,
            )
            payload_size = len(packet.payload)
        source: Address = addr if len(addr) == 2 else (addr[0], addr[1])  # IPv6: 4-tuple
        if source != self._send_to:
            if not self._accept_new_source(source):
                return
        elif not self._latched:
            self._latched = True  # the SDP address confirmed by its own packets
        now = self._loop.time()
        self._last_received = now
        stats = self._stats
        if payload_type == self._dtmf_payload_type:
            stats.on_received(seq, timestamp, ssrc, payload_size, now, timing=False)
            payload = _payload(data)
            for digit in self._dtmf_receiver.on_packet(payload, timestamp, now):
                self._report_dtmf(digit, now, inband=False)
            return
        accepted = stats.on_received(seq, timestamp, ssrc, payload_size, now)
        if not accepted or (
            self._recorder is None
            and self.received_audio is None
            and self._inband is None
            and not self._listeners
        ):
            return  # nobody listens: the payload is never even sliced out
        codec = self._receive_codecs.get(payload_type)
        if codec is None:
            return
        frame = ReceivedAudio(_payload(data), codec, timestamp, seq, now)
        if self._inband is not None:
            for digit in self._inband.feed_ulaw(frame.ulaw(), timestamp):
                self._report_dtmf(digit, now, inband=True)
            self._inband_pressed = self._inband.in_press
        if self._recorder is not None:
            self._record(frame)
        hooks = (
            self._listeners
            if self.received_audio is None
            else (self.received_audio, *self._listeners)
        )
        for hook in hooks:
            try:
                hook(frame)
            except Exception:
                # The hook is the call layer's code; a bug there must not stop the audio.
                if not self._hook_failed:
                    log.exception("RTP %d: received_audio hook failed", self.local_port)
                self._hook_failed = True

    def listen(self, hook: AudioHook) -> Callable[[], None]:
        """Call `hook` with every received audio frame too, until the function returned is
        called: for listeners that come and go during a call (AMD, a recording's silence)."""
        self._listeners = (*self._listeners, hook)

        def stop() -> None:
            self._listeners = tuple(h for h in self._listeners if h is not hook)

        return stop

    def _report_dtmf(self, digit: DtmfDigit, now: float, *, inband: bool) -> None:
        if self._dtmf_filter is None or self._dtmf_filter.admit(digit, inband=inband, now=now):
            self.dtmf.put_nowait(digit)

    def _end_inband_press(self, now: float) -> None:
        self._inband_pressed = False
        digit = self._inband.flush() if self._inband is not None else None
        if digit is not None:
            self._report_dtmf(digit, now, inband=True)

    def _accept_new_source(self, source: Address) -> bool:
        """Symmetric RTP latching. True when packets from `source` are to be used."""
        if not self._latched:
            log.info(
                "RTP %d: latched to %s:%d (SDP said %s)", self.local_port, *source, self._remote
            )
            self._send_to = source
            self._latched = True
            self._candidate = None
            self._update_flags()
            return True
        if source == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = source, 1
        if self._candidate_count < RELATCH_PACKETS:
            return False
        log.info("RTP %d: source moved to %s:%d", self.local_port, *source)
        self._send_to = source
        self._candidate = None
        return True

    def _record(self, frame: ReceivedAudio) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        try:
            recorder.write(
                frame.pcm16().astype("<i2", copy=False).tobytes(), frame.timestamp, frame.arrival
            )
        except OSError as exc:
            log.warning("RTP %d: recording to %s stopped: %s", self.local_port, recorder.path, exc)
            self._recorder = None
            self._close_recorder(recorder)

    def start_recording(self, path: str | Path) -> WavRecorder:
        """Record received audio to a WAV file (replaces a recording in progress).
        Raises AudioFileError when the file cannot be created."""
        if self.closed:
            raise RtpSessionClosed("session closed")
        self.stop_recording()
        self._recorder = WavRecorder(path)
        return self._recorder

    def stop_recording(self) -> WavRecorder | None:
        """Finish the recording; returns it (for its duration and counters), if any."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            self._close_recorder(recorder)
        return recorder

    def _close_recorder(self, recorder: WavRecorder) -> None:
        try:
            recorder.close()
        except AudioFileError as exc:
            log.warning("RTP %d: %s", self.local_port, exc)

    # -- state --------------------------------------------------------------------------

    def stats(self) -> RtpStatsSnapshot:
        return self._stats.snapshot(malformed=self._malformed, rtcp=self._rtcp)

    def close(self) -> None:
        """Stop sending and receiving, close the socket, release the port. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._clock.unregister(self)
        self._transport.close()
        self._pool.release(self.local_port)
        self.stop_recording()
        while self._prompts:
            self._prompts.popleft().future.cancel()
        self._dtmf_sender.clear()
        while self._dtmf_waiters:
            self._dtmf_waiters.popleft()[0].cancel()
        self.dead_air.cancel()

    async def wait_closed(self) -> None:
        """Wait until the socket is really closed (after `close()`)."""
        await asyncio.shield(self._protocol.closed)

    def __repr__(self) -> str:
        return f"<RtpSession port={self.local_port} to={self._send_to} {self.direction}>"
