"""The asyncio shell around `SipEndpoint`: UDP and TCP sockets, name lookup, one timer.

Everything protocol-shaped lives in the sans-IO endpoint; this module only
moves bytes and time. After every input it drains the endpoint's
transmissions and events, and re-arms a single `loop.call_at` for the
endpoint's earliest deadline, however many transactions are alive.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from dialer.sip.actions import Action, Destination
from dialer.sip.endpoint import (
    DialogUser,
    InputRefused,
    SipEndpoint,
    TransactionUser,
    UserEvent,
)
from dialer.sip.errors import SipParseError
from dialer.sip.message import StreamParser

log = logging.getLogger("dialer.sip")

EventCallback = Callable[[object], None]
MAX_TCP_BUFFER = 1 << 20  # a peer that streams a megabyte without a message is closed


@dataclass(frozen=True)
class TransportSettings:
    bind_host: str
    port: int
    transports: tuple[str, ...] = ("udp", "tcp")
    udp_receive_buffer: int = 4 * 1024 * 1024


class SipTransport:
    """Owns the sockets and drives one `SipEndpoint` with `loop.time()`."""

    def __init__(self, endpoint: SipEndpoint, settings: TransportSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self._loop = asyncio.get_running_loop()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._subscribers: dict[int, EventCallback] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._resolved: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def now(self) -> float:
        return self._loop.time()

    async def start(self) -> None:
        host, port = self.settings.bind_host, self.settings.port
        if "udp" in self.settings.transports:
            sock = socket.socket(_family(host), socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.settings.udp_receive_buffer)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            self._udp, _ = await self._loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), sock=sock
            )
        if "tcp" in self.settings.transports:
            self._tcp_server = await asyncio.start_server(
                self._accept, host, port, reuse_address=True
            )

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks) + list(self._connecting.values()):
            task.cancel()
        for connection in list(self._connections.values()):
            connection.close()
        if self._tcp_server is not None:
            self._tcp_server.close()
            await self._tcp_server.wait_closed()
        if self._udp is not None:
            self._udp.close()

    # -- users ---------------------------------------------------------------------------

    def start_call(self, call: DialogUser, actions: list[Action], callback: EventCallback) -> None:
        self._subscribers[id(call)] = callback
        self.endpoint.start_call(call, actions, self.now)
        self._after_input()

    def start_user(
        self, user: TransactionUser, actions: list[Action], callback: EventCallback
    ) -> None:
        self._subscribers[id(user)] = callback
        self.endpoint.run(user, actions, self.now)
        self._after_input()

    def run(self, user: TransactionUser, actions: list[Action]) -> None:
        """Carry out what an application command on `user` returned (hangup, ...)."""
        self.endpoint.run(user, actions, self.now)
        self._after_input()

    def forget(self, user: TransactionUser) -> None:
        self._subscribers.pop(id(user), None)

    # -- input -----------------------------------------------------------------------------

    def datagram_received(self, data: bytes, source: tuple[str, int], transport: str) -> None:
        self.endpoint.receive(data, (source[0], source[1]), transport, self.now)
        self._after_input()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.endpoint.handle_timer(self.now)
        self._after_input()

    def _after_input(self) -> None:
        for transmit in self.endpoint.take_transmissions():
            self._transmit(transmit.data, transmit.destination)
        for event in self.endpoint.take_events():
            if isinstance(event, UserEvent):
                callback = self._subscribers.get(id(event.user))
                if callback is not None:
                    callback(event.event)
            elif isinstance(event, InputRefused) and event.log:
                status = f" (answered {event.status})" if event.status else " (dropped)"
                log.warning(
                    "refused SIP input from %s:%d: %s%s; further refusals from this address "
                    "are counted, not logged, for %gs",
                    *event.source,
                    event.reason,
                    status,
                    self.endpoint.settings.bad_input_log_interval_s,
                )
        deadline = self.endpoint.next_deadline()
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)

    # -- output ----------------------------------------------------------------------------

    def _transmit(self, data: bytes, destination: Destination) -> None:
        host = self._resolved.get(destination.host) or _literal(destination.host)
        if host is None:
            self._spawn(self._resolve_then_send(data, destination))
            return
        address = (host, destination.port)
        if destination.transport == "udp":
            if self._udp is not None:
                try:
                    self._udp.sendto(data, address)
                except (OSError, ValueError) as exc:
                    # e.g. an IPv6 target on an IPv4 socket: the transaction times out.
                    log.warning("cannot send to %s: %s", destination, exc)
            return
        connection = self._connections.get(address)
        if connection is not None and not connection.closed:
            connection.write(data)
            return
        self._spawn(self._connect_then_send(address, data))

    async def _resolve_then_send(self, data: bytes, destination: Destination) -> None:
        try:
            infos = await asyncio.wait_for(
                self._loop.getaddrinfo(destination.host, destination.port, type=socket.SOCK_DGRAM),
                timeout=5.0,
            )
        except (OSError, TimeoutError) as exc:
            log.warning("cannot resolve %s: %s", destination.host, exc)
            return
        self._resolved[destination.host] = str(infos[0][4][0])
        self._transmit(data, destination)

    async def _connect_then_send(self, address: tuple[str, int], data: bytes) -> None:
        pending = self._connecting.get(address)
        if pending is None:
            pending = self._loop.create_task(self._connect(address))
            self._connecting[address] = pending
        try:
            await pending
        except OSError as exc:
            log.warning("TCP connection to %s:%d failed: %s", *address, exc)
            return
        finally:
            self._connecting.pop(address, None)
        connection = self._connections.get(address)
        if connection is not None:
            connection.write(data)

    async def _connect(self, address: tuple[str, int]) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address[0], address[1]), timeout=10.0
        )
        self._adopt(reader, writer, address)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._adopt(reader, writer, (peer[0], peer[1]))

    def _adopt(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: tuple[str, int]
    ) -> None:
        connection = _TcpConnection(self, reader, writer, peer)
        self._connections[peer] = connection
        self._spawn(connection.pump())

    def _connection_closed(self, connection: _TcpConnection) -> None:
        if self._connections.get(connection.peer) is connection:
            del self._connections[connection.peer]

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, transport: SipTransport) -> None:
        self._owner = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._owner.datagram_received(data, (str(addr[0]), int(addr[1])), "udp")

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the transaction's timers handle the loss.
        log.debug("UDP error: %s", exc)


class _TcpConnection:
    def __init__(
        self,
        owner: SipTransport,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: tuple[str, int],
    ) -> None:
        self.owner = owner
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.closed = False
        self.parser = StreamParser()

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()
            self.owner._connection_closed(self)

    async def pump(self) -> None:
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    frames = self.parser.feed_frames(data)
                except SipParseError as exc:
                    # Framing is lost (no usable Content-Length): nothing more can be read.
                    log.warning("closing TCP connection from %s:%d: %s", *self.peer, exc.reason)
                    break
                for frame in frames:
                    # Each frame is screened like a datagram: same 400/505 answers as UDP.
                    self.owner.datagram_received(frame, self.peer, "tcp")
        except (ConnectionError, OSError):
            pass  # the peer went away; its transactions time out on their own
        finally:
            self.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
