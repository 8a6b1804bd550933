"""RFC 3261 section 17 transactions, sans-IO.

Each transaction is a state machine fed with messages and the time (`now`, seconds) and
answering with a list of outputs: `Send` (hand to the transport), `Deliver` (pass up to the
transaction user), `TimedOut` (timer B/F/H/L fired) and, last, `Terminated`. The caller asks
`next_deadline()` and calls `on_timer(now)` when it passes. Legal moves are the transition
tables below (one per transaction kind): a message from the network that has no entry for the
current state is absorbed, a call from the transaction user that has none raises
`TransactionError`.

Choices, where RFC 3261 leaves one:
- INVITE client, 2xx: Deliver + Terminated (RFC 3261). The dialog ACKs the 2xx itself and sees
  2xx retransmissions, which the endpoint routes to it by dialog.
- INVITE client, 1xx: Proceeding stops timers A and B; from then on only the transaction user
  (CANCEL, ring timeout) ends a call that rings forever.
- INVITE server, 2xx: the RFC 6026 Accepted state. It absorbs INVITE retransmissions (resending
  the 2xx), passes the first ACK for the 2xx up, and terminates on timer L (64*T1). In it the
  transaction also does the UAS core's 2xx retransmission (13.3.1.4: T1 doubling to T2, on
  every transport, since a later hop may be UDP) until the ACK arrives; no ACK by timer L gives
  `TimedOut`, and the transaction user should then end the session with BYE.
- No automatic 100 Trying on INVITE server transactions: the transaction user answers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from dialer.sip.errors import SipParseError
from dialer.sip.headers import Headers
from dialer.sip.message import Request, Response
from dialer.sip.timers import DEFAULT_TIMERS, TIMER_D_UNRELIABLE, Deadlines
from dialer.sip.timers import TimerConfig as TimerConfig  # re-exported
from dialer.sip.uri import Via

_log = logging.getLogger(__name__)
M = TypeVar("M", Request, Response)

MAGIC_COOKIE = "z9hG4bK"
MAX_FORWARDS = "70"


class TransactionError(Exception):
    """The transaction user asked for something the transaction's state does not allow."""


# --- outputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    message: Request | Response


@dataclass(frozen=True)
class Deliver:
    message: Request | Response


@dataclass(frozen=True)
class TimedOut:
    reason: str


@dataclass(frozen=True)
class Terminated:
    pass


Output = Send | Deliver | TimedOut | Terminated


# --- keys (17.1.3, 17.2.3) -----------------------------------------------------------------


@dataclass(frozen=True)
class TransactionKey:
    """What identifies a transaction. `role` is "client", "server" or "ack-2xx" (a 2xx ACK
    carries a new branch, so it is matched by dialog fields instead). `legacy` holds the
    RFC 2543 fields when there is no usable RFC 3261 branch."""

    role: str
    method: str
    branch: str = ""
    sent_by: str = ""
    legacy: tuple[str, ...] = ()


def _has_rfc3261_branch(via: Via) -> bool:
    # A bare cookie carries no identifier (RFC 4475 badbranch): fall back to RFC 2543 rules.
    branch = via.branch or ""
    return branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE)


def _sent_by(via: Via) -> str:
    port = via.port if via.port is not None else (5061 if via.transport.upper() == "TLS" else 5060)
    return f"{via.host.lower()}:{port}"


def _via_identity(via: Via) -> str:
    return f"{via.transport.upper()} {_sent_by(via)} {via.branch or ''}"


def client_key_for_request(request: Request) -> TransactionKey:
    """The key of the client transaction `request` starts (we always send a 3261 branch)."""
    return _client_key(request)


def client_key_for_response(response: Response) -> TransactionKey:
    """17.1.3: top Via branch + CSeq method. Raises SipParseError on a malformed response."""
    return _client_key(response)


def _client_key(message: Request | Response) -> TransactionKey:
    via, cseq = message.top_via, message.cseq
    if via.branch:
        # Our own branch: unique even without the cookie, so sent-by is not needed (17.1.3).
        return TransactionKey("client", cseq.method, via.branch)
    legacy = (message.call_id, message.from_.tag or "", str(cseq.seq))
    return TransactionKey("client", cseq.method, "", _sent_by(via), legacy)


def server_key_for_request(request: Request) -> TransactionKey:
    """17.2.3: branch + sent-by + method, ACK matching its INVITE, CANCEL its own transaction;
    RFC 2543 fields when the branch has no magic cookie. Raises SipParseError if malformed."""
    method = "INVITE" if request.method == "ACK" else request.method
    return _server_key(request, method)


def cancelled_invite_key(cancel: Request) -> TransactionKey:
    """The key of the INVITE server transaction a CANCEL targets (9.2)."""
    return _server_key(cancel, "INVITE")


def _server_key(request: Request, method: str) -> TransactionKey:
    via = request.top_via
    if _has_rfc3261_branch(via):
        return TransactionKey("server", method, via.branch or "", _sent_by(via))
    # RFC 2543: an INVITE's ACK carries the To tag of our response while the INVITE may have
    # none, so the To tag only counts for the other methods.
    to_tag = "" if method == "INVITE" else (request.to.tag or "")
    legacy = (
        request.uri.strip(),
        to_tag,
        request.from_.tag or "",
        request.call_id,
        str(request.cseq.seq),
        _via_identity(via),
    )
    return TransactionKey("server", method, via.branch or "", _sent_by(via), legacy)


def ack_2xx_key(message: Request | Response) -> TransactionKey:
    """Dialog fields shared by a 2xx to INVITE and its ACK: Call-ID, CSeq number, tags."""
    tags = (message.from_.tag or "", message.to.tag or "")
    return TransactionKey(
        "ack-2xx", "INVITE", legacy=(message.call_id, str(message.cseq.seq), *tags)
    )


def _key_of(key_function: Callable[[M], TransactionKey], message: M) -> TransactionKey | None:
    """The key, or None for a message too malformed to have one (it then matches nothing)."""
    try:
        return key_function(message)
    except SipParseError:
        return None


# --- requests the transaction layer builds ---------------------------------------------------


def _copied(message: Request | Response, name: str) -> str:
    value = message.headers.get(name)
    if value is None:
        raise SipParseError(f"missing {name}")
    return value


def _common_headers(invite: Request, to: str, method: str) -> Headers:
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", MAX_FORWARDS)
    headers.add("From", _copied(invite, "From"))
    headers.add("To", to)
    headers.add("Call-ID", _copied(invite, "Call-ID"))
    headers.add("CSeq", f"{invite.cseq.seq} {method}")
    return headers


def build_non2xx_ack(invite: Request, response: Response) -> Request:
    """17.1.1.3: same Request-URI, Call-ID, From, CSeq number and single top Via as the INVITE,
    To from the response (with its tag), Route copied from the INVITE."""
    to = response.headers.get("To") or _copied(invite, "To")
    return Request("ACK", invite.uri, _common_headers(invite, to, "ACK"))


def build_cancel(invite: Request) -> Request:
    """9.1: same Request-URI, Call-ID, From, To, CSeq number and single top Via as the INVITE,
    Route copied. Send it (in a non-INVITE client transaction) only after a 1xx arrived."""
    if invite.method != "INVITE":
        raise TransactionError(f"CANCEL is only for INVITE, not {invite.method}")
    return Request("CANCEL", invite.uri, _common_headers(invite, _copied(invite, "To"), "CANCEL"))


# --- state tables ----------------------------------------------------------------------------


class Event(Enum):
    START = "start"
    PROVISIONAL = "1xx"
    SUCCESS = "2xx"
    FAILURE = "300-699"
    REQUEST = "request retransmission"
    ACK = "ACK"
    TIMER_A = "timer A"
    TIMER_B = "timer B"
    TIMER_D = "timer D"
    TIMER_E = "timer E"
    TIMER_F = "timer F"
    TIMER_K = "timer K"
    TIMER_G = "timer G"
    TIMER_H = "timer H"
    TIMER_I = "timer I"
    TIMER_J = "timer J"
    TIMER_L = "timer L"


class InviteClientState(Enum):
    INITIAL = "initial"
    CALLING = "calling"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class NonInviteClientState(Enum):
    INITIAL = "initial"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class InviteServerState(Enum):
    INITIAL = "initial"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


class NonInviteServerState(Enum):
    INITIAL = "initial"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    TERMINATED = "terminated"


_IC = InviteClientState
INVITE_CLIENT_TRANSITIONS: Mapping[tuple[InviteClientState, Event], InviteClientState] = {
    (_IC.INITIAL, Event.START): _IC.CALLING,
    (_IC.CALLING, Event.TIMER_A): _IC.CALLING,
    (_IC.CALLING, Event.TIMER_B): _IC.TERMINATED,
    (_IC.CALLING, Event.PROVISIONAL): _IC.PROCEEDING,
    (_IC.CALLING, Event.SUCCESS): _IC.TERMINATED,
    (_IC.CALLING, Event.FAILURE): _IC.COMPLETED,
    (_IC.PROCEEDING, Event.PROVISIONAL): _IC.PROCEEDING,
    (_IC.PROCEEDING, Event.SUCCESS): _IC.TERMINATED,
    (_IC.PROCEEDING, Event.FAILURE): _IC.COMPLETED,
    (_IC.COMPLETED, Event.FAILURE): _IC.COMPLETED,
    (_IC.COMPLETED, Event.TIMER_D): _IC.TERMINATED,
}

_NC = NonInviteClientState
NON_INVITE_CLIENT_TRANSITIONS: Mapping[tuple[NonInviteClientState, Event], NonInviteClientState] = {
    (_NC.INITIAL, Event.START): _NC.TRYING,
    (_NC.TRYING, Event.TIMER_E): _NC.TRYING,
    (_NC.TRYING, Event.TIMER_F): _NC.TERMINATED,
    (_NC.TRYING, Event.PROVISIONAL): _NC.PROCEEDING,
    (_NC.TRYING, Event.SUCCESS): _NC.COMPLETED,
    (_NC.TRYING, Event.FAILURE): _NC.COMPLETED,
    (_NC.PROCEEDING, Event.TIMER_E): _NC.PROCEEDING,
    (_NC.PROCEEDING, Event.TIMER_F): _NC.TERMINATED,
    (_NC.PROCEEDING, Event.PROVISIONAL): _NC.PROCEEDING,
    (_NC.PROCEEDING, Event.SUCCESS): _NC.COMPLETED,
    (_NC.PROCEEDING, Event.FAILURE): _NC.COMPLETED,
    (_NC.COMPLETED, Event.TIMER_K): _NC.TERMINATED,
}

_IS = InviteServerState
INVITE_SERVER_TRANSITIONS: Mapping[tuple[InviteServerState, Event], InviteServerState] = {
    (_IS.INITIAL, Event.START): _IS.PROCEEDING,
    (_IS.PROCEEDING, Event.REQUEST): _IS.PROCEEDING,
    (_IS.PROCEEDING, Event.PROVISIONAL): _IS.PROCEEDING,
    (_IS.PROCEEDING, Event.SUCCESS): _IS.ACCEPTED,
    (_IS.PROCEEDING, Event.FAILURE): _IS.COMPLETED,
    (_IS.COMPLETED, Event.REQUEST): _IS.COMPLETED,
    (_IS.COMPLETED, Event.TIMER_G): _IS.COMPLETED,
    (_IS.COMPLETED, Event.TIMER_H): _IS.TERMINATED,
    (_IS.COMPLETED, Event.ACK): _IS.CONFIRMED,
    (_IS.CONFIRMED, Event.ACK): _IS.CONFIRMED,
    (_IS.CONFIRMED, Event.TIMER_I): _IS.TERMINATED,
    (_IS.ACCEPTED, Event.REQUEST): _IS.ACCEPTED,
    (_IS.ACCEPTED, Event.SUCCESS): _IS.ACCEPTED,
    (_IS.ACCEPTED, Event.ACK): _IS.ACCEPTED,
    (_IS.ACCEPTED, Event.TIMER_G): _IS.ACCEPTED,
    (_IS.ACCEPTED, Event.TIMER_L): _IS.TERMINATED,
}

_NS = NonInviteServerState
NON_INVITE_SERVER_TRANSITIONS: Mapping[tuple[NonInviteServerState, Event], NonInviteServerState] = {
    (_NS.INITIAL, Event.START): _NS.TRYING,
    (_NS.TRYING, Event.REQUEST): _NS.TRYING,
    (_NS.TRYING, Event.PROVISIONAL): _NS.PROCEEDING,
    (_NS.TRYING, Event.SUCCESS): _NS.COMPLETED,
    (_NS.TRYING, Event.FAILURE): _NS.COMPLETED,
    (_NS.PROCEEDING, Event.REQUEST): _NS.PROCEEDING,
    (_NS.PROCEEDING, Event.PROVISIONAL): _NS.PROCEEDING,
    (_NS.PROCEEDING, Event.SUCCESS): _NS.COMPLETED,
    (_NS.PROCEEDING, Event.FAILURE): _NS.COMPLETED,
    (_NS.COMPLETED, Event.REQUEST): _NS.COMPLETED,
    (_NS.COMPLETED, Event.TIMER_J): _NS.TERMINATED,
}


def _response_event(status: int) -> Event | None:
    if 100 <= status <= 199:
        return Event.PROVISIONAL
    if 200 <= status <= 299:
        return Event.SUCCESS
    if 300 <= status <= 699:
        return Event.FAILURE
    return None


# --- the shared machinery --------------------------------------------------------------------

S = TypeVar("S", bound=Enum)


class _Transaction(Generic[S]):
    """Transition table, timers and the Terminated bookkeeping common to all four kinds."""

    key: TransactionKey

    def __init__(
        self,
        request: Request,
        states: type[S],
        transitions: Mapping[tuple[S, Event], S],
        *,
        reliable: bool,
        timers: TimerConfig,
    ) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self._transitions = transitions
        self._state = states["INITIAL"]
        self._terminated_state = states["TERMINATED"]
        self._deadlines: Deadlines[Event] = Deadlines()
        self._terminated_reported = False
        self._intervals: dict[Event, float] = {}

    @property
    def state(self) -> S:
        return self._state

    @property
    def terminated(self) -> bool:
        return self._state is self._terminated_state

    def next_deadline(self) -> float | None:
        return self._deadlines.next()

    def on_timer(self, now: float) -> list[Output]:
        """Fire every deadline at or before `now`, earliest first. Only here do timers fire:
        the other methods answer for their input alone."""
        outputs: list[Output] = []
        while (timer := self._deadlines.pop_due(now)) is not None:
            if self._allows(timer):
                outputs.extend(self._timer_fired(timer, now))
        return self._settle(outputs)

    def _allows(self, event: Event) -> bool:
        return (self._state, event) in self._transitions

    def _move(self, event: Event) -> S:
        """Take the transition for `event`; returns the state left. Caller checked `_allows`."""
        old = self._state
        new = self._transitions[(old, event)]
        if new is not old:
            _log.debug(
                "%s %s: %s -> %s on %s",
                type(self).__name__,
                self.key.branch,
                old.value,
                new.value,
                event.value,
            )
        self._state = new
        if self.terminated:
            self._deadlines.clear()
        return old

    def _require(self, event: Event) -> S:
        if not self._allows(event):
            raise TransactionError(
                f"{type(self).__name__}: {event.value} not allowed in state {self._state.value}"
            )
        return self._move(event)

    def _start_retransmit(self, timer: Event, now: float) -> None:
        self._intervals[timer] = self.timers.t1
        self._deadlines.arm(timer, now + self.timers.t1)

    def _rearm_retransmit(self, timer: Event, now: float, cap: float) -> None:
        # Re-armed from `now`, not from the missed deadline: a late caller gets no burst.
        interval = min(self._intervals.get(timer, self.timers.t1) * 2, cap)
        self._intervals[timer] = interval
        self._deadlines.arm(timer, now + interval)

    def _arm_absorber(self, timer: Event, now: float, unreliable: float) -> list[Output]:
        """Timers D, I, J, K are zero on reliable transports: the state they guard is left at
        once (17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2)."""
        if self.reliable:
            return self._timer_fired(timer, now)
        self._deadlines.arm(timer, now + unreliable)
        return []

    def _settle(self, outputs: list[Output]) -> list[Output]:
        if self.terminated and not self._terminated_reported:
            self._terminated_reported = True
            outputs.append(Terminated())
        return outputs

    def _timer_fired(self, timer: Event, now: float) -> list[Output]:
        raise NotImplementedError


# --- client transactions ---------------------------------------------------------------------


class InviteClientTransaction(_Transaction[InviteClientState]):
    """17.1.1: timers A (retransmit, unreliable only), B (timeout in Calling), D (absorb
    retransmitted final responses; 32 s unreliable, 0 reliable)."""

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method != "INVITE":
            raise TransactionError(f"not an INVITE: {request.method}")
        super().__init__(request, _IC, INVITE_CLIENT_TRANSITIONS, reliable=reliable, timers=timers)
        self.key = client_key_for_request(request)
        self._ack: Request | None = None

    def start(self, now: float) -> list[Output]:
        self._require(Event.START)
        if not self.reliable:
            self._start_retransmit(Event.TIMER_A, now)
        self._deadlines.arm(Event.TIMER_B, now + self.timers.transaction_timeout)
        return self._settle([Send(self.request)])

    def receive_response(self, response: Response, now: float) -> list[Output]:
        event = _response_event(response.status)
        if (
            event is None
            or not self._allows(event)
            or _key_of(client_key_for_response, response) != self.key
        ):
            return self._settle([])
        old = self._move(event)
        outputs: list[Output] = []
        if event is Event.PROVISIONAL:
            self._deadlines.cancel(Event.TIMER_A, Event.TIMER_B)
            outputs.append(Deliver(response))
        elif event is Event.SUCCESS:
            outputs.append(Deliver(response))
        elif old is _IC.COMPLETED:
            # A retransmitted final response: our ACK was lost; the TU already has it.
            if self._ack is not None:
                outputs.append(Send(self._ack))
        else:
            self._ack = build_non2xx_ack(self.request, response)
            self._deadlines.cancel(Event.TIMER_A, Event.TIMER_B)
            outputs += [Send(self._ack), Deliver(response)]
            outputs += self._arm_absorber(Event.TIMER_D, now, TIMER_D_UNRELIABLE)
        return self._settle(outputs)

    def _timer_fired(self, timer: Event, now: float) -> list[Output]:
        self._move(timer)
        if timer is Event.TIMER_A:
            self._rearm_retransmit(Event.TIMER_A, now, cap=float("inf"))
            return [Send(self.request)]
        if timer is Event.TIMER_B:
            return [TimedOut("timer B: no response to INVITE")]
        return []


class NonInviteClientTransaction(_Transaction[NonInviteClientState]):
    """17.1.2: timers E (retransmit, unreliable only; doubles to T2, T2 once Proceeding),
    F (timeout), K (absorb retransmitted final responses; T4 unreliable, 0 reliable)."""

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} has no non-INVITE client transaction")
        super().__init__(
            request, _NC, NON_INVITE_CLIENT_TRANSITIONS, reliable=reliable, timers=timers
        )
        self.key = client_key_for_request(request)

    def start(self, now: float) -> list[Output]:
        self._require(Event.START)
        if not self.reliable:
            self._start_retransmit(Event.TIMER_E, now)
        self._deadlines.arm(Event.TIMER_F, now + self.timers.transaction_timeout)
        return self._settle([Send(self.request)])

    def receive_response(self, response: Response, now: float) -> list[Output]:
        event = _response_event(response.status)
        if (
            event is None
            or not self._allows(event)
            or _key_of(client_key_for_response, response) != self.key
        ):
            return self._settle([])
        self._move(event)
        outputs: list[Output] = [Deliver(response)]
        if event is not Event.PROVISIONAL:
            self._deadlines.cancel(Event.TIMER_E, Event.TIMER_F)
            outputs += self._arm_absorber(Event.TIMER_K, now, self.timers.t4)
        return self._settle(outputs)

    def _timer_fired(self, timer: Event, now: float) -> list[Output]:
        old = self._move(timer)
        if timer is Event.TIMER_E:
            cap = self.timers.t2
            if old is _NC.PROCEEDING:
                self._intervals[Event.TIMER_E] = cap
            self._rearm_retransmit(Event.TIMER_E, now, cap=cap)
            return [Send(self.request)]
        if timer is Event.TIMER_F:
            return [TimedOut(f"timer F: no final response to {self.request.method}")]
        return []


ClientTransaction = InviteClientTransaction | NonInviteClientTransaction


def new_client_transaction(
    request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
) -> ClientTransaction:
    if request.method == "INVITE":
        return InviteClientTransaction(request, reliable=reliable, timers=timers)
    return NonInviteClientTransaction(request, reliable=reliable, timers=timers)


# --- server transactions ---------------------------------------------------------------------


class InviteServerTransaction(_Transaction[InviteServerState]):
    """17.2.1 plus RFC 6026 Accepted: timers G (retransmit the final response; for non-2xx on
    unreliable transports only, for 2xx always), H (no ACK for non-2xx), I (absorb ACKs; T4
    unreliable, 0 reliable), L (Accepted lifetime)."""

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method != "INVITE":
            raise TransactionError(f"not an INVITE: {request.method}")
        super().__init__(request, _IS, INVITE_SERVER_TRANSITIONS, reliable=reliable, timers=timers)
        self.key = server_key_for_request(request)
        self._last_response: Response | None = None
        self._acked_2xx_key: TransactionKey | None = None
        self._ack_seen = False

    @property
    def last_response(self) -> Response | None:
        return self._last_response

    @property
    def ack_key(self) -> TransactionKey | None:
        """In Accepted: the `ack_2xx_key` an ACK for our 2xx has (route such ACKs here)."""
        return self._acked_2xx_key if self._state is _IS.ACCEPTED else None

    def start(self, now: float) -> list[Output]:
        self._require(Event.START)
        return self._settle([Deliver(self.request)])

    def send_response(self, response: Response, now: float) -> list[Output]:
        event = _response_event(response.status)
        if event is None:
            raise TransactionError(f"bad status {response.status}")
        old = self._require(event)
        self._last_response = response
        if event is Event.SUCCESS:
            self._acked_2xx_key = _key_of(ack_2xx_key, response)
            if old is not _IS.ACCEPTED:
                self._start_retransmit(Event.TIMER_G, now)
                self._deadlines.arm(Event.TIMER_L, now + self.timers.transaction_timeout)
        elif event is Event.FAILURE:
            if not self.reliable:
                self._start_retransmit(Event.TIMER_G, now)
            self._deadlines.arm(Event.TIMER_H, now + self.timers.transaction_timeout)
        return self._settle([Send(response)])

    def receive_request(self, request: Request, now: float) -> list[Output]:
        outputs: list[Output] = []
        event = self._classify(request)
        if event is not None and self._allows(event):
            old = self._move(event)
            if event is Event.REQUEST:
                if self._last_response is not None:
                    outputs.append(Send(self._last_response))
            elif old is _IS.COMPLETED:
                self._deadlines.cancel(Event.TIMER_G, Event.TIMER_H)
                outputs += self._arm_absorber(Event.TIMER_I, now, self.timers.t4)
            elif old is _IS.ACCEPTED and not self._ack_seen:
                self._ack_seen = True
                self._deadlines.cancel(Event.TIMER_G)
                outputs.append(Deliver(request))
        return self._settle(outputs)

    def _classify(self, request: Request) -> Event | None:
        if request.method == "INVITE":
            return Event.REQUEST if _key_of(server_key_for_request, request) == self.key else None
        if request.method != "ACK":
            return None
        if _key_of(server_key_for_request, request) == self.key:
            return Event.ACK
        if self._state is _IS.ACCEPTED and self._acked_2xx_key is not None:
            # A 2xx ACK is a transaction of its own with a new branch: match by dialog.
            return Event.ACK if _key_of(ack_2xx_key, request) == self._acked_2xx_key else None
        return None

    def _timer_fired(self, timer: Event, now: float) -> list[Output]:
        self._move(timer)
        if timer is Event.TIMER_G:
            self._rearm_retransmit(Event.TIMER_G, now, cap=self.timers.t2)
            return [Send(self._last_response)] if self._last_response is not None else []
        if timer is Event.TIMER_H:
            return [TimedOut("timer H: no ACK for final response")]
        if timer is Event.TIMER_L and not self._ack_seen:
            return [TimedOut("timer L: no ACK for 2xx")]
        return []


class NonInviteServerTransaction(_Transaction[NonInviteServerState]):
    """17.2.2: timer J (absorb retransmitted requests; 64*T1 unreliable, 0 reliable)."""

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} has no non-INVITE server transaction")
        super().__init__(
            request, _NS, NON_INVITE_SERVER_TRANSITIONS, reliable=reliable, timers=timers
        )
        self.key = server_key_for_request(request)
        self._last_response: Response | None = None

    @property
    def last_response(self) -> Response | None:
        return self._last_response

    def start(self, now: float) -> list[Output]:
        self._require(Event.START)
        return self._settle([Deliver(self.request)])

    def send_response(self, response: Response, now: float) -> list[Output]:
        event = _response_event(response.status)
        if event is None:
            raise TransactionError(f"bad status {response.status}")
        self._require(event)
        self._last_response = response
        outputs: list[Output] = [Send(response)]
        if event is not Event.PROVISIONAL:
            outputs += self._arm_absorber(Event.TIMER_J, now, self.timers.transaction_timeout)
        return self._settle(outputs)

    def receive_request(self, request: Request, now: float) -> list[Output]:
        outputs: list[Output] = []
        if (
            request.method == self.request.method
            and self._allows(Event.REQUEST)
            and _key_of(server_key_for_request, request) == self.key
        ):
            self._move(Event.REQUEST)
            if self._last_response is not None:
                outputs.append(Send(self._last_response))
        return self._settle(outputs)

    def _timer_fired(self, timer: Event, now: float) -> list[Output]:
        self._move(timer)
        return []


ServerTransaction = InviteServerTransaction | NonInviteServerTransaction


def new_server_transaction(
    request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
) -> ServerTransaction:
    """For a request that matched no transaction (never an ACK: see `server_key_for_request`)."""
    if request.method == "INVITE":
        return InviteServerTransaction(request, reliable=reliable, timers=timers)
    return NonInviteServerTransaction(request, reliable=reliable, timers=timers)
