"""Digest authentication: RFC 2617 / RFC 7616 vectors, nonce reuse, stale, server round trips."""

from __future__ import annotations

import hashlib

import pytest

import dialer.sip.auth as auth
from dialer.sip.auth import (
    AuthError,
    DigestChallenge,
    DigestClient,
    DigestServer,
    VerifyStatus,
    credentials_username,
    digest_ha1,
    select_challenge,
)

SECRET = b"0123456789abcdef-test-secret"
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def params_of(header: str) -> dict[str, str]:
    """A deliberately simple reader for the headers under test (no commas inside values)."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "Digest"
    out: dict[str, str] = {}
    for part in rest.split(", "):
        name, _, value = part.partition("=")
        out[name] = value[1:-1] if value.startswith('"') else value
    return out


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# --- published vectors -----------------------------------------------------------------------


def test_rfc2617_section_3_5_example() -> None:
    challenge = DigestChallenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge == DigestChallenge(
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        algorithm="MD5",
        qop=("auth", "auth-int"),
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    header = DigestClient("Mufasa", "Circle Of Life").respond(
        challenge, "GET", "/dir/index.html", cnonce="0a4f113b"
    )
    assert params_of(header) == {
        "username": "Mufasa",
        "realm": "testrealm@host.com",
        "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "uri": "/dir/index.html",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "0a4f113b",
        "response": "6629fae49393a05397450978507c4ef1",
        "opaque": "5ccc069c403ebaf9f0171e9517f40e41",
        "algorithm": "MD5",
    }


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_examples(algorithm: str, expected: str) -> None:
    challenge = DigestChallenge.parse(RFC7616_CHALLENGE.format(alg=algorithm))
    assert challenge.algorithm == algorithm
    header = DigestClient("Mufasa", "Circle of Life").respond(
        challenge, "GET", "/dir/index.html", cnonce=RFC7616_CNONCE
    )
    fields = params_of(header)
    assert fields["response"] == expected
    assert fields["nc"] == "00000001"
    assert fields["qop"] == "auth"
    assert fields["algorithm"] == algorithm
    assert fields["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_legacy_challenge_without_qop_uses_rfc2069_form() -> None:
    challenge = DigestChallenge.parse('Digest realm="sip.example", nonce="abc"')
    fields = params_of(DigestClient("alice", "pw").respond(challenge, "INVITE", "sip:b@x"))
    ha1, ha2 = md5("alice:sip.example:pw"), md5("INVITE:sip:b@x")
    assert fields["response"] == md5(f"{ha1}:abc:{ha2}")
    assert not {"nc", "cnonce", "qop"} & fields.keys()


# --- client state ----------------------------------------------------------------------------


def test_nonce_reuse_increments_nonce_count() -> None:
    client = DigestClient("alice", "pw")
    challenge = DigestChallenge("sip.example", "n1", qop=("auth",))
    first = params_of(client.respond(challenge, "REGISTER", "sip:sip.example", cnonce="c1"))
    again = client.authorize_again("sip.example", "REGISTER", "sip:sip.example")
    assert again is not None
    second = params_of(again)
    assert (first["nc"], second["nc"]) == ("00000001", "00000002")
    assert second["nonce"] == "n1"
    ha1, ha2 = md5("alice:sip.example:pw"), md5("REGISTER:sip:sip.example")
    expected = md5(f"{ha1}:n1:00000002:{second['cnonce']}:auth:{ha2}")
    assert second["response"] == expected
    # Answering the same challenge again continues the count rather than restarting it.
    third = params_of(client.respond(challenge, "INVITE", "sip:b@sip.example"))
    assert third["nc"] == "00000003"


def test_authorize_again_without_a_challenge_is_none() -> None:
    assert DigestClient("alice", "pw").authorize_again("nowhere", "INVITE", "sip:b@x") is None


def test_stale_challenge_moves_to_the_new_nonce() -> None:
    client = DigestClient("alice", "pw")
    client.respond(DigestChallenge("r", "old", qop=("auth",)), "INVITE", "sip:b@x")
    client.authorize_again("r", "INVITE", "sip:b@x")
    stale = DigestChallenge.parse('Digest realm="r", nonce="new", qop="auth", stale=TRUE')
    assert stale.stale
    fields = params_of(client.respond(stale, "INVITE", "sip:b@x"))
    assert (fields["nonce"], fields["nc"]) == ("new", "00000001")
    again = client.authorize_again("r", "BYE", "sip:b@x")
    assert again is not None
    assert (params_of(again)["nonce"], params_of(again)["nc"]) == ("new", "00000002")


def test_forget_drops_the_stored_nonce() -> None:
    client = DigestClient("alice", "pw")
    client.respond(DigestChallenge("r", "n", qop=("auth",)), "INVITE", "sip:b@x")
    client.forget("r")
    assert client.authorize_again("r", "INVITE", "sip:b@x") is None


def test_auth_int_only_is_refused_and_leaves_no_state() -> None:
    client = DigestClient("alice", "pw")
    with pytest.raises(AuthError):
        client.respond(DigestChallenge("r", "n", qop=("auth-int",)), "INVITE", "sip:b@x")
    assert client.authorize_again("r", "INVITE", "sip:b@x") is None


def test_unknown_algorithm_is_refused() -> None:
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n", algorithm=SHA-512-256')
    assert not challenge.supported
    with pytest.raises(AuthError):
        DigestClient("alice", "pw").respond(challenge, "INVITE", "sip:b@x")


def test_session_algorithms_keep_one_cnonce_per_nonce() -> None:
    client = DigestClient("alice", "pw")
    client.respond(DigestChallenge("r", "n", "MD5-sess", ("auth",)), "INVITE", "sip:b@x")
    first = params_of(client.authorize_again("r", "BYE", "sip:b@x") or "")
    second = params_of(client.authorize_again("r", "BYE", "sip:b@x") or "")
    assert first["cnonce"] == second["cnonce"]
    assert first["nc"] != second["nc"]


def test_secrets_stay_out_of_reprs() -> None:
    client = DigestClient("alice", "hunter2-password")
    client.respond(DigestChallenge("r", "n", qop=("auth",)), "INVITE", "sip:b@x")
    assert "hunter2" not in repr(client)
    server = DigestServer("r", b"server-secret-0123456789")
    assert "server-secret" not in repr(server)


# --- challenge parsing -----------------------------------------------------------------------


def test_parse_accepts_odd_but_legal_forms() -> None:
    challenge = DigestChallenge.parse(
        'digest  realm="a \\"quoted\\" realm",nonce=abc/def==,ALGORITHM="sha-256-SESS" ,'
        ' domain="sip:x", stale=true'
    )
    assert challenge.realm == 'a "quoted" realm'
    assert challenge.nonce == "abc/def=="
    assert challenge.algorithm == "SHA-256-sess"
    assert challenge.stale
    assert challenge.qop == ()


@pytest.mark.parametrize(
    "value",
    [
        'Basic realm="r"',
        "NoOneKnowsThisScheme opaque-data=here",
        'Digest nonce="n"',
        'Digest realm="r"',
        'Digest realm="r", nonce=""',
        'Digest realm="r", nonce="n',
        'Digest realm="r" nonce="n"',
        'Digest realm="r", nonce="n", realm="s"',
        "Digest =x",
        "",
        "   ",
        '"Digest" realm="r"',
        "Digest realm=, nonce=n",
        'Digest\x00 realm="r", nonce="n"',
    ],
)
def test_bad_challenges_raise_only_auth_error(value: str) -> None:
    with pytest.raises(AuthError):
        DigestChallenge.parse(value)


def test_select_challenge_skips_what_it_cannot_answer() -> None:
    chosen = select_challenge(
        [
            'Basic realm="r"',
            'Digest realm="r", nonce="1", algorithm=SHA-512-256, qop="auth"',
            'Digest realm="r", nonce="2", qop="auth-int"',
            'Digest realm="r", nonce="3", algorithm=SHA-256, qop="auth"',
            'Digest realm="r", nonce="4", algorithm=MD5, qop="auth"',
        ]
    )
    assert chosen is not None
    assert chosen.nonce == "3"
    assert select_challenge(['Basic realm="r"', "garbage,,"]) is None


# --- server ----------------------------------------------------------------------------------

PASSWORDS = {"agent1": "s3cret", 'we"ird\\user': "x"}


def issue(
    server: DigestServer,
    now: float,
    user: str,
    password: str,
    method: str = "REGISTER",
    uri: str = "sip:pbx.local",
) -> str:
    challenge = DigestChallenge.parse(server.challenge(now))
    return DigestClient(user, password).respond(challenge, method, uri)


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
def test_server_round_trip(algorithm: str) -> None:
    server = DigestServer("pbx.local", SECRET, algorithm=algorithm)
    challenge = DigestChallenge.parse(server.challenge(100.0))
    assert (challenge.realm, challenge.algorithm, challenge.qop) == (
        "pbx.local",
        algorithm,
        ("auth",),
    )
    client = DigestClient("agent1", "s3cret")
    header = client.respond(challenge, "REGISTER", "sip:pbx.local")
    result = server.verify(header, "REGISTER", PASSWORDS.get, 101.0, request_uri="sip:pbx.local")
    assert result.ok and result.username == "agent1"
    # Nonce reuse is accepted as long as the nonce is fresh.
    again = client.authorize_again("pbx.local", "REGISTER", "sip:pbx.local")
    assert again is not None
    assert server.verify(again, "REGISTER", PASSWORDS.get, 150.0).ok


def test_server_accepts_usernames_that_need_escaping() -> None:
    server = DigestServer("pbx.local", SECRET)
    header = issue(server, 0.0, 'we"ird\\user', "x")
    result = server.verify(header, "REGISTER", PASSWORDS.get, 1.0)
    assert result.ok and result.username == 'we"ird\\user'


def test_server_rejects_wrong_password() -> None:
    server = DigestServer("pbx.local", SECRET)
    result = server.verify(issue(server, 0.0, "agent1", "guess"), "REGISTER", PASSWORDS.get, 1.0)
    assert result.status is VerifyStatus.BAD and not result.ok


def test_server_rejects_unknown_user() -> None:
    server = DigestServer("pbx.local", SECRET)
    result = server.verify(issue(server, 0.0, "nobody", "s3cret"), "REGISTER", PASSWORDS.get, 1.0)
    assert result.status is VerifyStatus.BAD


def test_server_rejects_other_schemes_rfc4475_regaut01() -> None:
    server = DigestServer("pbx.local", SECRET)
    for header in ("NoOneKnowsThisScheme opaque-data=here", "Basic YWdlbnQxOnMzY3JldA=="):
        assert server.verify(header, "REGISTER", PASSWORDS.get, 1.0).status is VerifyStatus.BAD


def test_server_expired_nonce_is_stale_only_with_the_right_password() -> None:
    server = DigestServer("pbx.local", SECRET, nonce_ttl=300.0)
    good = issue(server, 0.0, "agent1", "s3cret")
    assert server.verify(good, "REGISTER", PASSWORDS.get, 300.0).ok
    assert server.verify(good, "REGISTER", PASSWORDS.get, 300.5).status is VerifyStatus.STALE
    bad = issue(server, 0.0, "agent1", "guess")
    assert server.verify(bad, "REGISTER", PASSWORDS.get, 300.5).status is VerifyStatus.BAD
    assert DigestChallenge.parse(server.challenge(301.0, stale=True)).stale


def test_server_nonce_from_the_future_is_stale() -> None:
    server = DigestServer("pbx.local", SECRET)
    header = issue(server, 1000.0, "agent1", "s3cret")
    assert server.verify(header, "REGISTER", PASSWORDS.get, 10.0).stale


def test_server_rejects_nonces_it_did_not_sign() -> None:
    server = DigestServer("pbx.local", SECRET)
    other = DigestServer("pbx.local", b"another-secret-9876543210")
    assert not server.verify(
        issue(other, 0.0, "agent1", "s3cret"), "REGISTER", PASSWORDS.get, 1.0
    ).ok
    for nonce in ("n", "AAAA", "not base64 at all!", "é" * 40):
        forged = DigestClient("agent1", "s3cret").respond(
            DigestChallenge("pbx.local", nonce, qop=("auth",)), "REGISTER", "sip:pbx.local"
        )
        assert server.verify(forged, "REGISTER", PASSWORDS.get, 1.0).status is VerifyStatus.BAD


def test_server_checks_realm_method_uri_and_qop() -> None:
    server = DigestServer("pbx.local", SECRET)
    header = issue(server, 0.0, "agent1", "s3cret")
    assert not server.verify(header, "INVITE", PASSWORDS.get, 1.0).ok
    assert not server.verify(header, "REGISTER", PASSWORDS.get, 1.0, request_uri="sip:other").ok
    elsewhere = DigestServer("other.realm", SECRET)
    assert not elsewhere.verify(header, "REGISTER", PASSWORDS.get, 1.0).ok
    legacy = DigestClient("agent1", "s3cret").respond(
        DigestChallenge("pbx.local", params_of(header)["nonce"]), "REGISTER", "sip:pbx.local"
    )
    assert server.verify(legacy, "REGISTER", PASSWORDS.get, 1.0).status is VerifyStatus.BAD


@pytest.mark.parametrize(
    "header", ["", "Digest", 'Digest username="agent1"', 'Digest realm="pbx.local", nc=zz', "\x00"]
)
def test_server_never_raises_on_garbage(header: str) -> None:
    server = DigestServer("pbx.local", SECRET)
    assert server.verify(header, "REGISTER", PASSWORDS.get, 1.0).status is VerifyStatus.BAD


def test_server_config_is_validated() -> None:
    with pytest.raises(ValueError):
        DigestServer("r", b"short")
    with pytest.raises(ValueError):
        DigestServer("r", SECRET, algorithm="SHA-1")


# --- server with stored HA1s (what the agents' registrar keeps) -----------------------------

HA1S = {
    (user, algorithm): digest_ha1(algorithm, user, "pbx.local", password)
    for user, password in PASSWORDS.items()
    for algorithm in ("MD5", "SHA-256")
}


def ha1_for(username: str, algorithm: str) -> str | None:
    return HA1S.get((username, algorithm))


def test_challenges_offer_every_algorithm_with_one_nonce_preferred_first() -> None:
    server = DigestServer("pbx.local", SECRET, algorithms=("SHA-256", "MD5"))
    offers = [DigestChallenge.parse(v) for v in server.challenges(5.0, stale=True)]
    assert [c.algorithm for c in offers] == ["SHA-256", "MD5"]
    assert len({c.nonce for c in offers}) == 1 and all(c.stale for c in offers)
    assert DigestChallenge.parse(server.challenge(5.0)).algorithm == "SHA-256"
    chosen = select_challenge(server.challenges(5.0))
    assert chosen is not None and chosen.algorithm == "SHA-256"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
def test_server_verifies_against_a_stored_ha1(algorithm: str) -> None:
    server = DigestServer("pbx.local", SECRET, algorithms=("SHA-256", "MD5", algorithm))
    challenge = DigestChallenge.parse(server.challenge(0.0, algorithm=algorithm))
    header = DigestClient("agent1", "s3cret").respond(challenge, "REGISTER", "sip:pbx.local")
    result = server.verify_ha1(header, "REGISTER", ha1_for, 1.0, request_uri="sip:pbx.local")
    assert result.ok and result.username == "agent1"
    wrong = DigestClient("agent1", "guess").respond(challenge, "REGISTER", "sip:pbx.local")
    assert server.verify_ha1(wrong, "REGISTER", ha1_for, 1.0).status is VerifyStatus.BAD
    assert server.verify_ha1(header, "REGISTER", ha1_for, 301.0).stale


def test_server_refuses_an_algorithm_it_did_not_offer() -> None:
    md5_only = DigestServer("pbx.local", SECRET)
    both = DigestServer("pbx.local", SECRET, algorithms=("SHA-256", "MD5"))
    challenge = DigestChallenge.parse(both.challenge(0.0, algorithm="SHA-256"))
    header = DigestClient("agent1", "s3cret").respond(challenge, "REGISTER", "sip:pbx.local")
    assert both.verify_ha1(header, "REGISTER", ha1_for, 1.0).ok
    result = md5_only.verify_ha1(header, "REGISTER", ha1_for, 1.0)
    assert result.status is VerifyStatus.BAD and "algorithm" in result.reason


@pytest.mark.parametrize("use_ha1", [True, False])
def test_unknown_users_cost_the_same_hashing(
    use_ha1: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = auth._hash

    def counting(algorithm: str, text: str) -> str:
        nonlocal calls
        calls += 1
        return real(algorithm, text)

    monkeypatch.setattr(auth, "_hash", counting)
    server = DigestServer("pbx.local", SECRET)
    work = {}
    for user in ("agent1", "nobody"):
        header = issue(server, 0.0, user, "guess")
        calls = 0
        if use_ha1:
            result = server.verify_ha1(header, "REGISTER", ha1_for, 1.0)
        else:
            result = server.verify(header, "REGISTER", PASSWORDS.get, 1.0)
        assert (result.status, result.reason) == (VerifyStatus.BAD, "wrong credentials")
        work[user] = calls
    assert work["agent1"] == work["nobody"] > 0


def test_credentials_username_reads_without_hashing() -> None:
    server = DigestServer("pbx.local", SECRET)
    assert credentials_username(issue(server, 0.0, 'we"ird\\user', "x")) == 'we"ird\\user'
    assert credentials_username("Basic YWdlbnQxOnMzY3JldA==") is None
    assert credentials_username("garbage,,") is None


def test_server_with_several_algorithms_is_validated() -> None:
    with pytest.raises(ValueError):
        DigestServer("r", SECRET, algorithms=("SHA-256", "SHA-1"))
    assert "secret" not in repr(DigestServer("r", SECRET, algorithms=("SHA-256", "MD5")))
