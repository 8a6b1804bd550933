"""REGISTER to a trunk, sans-IO: digest auth, refresh before expiry, retry after failure.

The binding is refreshed at half its granted lifetime (at least 5 s before it
lapses), so one lost REGISTER and its retransmissions still land in time. A
failure (an error response, a refused credential, a time-out) is retried with
a back-off that doubles from `retry_min_s` to `retry_max_s`, forever: a trunk
that comes back is used again without anyone restarting the dialer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from dialer.sip.actions import Action, Destination, Notify, StartTransaction
from dialer.sip.auth import AuthError, DigestChallenge, DigestClient
from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, new_call_id, new_request, new_tag
from dialer.sip.uri import NameAddr


class RegistrationState(enum.Enum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"  # waiting to retry


@dataclass(frozen=True)
class Registered:
    trunk: str
    expires_s: int
    at: float


@dataclass(frozen=True)
class RegistrationFailed:
    trunk: str
    sip_code: int | None
    reason: str
    retry_at: float


@dataclass(frozen=True)
class RegistrationParams:
    trunk: str
    registrar: str  # Request-URI, e.g. sip:trunk.example.com
    aor: str  # address of record, e.g. sip:alice@trunk.example.com
    contact: str
    destination: Destination
    username: str
    password: str = field(repr=False)
    expires_s: int = 600
    user_agent: str = "dialer"
    retry_min_s: float = 5.0
    retry_max_s: float = 300.0


class RegistrationClient:
    def __init__(self, params: RegistrationParams) -> None:
        self.params = params
        self.state = RegistrationState.IDLE
        self.call_id = new_call_id(params.destination.host)
        self.expires_at: float | None = None
        self._tag = new_tag()
        self._seq = 0
        self._digest = DigestClient(params.username, params.password)
        self._pending: Request | None = None
        self._challenged = False
        self._realm: str | None = None  # of the last challenge, for nonce reuse
        self._auth_header = "Authorization"
        self._retry_delay = params.retry_min_s
        self._next_attempt: float | None = None

    def start(self, now: float) -> list[Action]:
        return self._register(now, authorization=None)

    def next_deadline(self) -> float | None:
        return self._next_attempt

    def on_timer(self, now: float) -> list[Action]:
        if self._next_attempt is not None and now >= self._next_attempt and self._pending is None:
            return self._register(now, authorization=None)
        return []

    def on_response(self, response: Response, now: float) -> list[Action]:
        pending = self._pending
        if pending is None or response.status < 200:
            return []
        try:
            if response.cseq.seq != pending.cseq.seq:
                return []
        except SipParseError:
            return []
        self._pending = None
        if 200 <= response.status < 300:
            return self._registered(response, now)
        if response.status in (401, 407) and not self._challenged:
            header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            for value in response.headers.get_all(header):
                try:
                    challenge = DigestChallenge.parse(value)
                except AuthError:
                    continue
                self._challenged = True
                self._realm = challenge.realm
                answer = self._digest.respond(challenge, "REGISTER", self.params.registrar)
                self._auth_header = (
                    "Authorization" if response.status == 401 else "Proxy-Authorization"
                )
                return self._register(now, authorization=(self._auth_header, answer))
        if response.status == 423:
            # Interval too brief: the registrar tells us its minimum.
            minimum = response.headers.get("Min-Expires")
            if minimum and minimum.strip().isdigit():
                self.params = replace(self.params, expires_s=int(minimum.strip()))
                return self._register(now, authorization=None)
        return self._failed(now, response.status, response.reason or f"SIP {response.status}")

    def on_transaction_timeout(self, request: Request, now: float) -> list[Action]:
        if request is not self._pending:
            return []
        self._pending = None
        return self._failed(now, None, "registrar did not answer")

    def _register(self, now: float, authorization: tuple[str, str] | None) -> list[Action]:
        p = self.params
        if authorization is None:
            self._challenged = False
            # Reuse the nonce the registrar gave last time: one round-trip instead of two.
            cached = self._realm and self._digest.authorize_again(
                self._realm, "REGISTER", p.registrar
            )
            if cached:
                authorization = (self._auth_header, cached)
        self._seq += 1
        request = new_request(
            "REGISTER",
            p.registrar,
            from_=f"<{p.aor}>;tag={self._tag}",
            to=f"<{p.aor}>",
            call_id=self.call_id,
            seq=self._seq,
        )
        request.headers.add("Contact", f"<{p.contact}>")
        request.headers.add("Expires", str(p.expires_s))
        request.headers.add("User-Agent", p.user_agent)
        if authorization:
            request.headers.add(*authorization)
        self.state = RegistrationState.REGISTERING
        self._pending = request
        self._next_attempt = None
        return [StartTransaction(request, p.destination)]

    def _registered(self, response: Response, now: float) -> list[Action]:
        granted = _granted_expiry(response, self.params.contact, self.params.expires_s)
        if granted <= 0:
            return self._failed(now, response.status, "registrar granted no binding")
        self.state = RegistrationState.REGISTERED
        self.expires_at = now + granted
        self._retry_delay = self.params.retry_min_s
        self._next_attempt = now + max(min(granted / 2, granted - 5), 1.0)
        return [Notify(Registered(self.params.trunk, granted, now))]

    def _failed(self, now: float, code: int | None, reason: str) -> list[Action]:
        self.state = RegistrationState.FAILED
        self.expires_at = None
        retry_at = now + self._retry_delay
        self._next_attempt = retry_at
        self._retry_delay = min(self._retry_delay * 2, self.params.retry_max_s)
        return [Notify(RegistrationFailed(self.params.trunk, code, reason, retry_at))]


def _granted_expiry(response: Response, our_contact: str, asked: int) -> int:
    """The lifetime of our binding: its Contact's expires param, else Expires, else asked."""
    for value in response.headers.get_all("Contact"):
        try:
            contact = NameAddr.parse(value)
        except SipParseError:
            continue
        if str(contact.uri) == our_contact or len(response.headers.get_all("Contact")) == 1:
            expires = contact.params.get("expires")
            if expires and expires.isdigit():
                return int(expires)
    header = response.headers.get("Expires")
    if header and header.strip().isdigit():
        return int(header.strip())
    return asked
