"""Agents' secrets: scrypt for the console (round trip, wrong and tampered values, the
cost stored with the hash), SIP HA1s (RFC 2617's example), and the password policy."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from dialer.agents import credentials
from dialer.agents.credentials import (
    CredentialError,
    check_extension,
    check_password,
    hash_password,
    make_credentials,
    verify_password,
    waste_password_check,
)
from dialer.sip.auth import digest_ha1


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every scrypt call's parameters (the real function still runs)."""
    calls: list[dict[str, Any]] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real(password, **kwargs)

    monkeypatch.setattr(credentials.hashlib, "scrypt", counting)
    return calls


def test_a_hash_verifies_its_password_and_no_other() -> None:
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct hors")
    assert not verify_password(stored, "Correct horse")
    assert not verify_password(stored, "")


def test_the_stored_string_describes_itself_with_the_issue_s_cost() -> None:
    scheme, n, r, p, salt, digest = hash_password("correct horse").split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    expected = hashlib.scrypt(
        b"correct horse", salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32
    )
    assert base64.b64decode(digest) == expected  # really scrypt, not something like it


def test_each_hash_has_its_own_salt() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]


def test_verification_reads_the_cost_from_the_stored_string(
    monkeypatch: pytest.MonkeyPatch, scrypt_calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**10)
    cheap = hash_password("correct horse")
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**14)  # the cost went up since
    assert verify_password(cheap, "correct horse")
    assert [call["n"] for call in scrypt_calls] == [2**10, 2**10]


def _with_part(stored: str, index: int, value: str) -> str:
    parts = stored.split("$")
    parts[index] = value
    return "$".join(parts)


def test_a_tampered_or_malformed_string_never_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**10)
    stored = hash_password("correct horse")
    digest = bytearray(base64.b64decode(stored.split("$")[5]))
    digest[0] ^= 1
    salt = bytearray(base64.b64decode(stored.split("$")[4]))
    salt[-1] ^= 1
    tampered = [
        _with_part(stored, 5, base64.b64encode(bytes(digest)).decode()),
        _with_part(stored, 4, base64.b64encode(bytes(salt)).decode()),
        _with_part(stored, 1, "2048"),  # another cost gives another hash
        _with_part(stored, 1, "1000"),  # not a power of two
        _with_part(stored, 1, str(2**24)),  # beyond the memory bound: refused, not run
        _with_part(stored, 0, "bcrypt"),
        _with_part(stored, 5, "not*base64"),
        _with_part(stored, 5, base64.b64encode(bytes(digest[:16])).decode()),  # truncated
        stored + "$extra",
        stored.replace("$", ":"),
        "",
        "scrypt",
        "correct horse",  # a password stored in clear is not a hash
    ]
    assert verify_password(stored, "correct horse")
    for value in tampered:
        assert not verify_password(value, "correct horse"), value


def test_the_wasted_check_costs_one_scrypt_at_the_current_cost(
    scrypt_calls: list[dict[str, Any]],
) -> None:
    waste_password_check("whatever123")
    verify_password(hash_password("correct horse"), "wrong password")
    wasted, _, verified = scrypt_calls
    assert wasted == verified | {"salt": wasted["salt"]}  # same n, r, p, dklen, maxmem


def test_ha1_matches_rfc_2617_s_example() -> None:
    # RFC 2617 section 3.5: Mufasa / testrealm@host.com / "Circle Of Life"
    ha1 = digest_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    assert ha1 == "939e7578ed9e3c518a452acee763bce9"


def test_credentials_hold_both_ha1s_for_the_extension_in_the_realm() -> None:
    made = make_credentials("1001", "dialer.example", "Circle Of Life")
    text = b"1001:dialer.example:Circle Of Life"
    assert made.realm == "dialer.example"
    assert made.ha1_md5 == hashlib.md5(text).hexdigest()
    assert made.ha1_sha256 == hashlib.sha256(text).hexdigest()
    assert verify_password(made.password_hash, "Circle Of Life")


def test_no_secret_appears_in_the_repr() -> None:
    made = make_credentials("1001", "dialer", "Circle Of Life")
    shown = repr(made) + str(made)
    assert "dialer" in shown
    for secret in (made.password_hash, made.ha1_md5, made.ha1_sha256, "Circle Of Life"):
        assert secret not in shown
    assert made.password_hash.split("$")[5] not in shown


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "at least 8"),
        ("1234567", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password\n", "control"),
        ("pass\x00word", "control"),
        ("pass\x7fword", "control"),
    ],
)
def test_the_password_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(CredentialError, match=reason):
        check_password(password)
    with pytest.raises(CredentialError, match=reason):
        make_credentials("1001", "dialer", password)


def test_the_password_policy_accepts() -> None:
    for password in ("12345678", "x" * 128, "pass word with spaces", "pässwörd"):
        assert check_password(password) == password


@pytest.mark.parametrize(
    "extension", ["1", "12345678901", "10a", "+1001", " 1001", "\u0661\u0660\u0660\u0661", ""]
)
def test_an_extension_is_two_to_ten_ascii_digits(extension: str) -> None:
    with pytest.raises(CredentialError, match="2 to 10 digits"):
        check_extension(extension)


def test_good_extensions() -> None:
    assert [check_extension(e) for e in ("10", "1001", "0123456789")] == [
        "10",
        "1001",
        "0123456789",
    ]
