"""SipEndpoint with a fake clock: bytes in, bytes out, and the door policy."""

from __future__ import annotations

from pathlib import Path

from dialer.sip.actions import Destination
from dialer.sip.call import CallAnswered, CallEnded, CallParams, OutboundCall, Outcome
from dialer.sip.endpoint import EndpointSettings, InputRefused, SipEndpoint, UserEvent
from dialer.sip.keepalive import KeepaliveParams, OptionsKeepalive, TrunkAlive, TrunkDown
from dialer.sip.message import Request, Response, build_response, parse_message
from dialer.sip.registration import (
    Registered,
    RegistrationClient,
    RegistrationFailed,
    RegistrationParams,
)
from tests.sip.test_registrar import Phone, registrar

TRUNK = Destination("127.0.0.1", 5060, "udp")
TRUNK_ADDR = ("127.0.0.1", 5060)
STRANGER = ("127.0.0.66", 5060)
TORTURE = Path(__file__).resolve().parents[1] / "conformance" / "rfc4475"


def endpoint() -> SipEndpoint:
    return SipEndpoint(
        EndpointSettings(
            host="127.0.0.1",
            ports={"udp": 5070},
            is_trusted=lambda host: host == "127.0.0.1",
            bad_input_log_interval_s=60.0,
        )
    )


def sent(ep: SipEndpoint) -> list[Request | Response]:
    return [parse_message(t.data) for t in ep.take_transmissions()]


def user_events(ep: SipEndpoint) -> list[object]:
    return [e.event for e in ep.take_events() if isinstance(e, UserEvent)]


def place(ep: SipEndpoint, now: float = 0.0) -> tuple[OutboundCall, Request]:
    call = OutboundCall(
        CallParams(
            target="sip:bob@127.0.0.1:5060",
            destination=TRUNK,
            from_uri="sip:dialer@127.0.0.1",
            contact="sip:dialer@127.0.0.1:5070",
            sdp_offer=b"v=0\r\n",
        )
    )
    ep.start_call(call, call.start(now), now)
    (invite,) = sent(ep)
    assert isinstance(invite, Request)
    return call, invite


def answer(invite: Request, status: int, tag: str = "bob") -> bytes:
    response = build_response(invite, status, to_tag=tag if status > 100 else None)
    if 200 <= status < 300:
        response.headers.add("Contact", "<sip:bob@127.0.0.1:5060>")
        response.headers.add("Content-Type", "application/sdp")
        response.body = b"v=0\r\n"
    return response.to_bytes()


def test_invite_gets_a_via_and_is_retransmitted_on_timer_a() -> None:
    ep = endpoint()
    _, invite = place(ep)
    via = invite.top_via
    assert via.host == "127.0.0.1" and via.port == 5070 and via.branch
    assert via.branch.startswith("z9hG4bK") and "rport" in via.params
    assert ep.next_deadline() == 0.5
    ep.handle_timer(0.5)
    (again,) = sent(ep)
    assert isinstance(again, Request) and again.top_via.branch == via.branch
    assert ep.next_deadline() == 1.5


def test_full_call_over_bytes_answer_ack_and_far_end_bye() -> None:
    ep = endpoint()
    call, invite = place(ep)
    ep.receive(answer(invite, 100), TRUNK_ADDR, "udp", 0.1)
    ep.receive(answer(invite, 200), TRUNK_ADDR, "udp", 1.0)
    (ack,) = sent(ep)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via.branch != invite.top_via.branch  # ACK for 2xx: its own branch
    assert any(isinstance(e, CallAnswered) for e in user_events(ep))
    # The 2xx retransmission (no transaction left) is re-ACKed by the call.
    ep.receive(answer(invite, 200), TRUNK_ADDR, "udp", 1.5)
    (ack_again,) = sent(ep)
    assert isinstance(ack_again, Request) and ack_again.method == "ACK"

    bye = Request("BYE", "sip:dialer@127.0.0.1:5070")
    bye.headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfarbye")
    bye.headers.add("From", "<sip:bob@127.0.0.1:5060>;tag=bob")
    bye.headers.add("To", f"<sip:dialer@127.0.0.1>;tag={call.local_tag}")
    bye.headers.add("Call-ID", call.call_id)
    bye.headers.add("CSeq", "1 BYE")
    bye.headers.add("Max-Forwards", "70")
    ep.receive(bye.to_bytes(), TRUNK_ADDR, "udp", 5.0)
    (ok,) = sent(ep)
    assert isinstance(ok, Response) and ok.status == 200 and ok.cseq.method == "BYE"
    (ended,) = user_events(ep)
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.COMPLETED
    # A retransmitted BYE is answered by the server transaction, not the call again.
    ep.receive(bye.to_bytes(), TRUNK_ADDR, "udp", 5.2)
    (ok_again,) = sent(ep)
    assert isinstance(ok_again, Response) and ok_again.status == 200
    assert user_events(ep) == []


def test_486_is_acked_by_the_transaction_and_the_call_ends_busy() -> None:
    ep = endpoint()
    _, invite = place(ep)
    ep.receive(answer(invite, 486), TRUNK_ADDR, "udp", 0.2)
    (ack,) = sent(ep)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via.branch == invite.top_via.branch  # non-2xx ACK: same transaction
    (ended,) = user_events(ep)
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.BUSY


def test_no_response_at_all_times_out_after_64_t1() -> None:
    ep = endpoint()
    place(ep)
    now = 0.0
    retransmissions = 0
    while (deadline := ep.next_deadline()) is not None and deadline <= 40.0:
        now = deadline
        ep.handle_timer(now)
        retransmissions += len(sent(ep))
    assert retransmissions == 6  # 0.5, 1.5, 3.5, 7.5, 15.5, 31.5
    ended = [e for e in user_events(ep) if isinstance(e, CallEnded)]
    assert len(ended) == 1 and ended[0].sip_code == 408 and now == 32.0


def test_invite_from_a_stranger_gets_403_and_never_a_request() -> None:
    ep = endpoint()
    raw = (TORTURE / "wsinv.dat").read_bytes()
    ep.receive(raw, STRANGER, "udp", 0.0)
    out = sent(ep)
    assert len(out) == 1 and isinstance(out[0], Response) and out[0].status == 403
    assert ep.counters.forbidden_invites == 1
    refused = [e for e in ep.take_events() if isinstance(e, InputRefused)]
    assert refused and refused[0].log


def test_malformed_input_is_answered_or_dropped_and_logged_once_per_source() -> None:
    ep = endpoint()
    _, invite = place(ep)
    garbage = [
        (TORTURE / "badvers.dat").read_bytes(),
        (TORTURE / "ncl.dat").read_bytes(),
        b"\x00\xff not sip at all",
        (TORTURE / "bigcode.dat").read_bytes(),
    ]
    for i, data in enumerate(garbage):
        ep.receive(data, STRANGER, "udp", 1.0 + i)
    responses = [m for m in sent(ep) if isinstance(m, Response)]
    assert {r.status for r in responses} <= {400, 505}
    assert any(r.status == 505 for r in responses)
    refused = [e for e in ep.take_events() if isinstance(e, InputRefused)]
    assert len(refused) == 4
    assert [e.log for e in refused] == [True, False, False, False]
    # The call in progress is undisturbed: its answer still goes through.
    ep.receive(answer(invite, 200), TRUNK_ADDR, "udp", 6.0)
    assert any(isinstance(e, CallAnswered) for e in user_events(ep))


def test_options_is_answered_and_unknown_dialogs_get_481() -> None:
    ep = endpoint()
    options = parse_message((TORTURE / "wsinv.dat").read_bytes())
    assert isinstance(options, Request)
    options.method = "OPTIONS"
    options.headers.set("CSeq", "1 OPTIONS")
    options.headers.set("To", "<sip:dialer@127.0.0.1>")
    options.body = b""
    options.headers.remove("Content-Type")
    ep.receive(options.to_bytes(), STRANGER, "udp", 0.0)
    (ok,) = sent(ep)
    assert isinstance(ok, Response) and ok.status == 200
    assert "INVITE" in (ok.headers.get("Allow") or "")
    bye = parse_message(options.to_bytes())
    assert isinstance(bye, Request)
    bye.method = "BYE"
    bye.headers.set("CSeq", "2 BYE")
    bye.headers.set("To", "<sip:dialer@127.0.0.1>;tag=nosuch")
    bye.headers.set("Via", "SIP/2.0/UDP 127.0.0.66;branch=z9hG4bKother")
    ep.receive(bye.to_bytes(), STRANGER, "udp", 0.1)
    (missing,) = sent(ep)
    assert isinstance(missing, Response) and missing.status == 481


def test_trusted_peer_invite_is_not_a_door_either() -> None:
    ep = endpoint()
    raw = (TORTURE / "wsinv.dat").read_bytes()
    ep.receive(raw, TRUNK_ADDR, "udp", 0.0)
    out = sent(ep)
    assert [m.status for m in out if isinstance(m, Response)] == [480]
    assert not [m for m in out if isinstance(m, Request)]


def registration(ep: SipEndpoint, now: float = 0.0) -> RegistrationClient:
    client = RegistrationClient(
        RegistrationParams(
            trunk="default",
            registrar="sip:127.0.0.1",
            aor="sip:alice@127.0.0.1",
            contact="sip:alice@127.0.0.1:5070",
            destination=TRUNK,
            username="alice",
            password="secret",
            expires_s=120,
        )
    )
    ep.run(client, client.start(now), now)
    return client


def test_register_answers_the_challenge_refreshes_and_retries_after_failure() -> None:
    ep = endpoint()
    client = registration(ep)
    (first,) = sent(ep)
    assert isinstance(first, Request) and first.method == "REGISTER"
    assert first.headers.get("Authorization") is None
    challenge = build_response(first, 401, to_tag="r")
    challenge.headers.add("WWW-Authenticate", 'Digest realm="127.0.0.1", nonce="n1", qop="auth"')
    ep.receive(challenge.to_bytes(), TRUNK_ADDR, "udp", 0.1)
    (second,) = sent(ep)
    assert isinstance(second, Request)
    assert 'username="alice"' in (second.headers.get("Authorization") or "")
    assert second.cseq.seq == first.cseq.seq + 1 and second.call_id == first.call_id
    ok = build_response(second, 200, to_tag="r")
    ok.headers.add("Contact", "<sip:alice@127.0.0.1:5070>;expires=60")
    ep.receive(ok.to_bytes(), TRUNK_ADDR, "udp", 0.2)
    (registered,) = user_events(ep)
    assert isinstance(registered, Registered) and registered.expires_s == 60
    assert client.next_deadline() == 30.2  # refresh at half the granted lifetime
    ep.handle_timer(30.2)
    (refresh,) = sent(ep)
    assert isinstance(refresh, Request) and refresh.method == "REGISTER"
    assert "nc=00000002" in (refresh.headers.get("Authorization") or "")  # nonce reused
    refused = build_response(refresh, 403, to_tag="r")
    ep.receive(refused.to_bytes(), TRUNK_ADDR, "udp", 30.3)
    (failed,) = user_events(ep)
    assert isinstance(failed, RegistrationFailed) and failed.sip_code == 403
    assert failed.retry_at == 35.3
    ep.handle_timer(35.3)
    (retry,) = sent(ep)
    assert isinstance(retry, Request) and retry.method == "REGISTER"


def test_options_keepalive_measures_rtt_and_notices_a_silent_trunk() -> None:
    ep = endpoint()
    probe = OptionsKeepalive(
        KeepaliveParams(
            trunk="default",
            target="sip:127.0.0.1",
            from_uri="sip:dialer@127.0.0.1",
            destination=TRUNK,
            interval_s=30.0,
        )
    )
    ep.run(probe, probe.start(0.0), 0.0)
    (options,) = sent(ep)
    assert isinstance(options, Request) and options.method == "OPTIONS"
    ep.receive(build_response(options, 405).to_bytes(), TRUNK_ADDR, "udp", 0.025)
    (alive,) = user_events(ep)
    assert isinstance(alive, TrunkAlive) and abs(alive.rtt_s - 0.025) < 1e-9
    now = 30.025
    ep.handle_timer(now)
    assert len(sent(ep)) == 1
    while (deadline := ep.next_deadline()) is not None and deadline < now + 33:
        ep.handle_timer(deadline)
        sent(ep)
    down = [e for e in user_events(ep) if isinstance(e, TrunkDown)]
    assert len(down) == 1 and probe.alive is False


def far_request(call: OutboundCall, method: str, seq: int, branch: str, body: bytes = b"") -> bytes:
    request = Request(method, "sip:dialer@127.0.0.1:5070")
    request.headers.add("Via", f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}")
    request.headers.add("From", "<sip:bob@127.0.0.1:5060>;tag=bob")
    request.headers.add("To", f"<sip:dialer@127.0.0.1>;tag={call.local_tag}")
    request.headers.add("Call-ID", call.call_id)
    request.headers.add("CSeq", f"{seq} {method}")
    request.headers.add("Max-Forwards", "70")
    request.headers.add("Contact", "<sip:bob@127.0.0.1:5060>")
    if body:
        request.headers.add("Content-Type", "application/sdp")
    request.body = body
    return request.to_bytes()


def test_reinvite_answer_is_retransmitted_until_acked() -> None:
    ep = endpoint()
    call, invite = place(ep)
    call.answer_offer = lambda offer: b"v=0 answer\r\n"
    ep.receive(answer(invite, 200), TRUNK_ADDR, "udp", 1.0)
    sent(ep)
    user_events(ep)
    ep.receive(
        far_request(call, "INVITE", 2, "z9hG4bKhold", b"v=0 hold\r\n"), TRUNK_ADDR, "udp", 2.0
    )
    (ok,) = sent(ep)
    assert isinstance(ok, Response) and ok.status == 200 and ok.body == b"v=0 answer\r\n"
    ep.handle_timer(2.5)
    (resent,) = sent(ep)
    assert isinstance(resent, Response) and resent.status == 200
    ep.receive(far_request(call, "ACK", 2, "z9hG4bKack2"), TRUNK_ADDR, "udp", 2.6)
    assert sent(ep) == []
    while (deadline := ep.next_deadline()) is not None and deadline < 40.0:
        ep.handle_timer(deadline)
        assert [m for m in sent(ep) if isinstance(m, Response)] == []
    assert not call.ended


def test_unacked_reinvite_answer_ends_the_call_with_bye() -> None:
    ep = endpoint()
    call, invite = place(ep)
    call.answer_offer = lambda offer: b"v=0 answer\r\n"
    ep.receive(answer(invite, 200), TRUNK_ADDR, "udp", 1.0)
    sent(ep)
    ep.receive(far_request(call, "INVITE", 2, "z9hG4bKhold2", b"v=0\r\n"), TRUNK_ADDR, "udp", 2.0)
    requests: list[Request] = []
    while (deadline := ep.next_deadline()) is not None and deadline < 40.0:
        ep.handle_timer(deadline)
        requests += [m for m in sent(ep) if isinstance(m, Request)]
    assert [r.method for r in requests][:1] == ["BYE"]


# --- REGISTER: the agents' registrar ------------------------------------------------------


def test_register_without_a_registrar_is_403() -> None:
    ep = endpoint()
    phone = Phone()
    ep.receive(phone.request(expires=60), phone.source, "udp", 0.0)
    (answer,) = sent(ep)
    assert isinstance(answer, Response) and answer.status == 403


def test_register_reaches_the_registrar_once_and_its_events_are_user_events() -> None:
    reg = registrar()
    ep = SipEndpoint(EndpointSettings(host="127.0.0.1", ports={"udp": 5070}), registrar=reg)
    phone = Phone()
    first = phone.request(expires=60)
    ep.receive(first, phone.source, "udp", 0.0)
    ep.receive(first, phone.source, "udp", 0.5)  # a retransmission: the transaction answers
    challenges = sent(ep)
    assert [m.status for m in challenges if isinstance(m, Response)] == [401, 401]
    assert reg.counters.challenges == 1
    challenge = challenges[0]
    assert isinstance(challenge, Response)
    ep.receive(phone.request(expires=60, authorization=phone.answer(challenge)), phone.source,
               "udp", 1.0)  # fmt: skip
    (ok,) = sent(ep)
    assert isinstance(ok, Response) and ok.status == 200
    assert ok.headers.get("Server") == "dialer"
    (event,) = ep.take_events()
    assert isinstance(event, UserEvent) and event.user is reg
    # A tagged REGISTER is no dialog of ours: 481, and the registrar never sees it.
    tagged = phone.request(expires=60).replace(
        b"To: <sip:1001@127.0.0.1>", b"To: <sip:1001@127.0.0.1>;tag=x"
    )
    ep.receive(tagged, phone.source, "udp", 2.0)
    (missing,) = sent(ep)
    assert isinstance(missing, Response) and missing.status == 481
    assert reg.counters.challenges == 1
