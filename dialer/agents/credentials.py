"""Agents' secrets as the store keeps them: a slow hash for the console, HA1s for SIP.

The console login checks the password against an scrypt hash (`hash_password`,
`verify_password`), slow on purpose so a stolen database is costly to attack.
SIP digest cannot use that: the registrar needs H(username:realm:password)
(HA1), so that is stored per algorithm (MD5 and SHA-256) instead of the
password, with the realm it was computed in: a realm change makes the HA1s
stale, and only a new password mends them. The SIP username is the extension.

Nothing here ever logs or reprs a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from dialer.sip.auth import digest_ha1

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MAX_USER_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "CredentialError",
    "HashedCredentials",
    "check_extension",
    "check_password",
    "hash_password",
    "make_credentials",
    "verify_password",
    "waste_password_check",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128  # a phone's keypad, not a passphrase manager; bounds the work
MAX_USER_PASSWORD_LENGTH = 1024  # a web user's: a passphrase manager's, still bounded
_EXTENSION = re.compile(r"[0-9]{2,10}")

# scrypt's cost: ~0.1 s and 16 MiB a check on a small server. Read at call time, so a
# test may lower it; verification always reads the cost stored with the hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _HASH_BYTES = 16, 32
_MAX_MEMORY = 64 * 1024 * 1024  # refuse stored costs beyond this (a tampered row)
_SCHEME = "scrypt"
_STORED = re.compile(
    r"scrypt\$(?P<n>[0-9]{1,8})\$(?P<r>[0-9]{1,3})\$(?P<p>[0-9]{1,3})"
    r"\$(?P<salt>[A-Za-z0-9+/=]+)\$(?P<hash>[A-Za-z0-9+/=]+)"
)


class CredentialError(ValueError):
    """An extension or a password the policy refuses (the message says why)."""


def check_extension(extension: str) -> str:
    if not _EXTENSION.fullmatch(extension):
        raise CredentialError(f"an extension is 2 to 10 digits (got {extension!r})")
    return extension


def check_password(password: str, *, max_length: int = MAX_PASSWORD_LENGTH) -> str:
    """The policy: 8 to `max_length` (an agent's 128) characters, none of them control
    characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CredentialError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > max_length:
        raise CredentialError(f"a password has at most {max_length} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        raise CredentialError("a password cannot contain control characters (or a newline)")
    return password


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$<salt b64>$<hash b64>`: self-describing, so the cost can rise later."""
    salt = secrets.token_bytes(_SALT_BYTES)
    derived = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        (_SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(derived))
    )


def verify_password(stored: str, password: str) -> bool:
    """True when `password` hashes to `stored`; False for a wrong password and for a stored
    value that is malformed or tampered with (never raises: a login just fails)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    try:
        derived = _derive(password, salt, n, r, p)
    except ValueError:  # a cost beyond our memory bound
        return False
    return hmac.compare_digest(derived, expected)


def waste_password_check(password: str) -> None:
    """Cost what `verify_password` costs, for a login whose user does not exist: the
    answer's timing must not tell which extensions are real."""
    _derive(password, bytes(_SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)


@dataclass(frozen=True)
class HashedCredentials:
    """What the store keeps instead of a password."""

    realm: str  # the digest realm the HA1s were computed in
    password_hash: str = field(repr=False)  # scrypt, for the console
    ha1_md5: str = field(repr=False)
    ha1_sha256: str = field(repr=False)


def make_credentials(extension: str, realm: str, password: str) -> HashedCredentials:
    """Check the policy, then do the slow hashing (outside any store transaction)."""
    check_extension(extension)
    check_password(password)
    return HashedCredentials(
        realm=realm,
        password_hash=hash_password(password),
        ha1_md5=digest_ha1("MD5", extension, realm, password),
        ha1_sha256=digest_ha1("SHA-256", extension, realm, password),
    )


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=_HASH_BYTES
    )


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    match = _STORED.fullmatch(stored)
    if match is None:
        return None
    n, r, p = (int(x) for x in match.group("n", "r", "p"))
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16:
        return None
    try:
        salt = base64.b64decode(match["salt"], validate=True)
        expected = base64.b64decode(match["hash"], validate=True)
    except binascii.Error:
        return None
    if len(salt) < _SALT_BYTES or len(expected) != _HASH_BYTES:
        return None
    return n, r, p, salt, expected


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
