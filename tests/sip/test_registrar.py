"""The agents' registrar with a fake clock: raw REGISTER bytes through the endpoint."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

import dialer.sip.auth as auth
from dialer.sip.actions import Destination
from dialer.sip.auth import DigestChallenge, DigestClient, digest_ha1, select_challenge
from dialer.sip.endpoint import EndpointSettings, SipEndpoint, UserEvent
from dialer.sip.message import Response, parse_message
from dialer.sip.registrar import (
    AgentCredentials,
    AgentRegistered,
    AgentUnregistered,
    Binding,
    Registrar,
    RegistrarSettings,
    RegistrationRefused,
)

REALM = "dialer"
SECRET = b"registrar-test-secret-0123456789"
PASSWORDS = {"1001": "correct-horse-1001", "1002": "battery-staple-1002"}
CREDENTIALS = {
    user: AgentCredentials(
        agent_id=index,
        username=user,
        ha1_md5=digest_ha1("MD5", user, REALM, password),
        ha1_sha256=digest_ha1("SHA-256", user, REALM, password),
    )
    for index, (user, password) in enumerate(PASSWORDS.items(), start=1)
}
PHONE = ("127.0.0.1", 5062)
OTHER = ("127.0.0.1", 5064)
ATTACKER = ("127.0.0.2", 5060)
R_URI = "sip:127.0.0.1:5070"
_branches = itertools.count()


def registrar(**settings: object) -> Registrar:
    return Registrar(RegistrarSettings(realm=REALM, **settings), CREDENTIALS.get, SECRET)  # type: ignore[arg-type]


def endpoint(reg: Registrar | None = None) -> SipEndpoint:
    settings = EndpointSettings(host="127.0.0.1", ports={"udp": 5070})
    return SipEndpoint(settings, registrar=reg if reg is not None else registrar())


class Phone:
    """An agent's phone: one Call-ID, a CSeq that counts up, digest answers."""

    def __init__(
        self,
        user: str = "1001",
        password: str | None = None,
        source: tuple[str, int] = PHONE,
        *,
        to_user: str | None = None,
        algorithm: str | None = None,
    ) -> None:
        self.user = user
        self.to_user = to_user or user
        self.source = source
        self.call_id = f"reg-{user}-{source[0]}-{source[1]}-{next(_branches)}"
        self.cseq = 0
        self.digest = DigestClient(user, password if password is not None else PASSWORDS[user])
        self.algorithm = algorithm
        self.contact = f"sip:{user}@{source[0]}:{source[1]}"

    def request(
        self,
        *,
        expires: int | str | None = None,
        contacts: list[str] | None = None,
        authorization: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
        cseq: int | None = None,
    ) -> bytes:
        self.cseq = cseq if cseq is not None else self.cseq + 1
        lines = [
            f"REGISTER {R_URI} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.source[0]}:{self.source[1]};branch=z9hG4bK{next(_branches)}",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@127.0.0.1>;tag=phone",
            f"To: <sip:{self.to_user}@127.0.0.1>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
        ]
        lines += [f"Contact: {c}" for c in (contacts if contacts is not None else [self.uri])]
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if authorization is not None:
            lines.append(f"Authorization: {authorization}")
        lines += [f"{name}: {value}" for name, value in extra]
        return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()

    @property
    def uri(self) -> str:
        return f"<{self.contact}>"

    def answer(self, challenge: Response) -> str:
        values = challenge.headers.get_all("WWW-Authenticate")
        if self.algorithm is not None:
            values = [v for v in values if DigestChallenge.parse(v).algorithm == self.algorithm]
        chosen = select_challenge(values)
        assert chosen is not None, values
        return self.digest.respond(chosen, "REGISTER", R_URI)


def send(ep: SipEndpoint, phone: Phone, data: bytes, now: float) -> Response:
    ep.receive(data, phone.source, "udp", now)
    (response,) = [parse_message(t.data) for t in ep.take_transmissions()]
    assert isinstance(response, Response)
    return response


def register(ep: SipEndpoint, phone: Phone, now: float = 0.0, **request: object) -> Response:
    """Challenge, then the answer with credentials: the final response."""
    challenge = send(ep, phone, phone.request(**request), now)  # type: ignore[arg-type]
    assert challenge.status == 401, challenge
    authorization = phone.answer(challenge)
    return send(ep, phone, phone.request(authorization=authorization, **request), now)  # type: ignore[arg-type]


def events(ep: SipEndpoint) -> list[object]:
    return [e.event for e in ep.take_events() if isinstance(e, UserEvent)]


def of_type(items: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [item for item in items if isinstance(item, kind)]


def contact_expires(response: Response) -> dict[str, int]:
    out = {}
    for value in response.headers.get_all("Contact"):
        uri, _, params = value.partition(">;")
        out[uri.lstrip("<")] = int(params.removeprefix("expires="))
    return out


def count_hashes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    calls = 0
    real = auth._hash

    def counting(algorithm: str, text: str) -> str:
        nonlocal calls
        calls += 1
        return real(algorithm, text)

    monkeypatch.setattr(auth, "_hash", counting)
    return lambda: calls


# --- challenge and success -----------------------------------------------------------------


def test_the_default_challenge_is_md5_alone() -> None:
    # baresip 1.0.0 gives up on any SHA-256 challenge and on a second one for the realm.
    ep = endpoint()
    phone = Phone()
    challenge = send(ep, phone, phone.request(expires=600), 0.0)
    (offer,) = challenge.headers.get_all("WWW-Authenticate")
    assert DigestChallenge.parse(offer).algorithm == "MD5"


def test_first_register_is_challenged_with_sha256_then_md5_and_one_nonce() -> None:
    ep = endpoint(registrar(algorithms=("SHA-256", "MD5")))
    phone = Phone()
    challenge = send(ep, phone, phone.request(expires=600), 0.0)
    assert challenge.status == 401 and (challenge.headers.get("To") or "").count("tag=") == 1
    offers = [DigestChallenge.parse(v) for v in challenge.headers.get_all("WWW-Authenticate")]
    assert [c.algorithm for c in offers] == ["SHA-256", "MD5"]
    assert {c.nonce for c in offers} == {offers[0].nonce}
    assert all(c.realm == REALM and c.qop == ("auth",) and not c.stale for c in offers)
    assert events(ep) == []
    assert ep.registrar is not None and ep.registrar.binding_for("1001", 0.0) is None


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_right_password_registers_the_contact_and_its_source(algorithm: str) -> None:
    ep = endpoint(registrar(algorithms=("SHA-256", "MD5")))
    phone = Phone(algorithm=algorithm)
    ok = register(ep, phone, 10.0)
    assert ok.status == 200
    assert contact_expires(ok) == {phone.contact: 600}  # no Expires: the default
    (registered,) = events(ep)
    assert isinstance(registered, AgentRegistered) and not registered.refreshed
    assert (registered.agent_id, registered.username) == (1, "1001")
    binding = registered.binding
    assert binding.contact == phone.contact
    assert binding.source == Destination(*PHONE, "udp")
    assert binding.expires_at == 610.0
    reg = ep.registrar
    assert reg is not None and reg.binding_for("1001", 11.0) == binding
    assert reg.next_deadline() == 610.0


def test_a_refresh_reuses_the_nonce_and_reports_a_refreshed_binding() -> None:
    ep = endpoint()
    phone = Phone()
    register(ep, phone, 0.0, expires=300)
    events(ep)
    again = phone.digest.authorize_again(REALM, "REGISTER", R_URI)
    assert again is not None
    ok = send(ep, phone, phone.request(expires=300, authorization=again), 100.0)
    assert ok.status == 200 and contact_expires(ok) == {phone.contact: 300}
    (refreshed,) = events(ep)
    assert isinstance(refreshed, AgentRegistered) and refreshed.refreshed
    assert refreshed.binding.expires_at == 400.0
    assert ep.registrar is not None and ep.registrar.next_deadline() == 400.0


# --- refusals ------------------------------------------------------------------------------


def test_wrong_password_is_challenged_again_and_reported() -> None:
    ep = endpoint()
    phone = Phone(password="guess")
    again = register(ep, phone, 0.0)
    assert again.status == 401 and again.headers.get_all("WWW-Authenticate")
    (refused,) = events(ep)
    assert isinstance(refused, RegistrationRefused)
    assert (refused.source, refused.username, refused.status) == (PHONE, "1001", 401)
    assert refused.reason == "wrong credentials" and refused.log
    assert ep.registrar is not None and ep.registrar.binding_for("1001", 0.0) is None


def test_unknown_user_gets_the_same_answer_for_the_same_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashes = count_hashes(monkeypatch)
    answers = {}
    work = {}
    for user in ("1001", "9999"):
        ep = endpoint()
        phone = Phone(user, password="guess")
        challenge = send(ep, phone, phone.request(), 0.0)
        authorization = phone.answer(challenge)
        before = hashes()
        answer = send(ep, phone, phone.request(authorization=authorization), 0.0)
        work[user] = hashes() - before
        answers[user] = (answer.status, answer.reason, [n for n, _ in answer.headers.items()])
        (refused,) = of_type(events(ep), RegistrationRefused)
        assert refused.reason == "wrong credentials"
    assert answers["1001"] == answers["9999"]
    assert work["1001"] == work["9999"] > 0


def test_nobody_registers_someone_elses_extension() -> None:
    ep = endpoint()
    phone = Phone("1001", to_user="1002")  # right password for 1001, AOR of 1002
    refused = register(ep, phone, 0.0)
    assert refused.status == 403
    (event,) = events(ep)
    assert isinstance(event, RegistrationRefused) and event.status == 403
    assert "address of record" in event.reason
    reg = ep.registrar
    assert reg is not None
    assert reg.binding_for("1001", 0.0) is None and reg.binding_for("1002", 0.0) is None


def test_an_expired_nonce_gets_stale_true_and_is_not_a_failure() -> None:
    ep = endpoint(registrar(nonce_ttl_s=30.0))
    phone = Phone()
    challenge = send(ep, phone, phone.request(), 0.0)
    late = send(ep, phone, phone.request(authorization=phone.answer(challenge)), 31.0)
    assert late.status == 401
    offers = [DigestChallenge.parse(v) for v in late.headers.get_all("WWW-Authenticate")]
    assert offers and all(c.stale for c in offers)
    assert events(ep) == []
    ok = send(ep, phone, phone.request(authorization=phone.answer(late)), 31.5)
    assert ok.status == 200
    assert ep.registrar is not None and ep.registrar.counters.auth_failures == 0


def test_a_nonce_we_did_not_sign_is_a_failure() -> None:
    ep = endpoint()
    phone = Phone()
    forged = phone.digest.respond(
        DigestChallenge(REALM, "bm90LW91cnM", qop=("auth",)), "REGISTER", R_URI
    )
    answer = send(ep, phone, phone.request(authorization=forged), 0.0)
    assert answer.status == 401
    (refused,) = events(ep)
    assert isinstance(refused, RegistrationRefused) and refused.reason == "nonce not issued by us"


@pytest.mark.parametrize(
    "extra",
    [
        (("Authorization", "Digest"),),
        (("Authorization", 'Digest username="1001", realm="dialer", nc=zz'),),
        (("Authorization", "Basic MTAwMTpwYXNz"),),
        (("Authorization", "\x7f\x01 garbage ,,, ="),),
        (("Authorization", 'Digest username="' + "x" * 5000 + '"'),),
    ],
)
def test_garbage_credentials_never_raise(extra: tuple[tuple[str, str], ...]) -> None:
    ep = endpoint()
    phone = Phone()
    answer = send(ep, phone, phone.request(extra=extra), 0.0)
    assert answer.status == 401
    assert ep.registrar is not None and ep.registrar.binding_for("1001", 0.0) is None


# --- lifetimes -----------------------------------------------------------------------------


def test_a_binding_expires_on_the_endpoints_timer() -> None:
    ep = endpoint()
    phone = Phone()
    register(ep, phone, 0.0, expires=60)
    events(ep)
    ep.handle_timer(59.9)  # the REGISTER transactions are gone (Timer J)
    assert events(ep) == []
    assert ep.next_deadline() == 60.0  # the expiry is in the endpoint's timer heap
    ep.handle_timer(60.0)
    (gone,) = events(ep)
    assert isinstance(gone, AgentUnregistered)
    assert (gone.username, gone.reason, gone.remaining) == ("1001", "expired", 0)
    reg = ep.registrar
    assert reg is not None and reg.binding_for("1001", 60.0) is None
    assert reg.counters.expired == 1 and ep.next_deadline() is None


def test_too_brief_is_423_with_min_expires_and_too_long_is_cut() -> None:
    ep = endpoint()
    phone = Phone()
    brief = register(ep, phone, 0.0, expires=30)
    assert brief.status == 423 and brief.headers.get("Min-Expires") == "60"
    assert events(ep) == []
    contact_brief = send(
        ep,
        phone,
        phone.request(
            contacts=[f"{phone.uri};expires=10"],
            expires=600,
            authorization=phone.digest.authorize_again(REALM, "REGISTER", R_URI),
        ),
        0.0,
    )
    assert contact_brief.status == 423  # the Contact's own expires param wins
    ok = send(
        ep,
        phone,
        phone.request(
            expires=10**12, authorization=phone.digest.authorize_again(REALM, "REGISTER", R_URI)
        ),
        0.0,
    )
    assert ok.status == 200 and contact_expires(ok) == {phone.contact: 3600}


def test_expires_zero_unregisters() -> None:
    ep = endpoint()
    phone = Phone()
    register(ep, phone, 0.0)
    events(ep)
    again = phone.digest.authorize_again(REALM, "REGISTER", R_URI)
    ok = send(ep, phone, phone.request(expires=0, authorization=again), 5.0)
    assert ok.status == 200 and not ok.headers.get_all("Contact")
    (gone,) = events(ep)
    assert isinstance(gone, AgentUnregistered) and gone.reason == "unregistered"
    reg = ep.registrar
    assert reg is not None and reg.binding_for("1001", 5.0) is None
    assert reg.next_deadline() is None


def test_contact_star_removes_every_binding_only_with_expires_zero() -> None:
    ep = endpoint()
    phone = Phone()
    desk = "<sip:1001@127.0.0.1:5066>"
    ok = register(ep, phone, 0.0, contacts=[phone.uri, desk])
    assert ok.status == 200 and len(contact_expires(ok)) == 2
    events(ep)
    authorize = lambda: phone.digest.authorize_again(REALM, "REGISTER", R_URI)  # noqa: E731
    bad = send(ep, phone, phone.request(contacts=["*"], expires=60, authorization=authorize()), 1)
    assert bad.status == 400
    mixed = send(
        ep, phone, phone.request(contacts=["*", desk], expires=0, authorization=authorize()), 1
    )
    assert mixed.status == 400
    assert events(ep) == []
    ok = send(ep, phone, phone.request(contacts=["*"], expires=0, authorization=authorize()), 2)
    assert ok.status == 200 and not ok.headers.get_all("Contact")
    gone = of_type(events(ep), AgentUnregistered)
    assert sorted(g.remaining for g in gone) == [0, 1]
    assert {g.reason for g in gone} == {"unregistered"}


def test_register_without_contact_is_a_query() -> None:
    ep = endpoint()
    phone = Phone()
    register(ep, phone, 0.0, expires=120)
    events(ep)
    again = phone.digest.authorize_again(REALM, "REGISTER", R_URI)
    answer = send(ep, phone, phone.request(contacts=[], authorization=again), 20.0)
    assert answer.status == 200 and contact_expires(answer) == {phone.contact: 100}
    assert events(ep) == []


def test_same_call_id_with_an_old_cseq_is_refused_and_changes_nothing() -> None:
    ep = endpoint()
    phone = Phone()
    register(ep, phone, 0.0, expires=600)  # CSeq 2 holds the binding
    events(ep)
    authorization = phone.digest.authorize_again(REALM, "REGISTER", R_URI)
    old = send(ep, phone, phone.request(expires=0, cseq=2, authorization=authorization), 1.0)
    assert old.status == 500
    assert events(ep) == []
    reg = ep.registrar
    assert reg is not None and reg.binding_for("1001", 1.0) is not None
    # Another Call-ID (the phone rebooted) may start again from a low CSeq.
    rebooted = Phone()
    ok = register(ep, rebooted, 2.0, expires=0, cseq=1)
    assert ok.status == 200 and reg.binding_for("1001", 2.0) is None


def test_bindings_per_agent_are_capped_and_the_stalest_goes() -> None:
    ep = endpoint(registrar(max_bindings_per_agent=2))
    phones = [Phone(source=("127.0.0.1", 6000 + i)) for i in range(3)]
    for i, phone in enumerate(phones):
        assert register(ep, phone, float(i)).status == 200
    gone = of_type(events(ep), AgentUnregistered)
    assert [(g.reason, g.binding.contact) for g in gone] == [("replaced", phones[0].contact)]
    reg = ep.registrar
    assert reg is not None and len(reg.bindings("1001", 3.0)) == 2
    latest = reg.binding_for("1001", 3.0)
    assert latest is not None and latest.contact == phones[2].contact


@pytest.mark.parametrize(
    ("contacts", "expires"),
    [(["<tel:+15550100>"], 60), (["<sip:1001@127.0.0.1"], 60), (None, "soon"), (None, "-1")],
)
def test_bad_contacts_and_expires_are_400(contacts: list[str] | None, expires: object) -> None:
    ep = endpoint()
    phone = Phone()
    answer = register(ep, phone, 0.0, contacts=contacts, expires=expires)
    assert answer.status == 400
    assert ep.registrar is not None and ep.registrar.binding_for("1001", 0.0) is None


# --- rate limits ---------------------------------------------------------------------------


def fail(ep: SipEndpoint, phone: Phone, now: float) -> int:
    """One wrong-password attempt: the status of the answer to the credentials."""
    first = send(ep, phone, phone.request(), now)
    if first.status != 401:
        return first.status
    return send(ep, phone, phone.request(authorization=phone.answer(first)), now).status


def test_a_source_is_locked_out_after_max_failures_cheaply_and_logged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ep = endpoint()
    attacker = Phone("1002", password="guess", source=ATTACKER)
    statuses = [fail(ep, attacker, float(i)) for i in range(5)]
    assert statuses == [401] * 5
    refused = of_type(events(ep), RegistrationRefused)
    assert [r.log for r in refused] == [True, False, False, False, True]
    assert refused[-1].lockout_until == 4.0 + 300.0 and "source" in refused[-1].locked
    # Locked out: 403 even with the right password, answered with no transaction and no hash.
    hashes = count_hashes(monkeypatch)
    transactions = len(ep._servers)
    right = Phone("1001", source=ATTACKER)
    for i in range(50):
        assert send(ep, right, right.request(), 10.0 + i / 100).status == 403
    assert hashes() == 0 and len(ep._servers) == transactions
    assert events(ep) == []
    reg = ep.registrar
    assert reg is not None and reg.counters.locked_out == 50 and reg.counters.lockouts >= 1
    # Another address is not affected.
    assert register(ep, Phone("1001"), 11.0).status == 200


def test_a_source_lockout_spares_the_phones_registered_from_that_address() -> None:
    ep = endpoint()
    office = "127.0.0.9"  # one NAT address, one port per phone
    registered = Phone("1001", source=(office, 40001))
    assert register(ep, registered, 0.0, expires=600).status == 200
    misconfigured = Phone("1002", password="old-password", source=(office, 40002))
    assert [fail(ep, misconfigured, 1.0 + i) for i in range(5)] == [401] * 5
    newcomer = Phone("1002", source=(office, 40003))
    assert send(ep, newcomer, newcomer.request(), 7.0).status == 403
    again = registered.digest.authorize_again(REALM, "REGISTER", R_URI)
    refresh = registered.request(expires=600, authorization=again)
    assert send(ep, registered, refresh, 8.0).status == 200
    # Still authenticated like anyone: no free pass for the address itself.
    wrong = Phone("1001", password="guess", source=(office, 40001))
    wrong.call_id = registered.call_id
    wrong.cseq = registered.cseq
    assert fail(ep, wrong, 9.0) == 401
    reg = ep.registrar
    assert reg is not None
    again = registered.digest.authorize_again(REALM, "REGISTER", R_URI)
    unregister = registered.request(expires=0, authorization=again)
    assert send(ep, registered, unregister, 10.0).status == 200
    assert not reg._bound_sources  # the index forgets the address with its last binding
    assert send(ep, registered, registered.request(), 11.0).status == 403


def test_a_source_lockout_ends_after_lockout_s() -> None:
    ep = endpoint(registrar(lockout_s=100.0))
    attacker = Phone("1002", password="guess", source=ATTACKER)
    for i in range(5):
        fail(ep, attacker, float(i))
    right = Phone("1001", source=ATTACKER)
    assert send(ep, right, right.request(), 103.9).status == 403
    assert register(ep, right, 104.0).status == 200


def test_failures_outside_the_window_do_not_add_up() -> None:
    ep = endpoint(registrar(auth_failure_window_s=10.0))
    attacker = Phone("1002", password="guess", source=ATTACKER)
    for i in range(20):
        assert fail(ep, attacker, i * 3.0) == 401  # at most 4 in any 10 s
    refused = of_type(events(ep), RegistrationRefused)
    assert not any(r.lockout_until for r in refused)


def test_a_username_is_locked_out_whatever_the_source_but_its_own_phone_is_heard() -> None:
    ep = endpoint()
    phone = Phone("1001")
    assert register(ep, phone, 0.0, expires=600).status == 200
    events(ep)
    for i in range(5):  # a distributed guess: every attempt from its own address
        assert fail(ep, Phone("1001", "guess", source=(f"127.0.1.{i}", 5060)), 1.0 + i) == 401
    refused = of_type(events(ep), RegistrationRefused)
    assert refused[-1].locked == "user"
    # The right password from a new address: refused while the user is locked out.
    assert (
        send(ep, Phone("1001", source=OTHER), Phone("1001", source=OTHER).request(), 7).status
        == 403
    )
    # Other users are not affected; the registered phone refreshes from where it registered.
    assert register(ep, Phone("1002", source=OTHER), 8.0).status == 200
    again = phone.digest.authorize_again(REALM, "REGISTER", R_URI)
    assert send(ep, phone, phone.request(expires=600, authorization=again), 9.0).status == 200


def test_failure_tables_stay_bounded_under_a_flood_of_addresses_and_users() -> None:
    reg = registrar(max_tracked=50)
    ep = endpoint(reg)
    for i in range(1000):
        source = (f"10.{i // 250}.{i % 250}.1", 5060)
        assert fail(ep, Phone(f"u{i}", "guess", source=source), i / 1000) in (401, 403)
    sources, users = reg.tracked()
    assert sources <= 50 and users <= 50


def test_a_flood_cannot_evict_a_lockout_and_overflowing_keys_are_limited_together() -> None:
    reg = registrar(max_tracked=8)
    ep = endpoint(reg)
    attacker = Phone("1002", password="guess", source=ATTACKER)
    for i in range(5):
        fail(ep, attacker, i / 100)
    for i in range(7):  # fill the table with locked addresses
        filler = Phone(f"f{i}", "guess", source=(f"10.0.0.{i}", 5060))
        assert [fail(ep, filler, 1 + i / 10 + j / 100) for j in range(5)] == [401] * 5
    assert reg.tracked()[0] == 8
    # New addresses (and new usernames) that find no room share one overflow entry.
    newcomers = [Phone(f"x{i}", "guess", source=(f"10.1.0.{i}", 5060)) for i in range(20)]
    new_keys = [fail(ep, phone, 2.0) for phone in newcomers]
    assert new_keys[:5] == [401] * 5 and set(new_keys[5:]) == {403}
    assert reg.tracked()[0] <= 8 + 1  # the overflow entry is the one extra
    right = Phone("1001", source=ATTACKER)
    assert send(ep, right, right.request(), 3.0).status == 403  # still locked


# --- secrets -------------------------------------------------------------------------------


def test_no_secret_in_any_repr() -> None:
    ep = endpoint()
    phone = Phone()
    ok = register(ep, phone, 0.0)
    wrong = Phone("1002", password="guess", source=OTHER)
    fail(ep, wrong, 1.0)
    texts = [repr(e) for e in events(ep)]
    texts += [repr(ep.registrar), *(repr(c) for c in CREDENTIALS.values())]
    binding = ep.registrar.binding_for("1001", 1.0) if ep.registrar else None
    assert isinstance(binding, Binding)
    texts.append(repr(binding))
    secrets = [*PASSWORDS.values(), "guess", SECRET.decode()]
    secrets += [c.ha1_md5 for c in CREDENTIALS.values()]
    secrets += [c.ha1_sha256 for c in CREDENTIALS.values()]
    assert ok.status == 200 and texts
    for text in texts:
        for secret in secrets:
            assert secret not in text, text
