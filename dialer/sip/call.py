"""One outbound call, sans-IO: INVITE through answer and hang-up (the UAC side of RFC 3261).

`OutboundCall` is a transaction user: the endpoint feeds it responses,
in-dialog requests, transaction time-outs and the time, and it answers with
actions (start a transaction, send an ACK, respond, notify the application).
It covers what a trunk actually does to a dialer:

- 1xx with and without a tag; 183 with early media;
- 2xx: confirmed dialog, ACK built from the dialog, retransmitted 2xx re-ACKed,
  a 2xx from another fork ACKed and sent a BYE;
- 3xx: follow the first usable Contact, at most `max_redirects` times;
- 401/407: digest auth (via `DigestClient`), once per challenge;
- every other final response mapped to an outcome, with Retry-After kept;
- CANCEL of a ringing call (never before a provisional response: RFC 3261
  9.1), and the 487 that follows, or a 2xx that crossed the CANCEL;
- BYE from either side, re-INVITE and UPDATE from the far end (hold/unhold),
  ring timeout and maximum duration as deadlines.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.sip.actions import Action, Destination, Notify, Respond, SendStateless, StartTransaction
from dialer.sip.auth import AuthError, DigestChallenge, DigestClient
from dialer.sip.dialog import Dialog, DialogError
from dialer.sip.errors import SipParseError
from dialer.sip.message import (
    Request,
    Response,
    build_response,
    new_call_id,
    new_request,
    new_tag,
)
from dialer.sip.screening import refuse_method
from dialer.sip.transaction import build_cancel
from dialer.sip.uri import NameAddr, SipUri

ALLOWED_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE"})
ALLOW = ", ".join(sorted(ALLOWED_METHODS))  # the Allow header value
MAX_AUTH_ROUNDS = 3  # a trunk that keeps challenging valid answers is refusing us


class Outcome(enum.StrEnum):
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


def outcome_for_status(status: int) -> Outcome:
    """The outcome a final response means for a call that never connected."""
    if 200 <= status < 300:
        return Outcome.COMPLETED
    if status in (486, 600):
        return Outcome.BUSY
    if status in (408, 480):
        return Outcome.NO_ANSWER
    if status in (403, 603, 607, 608):
        return Outcome.REJECTED
    return Outcome.FAILED


class CallState(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back yet
    PROCEEDING = "proceeding"  # a provisional response arrived
    CANCELLING = "cancelling"  # CANCEL sent, waiting for 487 (or a crossing 2xx)
    ANSWERED = "answered"  # 2xx ACKed: media flows
    ENDING = "ending"  # BYE sent
    ENDED = "ended"


_TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.CALLING: frozenset(
        {CallState.PROCEEDING, CallState.ANSWERED, CallState.ENDED, CallState.CALLING}
    ),
    CallState.PROCEEDING: frozenset(
        {CallState.CALLING, CallState.CANCELLING, CallState.ANSWERED, CallState.ENDED}
    ),
    CallState.CANCELLING: frozenset({CallState.ENDING, CallState.ENDED}),
    CallState.ANSWERED: frozenset({CallState.ENDING, CallState.ENDED}),
    CallState.ENDING: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}


class CallStateError(RuntimeError):
    """A transition the table does not allow: a bug in the caller, never the network."""


@dataclass(frozen=True)
class CallRinging:
    status: int
    reason: str
    early_media_sdp: bytes | None  # the SDP of a 183 (or a 180 with a body)


@dataclass(frozen=True)
class CallAnswered:
    sdp: bytes
    answered_at: float


@dataclass(frozen=True)
class MediaChanged:
    """The far end re-offered (hold, unhold, new address); `sdp` is its offer."""

    sdp: bytes


@dataclass(frozen=True)
class MediaAnswered:
    """The far end answered (in its ACK) the offer we put in a 2xx to its offerless re-INVITE."""

    sdp: bytes


@dataclass(frozen=True)
class CallEnded:
    outcome: Outcome
    sip_code: int | None
    reason: str
    invited_at: float
    final_response_at: float | None  # INVITE to final response = setup time
    answered_at: float | None
    ended_at: float
    retry_after_s: int | None = None


CallEvent = CallRinging | CallAnswered | MediaChanged | MediaAnswered | CallEnded


@dataclass(frozen=True)
class CallParams:
    """Everything the call needs to know about where it goes and who it is from."""

    target: str  # Request-URI
    destination: Destination  # the trunk (or outbound proxy) the INVITE is sent to
    from_uri: str  # e.g. sip:+15550100@trunk.example
    contact: str  # our Contact URI
    sdp_offer: bytes
    caller_name: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    user_agent: str = "dialer"
    ring_timeout_s: float = 45.0
    max_duration_s: float = 3600.0
    max_redirects: int = 1
    cancel_timeout_s: float = 32.0  # 64*T1: give up on a 487 that never comes
    trusted_hosts: frozenset[str] = frozenset()  # redirect targets we may contact directly
    call_id: str = ""


# An answerer takes the far end's offer and returns our answer, or None to refuse (488);
# an offerer makes a fresh offer of our current media.
OfferAnswerer = Callable[[bytes], bytes | None]
Offerer = Callable[[], bytes]


class OutboundCall:
    def __init__(
        self,
        params: CallParams,
        answer_offer: OfferAnswerer | None = None,
        make_offer: Offerer | None = None,
    ) -> None:
        self.params = params
        self.answer_offer = answer_offer
        self.make_offer = make_offer
        self._offer_in_2xx = False
        self.call_id = params.call_id or new_call_id(params.destination.host)
        self.state = CallState.CALLING
        self.dialog: Dialog | None = None
        self._local_tag = new_tag()
        self._invite: Request | None = None
        self._invite_destination = params.destination
        self._ack: Request | None = None
        self._digest = DigestClient(params.username, params.password) if params.username else None
        self._auth_rounds = 0
        self._redirects = 0
        self._cancel_reason: tuple[Outcome, str] | None = None
        self._end_reason: tuple[Outcome, int | None, str] = (Outcome.COMPLETED, None, "")
        self._invited_at = 0.0
        self._final_at: float | None = None
        self._final_status: int | None = None
        self._answered_at: float | None = None
        self._last_provisional: int | None = None
        self._deadlines: dict[str, float] = {}
        self._forks_ended: set[str] = set()

    # -- application commands ------------------------------------------------

    def start(self, now: float) -> list[Action]:
        self._invited_at = now
        self._deadlines["ring"] = now + self.params.ring_timeout_s
        invite = self._build_invite(self.params.target, seq=1)
        return self._send_invite(invite)

    def hangup(
        self, now: float, reason: str = "local hangup", outcome: Outcome | None = None
    ) -> list[Action]:
        """End the call whatever its state: BYE when answered, CANCEL when ringing.

        `outcome` overrides the default (cancelled before answer, completed after),
        e.g. failed when the answer's media was unusable.
        """
        if self.state in (CallState.CALLING, CallState.PROCEEDING):
            return self._cancel(now, outcome or Outcome.CANCELLED, reason)
        if self.state is CallState.ANSWERED:
            return self._bye(now, outcome or Outcome.COMPLETED, None, reason)
        return []

    @property
    def local_tag(self) -> str:
        return self._local_tag

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    # -- inputs from the endpoint ---------------------------------------------

    def on_timer(self, now: float) -> list[Action]:
        due = [name for name, at in self._deadlines.items() if at <= now]
        actions: list[Action] = []
        for name in due:
            self._deadlines.pop(name, None)
            if name == "ring" and self.state in (CallState.CALLING, CallState.PROCEEDING):
                actions += self._cancel(now, Outcome.NO_ANSWER, "no answer before ring timeout")
            elif name == "cancel" and self.state is CallState.CANCELLING:
                outcome, reason = self._cancel_reason or (Outcome.CANCELLED, "cancelled")
                actions += self._end(now, outcome, None, f"{reason}; no 487 after CANCEL")
            elif name == "duration" and self.state is CallState.ANSWERED:
                actions += self._bye(now, Outcome.COMPLETED, None, "maximum call duration")
        return actions

    def on_response(self, response: Response, now: float) -> list[Action]:
        try:
            method = response.cseq.method
        except SipParseError:
            return []
        if method == "INVITE":
            return self._on_invite_response(response, now)
        if method == "BYE":
            return self._on_bye_response(response, now)
        return []  # CANCEL's 200 tells nothing: the 487 does

    def on_transaction_timeout(self, request: Request, now: float) -> list[Action]:
        if request.method == "INVITE" and request is self._invite:
            if self._cancel_reason is not None:
                outcome, reason = self._cancel_reason
                return self._end(now, outcome, None, f"{reason}; trunk never answered")
            if self.state in (CallState.CALLING, CallState.PROCEEDING):
                return self._end(now, Outcome.FAILED, 408, "no final response from the trunk")
            return []
        if request.method == "BYE" and self.state is CallState.ENDING:
            outcome, code, reason = self._end_reason
            return self._end(now, outcome, code, f"{reason}; BYE unanswered")
        return []

    def on_request(self, request: Request, now: float) -> list[Action]:
        """A request inside our dialog (the endpoint matched Call-ID and tags)."""
        method = request.method
        if method == "ACK":
            # For our 2xx to a re-INVITE; it carries the answer when our 2xx made the offer.
            if self._offer_in_2xx and request.body:
                self._offer_in_2xx = False
                return [Notify(MediaAnswered(request.body))]
            return []
        if self.dialog is None or self.state is CallState.ENDED:
            return [Respond(request, build_response(request, 481))]
        refusal = self.dialog.accept_remote_request(request)
        if refusal is not None:
            return [Respond(request, build_response(request, refusal))]
        if method == "BYE":
            actions: list[Action] = [Respond(request, build_response(request, 200))]
            if self.state is CallState.ENDING:
                outcome, code, reason = self._end_reason
                return actions + self._end(now, outcome, code, reason)
            return actions + self._end(now, Outcome.COMPLETED, None, "far end hung up")
        if method in ("INVITE", "UPDATE"):
            return self._on_reoffer(request)
        if method in ("OPTIONS", "INFO", "NOTIFY"):
            return [Respond(request, build_response(request, 200))]
        return [Respond(request, refuse_method(request, ALLOWED_METHODS))]

    # -- INVITE responses ---------------------------------------------------------

    def _on_invite_response(self, response: Response, now: float) -> list[Action]:
        status = response.status
        if self.state in (CallState.ANSWERED, CallState.ENDING, CallState.ENDED):
            return self._late_invite_response(response, now)
        if self._invite is None or response.cseq.seq != self._invite.cseq.seq:
            return []  # a response to an INVITE we have already replaced
        if status < 200:
            return self._on_provisional(response, now)
        self._final_at = now
        self._final_status = status
        if status < 300:
            return self._on_answer(response, now)
        if self.state is CallState.CANCELLING:
            outcome, reason = self._cancel_reason or (Outcome.CANCELLED, "cancelled")
            return self._end(now, outcome, status, reason)
        if 300 <= status < 400:
            return self._redirect(response, now)
        if status in (401, 407):
            return self._authenticate(response, now)
        return self._end(
            now,
            outcome_for_status(status),
            status,
            response.reason or f"SIP {status}",
            retry_after=_retry_after(response),
        )

    def _on_provisional(self, response: Response, now: float) -> list[Action]:
        actions: list[Action] = []
        if self.state is CallState.CALLING:
            self._move(CallState.PROCEEDING)
        if response.status > 100:
            early = response.body if response.body else None
            if response.status != self._last_provisional or early:
                self._last_provisional = response.status
                actions.append(Notify(CallRinging(response.status, response.reason, early)))
        if self._cancel_reason is not None and self.state is CallState.PROCEEDING:
            outcome, reason = self._cancel_reason
            actions += self._cancel(now, outcome, reason)
        return actions

    def _on_answer(self, response: Response, now: float) -> list[Action]:
        assert self._invite is not None
        try:
            dialog = Dialog.from_response(self._invite, response)
        except (DialogError, SipParseError) as exc:
            # A 2xx we cannot ACK within a dialog still must not ring forever: end it.
            return self._end(now, Outcome.FAILED, response.status, f"unusable 2xx: {exc}")
        self.dialog = dialog
        self._ack = dialog.ack_for_2xx(self._invite)
        actions: list[Action] = [SendStateless(self._ack, self._next_hop(dialog))]
        self._deadlines.pop("ring", None)
        if self.state is CallState.CANCELLING:
            # The 2xx crossed our CANCEL: the callee picked up as we gave up.
            self._deadlines.pop("cancel", None)
            outcome, reason = self._cancel_reason or (Outcome.CANCELLED, "cancelled")
            return actions + self._bye(now, outcome, response.status, reason)
        self._move(CallState.ANSWERED)
        self._answered_at = now
        self._deadlines["duration"] = now + self.params.max_duration_s
        actions.append(Notify(CallAnswered(response.body, now)))
        return actions

    def _late_invite_response(self, response: Response, now: float) -> list[Action]:
        """A 2xx retransmission, or a 2xx from another fork of the INVITE."""
        if not 200 <= response.status < 300 or self._invite is None:
            return []
        tag = response.to.tag
        if self.dialog is not None and tag == self.dialog.remote_tag:
            assert self._ack is not None
            return [SendStateless(self._ack, self._next_hop(self.dialog))]
        if not tag or tag in self._forks_ended:
            return []
        try:
            fork = Dialog.from_response(self._invite, response)
        except (DialogError, SipParseError):
            return []
        self._forks_ended.add(tag)
        hop = self._next_hop(fork)
        return [
            SendStateless(fork.ack_for_2xx(self._invite), hop),
            StartTransaction(self._with_common_headers(fork.request("BYE")), hop),
        ]

    def _redirect(self, response: Response, now: float) -> list[Action]:
        if self._redirects >= self.params.max_redirects:
            return self._end(
                now, Outcome.FAILED, response.status, f"redirect limit reached ({response.reason})"
            )
        target = _first_sip_contact(response)
        if target is None:
            return self._end(now, Outcome.FAILED, response.status, "redirect without a SIP Contact")
        self._redirects += 1
        if target.host in self.params.trusted_hosts:
            self._invite_destination = Destination(
                target.host, target.port or 5060, self.params.destination.transport
            )
        assert self._invite is not None
        invite = self._build_invite(str(target), seq=self._invite.cseq.seq + 1)
        self._move(CallState.CALLING)
        return self._send_invite(invite)

    def _authenticate(self, response: Response, now: float) -> list[Action]:
        assert self._invite is not None
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = _usable_challenge(response.headers.get_all(header))
        if self._digest is None or challenge is None:
            why = "no credentials for" if self._digest is None else "no usable digest challenge in"
            return self._end(now, Outcome.FAILED, response.status, f"{why} {response.status}")
        self._auth_rounds += 1
        if self._auth_rounds > MAX_AUTH_ROUNDS or (self._auth_rounds > 1 and not challenge.stale):
            return self._end(now, Outcome.FAILED, response.status, "credentials refused by trunk")
        invite = self._build_invite(self._invite.uri, seq=self._invite.cseq.seq + 1)
        answer_header = "Authorization" if response.status == 401 else "Proxy-Authorization"
        invite.headers.set(
            answer_header, self._digest.respond(challenge, "INVITE", self._invite.uri)
        )
        self._move(CallState.CALLING)
        return self._send_invite(invite)

    # -- hanging up ---------------------------------------------------------------

    def _cancel(self, now: float, outcome: Outcome, reason: str) -> list[Action]:
        self._cancel_reason = (outcome, reason)
        if self.state is CallState.CALLING:
            return []  # RFC 3261 9.1: no CANCEL before a provisional response; sent on the 1xx
        assert self._invite is not None
        self._move(CallState.CANCELLING)
        self._deadlines.pop("ring", None)
        self._deadlines["cancel"] = now + self.params.cancel_timeout_s
        return [StartTransaction(build_cancel(self._invite), self._invite_destination)]

    def _bye(self, now: float, outcome: Outcome, code: int | None, reason: str) -> list[Action]:
        assert self.dialog is not None
        self._end_reason = (outcome, code, reason)
        self._move(CallState.ENDING)
        self._deadlines.pop("duration", None)
        bye = self._with_common_headers(self.dialog.request("BYE"))
        return [StartTransaction(bye, self._next_hop(self.dialog))]

    def _on_bye_response(self, response: Response, now: float) -> list[Action]:
        if self.state is not CallState.ENDING or response.status < 200:
            return []
        if self.dialog is not None and response.to.tag != self.dialog.remote_tag:
            return []  # the BYE to a stray fork
        outcome, code, reason = self._end_reason
        if response.status in (401, 407) and self._digest is not None and self._auth_rounds < 9:
            challenge = _usable_challenge(
                response.headers.get_all(
                    "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
                )
            )
            if challenge is not None and self.dialog is not None:
                self._auth_rounds += 1
                bye = self._with_common_headers(self.dialog.request("BYE"))
                bye.headers.set(
                    "Authorization" if response.status == 401 else "Proxy-Authorization",
                    self._digest.respond(challenge, "BYE", bye.uri),
                )
                return [StartTransaction(bye, self._next_hop(self.dialog))]
        return self._end(now, outcome, code, reason)

    def _end(
        self,
        now: float,
        outcome: Outcome,
        code: int | None,
        reason: str,
        retry_after: int | None = None,
    ) -> list[Action]:
        if self.state is CallState.ENDED:
            return []
        self._move(CallState.ENDED)
        self._deadlines.clear()
        return [
            Notify(
                CallEnded(
                    outcome=outcome,
                    sip_code=code if code is not None else self._final_status,
                    reason=reason,
                    invited_at=self._invited_at,
                    final_response_at=self._final_at,
                    answered_at=self._answered_at,
                    ended_at=now,
                    retry_after_s=retry_after,
                )
            )
        ]

    # -- re-offers from the far end -------------------------------------------------

    def _on_reoffer(self, request: Request) -> list[Action]:
        if not request.body:
            if request.method == "UPDATE":
                # An RFC 4028 session refresh: no offer, so nothing about the media changes.
                return [Respond(request, self._dialog_ok(request))]
            # An offerless re-INVITE: we offer in the 2xx, the far end answers in its ACK.
            offer = self.make_offer() if self.make_offer else None
            if offer is None:
                return [Respond(request, build_response(request, 488))]
            self._offer_in_2xx = True
            return [Respond(request, self._dialog_ok(request, offer))]
        answer = self.answer_offer(request.body) if self.answer_offer else None
        if answer is None:
            return [Respond(request, build_response(request, 488))]
        return [
            Respond(request, self._dialog_ok(request, answer)),
            Notify(MediaChanged(request.body)),
        ]

    def _dialog_ok(self, request: Request, sdp: bytes = b"") -> Response:
        response = build_response(request, 200, to_tag=self._local_tag)
        response.headers.add("Contact", f"<{self.params.contact}>")
        response.headers.add("Allow", ALLOW)
        if sdp:
            response.headers.add("Content-Type", "application/sdp")
            response.body = sdp
        return response

    # -- building requests ----------------------------------------------------------

    def _build_invite(self, target: str, *, seq: int) -> Request:
        p = self.params
        display = f'"{_quote(p.caller_name)}" ' if p.caller_name else ""
        request = new_request(
            "INVITE",
            target,
            from_=f"{display}<{p.from_uri}>;tag={self._local_tag}",
            to=f"<{p.target}>",
            call_id=self.call_id,
            seq=seq,
        )
        request.headers.add("Contact", f"<{p.contact}>")
        request.headers.add("Allow", ALLOW)
        request.headers.add("Content-Type", "application/sdp")
        request.body = p.sdp_offer
        return self._with_common_headers(request)

    def _with_common_headers(self, request: Request) -> Request:
        request.headers.add("User-Agent", self.params.user_agent)
        return request

    def _send_invite(self, invite: Request) -> list[Action]:
        self._invite = invite
        return [StartTransaction(invite, self._invite_destination)]

    def _next_hop(self, dialog: Dialog) -> Destination:
        uri = dialog.next_hop()
        transport = str(uri.params.get("transport") or self.params.destination.transport).lower()
        return Destination(uri.host, uri.port or 5060, transport)

    def _move(self, new: CallState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise CallStateError(f"call {self.call_id}: {self.state.value} -> {new.value}")
        self.state = new


def _usable_challenge(values: list[str]) -> DigestChallenge | None:
    for value in values:
        try:
            return DigestChallenge.parse(value)
        except AuthError:
            continue
    return None


def _first_sip_contact(response: Response) -> SipUri | None:
    best: tuple[float, SipUri] | None = None
    for value in response.headers.get_all("Contact"):
        try:
            contact = NameAddr.parse(value)
        except SipParseError:
            continue
        if not isinstance(contact.uri, SipUri):
            continue
        try:
            q = float(contact.params.get("q") or 1.0)
        except ValueError:
            q = 0.0
        if best is None or q > best[0]:
            best = (q, contact.uri)
    return best[1] if best else None


def _retry_after(response: Response) -> int | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    digits = value.split(";", 1)[0].split("(", 1)[0].strip()
    return int(digits) if digits.isdigit() else None


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
