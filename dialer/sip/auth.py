"""HTTP Digest authentication for SIP (RFC 3261 section 22, RFC 2617, RFC 7616), sans-IO.

`DigestClient` answers WWW-Authenticate / Proxy-Authenticate challenges and reuses a nonce
with an incrementing nonce count. `DigestServer` issues stateless nonces (a timestamp signed
with HMAC) and verifies Authorization headers against a password or a stored HA1, for the
registrar that agents' phones use.

Supported: MD5, MD5-sess, SHA-256, SHA-256-sess; qop=auth, and no qop (RFC 2069) on the client.
Not supported: qop=auth-int, userhash, charset. Secrets never appear in a repr or a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

# Canonical algorithm name -> (hashlib name, session variant).
_ALGORITHMS: dict[str, tuple[str, bool]] = {
    "MD5": ("md5", False),
    "MD5-sess": ("md5", True),
    "SHA-256": ("sha256", False),
    "SHA-256-sess": ("sha256", True),
}
_CANONICAL = {name.upper(): name for name in _ALGORITHMS}
_TOKEN_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~#$&^|"
)
_LWS = " \t\r\n"


class AuthError(ValueError):
    """A challenge or credentials header we cannot parse or answer."""


# --- the auth-param grammar (RFC 7235 2.1, RFC 3261 25.1) -----------------------------------


def _parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """`scheme name=value, name="quoted", ...` -> (scheme, params with lower-case names)."""
    text = value.strip(_LWS)
    end = 0
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    if end == 0:
        raise AuthError("missing auth scheme")
    scheme, pos = text[:end], end
    if pos < len(text) and text[pos] not in _LWS:
        raise AuthError(f"bad character after scheme {scheme!r}")
    params: dict[str, str] = {}
    while True:
        pos = _skip(text, pos, _LWS + ",")
        if pos >= len(text):
            return scheme, params
        start = pos
        while pos < len(text) and text[pos] in _TOKEN_CHARS:
            pos += 1
        name = text[start:pos].lower()
        pos = _skip(text, pos, _LWS)
        if not name or pos >= len(text) or text[pos] != "=":
            raise AuthError(f"malformed auth-param at offset {start}")
        pos = _skip(text, pos + 1, _LWS)
        param_value, pos = _param_value(text, pos)
        if name in params:
            raise AuthError(f"duplicate auth-param {name!r}")
        params[name] = param_value
        pos = _skip(text, pos, _LWS)
        if pos < len(text) and text[pos] != ",":
            raise AuthError(f"expected ',' at offset {pos}")


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _param_value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        chars: list[str] = []
        pos += 1
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text):
                chars.append(text[pos + 1])
                pos += 2
            elif char == '"':
                return "".join(chars), pos + 1
            else:
                chars.append(char)
                pos += 1
        raise AuthError("unterminated quoted-string")
    # Lenient token: servers send unquoted base64 nonces with '/' and '='.
    start = pos
    while pos < len(text) and text[pos] not in _LWS + ',"':
        pos += 1
    if pos == start:
        raise AuthError(f"empty auth-param value at offset {start}")
    return text[start:pos], pos


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _canonical_algorithm(name: str) -> str:
    return _CANONICAL.get(name.upper(), name)


def _hash(algorithm: str, text: str) -> str:
    hash_name, _ = _ALGORITHMS[algorithm]
    return hashlib.new(hash_name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password), what a registrar may store instead of the password.
    `algorithm` is MD5 or SHA-256 (the -sess variants start from the same value)."""
    return _hash(
        _canonical_algorithm(algorithm).removesuffix("-sess"), f"{username}:{realm}:{password}"
    )


def _digest_response(
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str,
    cnonce: str,
) -> str:
    """RFC 7616 3.4.1 (RFC 2617 3.2.2.1): the request-digest, lower-case hex."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    return _response_from_ha1(algorithm, ha1, method, uri, nonce, qop, nc, cnonce)


def _response_from_ha1(
    algorithm: str,
    ha1: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str,
    cnonce: str,
) -> str:
    """The request-digest from a stored H(username:realm:password)."""
    if _ALGORITHMS[algorithm][1]:
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# --- client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestChallenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, header_value: str) -> DigestChallenge:
        """From a WWW-Authenticate or Proxy-Authenticate value. Raises AuthError only."""
        scheme, params = _parse_auth_header(header_value)
        if scheme.lower() != "digest":
            raise AuthError(f"not a Digest challenge: {scheme!r}")
        if "realm" not in params or not params.get("nonce"):
            raise AuthError("Digest challenge without realm or nonce")
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=_canonical_algorithm(params.get("algorithm", "MD5")),
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )

    @property
    def supported(self) -> bool:
        """Whether `DigestClient.respond` can answer it."""
        return _canonical_algorithm(self.algorithm) in _ALGORITHMS and (
            not self.qop or "auth" in self.qop
        )


def select_challenge(header_values: list[str]) -> DigestChallenge | None:
    """The first answerable Digest challenge (RFC 7616 3.7: servers list their preference
    first); other schemes and malformed values are skipped."""
    for value in header_values:
        try:
            challenge = DigestChallenge.parse(value)
        except AuthError:
            continue
        if challenge.supported:
            return challenge
    return None


@dataclass
class _NonceUse:
    challenge: DigestChallenge
    nc: int = 0
    session_cnonce: str | None = None  # -sess: one cnonce per nonce keeps HA1 stable

    def continues(self, challenge: DigestChallenge) -> bool:
        """Same nonce and algorithm: keep counting instead of starting at nc=1."""
        old = self.challenge
        return (old.nonce, old.algorithm) == (challenge.nonce, challenge.algorithm)


class DigestClient:
    """Per-credential state: remembers the last challenge per realm and the nonce count, so
    later requests reuse the nonce with nc incremented (nonce reuse). Supports MD5, MD5-sess,
    SHA-256, SHA-256-sess; qop=auth (auth-int is refused when it is the only qop offered);
    no-qop legacy.

    A stale=true challenge means the credentials were right and only the nonce expired:
    answer it. A second non-stale challenge to a request that carried credentials means they
    were wrong: the caller should stop (see `forget`)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._realms: dict[str, _NonceUse] = {}

    def __repr__(self) -> str:
        return f"DigestClient(username={self.username!r}, realms={sorted(self._realms)!r})"

    def respond(
        self, challenge: DigestChallenge, method: str, uri: str, *, cnonce: str | None = None
    ) -> str:
        """The Authorization / Proxy-Authorization value; increments nc for (realm, nonce)."""
        _qop_for(challenge)  # refuse before changing any state
        if _canonical_algorithm(challenge.algorithm) not in _ALGORITHMS:
            raise AuthError(f"unsupported digest algorithm {challenge.algorithm!r}")
        use = self._realms.get(challenge.realm)
        if use is None or not use.continues(challenge):
            use = _NonceUse(challenge)
            self._realms[challenge.realm] = use
        else:
            use.challenge = challenge  # same nonce, maybe a new opaque or qop list
        return self._credentials(use, method, uri, cnonce)

    def authorize_again(self, realm: str, method: str, uri: str) -> str | None:
        """Pre-emptive credentials reusing the stored nonce with nc+1, or None."""
        use = self._realms.get(realm)
        return None if use is None else self._credentials(use, method, uri, None)

    def forget(self, realm: str) -> None:
        """Drop the stored nonce, e.g. after the server refused these credentials."""
        self._realms.pop(realm, None)

    def _credentials(self, use: _NonceUse, method: str, uri: str, cnonce: str | None) -> str:
        challenge = use.challenge
        algorithm = _canonical_algorithm(challenge.algorithm)
        qop = _qop_for(challenge)
        use.nc += 1
        if cnonce is None:
            is_session = _ALGORITHMS[algorithm][1]
            cnonce = use.session_cnonce if is_session and use.session_cnonce else None
            cnonce = cnonce or secrets.token_hex(8)
        if use.session_cnonce is None:
            use.session_cnonce = cnonce
        nc = f"{use.nc:08x}"
        response = _digest_response(
            algorithm,
            self.username,
            challenge.realm,
            self._password,
            method,
            uri,
            challenge.nonce,
            qop,
            nc,
            cnonce,
        )
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(challenge.realm)}",
            f"nonce={_quote(challenge.nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(response)}",
            f"algorithm={algorithm}",
        ]
        if qop is not None:
            parts += [f"cnonce={_quote(cnonce)}", f"qop={qop}", f"nc={nc}"]
        if challenge.opaque is not None:
            parts.append(f"opaque={_quote(challenge.opaque)}")
        return "Digest " + ", ".join(parts)


def _qop_for(challenge: DigestChallenge) -> str | None:
    if not challenge.qop:
        return None
    if "auth" in challenge.qop:
        return "auth"
    raise AuthError(f"no supported qop in {','.join(challenge.qop)!r} (auth-int is not)")


# --- server ----------------------------------------------------------------------------------


class VerifyStatus(Enum):
    OK = "ok"
    STALE = "stale"  # right password, expired nonce: challenge again with stale=true
    BAD = "bad"


@dataclass(frozen=True)
class VerifyResult:
    status: VerifyStatus
    username: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is VerifyStatus.OK

    @property
    def stale(self) -> bool:
        return self.status is VerifyStatus.STALE


_NONCE_PAYLOAD = struct.Struct(">d8s")  # issue time, 8 random bytes
_NONCE_MAC_BYTES = 16


HA1Lookup = Callable[[str, str], str | None]
"""(username, "MD5" or "SHA-256") -> that user's stored HA1 in lower-case hex, or None."""


class DigestServer:
    """Issues and checks digest challenges for one realm, keeping no per-nonce state.

    `algorithms` are offered in order of preference, one WWW-Authenticate value each
    (RFC 7616 3.7, RFC 8760 2.4: SHA-256 before MD5); a client answers the first it
    supports, and any offered algorithm is accepted. Credentials are checked against a
    password (`verify`) or a stored HA1 (`verify_ha1`, what a registrar keeps instead).

    `now` should be wall-clock seconds if nonces are to survive a restart (with the same
    secret). Only qop=auth answers are accepted. A stateless server cannot see nonce-count
    replays: a captured Authorization verifies again until its nonce expires."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        *,
        algorithm: str = "MD5",
        algorithms: Sequence[str] | None = None,
        nonce_ttl: float = 300.0,
    ) -> None:
        self.realm = realm
        self.algorithms = tuple(_canonical_algorithm(a) for a in (algorithms or (algorithm,)))
        self.algorithm = self.algorithms[0]
        self.nonce_ttl = nonce_ttl
        for name in self.algorithms:
            if name not in _ALGORITHMS:
                raise ValueError(f"unsupported digest algorithm {name!r}")
        if len(secret) < 16:
            raise ValueError("the nonce secret needs at least 16 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return (
            f"DigestServer(realm={self.realm!r}, algorithms={self.algorithms!r}, "
            f"nonce_ttl={self.nonce_ttl!r})"
        )

    def challenge(self, now: float, *, stale: bool = False, algorithm: str | None = None) -> str:
        """A WWW-Authenticate (or Proxy-Authenticate) value with a fresh signed nonce."""
        return self._challenge_value(self._new_nonce(now), algorithm or self.algorithm, stale)

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """One value per offered algorithm, preferred first, all with the same fresh nonce."""
        nonce = self._new_nonce(now)
        return [self._challenge_value(nonce, name, stale) for name in self.algorithms]

    def verify(
        self,
        authorization: str,
        method: str,
        password_for: Callable[[str], str | None],
        now: float,
        *,
        request_uri: str | None = None,
    ) -> VerifyResult:
        """Check an Authorization header value against a password. Never raises on bad input."""

        def ha1_for(username: str, algorithm: str) -> str | None:
            password = password_for(username)
            # An unknown user costs the same hashing as a known one.
            guess = password if password is not None else secrets.token_hex(16)
            ha1 = digest_ha1(algorithm, username, self.realm, guess)
            return ha1 if password is not None else None

        return self.verify_ha1(authorization, method, ha1_for, now, request_uri=request_uri)

    def verify_ha1(
        self,
        authorization: str,
        method: str,
        ha1_for: HA1Lookup,
        now: float,
        *,
        request_uri: str | None = None,
    ) -> VerifyResult:
        """Check an Authorization header value against a stored HA1. Never raises on bad input."""
        try:
            scheme, params = _parse_auth_header(authorization)
        except AuthError as exc:
            return _bad(f"malformed credentials: {exc}")
        if scheme.lower() != "digest":
            return _bad(f"unsupported scheme {scheme!r}")
        missing = [
            name
            for name in ("username", "realm", "nonce", "uri", "response", "cnonce", "nc", "qop")
            if name not in params
        ]
        if missing:
            return _bad(f"missing {', '.join(missing)}")
        username = params["username"]
        if params["realm"] != self.realm:
            return _bad(f"wrong realm {params['realm']!r}", username)
        algorithm = _canonical_algorithm(params.get("algorithm", "MD5"))
        if algorithm not in self.algorithms:
            return _bad(f"wrong algorithm {params.get('algorithm')!r}", username)
        if params["qop"].lower() != "auth":
            return _bad(f"unsupported qop {params['qop']!r}", username)
        nc = params["nc"]
        if len(nc) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc):
            return _bad(f"malformed nc {nc!r}", username)
        if request_uri is not None and params["uri"] != request_uri:
            return _bad("digest uri does not match the Request-URI", username)
        issued = self._issued_at(params["nonce"])
        if issued is None:
            return _bad("nonce not issued by us", username)
        hash_name = algorithm.removesuffix("-sess")
        ha1 = ha1_for(username, hash_name)
        expected = _response_from_ha1(
            algorithm,
            ha1 if ha1 is not None else _random_ha1(hash_name),  # same cost for unknown users
            method,
            params["uri"],
            params["nonce"],
            "auth",
            nc,
            params["cnonce"],
        )
        matched = hmac.compare_digest(expected.encode(), params["response"].lower().encode())
        if ha1 is None or not matched:
            return _bad("wrong credentials", username)
        if not 0 <= now - issued <= self.nonce_ttl:
            return VerifyResult(VerifyStatus.STALE, username, "nonce expired")
        return VerifyResult(VerifyStatus.OK, username)

    def _new_nonce(self, now: float) -> str:
        payload = _NONCE_PAYLOAD.pack(now, secrets.token_bytes(8))
        return base64.urlsafe_b64encode(payload + self._sign(payload)).rstrip(b"=").decode()

    def _challenge_value(self, nonce: str, algorithm: str, stale: bool) -> str:
        value = (
            f"Digest realm={_quote(self.realm)}, nonce={_quote(nonce)}, "
            f'algorithm={_canonical_algorithm(algorithm)}, qop="auth"'
        )
        return value + (", stale=true" if stale else "")

    def _sign(self, payload: bytes) -> bytes:
        message = self.realm.encode() + b"\0" + payload
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_NONCE_MAC_BYTES]

    def _issued_at(self, nonce: str) -> float | None:
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            return None
        if len(raw) != _NONCE_PAYLOAD.size + _NONCE_MAC_BYTES:
            return None
        payload, mac = raw[: _NONCE_PAYLOAD.size], raw[_NONCE_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._sign(payload)):
            return None
        issued: float = _NONCE_PAYLOAD.unpack(payload)[0]
        return issued


def _random_ha1(hash_name: str) -> str:
    return secrets.token_hex(32 if hash_name == "SHA-256" else 16)


def credentials_username(authorization: str) -> str | None:
    """The username of Digest credentials, or None: cheap (no hashing), for rate limits."""
    try:
        scheme, params = _parse_auth_header(authorization)
    except AuthError:
        return None
    return params.get("username") if scheme.lower() == "digest" else None


def credentials_realm(authorization: str) -> str | None:
    """The realm of Digest credentials, or None (to pick ours among several headers)."""
    try:
        scheme, params = _parse_auth_header(authorization)
    except AuthError:
        return None
    return params.get("realm") if scheme.lower() == "digest" else None


def _bad(reason: str, username: str | None = None) -> VerifyResult:
    return VerifyResult(VerifyStatus.BAD, username, reason)
