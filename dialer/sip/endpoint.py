"""The SIP endpoint, sans-IO: screening, transactions, routing to calls, and the door policy.

Bytes come in with their source address and the time; bytes to send and
events for the application come out. In between, the endpoint:

- screens every datagram (`screening.screen`): malformed requests get 400 (or
  the status the screen names) where a response is possible, the rest is
  dropped; either way it is logged at most once per source per interval;
- matches responses to client transactions, and a retransmitted 2xx (which
  has none) to its call by Call-ID;
- answers in-dialog requests through server transactions owned by the call,
  481 when no dialog matches;
- keeps the door: an INVITE that does not belong to a dialog gets 403 unless
  it comes from a trusted address, and no request from outside ever makes
  the endpoint send a request of its own. Toll fraud starts with a box that
  places calls for strangers; this one only dials for its own transaction
  users (calls the application created);
- hands out-of-dialog REGISTERs to the agents' registrar when there is one
  (403 without): a locked-out source is answered before any transaction is
  made, so a flood costs neither memory nor hashing. The registrar's events
  come out as `UserEvent`s of the registrar, its expiries join the timer heap.

Timers: every transaction and user reports its next deadline; the endpoint
keeps them in one heap and the shell arms a single timer for its top.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from dialer.sip.actions import (
    Action,
    Destination,
    Notify,
    Respond,
    SendStateless,
    StartTransaction,
)
from dialer.sip.call import ALLOW, ALLOWED_METHODS
from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, build_response, new_branch
from dialer.sip.registrar import Registrar
from dialer.sip.screening import SUPPORTED_METHODS, Accept, Reject, refuse_method, screen
from dialer.sip.transaction import (
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Output,
    Send,
    Terminated,
    TimedOut,
    TimerConfig,
    TransactionKey,
    ack_2xx_key,
    client_key_for_response,
    server_key_for_request,
)

RETIRE_AFTER_S = 32.0  # keep an ended call this long to re-ACK late 2xx retransmissions
MAX_LOG_SOURCES = 10_000  # bound on the per-source log limiter's memory


class TransactionUser(Protocol):
    def on_response(self, response: Response, now: float) -> list[Action]: ...
    def on_transaction_timeout(self, request: Request, now: float) -> list[Action]: ...
    def on_timer(self, now: float) -> list[Action]: ...
    def next_deadline(self) -> float | None: ...


class DialogUser(TransactionUser, Protocol):
    """A user that owns a dialog (an outbound call): it also takes in-dialog requests."""

    call_id: str

    @property
    def local_tag(self) -> str: ...
    @property
    def ended(self) -> bool: ...
    def on_request(self, request: Request, now: float) -> list[Action]: ...
    def hangup(self, now: float, reason: str) -> list[Action]: ...


@dataclass(frozen=True)
class Transmit:
    data: bytes
    destination: Destination


@dataclass(frozen=True)
class UserEvent:
    user: TransactionUser
    event: object


@dataclass(frozen=True)
class InputRefused:
    """Something from the network we refused or dropped. `log` is False when rate-limited."""

    source: tuple[str, int]
    reason: str
    status: int | None
    log: bool


@dataclass
class EndpointCounters:
    received: int = 0
    refused: int = 0
    forbidden_invites: int = 0
    stray_responses: int = 0


@dataclass(frozen=True)
class EndpointSettings:
    host: str  # advertised in Via
    ports: dict[str, int]  # transport -> our listening port
    user_agent: str = "dialer"
    timers: TimerConfig = field(default_factory=TimerConfig)
    is_trusted: Callable[[str], bool] = lambda host: False
    bad_input_log_interval_s: float = 60.0


ClientTx = InviteClientTransaction | NonInviteClientTransaction
ServerTx = InviteServerTransaction | NonInviteServerTransaction


@dataclass
class _ClientEntry:
    tx: ClientTx
    user: TransactionUser
    destination: Destination


@dataclass
class _ServerEntry:
    tx: ServerTx
    source: Destination


class SipEndpoint:
    def __init__(self, settings: EndpointSettings, registrar: Registrar | None = None) -> None:
        self.settings = settings
        self.registrar = registrar
        self.counters = EndpointCounters()
        self._clients: dict[TransactionKey, _ClientEntry] = {}
        self._servers: dict[TransactionKey, _ServerEntry] = {}
        self._dialogs: dict[str, DialogUser] = {}
        self._awaiting_ack: dict[TransactionKey, _ServerEntry] = {}
        self._retiring: dict[str, float] = {}
        self._timers: list[tuple[float, int, object]] = []
        self._scheduled: dict[int, float] = {}  # id(obj) -> deadline in the heap
        self._objects: dict[int, object] = {}
        self._seq = itertools.count()
        self._transmit: list[Transmit] = []
        self._events: list[UserEvent | InputRefused] = []
        self._logged_at: dict[str, float] = {}

    # -- application side ------------------------------------------------------------

    def start_call(self, call: DialogUser, actions: list[Action], now: float) -> None:
        """Route in-dialog requests for `call` to it, and carry out `call.start(now)`."""
        self._dialogs[call.call_id] = call
        self.run(call, actions, now)

    def run(self, user: TransactionUser, actions: list[Action], now: float) -> None:
        """Carry out actions a user returned from an application command (e.g. hangup)."""
        for action in actions:
            if isinstance(action, StartTransaction):
                self._start_client(user, action.request, action.destination, now)
            elif isinstance(action, SendStateless):
                message = action.message
                if isinstance(message, Request) and not message.headers.get("Via"):
                    self._add_via(message, action.destination)
                self._send(message, action.destination)
            elif isinstance(action, Respond):
                self._respond(action.request, action.response, now)
            elif isinstance(action, Notify):
                self._events.append(UserEvent(user, action.event))
        self._schedule(user, user.next_deadline())
        ended = getattr(user, "ended", False)
        call_id = getattr(user, "call_id", None)
        if ended and call_id in self._dialogs and call_id not in self._retiring:
            self._retiring[call_id] = now + RETIRE_AFTER_S
            self._schedule_retire(call_id, now + RETIRE_AFTER_S)

    def take_transmissions(self) -> list[Transmit]:
        out, self._transmit = self._transmit, []
        return out

    def take_events(self) -> list[UserEvent | InputRefused]:
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        while self._timers:
            at, _, obj = self._timers[0]
            if self._scheduled.get(id(obj)) == at:
                return at
            heapq.heappop(self._timers)  # superseded entry
        return None

    @property
    def active_dialogs(self) -> int:
        return len(self._dialogs) - len(self._retiring)

    # -- network side ---------------------------------------------------------------

    def receive(self, data: bytes, source: tuple[str, int], transport: str, now: float) -> None:
        self.counters.received += 1
        verdict = screen(data)
        origin = Destination(source[0], source[1], transport)
        if isinstance(verdict, Reject):
            if verdict.response is not None:
                self._send(verdict.response, origin)
            self._refuse(source, verdict.reason, verdict.status, now)
            return
        if not isinstance(verdict, Accept):
            self._refuse(source, verdict.reason, None, now)
            return
        message = verdict.message
        try:
            if isinstance(message, Response):
                self._on_response(message, now)
            else:
                self._on_request(message, origin, now)
        except SipParseError as exc:
            # Screening passed, but a header the routing needs is unusable.
            self._refuse(source, exc.reason, exc.status, now)

    def handle_timer(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            at, _, obj = heapq.heappop(self._timers)
            if self._scheduled.get(id(obj)) != at:
                continue
            del self._scheduled[id(obj)]
            self._objects.pop(id(obj), None)
            self._fire(obj, now)

    # -- internals: client side ------------------------------------------------------

    def _start_client(
        self, user: TransactionUser, request: Request, destination: Destination, now: float
    ) -> None:
        if not request.headers.get("Via"):
            self._add_via(request, destination)
        reliable = destination.transport != "udp"
        tx: ClientTx
        if request.method == "INVITE":
            tx = InviteClientTransaction(request, reliable=reliable, timers=self.settings.timers)
        else:
            tx = NonInviteClientTransaction(request, reliable=reliable, timers=self.settings.timers)
        self._clients[tx.key] = _ClientEntry(tx, user, destination)
        self._client_outputs(self._clients[tx.key], tx.start(now), now)

    def _add_via(self, request: Request, destination: Destination) -> None:
        transport = destination.transport
        port = self.settings.ports.get(transport) or next(iter(self.settings.ports.values()))
        via = f"SIP/2.0/{transport.upper()} {self.settings.host}:{port};branch={new_branch()};rport"
        request.headers.prepend("Via", via)

    def _on_response(self, response: Response, now: float) -> None:
        entry = self._clients.get(client_key_for_response(response))
        if entry is not None:
            self._client_outputs(entry, entry.tx.receive_response(response, now), now)
            return
        # A 2xx retransmission outlives the INVITE transaction: its call re-ACKs it.
        call = self._dialogs.get(response.call_id)
        if call is not None and response.cseq.method == "INVITE":
            self.run(call, call.on_response(response, now), now)
            return
        self.counters.stray_responses += 1

    def _client_outputs(self, entry: _ClientEntry, outputs: list[Output], now: float) -> None:
        user = entry.user
        for output in outputs:
            if isinstance(output, Send):
                self._send(output.message, entry.destination)
            elif isinstance(output, Deliver):
                if isinstance(output.message, Response):
                    self.run(user, user.on_response(output.message, now), now)
            elif isinstance(output, TimedOut):
                self.run(user, user.on_transaction_timeout(entry.tx.request, now), now)
            elif isinstance(output, Terminated):
                self._clients.pop(entry.tx.key, None)
        if not entry.tx.terminated:
            self._schedule(entry, entry.tx.next_deadline())
        else:
            self._clients.pop(entry.tx.key, None)
            self._unschedule(entry)

    # -- internals: server side ------------------------------------------------------

    def _on_request(self, request: Request, origin: Destination, now: float) -> None:
        key = server_key_for_request(request)
        existing = self._servers.get(key)
        if existing is not None:
            self._server_outputs(existing, existing.tx.receive_request(request, now), now)
            return
        if request.method == "ACK":
            # The ACK for a 2xx we sent (to a re-INVITE) has its own branch: it reaches
            # the Accepted server transaction by dialog fields, to stop its 2xx resends.
            accepted = self._awaiting_ack.get(ack_2xx_key(request))
            if accepted is not None:
                self._server_outputs(accepted, accepted.tx.receive_request(request, now), now)
            call = self._dialogs.get(request.call_id)
            if call is not None and request.to.tag == call.local_tag:
                self.run(call, call.on_request(request, now), now)
            return  # never answer an ACK
        if request.method == "REGISTER" and self.registrar is not None and not request.to.tag:
            refusal = self.registrar.refuse_locked(request, origin, now)
            if refusal is not None:
                refusal.headers.add("Server", self.settings.user_agent)
                self._send(refusal, origin)  # stateless: no transaction to keep for a flood
                return
        reliable = origin.transport != "udp"
        tx: ServerTx
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, reliable=reliable, timers=self.settings.timers)
        else:
            tx = NonInviteServerTransaction(request, reliable=reliable, timers=self.settings.timers)
        entry = _ServerEntry(tx, origin)
        self._servers[tx.key] = entry
        self._server_outputs(entry, tx.start(now), now)
        self._dispatch_request(request, origin, now)

    def _dispatch_request(self, request: Request, origin: Destination, now: float) -> None:
        to_tag = request.to.tag
        method = request.method
        if to_tag:
            call = self._dialogs.get(request.call_id)
            if call is not None and call.local_tag == to_tag:
                self.run(call, call.on_request(request, now), now)
                return
            if method != "INVITE":
                self._respond(request, build_response(request, 481), now)
                return
        # Out of any dialog of ours. An INVITE here is someone asking us to take (or
        # place) a call: only trusted peers get past the door.
        if method == "INVITE":
            if self.settings.is_trusted(origin.host):
                # Trusted peers (agents' phones) get inbound handling in a later
                # capability; until then they are told we are not taking calls.
                self._respond(request, build_response(request, 480), now)
            else:
                self.counters.forbidden_invites += 1
                self._respond(request, build_response(request, 403), now)
                self._refuse(
                    (origin.host, origin.port), "INVITE from an untrusted address", 403, now
                )
        elif method == "OPTIONS":
            response = build_response(request, 200)
            response.headers.add("Allow", ALLOW)
            response.headers.add("Accept", "application/sdp")
            self._respond(request, response, now)
        elif method == "CANCEL":
            self._respond(request, build_response(request, 481), now)
        elif method == "REGISTER":
            if self.registrar is None:
                self._respond(request, build_response(request, 403), now)
            else:
                self.run(self.registrar, self.registrar.on_register(request, origin, now), now)
        elif method in SUPPORTED_METHODS:
            self._respond(request, build_response(request, 481), now)
        else:
            self._respond(request, refuse_method(request, ALLOWED_METHODS), now)

    def _respond(self, request: Request, response: Response, now: float) -> None:
        if not response.headers.get("Server"):
            response.headers.add("Server", self.settings.user_agent)
        entry = self._servers.get(server_key_for_request(request))
        if entry is None:
            return  # the transaction is gone (timed out): nothing to answer through
        self._server_outputs(entry, entry.tx.send_response(response, now), now)

    def _server_outputs(self, entry: _ServerEntry, outputs: list[Output], now: float) -> None:
        tx = entry.tx
        for output in outputs:
            if isinstance(output, Send):
                self._send(output.message, entry.source)
            elif isinstance(output, TimedOut) and tx.request.method == "INVITE":
                # Timer L: our 2xx to a re-INVITE was never ACKed; RFC 3261 says BYE.
                call = self._dialogs.get(tx.request.call_id)
                if call is not None:
                    self.run(call, call.hangup(now, "no ACK for our answer to a re-INVITE"), now)
        if isinstance(tx, InviteServerTransaction) and tx.ack_key is not None:
            self._awaiting_ack[tx.ack_key] = entry
        if tx.terminated:
            self._servers.pop(tx.key, None)
            self._unschedule(entry)
            if isinstance(tx, InviteServerTransaction):
                self._awaiting_ack = {k: e for k, e in self._awaiting_ack.items() if e is not entry}
        else:
            self._schedule(entry, tx.next_deadline())

    # -- internals: shared -------------------------------------------------------------

    def _send(self, message: Request | Response, destination: Destination) -> None:
        self._transmit.append(Transmit(message.to_bytes(), destination))

    def _refuse(self, source: tuple[str, int], reason: str, status: int | None, now: float) -> None:
        self.counters.refused += 1
        host = source[0]
        last = self._logged_at.get(host)
        log = last is None or now - last >= self.settings.bad_input_log_interval_s
        if log:
            if len(self._logged_at) >= MAX_LOG_SOURCES:
                self._logged_at.clear()
            self._logged_at[host] = now
        self._events.append(InputRefused(source, reason, status, log))

    def _fire(self, obj: object, now: float) -> None:
        if isinstance(obj, _ClientEntry):
            if obj.tx.key in self._clients:
                self._client_outputs(obj, obj.tx.on_timer(now), now)
        elif isinstance(obj, _ServerEntry):
            if obj.tx.key in self._servers:
                self._server_outputs(obj, obj.tx.on_timer(now), now)
        elif isinstance(obj, _Retire):
            if self._retiring.get(obj.call_id, now + 1) <= now:
                del self._retiring[obj.call_id]
                self._dialogs.pop(obj.call_id, None)
        else:
            user: TransactionUser = obj  # type: ignore[assignment]
            self.run(user, user.on_timer(now), now)

    def _schedule(self, obj: object, deadline: float | None) -> None:
        if deadline is None:
            self._unschedule(obj)
            return
        if self._scheduled.get(id(obj)) == deadline:
            return
        self._scheduled[id(obj)] = deadline
        self._objects[id(obj)] = obj  # keeps id() stable while scheduled
        heapq.heappush(self._timers, (deadline, next(self._seq), obj))

    def _unschedule(self, obj: object) -> None:
        self._scheduled.pop(id(obj), None)
        self._objects.pop(id(obj), None)

    def _schedule_retire(self, call_id: str, at: float) -> None:
        self._schedule(_Retire(call_id), at)


@dataclass(eq=False)
class _Retire:
    call_id: str


__all__ = [
    "DialogUser",
    "EndpointSettings",
    "InputRefused",
    "SipEndpoint",
    "TransactionUser",
    "Transmit",
    "UserEvent",
]
