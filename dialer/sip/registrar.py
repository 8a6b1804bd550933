"""The dialer's registrar for agents' SIP phones, sans-IO (RFC 3261 10.3, RFC 7616, RFC 8760).

The endpoint hands every out-of-dialog REGISTER to `Registrar.on_register` and gets back
the response to send and events for the application; expiries come out of `on_timer`.
The registrar never sees a password: `credentials_for(username)` returns the agent's
stored HA1s, or None for a stranger.

Decisions worth knowing:
- Challenges: 401 with one WWW-Authenticate value per offered algorithm, sharing one
  stateless nonce; an expired nonce with the right password gets 401 stale=true. MD5 alone
  is offered by default: baresip 1.0.0 (libre 1.1.0) gives up on a SHA-256 challenge
  (ENOSYS) and on a second challenge for the same realm, wherever it is in the list, so the
  RFC 8760 pair ("SHA-256", "MD5") is opt-in, for phones known to cope with it.
- A failed authentication (wrong password, unknown user, a nonce we did not sign, bad
  credentials, someone else's AOR) gets 401 with a fresh challenge. Unknown users and wrong
  passwords cost the same hashing and get the same answer: no user enumeration.
- Lockout: `max_auth_failures` failures within `auth_failure_window_s` from one source IP,
  or for one username, lock that source (or username) out for `lockout_s`. A locked-out
  REGISTER gets 403 sent statelessly (`refuse_locked`, before any transaction or hashing):
  a definite answer stops a phone's UDP retransmissions, where a drop would make each
  request arrive up to 11 times; the 403 is no bigger than the request (no amplification)
  and says nothing a 401 did not. A phone that holds a live binding is still heard from
  its own address and port (still authenticated, failures still counted): a phone with a
  wrong password behind an office's NAT does not log out the phones registered beside it,
  and an attacker guessing a user's password cannot log that user's phone out. The
  lockout is announced once, not per packet.
- Memory is bounded under a flood: each failure table holds at most `max_tracked` keys;
  keys that do not fit share one overflow key, itself rate-limited, so a flood of distinct
  addresses or usernames cannot buy unlimited guesses by evicting its own lockouts.
- Bindings: the AOR's user must be the authenticated username. Each binding keeps the
  Contact (the Request-URI to INVITE) and the address the REGISTER came from (where to
  send it, for phones behind NAT). Call-ID/CSeq ordering follows 10.3 step 7: an
  out-of-order request fails with 500 and changes nothing; a request is applied whole or
  not at all (423 for a too-brief interval, 400 for a bad Contact or Expires).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.sip.actions import Action, Destination, Notify, Respond
from dialer.sip.auth import DigestServer, credentials_realm, credentials_username
from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, build_response, new_tag
from dialer.sip.uri import NameAddr, SipUri

MAX_EXPIRES = 2**32 - 1  # RFC 3261 20.19: larger values are taken as this
_LOG_NAME_CHARS = 64  # attacker-chosen usernames are cut to this in events
MAX_USERNAME = 128  # longer digest usernames are nobody's: not even looked up


@dataclass(frozen=True)
class AgentCredentials:
    """What the store gives the registrar for one agent: HA1s, never the password."""

    agent_id: int
    username: str
    ha1_md5: str = field(repr=False)
    ha1_sha256: str = field(repr=False)

    def ha1(self, algorithm: str) -> str:
        return self.ha1_sha256 if algorithm == "SHA-256" else self.ha1_md5


CredentialsLookup = Callable[[str], AgentCredentials | None]


@dataclass(frozen=True)
class RegistrarSettings:
    realm: str = "dialer"
    min_expires_s: int = 60
    max_expires_s: int = 3600
    default_expires_s: int = 600
    max_auth_failures: int = 5
    auth_failure_window_s: float = 60.0
    lockout_s: float = 300.0
    nonce_ttl_s: float = 300.0
    max_bindings_per_agent: int = 10
    max_tracked: int = 10_000  # keys per failure table (sources, usernames)
    algorithms: tuple[str, ...] = ("MD5",)  # ("SHA-256", "MD5") breaks baresip 1.0.0


@dataclass(frozen=True)
class Binding:
    """One registered Contact of an agent."""

    agent_id: int
    username: str
    contact: str  # the Contact URI: the Request-URI of an INVITE to this phone
    source: Destination  # where the REGISTER came from: send there to reach a phone behind NAT
    expires_at: float
    registered_at: float  # when it was last refreshed
    call_id: str
    cseq: int

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))


@dataclass(frozen=True)
class AgentRegistered:
    agent_id: int
    username: str
    binding: Binding
    refreshed: bool  # an existing binding renewed, not a new one


@dataclass(frozen=True)
class AgentUnregistered:
    agent_id: int
    username: str
    reason: str  # "unregistered", "expired", or "replaced" (too many bindings)
    binding: Binding
    remaining: int  # live bindings the agent still has


@dataclass(frozen=True)
class RegistrationRefused:
    """A REGISTER that failed authentication. `log` is False for repeats that are only
    counted; `lockout_until` is set when this failure started a lockout."""

    source: tuple[str, int]
    username: str | None
    reason: str
    status: int
    log: bool
    lockout_until: float | None = None
    locked: str = ""  # what the lockout covers: "source", "user" or "source and user"


@dataclass
class RegistrarCounters:
    challenges: int = 0
    registrations: int = 0  # successful REGISTERs (queries included)
    auth_failures: int = 0
    lockouts: int = 0
    locked_out: int = 0  # REGISTERs answered 403 without a look at their credentials
    expired: int = 0


# --- failure tracking --------------------------------------------------------------------

_OVERFLOW = "\0overflow"  # the key every failure shares once a table is full
_EVICTION_PROBE = 8  # entries looked at (oldest first) for one that can be evicted


@dataclass
class _Strikes:
    times: deque[float]
    locked_until: float = float("-inf")


class _FailureTable:
    """Failures per key in a sliding window; a key with `limit` of them is locked out.

    Keys are kept in order of their last failure. When the table is full, an old entry
    that is not locked is evicted; if the oldest few are all locked, the new key's
    failures go to a shared overflow entry instead (so a locked key is never pushed out
    by a flood of new ones, and the overflow bounds their guesses together)."""

    def __init__(self, limit: int, window: float, lockout: float, capacity: int) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self.capacity = max(capacity, 1)
        self._entries: dict[str, _Strikes] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def locked(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None and len(self._entries) >= self.capacity:
            entry = self._entries.get(_OVERFLOW)
        return entry is not None and now < entry.locked_until

    def strike(self, key: str, now: float) -> tuple[bool, float | None]:
        """Record a failure: (first in its window, lockout end if this one started it)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            if len(self._entries) >= self.capacity and not self._evict(now):
                key = _OVERFLOW
                entry = self._entries.pop(key, None)
            if entry is None:
                entry = _Strikes(deque(maxlen=self.limit))
        self._entries[key] = entry  # last failure last
        times = entry.times
        while times and times[0] <= now - self.window:
            times.popleft()
        first = not times
        times.append(now)
        if len(times) >= self.limit and now >= entry.locked_until:
            entry.locked_until = now + self.lockout
            times.clear()
            return first, entry.locked_until
        return first, None

    def forgive(self, key: str) -> None:
        """Forget the failures (not a lockout) of a key that just authenticated."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.times.clear()

    def _evict(self, now: float) -> bool:
        for key in itertools.islice(self._entries, _EVICTION_PROBE):
            entry = self._entries[key]
            if key != _OVERFLOW and now >= entry.locked_until:
                del self._entries[key]
                return True
        return False


# --- the registrar -----------------------------------------------------------------------


class _Refusal(Exception):
    """Internal: answer the REGISTER with this status; nothing changes."""

    def __init__(self, status: int, reason: str, *headers: tuple[str, str]) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


class Registrar:
    """Bindings of agents' phones, digest auth and its rate limits (see the module docstring).

    A transaction user of the endpoint in all but name: it never starts a transaction, so
    `on_response` and `on_transaction_timeout` have nothing to do."""

    def __init__(
        self, settings: RegistrarSettings, credentials_for: CredentialsLookup, secret: bytes
    ) -> None:
        self.settings = settings
        self.counters = RegistrarCounters()
        self._credentials_for = credentials_for
        self._digest = DigestServer(
            settings.realm, secret, algorithms=settings.algorithms, nonce_ttl=settings.nonce_ttl_s
        )
        limits = (settings.max_auth_failures, settings.auth_failure_window_s, settings.lockout_s)
        self._sources = _FailureTable(*limits, settings.max_tracked)
        self._users = _FailureTable(*limits, settings.max_tracked)
        self._bindings: dict[str, dict[str, Binding]] = {}  # username -> contact -> binding
        self._bound_sources: dict[Destination, int] = {}  # source -> bindings registered from it
        self._expiries: list[tuple[float, int, str, str]] = []  # (at, seq, username, contact)
        self._seq = itertools.count()

    def __repr__(self) -> str:
        return (
            f"Registrar(realm={self.settings.realm!r}, agents={len(self._bindings)}, "
            f"counters={self.counters!r})"
        )

    # -- queries ------------------------------------------------------------------------

    def binding_for(self, username: str, now: float) -> Binding | None:
        """The agent's most recently refreshed live binding, or None if it is not registered."""
        live = self.bindings(username, now)
        return max(live, key=lambda b: b.registered_at) if live else None

    def bindings(self, username: str, now: float) -> list[Binding]:
        return [b for b in self._bindings.get(username, {}).values() if b.expires_at > now]

    def tracked(self) -> tuple[int, int]:
        """Entries in the (source, username) failure tables, for tests and metrics."""
        return len(self._sources), len(self._users)

    # -- the endpoint's side ------------------------------------------------------------

    def refuse_locked(self, request: Request, source: Destination, now: float) -> Response | None:
        """403 for a REGISTER from a locked-out source or for a locked-out username, before
        the endpoint spends a transaction or a hash on it; None to handle it normally."""
        # A phone that registered is still heard from its own address and port: one
        # misconfigured phone behind an office's NAT must not log out all the others.
        bound = source in self._bound_sources
        if not bound and self._sources.locked(source.host, now):
            self.counters.locked_out += 1
            return _response(request, 403, "Forbidden")
        try:
            username = _claimed_username(request, self.settings.realm)
        except SipParseError:
            return None  # on_register answers 400
        if username is None or not self._users.locked(username, now):
            return None
        if bound and any(b.source == source for b in self.bindings(username, now)):
            return None  # the user's own phone, from where it registered
        self.counters.locked_out += 1
        return _response(request, 403, "Forbidden")

    def on_register(self, request: Request, source: Destination, now: float) -> list[Action]:
        """Answer one out-of-dialog REGISTER. Never raises on bad input."""
        locked = self.refuse_locked(request, source, now)
        if locked is not None:
            return [Respond(request, locked)]
        try:
            return self._register(request, source, now)
        except _Refusal as refusal:
            response = _response(request, refusal.status, refusal.reason)
            for name, value in refusal.headers:
                response.headers.add(name, value)
            return [Respond(request, response)]
        except SipParseError as exc:
            return [Respond(request, _response(request, exc.status or 400, exc.reason))]

    def on_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        while self._expiries and self._expiries[0][0] <= now:
            at, _, username, contact = heapq.heappop(self._expiries)
            binding = self._bindings.get(username, {}).get(contact)
            if binding is not None and binding.expires_at == at:
                self.counters.expired += 1
                actions.append(Notify(self._remove(binding, "expired", now)))
        return actions

    def next_deadline(self) -> float | None:
        while self._expiries:
            at, _, username, contact = self._expiries[0]
            binding = self._bindings.get(username, {}).get(contact)
            if binding is not None and binding.expires_at == at:
                return at
            heapq.heappop(self._expiries)  # refreshed or removed since
        return None

    def on_response(self, response: Response, now: float) -> list[Action]:
        return []

    def on_transaction_timeout(self, request: Request, now: float) -> list[Action]:
        return []

    # -- internals ----------------------------------------------------------------------

    def _register(self, request: Request, source: Destination, now: float) -> list[Action]:
        aor = request.to.uri
        authorization = _our_authorization(request, self.settings.realm)
        if authorization is None:
            self.counters.challenges += 1
            return [Respond(request, self._challenge(request, now, stale=False))]
        username = credentials_username(authorization)
        looked_up = username is not None and 0 < len(username) <= MAX_USERNAME
        credentials = self._credentials_for(username) if username and looked_up else None
        if credentials is not None and credentials.username != username:
            credentials = None
        result = self._digest.verify_ha1(
            authorization,
            "REGISTER",
            lambda _user, algorithm: credentials.ha1(algorithm) if credentials else None,
            now,
            request_uri=request.uri,
        )
        if result.stale:
            self.counters.challenges += 1
            return [Respond(request, self._challenge(request, now, stale=True))]
        if not result.ok or credentials is None:
            # Wrong password, unknown user, foreign nonce: one answer for all of them.
            response = self._challenge(request, now, stale=False)
            failed = self._failed(source, username, result.reason, 401, now)
            return [Respond(request, response), *failed]
        aor_user = aor.user if isinstance(aor, SipUri) else None
        if aor_user != credentials.username:
            why = "the To URI is not the authenticated user's address of record"
            failed = self._failed(source, username, why, 403, now)
            return [Respond(request, _response(request, 403, "Forbidden")), *failed]
        self._users.forgive(credentials.username)
        events = self._apply(request, credentials, source, now)  # raises _Refusal: no change
        self.counters.registrations += 1
        return [Respond(request, self._ok(request, credentials.username, now)), *events]

    def _challenge(self, request: Request, now: float, *, stale: bool) -> Response:
        response = _response(request, 401, "Unauthorized")
        for value in self._digest.challenges(now, stale=stale):
            response.headers.add("WWW-Authenticate", value)
        return response

    def _failed(
        self, source: Destination, username: str | None, reason: str, status: int, now: float
    ) -> list[Action]:
        self.counters.auth_failures += 1
        first, source_lock = self._sources.strike(source.host, now)
        user_lock = self._users.strike(username, now)[1] if username else None
        locks = {"source": source_lock, "user": user_lock}
        locked = " and ".join(name for name, lock in locks.items() if lock is not None)
        if locked:
            self.counters.lockouts += 1
        event = RegistrationRefused(
            (source.host, source.port),
            username[:_LOG_NAME_CHARS] if username is not None else None,
            reason,
            status,
            log=first or bool(locked),
            lockout_until=max((lock for lock in locks.values() if lock is not None), default=None),
            locked=locked,
        )
        return [Notify(event)]

    def _apply(
        self, request: Request, credentials: AgentCredentials, source: Destination, now: float
    ) -> list[Action]:
        """Validate the whole request, then change the bindings (all or nothing)."""
        username = credentials.username
        current = self._bindings.get(username, {})
        call_id, cseq = request.call_id, request.cseq.seq
        header_expires = _expires_value(request.headers.get("Expires"), "Expires")
        values = request.headers.get_all("Contact")
        if not values:
            return []  # a query: the 200 lists the bindings
        if any(value.strip(" \t") == "*" for value in values):
            if len(values) != 1 or header_expires != 0:
                raise _Refusal(400, "Contact: * needs Expires: 0 and no other Contact")
            changes: list[tuple[str, int]] = [(contact, 0) for contact in current]
        else:
            changes = []
            for value in values:
                name_addr = NameAddr.parse(value)
                if not isinstance(name_addr.uri, SipUri):
                    raise _Refusal(400, "a Contact must be a sip: or sips: URI")
                expires = _expires_value(name_addr.params.get("expires"), "Contact expires")
                if expires is None:
                    expires = header_expires
                if expires is None:
                    expires = self.settings.default_expires_s
                if 0 < expires < self.settings.min_expires_s:
                    minimum = str(self.settings.min_expires_s)
                    raise _Refusal(423, "Interval Too Brief", ("Min-Expires", minimum))
                changes.append((str(name_addr.uri), min(expires, self.settings.max_expires_s)))
        for contact, _ in changes:
            old = current.get(contact)
            if old is not None and old.call_id == call_id and cseq <= old.cseq:
                raise _Refusal(500, "Out of order REGISTER")  # RFC 3261 10.3 step 7
        actions: list[Action] = []
        for contact, expires in changes:
            old = current.get(contact)
            if expires == 0:
                if old is not None:
                    actions.append(Notify(self._remove(old, "unregistered", now)))
                continue
            binding = Binding(
                credentials.agent_id, username, contact, source, now + expires, now, call_id, cseq
            )
            current = self._bindings.setdefault(username, {})
            current[contact] = binding
            self._count_source(binding.source, +1)
            if old is not None:
                self._count_source(old.source, -1)
            heapq.heappush(self._expiries, (binding.expires_at, next(self._seq), username, contact))
            actions.append(
                Notify(AgentRegistered(binding.agent_id, username, binding, old is not None))
            )
            while len(current) > self.settings.max_bindings_per_agent:
                oldest = min(current.values(), key=lambda b: b.registered_at)
                actions.append(Notify(self._remove(oldest, "replaced", now)))
        self._compact()
        return actions

    def _remove(self, binding: Binding, reason: str, now: float) -> AgentUnregistered:
        bindings = self._bindings.get(binding.username, {})
        if bindings.pop(binding.contact, None) is not None:
            self._count_source(binding.source, -1)
        if not bindings:
            self._bindings.pop(binding.username, None)
        remaining = len(self.bindings(binding.username, now))
        return AgentUnregistered(binding.agent_id, binding.username, reason, binding, remaining)

    def _count_source(self, source: Destination, change: int) -> None:
        count = self._bound_sources.get(source, 0) + change
        if count > 0:
            self._bound_sources[source] = count
        else:
            self._bound_sources.pop(source, None)

    def _ok(self, request: Request, username: str, now: float) -> Response:
        response = _response(request, 200, "OK")
        for binding in self.bindings(username, now):
            response.headers.add(
                "Contact", f"<{binding.contact}>;expires={binding.expires_in(now)}"
            )
        return response

    def _compact(self) -> None:
        """Drop superseded expiry entries once they outnumber the bindings (refreshes)."""
        live = sum(len(b) for b in self._bindings.values())
        if len(self._expiries) > 4 * live + 64:
            self._expiries = [
                (b.expires_at, next(self._seq), b.username, b.contact)
                for bindings in self._bindings.values()
                for b in bindings.values()
            ]
            heapq.heapify(self._expiries)


def _response(request: Request, status: int, reason: str) -> Response:
    return build_response(request, status, reason, to_tag=new_tag())


def _our_authorization(request: Request, realm: str) -> str | None:
    """The Authorization value for our realm (or the only one there is), None without any."""
    values = request.headers.get_fields("Authorization")
    ours = [value for value in values if credentials_realm(value) == realm]
    return ours[0] if ours else (values[0] if values else None)


def _claimed_username(request: Request, realm: str) -> str | None:
    """Who the REGISTER claims to be: the digest username, else the To URI's user."""
    authorization = _our_authorization(request, realm)
    if authorization is not None:
        return credentials_username(authorization)
    aor = request.to.uri
    return aor.user if isinstance(aor, SipUri) else None


def _expires_value(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    value = text.strip(" \t")
    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise _Refusal(400, f"malformed {where}: {value[:20]!r}")
    return min(int(value), MAX_EXPIRES)


__all__ = [
    "AgentCredentials",
    "AgentRegistered",
    "AgentUnregistered",
    "Binding",
    "CredentialsLookup",
    "Registrar",
    "RegistrarCounters",
    "RegistrarSettings",
    "RegistrationRefused",
]
