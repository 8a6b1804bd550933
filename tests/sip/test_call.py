"""OutboundCall, driven directly: responses in, actions out, a fake clock."""

from __future__ import annotations

from dialer.sip.actions import Destination, Notify, Respond, SendStateless, StartTransaction
from dialer.sip.auth import DigestChallenge, DigestServer
from dialer.sip.call import (
    CallAnswered,
    CallEnded,
    CallParams,
    CallRinging,
    CallState,
    MediaAnswered,
    MediaChanged,
    OutboundCall,
    Outcome,
)
from dialer.sip.headers import Headers
from dialer.sip.message import Request, Response, build_response, new_branch

TRUNK = Destination("127.0.0.1", 5060, "udp")
OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
ANSWER = OFFER.replace(b"1 1", b"2 2")


def new_call(**overrides: object) -> OutboundCall:
    params = dict(
        target="sip:+15551234@carrier.test",
        destination=TRUNK,
        from_uri="sip:dialer@carrier.test",
        contact="sip:dialer@127.0.0.1:5070",
        sdp_offer=OFFER,
        ring_timeout_s=30.0,
        max_duration_s=600.0,
        cancel_timeout_s=32.0,
    )
    params.update(overrides)
    return OutboundCall(CallParams(**params))  # type: ignore[arg-type]


def sent(actions: list[object]) -> list[Request]:
    """Requests the call asked to send; each gets a Via as the endpoint would add."""
    out = []
    for action in actions:
        if isinstance(action, StartTransaction | SendStateless) and isinstance(
            action.message if isinstance(action, SendStateless) else action.request, Request
        ):
            request = action.request if isinstance(action, StartTransaction) else action.message
            assert isinstance(request, Request)
            if not request.headers.get("Via"):
                request.headers.prepend(
                    "Via", f"SIP/2.0/UDP 127.0.0.1:5070;branch={new_branch()};rport"
                )
            out.append(request)
    return out


def events(actions: list[object]) -> list[object]:
    return [a.event for a in actions if isinstance(a, Notify)]


def reply(
    request: Request,
    status: int,
    *,
    tag: str | None = "callee",
    body: bytes = b"",
    contact: str | None = "<sip:callee@192.0.2.9:5080>",
    record_route: list[str] | None = None,
    extra: dict[str, str] | None = None,
) -> Response:
    response = build_response(request, status, to_tag=tag)
    if contact and 100 < status < 300:
        response.headers.add("Contact", contact)
    for value in record_route or []:
        response.headers.add("Record-Route", value)
    for name, value in (extra or {}).items():
        response.headers.add(name, value)
    if body:
        response.headers.add("Content-Type", "application/sdp")
        response.body = body
    return response


def answered_call() -> tuple[OutboundCall, Request, list[object]]:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    call.on_response(reply(invite, 100, tag=None), 0.05)
    call.on_response(reply(invite, 180), 1.0)
    actions = call.on_response(
        reply(invite, 200, body=ANSWER, record_route=["<sip:p2.test;lr>", "<sip:p1.test;lr>"]), 3.0
    )
    return call, invite, actions


def test_invite_carries_offer_identity_and_contact() -> None:
    call = new_call(caller_name='Acme "Billing"')
    (invite,) = sent(call.start(0.0))
    assert invite.method == "INVITE"
    assert invite.uri == "sip:+15551234@carrier.test"
    assert invite.cseq.seq == 1 and invite.cseq.method == "INVITE"
    assert invite.from_.tag == call.local_tag
    assert invite.from_.display == 'Acme "Billing"'
    assert invite.to.tag is None
    assert invite.body == OFFER
    assert invite.headers.get("Contact") == "<sip:dialer@127.0.0.1:5070>"
    assert invite.call_id == call.call_id


def test_answer_acks_from_the_dialog_and_bye_follows_the_route_set() -> None:
    call, invite, actions = answered_call()
    assert call.state is CallState.ANSWERED
    (ack,) = sent(actions)
    assert ack.method == "ACK"
    assert ack.cseq.seq == invite.cseq.seq and ack.cseq.method == "ACK"
    assert ack.uri == "sip:callee@192.0.2.9:5080"  # remote target from Contact
    assert ack.headers.get_all("Route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert ack.to.tag == "callee"
    destination = next(a for a in actions if isinstance(a, SendStateless)).destination
    assert (destination.host, destination.port) == ("p1.test", 5060)  # first route
    (answered,) = [e for e in events(actions) if isinstance(e, CallAnswered)]
    assert answered.sdp == ANSWER and answered.answered_at == 3.0

    bye_actions = call.hangup(10.0)
    (bye,) = sent(bye_actions)
    assert bye.method == "BYE" and bye.cseq.seq == invite.cseq.seq + 1
    assert bye.headers.get_all("Route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert call.state is CallState.ENDING
    (ended,) = events(call.on_response(reply(bye, 200), 10.1))
    assert isinstance(ended, CallEnded)
    assert ended.outcome is Outcome.COMPLETED
    assert ended.answered_at == 3.0 and ended.final_response_at == 3.0
    assert ended.ended_at == 10.1 and ended.reason == "local hangup"


def test_ringing_is_reported_once_per_status_and_183_carries_early_media() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    first = events(call.on_response(reply(invite, 180), 0.5))
    again = events(call.on_response(reply(invite, 180), 0.6))
    early = events(call.on_response(reply(invite, 183, body=ANSWER), 0.7))
    assert [type(e) for e in first] == [CallRinging] and again == []
    assert isinstance(early[0], CallRinging) and early[0].early_media_sdp == ANSWER


def test_486_without_trying_is_busy() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    (ended,) = events(call.on_response(reply(invite, 486, tag="x"), 0.2))
    assert isinstance(ended, CallEnded)
    assert (ended.outcome, ended.sip_code) == (Outcome.BUSY, 486)
    assert ended.final_response_at == 0.2 and call.ended


def test_final_responses_map_to_outcomes_and_keep_retry_after() -> None:
    expectations = {
        480: Outcome.NO_ANSWER,
        408: Outcome.NO_ANSWER,
        603: Outcome.REJECTED,
        404: Outcome.FAILED,
        503: Outcome.FAILED,
        600: Outcome.BUSY,
    }
    for status, outcome in expectations.items():
        call = new_call()
        (invite,) = sent(call.start(0.0))
        extra = {"Retry-After": "120 (maintenance)"} if status == 503 else None
        (ended,) = events(call.on_response(reply(invite, status, extra=extra), 1.0))
        assert isinstance(ended, CallEnded)
        assert ended.outcome is outcome, status
        assert ended.retry_after_s == (120 if status == 503 else None)


def test_407_is_answered_once_with_digest_and_a_second_refusal_fails() -> None:
    server = DigestServer("carrier.test", b"0123456789abcdef-secret")
    call = new_call(username="alice", password="wonderland")
    (invite,) = sent(call.start(0.0))
    challenge = server.challenge(0.0)
    actions = call.on_response(reply(invite, 407, extra={"Proxy-Authenticate": challenge}), 0.1)
    (second,) = sent(actions)
    assert second.cseq.seq == 2 and second.call_id == invite.call_id
    assert second.from_.tag == invite.from_.tag
    authorization = second.headers.get("Proxy-Authorization")
    assert authorization is not None
    result = server.verify(
        authorization, "INVITE", lambda user: "wonderland" if user == "alice" else None, 0.2
    )
    assert result.ok
    assert DigestChallenge.parse(challenge).realm == "carrier.test"
    (ended,) = events(
        call.on_response(
            reply(second, 407, extra={"Proxy-Authenticate": server.challenge(0.3)}), 0.3
        )
    )
    assert isinstance(ended, CallEnded)
    assert (ended.outcome, ended.sip_code) == (Outcome.FAILED, 407)


def test_401_without_credentials_fails_clearly() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    challenge = 'Digest realm="x", nonce="abc"'
    (ended,) = events(
        call.on_response(reply(invite, 401, extra={"WWW-Authenticate": challenge}), 0.1)
    )
    assert isinstance(ended, CallEnded) and ended.sip_code == 401
    assert "no credentials" in ended.reason


def test_redirect_is_followed_once_and_bounded() -> None:
    call = new_call(trusted_hosts=frozenset({"127.0.0.1"}))
    (invite,) = sent(call.start(0.0))
    moved = reply(invite, 302)
    moved.headers.add("Contact", "<sip:other@127.0.0.1:6000>")
    actions = call.on_response(moved, 0.1)
    (second,) = sent(actions)
    start = next(a for a in actions if isinstance(a, StartTransaction))
    assert second.uri == "sip:other@127.0.0.1:6000" and second.cseq.seq == 2
    assert (start.destination.host, start.destination.port) == ("127.0.0.1", 6000)
    again = reply(second, 302)
    again.headers.add("Contact", "<sip:third@127.0.0.1:6001>")
    (ended,) = events(call.on_response(again, 0.2))
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.FAILED
    assert "redirect limit" in ended.reason


def test_redirect_to_an_untrusted_host_still_goes_through_the_trunk() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    moved = reply(invite, 302)
    moved.headers.add("Contact", "<sip:premium@198.51.100.7>")
    actions = call.on_response(moved, 0.1)
    start = next(a for a in actions if isinstance(a, StartTransaction))
    assert start.destination == TRUNK


def test_ring_timeout_cancels_then_487_is_no_answer() -> None:
    call = new_call(ring_timeout_s=5.0)
    (invite,) = sent(call.start(0.0))
    call.on_response(reply(invite, 180), 0.5)
    assert call.next_deadline() == 5.0
    (cancel,) = sent(call.on_timer(5.0))
    assert cancel.method == "CANCEL" and cancel.cseq.seq == invite.cseq.seq
    assert cancel.headers.get("Via") == invite.headers.get("Via")
    assert call.state is CallState.CANCELLING
    (ended,) = events(call.on_response(reply(invite, 487), 5.1))
    assert isinstance(ended, CallEnded)
    assert (ended.outcome, ended.sip_code) == (Outcome.NO_ANSWER, 487)


def test_no_cancel_before_a_provisional_response() -> None:
    call = new_call(ring_timeout_s=2.0)
    (invite,) = sent(call.start(0.0))
    assert sent(call.on_timer(2.0)) == []
    (cancel,) = sent(call.on_response(reply(invite, 100, tag=None), 2.5))
    assert cancel.method == "CANCEL"


def test_2xx_crossing_cancel_is_acked_then_hung_up() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    call.on_response(reply(invite, 180), 0.2)
    sent(call.hangup(1.0))
    ack, bye = sent(call.on_response(reply(invite, 200, body=ANSWER), 1.05))
    assert (ack.method, bye.method) == ("ACK", "BYE")
    (ended,) = events(call.on_response(reply(bye, 200), 1.1))
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.CANCELLED


def test_cancel_without_487_gives_up_after_the_cancel_timeout() -> None:
    call = new_call(cancel_timeout_s=32.0)
    (invite,) = sent(call.start(0.0))
    call.on_response(reply(invite, 180), 0.1)
    call.hangup(1.0)
    assert call.next_deadline() == 33.0
    (ended,) = events(call.on_timer(33.0))
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.CANCELLED


def test_timer_b_timeout_is_a_failed_408() -> None:
    call = new_call()
    (invite,) = sent(call.start(0.0))
    (ended,) = events(call.on_transaction_timeout(invite, 32.0))
    assert isinstance(ended, CallEnded)
    assert (ended.outcome, ended.sip_code) == (Outcome.FAILED, 408)


def test_far_end_bye_is_answered_and_ends_the_call() -> None:
    call, invite, _ = answered_call()
    bye = far_end_request(call, invite, "BYE", seq=1)
    actions = call.on_request(bye, 7.0)
    (respond,) = [a for a in actions if isinstance(a, Respond)]
    assert respond.response.status == 200
    (ended,) = events(actions)
    assert isinstance(ended, CallEnded) and ended.outcome is Outcome.COMPLETED
    assert ended.reason == "far end hung up"


def test_far_end_reinvite_for_hold_is_answered_without_dropping_the_call() -> None:
    call, invite, _ = answered_call()
    offers: list[bytes] = []
    call.answer_offer = lambda offer: offers.append(offer) or b"v=0 answer"
    hold = far_end_request(call, invite, "INVITE", seq=1, body=b"v=0 a=sendonly")
    hold.headers.add("Contact", "<sip:callee@192.0.2.10:5080>")
    actions = call.on_request(hold, 8.0)
    (respond,) = [a for a in actions if isinstance(a, Respond)]
    assert respond.response.status == 200 and respond.response.body == b"v=0 answer"
    assert respond.response.to.tag == call.local_tag
    assert isinstance(events(actions)[0], MediaChanged)
    assert offers == [b"v=0 a=sendonly"]
    assert call.state is CallState.ANSWERED
    assert call.dialog is not None and call.dialog.remote_target == "sip:callee@192.0.2.10:5080"
    # An out-of-order CSeq is refused (RFC 3261 12.2.2).
    stale = far_end_request(call, invite, "INVITE", seq=1, body=b"v=0")
    (refusal,) = [a for a in call.on_request(stale, 9.0) if isinstance(a, Respond)]
    assert refusal.response.status == 500


def test_retransmitted_2xx_is_reacked_and_another_fork_is_hung_up() -> None:
    call, invite, first = answered_call()
    (ack,) = sent(first)
    (again,) = sent(call.on_response(reply(invite, 200, body=ANSWER), 3.5))
    assert again is ack
    fork_ack, fork_bye = sent(call.on_response(reply(invite, 200, tag="fork2", body=ANSWER), 3.6))
    assert fork_ack.to.tag == "fork2" and fork_bye.method == "BYE"
    assert call.state is CallState.ANSWERED


def test_max_duration_hangs_up() -> None:
    call, _, _ = answered_call()
    assert call.next_deadline() == 603.0
    (bye,) = sent(call.on_timer(603.0))
    assert bye.method == "BYE"


def far_end_request(
    call: OutboundCall, invite: Request, method: str, *, seq: int, body: bytes = b""
) -> Request:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 192.0.2.9:5080;branch={new_branch()}")
    headers.add("From", "<sip:+15551234@carrier.test>;tag=callee")
    headers.add("To", f"<sip:dialer@carrier.test>;tag={call.local_tag}")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{seq} {method}")
    headers.add("Max-Forwards", "70")
    if body:
        headers.add("Content-Type", "application/sdp")
    return Request(method, "sip:dialer@127.0.0.1:5070", headers, body)


def test_response_helper_sanity() -> None:
    # The helpers above must build what a trunk would send, or every test lies.
    call = new_call()
    (invite,) = sent(call.start(0.0))
    ok = reply(invite, 200, body=ANSWER)
    assert ok.to.tag == "callee" and ok.cseq.method == "INVITE"
    assert ok.headers.get("Via") == invite.headers.get("Via")
    assert isinstance(ok, Response)


def test_update_without_sdp_is_a_session_refresh() -> None:
    call, invite, _ = answered_call()
    refresh = far_end_request(call, invite, "UPDATE", seq=1)
    actions = call.on_request(refresh, 900.0)
    (respond,) = [a for a in actions if isinstance(a, Respond)]
    assert respond.response.status == 200 and respond.response.body == b""
    assert events(actions) == [] and call.state is CallState.ANSWERED


def test_offerless_reinvite_gets_our_offer_and_the_ack_carries_the_answer() -> None:
    call, invite, _ = answered_call()
    call.make_offer = lambda: b"v=0 our offer"
    reinvite = far_end_request(call, invite, "INVITE", seq=1)
    (respond,) = [a for a in call.on_request(reinvite, 5.0) if isinstance(a, Respond)]
    assert respond.response.status == 200 and respond.response.body == b"v=0 our offer"
    ack = far_end_request(call, invite, "ACK", seq=1, body=b"v=0 their answer")
    (answer,) = events(call.on_request(ack, 5.1))
    assert isinstance(answer, MediaAnswered) and answer.sdp == b"v=0 their answer"
    # A later plain ACK (a retransmission) carries nothing new.
    assert events(call.on_request(ack, 5.2)) == []


def test_offerless_reinvite_without_an_offerer_is_refused() -> None:
    call, invite, _ = answered_call()
    reinvite = far_end_request(call, invite, "INVITE", seq=1)
    (respond,) = [a for a in call.on_request(reinvite, 5.0) if isinstance(a, Respond)]
    assert respond.response.status == 488 and call.state is CallState.ANSWERED
