"""RFC 3261 section 17 transactions driven by a fake clock (a float passed as `now`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.sip.headers import Headers
from dialer.sip.message import Request, Response, build_response, parse_message
from dialer.sip.transaction import (
    INVITE_CLIENT_TRANSITIONS,
    INVITE_SERVER_TRANSITIONS,
    NON_INVITE_CLIENT_TRANSITIONS,
    NON_INVITE_SERVER_TRANSITIONS,
    Deliver,
    InviteClientState,
    InviteClientTransaction,
    InviteServerState,
    InviteServerTransaction,
    NonInviteClientState,
    NonInviteClientTransaction,
    NonInviteServerState,
    NonInviteServerTransaction,
    Output,
    Send,
    Terminated,
    TimedOut,
    TimerConfig,
    TransactionError,
    ack_2xx_key,
    build_cancel,
    cancelled_invite_key,
    client_key_for_request,
    client_key_for_response,
    new_server_transaction,
    server_key_for_request,
)

RFC4475 = Path(__file__).resolve().parents[1] / "conformance" / "rfc4475"
Tx = (
    InviteClientTransaction
    | NonInviteClientTransaction
    | InviteServerTransaction
    | NonInviteServerTransaction
)


def make_request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bK-tx-1",
    cseq: int = 1,
    to_tag: str | None = None,
    from_tag: str = "from-1",
    call_id: str = "call-1@127.0.0.1",
    sent_by: str = "127.0.0.1:5070",
    transport: str = "UDP",
    uri: str = "sip:bob@127.0.0.1",
    routes: tuple[str, ...] = (),
) -> Request:
    via = f"SIP/2.0/{transport} {sent_by}" + (f";branch={branch}" if branch is not None else "")
    headers = Headers([("Via", via), ("Via", "SIP/2.0/UDP 127.0.0.9;branch=z9hG4bK-lower")])
    for route in routes:
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", f"<sip:alice@127.0.0.1>;tag={from_tag}")
    headers.add("To", "<sip:bob@127.0.0.1>" + (f";tag={to_tag}" if to_tag else ""))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    return Request(method, uri, headers, b"v=0\r\n" if method == "INVITE" else b"")


def respond(request: Request, status: int, to_tag: str = "to-1") -> Response:
    return build_response(request, status, to_tag=None if status == 100 else to_tag)


def ack_for(invite: Request, response: Response, branch: str | None) -> Request:
    """An ACK as the peer builds it; `branch` = the INVITE's for non-2xx, a new one for 2xx."""
    return make_request("ACK", branch=branch, cseq=invite.cseq.seq, to_tag=response.to.tag)


def run_clock(tx: Tx, until: float) -> list[tuple[float, Output]]:
    """Advance the fake clock from deadline to deadline, collecting what fires."""
    fired: list[tuple[float, Output]] = []
    while (deadline := tx.next_deadline()) is not None and deadline <= until:
        fired += [(deadline, output) for output in tx.on_timer(deadline)]
    return fired


def send_times(fired: list[tuple[float, Output]]) -> list[float]:
    return [at for at, output in fired if isinstance(output, Send)]


# --- INVITE client ---------------------------------------------------------------------------


def test_invite_client_retransmits_with_doubling_then_timer_b() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    assert tx.start(0.0) == [Send(invite)]
    assert tx.state is InviteClientState.CALLING
    fired = run_clock(tx, 100.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(output == Send(invite) for _, output in fired if isinstance(output, Send))
    assert [o for _, o in fired if not isinstance(o, Send)] == [
        TimedOut("timer B: no response to INVITE"),
        Terminated(),
    ]
    assert fired[-1][0] == 32.0
    assert tx.terminated and tx.next_deadline() is None


def test_invite_client_timers_scale_with_t1() -> None:
    tx = InviteClientTransaction(make_request(), reliable=False, timers=TimerConfig(t1=0.25))
    tx.start(10.0)
    fired = run_clock(tx, 100.0)
    assert send_times(fired) == [10.25, 10.75, 11.75, 13.75, 17.75, 25.75]
    assert fired[-1] == (26.0, Terminated())


def test_invite_client_late_timer_call_sends_once() -> None:
    tx = InviteClientTransaction(make_request(), reliable=False)
    tx.start(0.0)
    assert len(tx.on_timer(10.0)) == 1  # no burst of the missed retransmissions
    assert tx.next_deadline() == 11.0


def test_provisional_stops_timer_a_and_b() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start(0.0)
    assert tx.on_timer(0.5) == [Send(invite)]
    trying = respond(invite, 100)
    assert tx.receive_response(trying, 0.7) == [Deliver(trying)]
    assert tx.state is InviteClientState.PROCEEDING
    assert tx.next_deadline() is None
    assert run_clock(tx, 1000.0) == []
    ringing = respond(invite, 180)
    assert tx.receive_response(ringing, 5.0) == [Deliver(ringing)]


def test_486_without_100_acks_delivers_once_and_absorbs_retransmissions() -> None:
    invite = make_request(routes=("<sip:proxy1.local;lr>", "<sip:proxy2.local;lr>"))
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start(0.0)
    busy = respond(invite, 486, to_tag="busy-tag")
    outputs = tx.receive_response(busy, 0.2)
    assert len(outputs) == 2 and outputs[1] == Deliver(busy)
    assert isinstance(outputs[0], Send) and isinstance(outputs[0].message, Request)
    ack = outputs[0].message
    assert tx.state is InviteClientState.COMPLETED

    # 17.1.1.3
    assert (ack.method, ack.uri) == ("ACK", invite.uri)
    assert ack.headers.get_all("Via") == [invite.headers.get_all("Via")[0]]
    assert ack.top_via.branch == invite.top_via.branch
    assert ack.call_id == invite.call_id
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.headers.get("To") == busy.headers.get("To") and ack.to.tag == "busy-tag"
    assert (ack.cseq.seq, ack.cseq.method) == (1, "ACK")
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    assert ack.body == b""

    # Retransmitted 486: ACK again, nothing more for the TU; timer A is gone.
    assert tx.receive_response(busy, 1.0) == [Send(ack)]
    assert tx.receive_response(respond(invite, 180), 1.1) == []
    assert tx.next_deadline() == pytest.approx(32.2)
    assert tx.on_timer(32.1) == []
    assert tx.on_timer(32.2) == [Terminated()]
    assert tx.receive_response(busy, 40.0) == []


@pytest.mark.parametrize("after_provisional", [False, True])
def test_2xx_delivers_and_terminates(after_provisional: bool) -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start(0.0)
    if after_provisional:
        tx.receive_response(respond(invite, 183), 0.1)
    ok = respond(invite, 200)
    assert tx.receive_response(ok, 0.3) == [Deliver(ok), Terminated()]
    assert tx.terminated and tx.next_deadline() is None
    assert tx.receive_response(ok, 0.8) == []  # 2xx retransmissions are the dialog's
    assert tx.on_timer(100.0) == []


def test_invite_client_on_reliable_transport() -> None:
    invite = make_request(transport="TCP")
    tx = InviteClientTransaction(invite, reliable=True)
    tx.start(0.0)
    assert tx.next_deadline() == 32.0  # only timer B
    busy = respond(invite, 600)
    outputs = tx.receive_response(busy, 2.0)
    assert [type(o) for o in outputs] == [Send, Deliver, Terminated]  # timer D is zero

    timing_out = InviteClientTransaction(invite, reliable=True)
    timing_out.start(0.0)
    assert [o for _, o in run_clock(timing_out, 100.0)] == [
        TimedOut("timer B: no response to INVITE"),
        Terminated(),
    ]


def test_invite_client_ignores_responses_of_other_transactions() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start(0.0)
    other_branch = respond(make_request(branch="z9hG4bK-other"), 486)
    cancel_response = respond(build_cancel(invite), 200)
    assert tx.receive_response(other_branch, 0.1) == []
    assert tx.receive_response(cancel_response, 0.1) == []
    assert tx.state is InviteClientState.CALLING


def test_invite_client_ignores_malformed_responses() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start(0.0)
    broken = respond(invite, 486)
    broken.headers.remove("CSeq")
    assert tx.receive_response(broken, 0.1) == []
    odd = respond(invite, 486)
    odd.status = 799
    assert tx.receive_response(odd, 0.1) == []
    assert tx.state is InviteClientState.CALLING


def test_start_twice_and_wrong_method_raise() -> None:
    tx = InviteClientTransaction(make_request(), reliable=False)
    tx.start(0.0)
    with pytest.raises(TransactionError):
        tx.start(1.0)
    with pytest.raises(TransactionError):
        InviteClientTransaction(make_request("BYE"), reliable=False)
    with pytest.raises(TransactionError):
        NonInviteClientTransaction(make_request("INVITE"), reliable=False)


# --- non-INVITE client -----------------------------------------------------------------------


def test_non_invite_client_timer_e_doubles_to_t2_then_timer_f() -> None:
    bye = make_request("BYE", to_tag="to-1")
    tx = NonInviteClientTransaction(bye, reliable=False)
    assert tx.start(0.0) == [Send(bye)]
    fired = run_clock(tx, 100.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-2:] == [
        (32.0, TimedOut("timer F: no final response to BYE")),
        (32.0, Terminated()),
    ]


def test_non_invite_client_proceeding_retransmits_every_t2() -> None:
    options = make_request("OPTIONS")
    tx = NonInviteClientTransaction(options, reliable=False)
    tx.start(0.0)
    assert tx.on_timer(0.5) == [Send(options)]  # Trying: next E after 2*T1
    trying = respond(options, 100)
    assert tx.receive_response(trying, 0.7) == [Deliver(trying)]
    assert tx.state is NonInviteClientState.PROCEEDING
    fired = run_clock(tx, 14.0)
    assert send_times(fired) == [1.5, 5.5, 9.5, 13.5]


def test_non_invite_client_final_response_then_timer_k() -> None:
    register = make_request("REGISTER", uri="sip:127.0.0.1")
    tx = NonInviteClientTransaction(register, reliable=False)
    tx.start(0.0)
    challenge = respond(register, 401)
    assert tx.receive_response(challenge, 0.25) == [Deliver(challenge)]
    assert tx.state is NonInviteClientState.COMPLETED
    assert tx.receive_response(challenge, 0.75) == []  # absorbed, no request retransmission
    assert tx.next_deadline() == 5.25  # T4
    assert run_clock(tx, 100.0) == [(5.25, Terminated())]


def test_non_invite_client_on_reliable_transport() -> None:
    bye = make_request("BYE", transport="TCP", to_tag="t")
    tx = NonInviteClientTransaction(bye, reliable=True)
    tx.start(0.0)
    assert tx.next_deadline() == 32.0  # no timer E
    ok = respond(bye, 200)
    assert tx.receive_response(ok, 0.1) == [Deliver(ok), Terminated()]  # timer K is zero


# --- INVITE server ---------------------------------------------------------------------------


def test_invite_server_resends_last_response_to_retransmissions() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    assert tx.start(0.0) == [Deliver(invite)]
    assert tx.receive_request(invite, 0.1) == []  # nothing sent yet: absorbed
    ringing = respond(invite, 180)
    assert tx.send_response(ringing, 0.2) == [Send(ringing)]
    assert tx.receive_request(invite, 0.6) == [Send(ringing)]
    assert tx.state is InviteServerState.PROCEEDING


def test_invite_server_non2xx_timer_g_then_timer_h() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start(0.0)
    busy = respond(invite, 486)
    assert tx.send_response(busy, 0.0) == [Send(busy)]
    assert tx.state is InviteServerState.COMPLETED
    assert tx.receive_request(invite, 0.2) == [Send(busy)]
    fired = run_clock(tx, 100.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-2:] == [
        (32.0, TimedOut("timer H: no ACK for final response")),
        (32.0, Terminated()),
    ]


def test_invite_server_ack_confirms_then_timer_i() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start(0.0)
    busy = respond(invite, 486)
    tx.send_response(busy, 0.0)
    ack = ack_for(invite, busy, branch=invite.top_via.branch)
    assert tx.on_timer(0.5) == [Send(busy)]
    assert tx.receive_request(ack, 0.75) == []  # the ACK for non-2xx stays in the transaction
    assert tx.state is InviteServerState.CONFIRMED
    assert tx.receive_request(ack, 0.875) == []
    assert tx.receive_request(invite, 1.0) == []  # no more retransmissions of the 486
    assert run_clock(tx, 100.0) == [(5.75, Terminated())]


def test_invite_server_ack_from_another_transaction_is_ignored() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start(0.0)
    busy = respond(invite, 486)
    tx.send_response(busy, 0.0)
    assert tx.receive_request(ack_for(invite, busy, branch="z9hG4bK-stranger"), 0.7) == []
    assert tx.state is InviteServerState.COMPLETED


def test_invite_server_on_reliable_transport() -> None:
    invite = make_request(transport="TCP")
    tx = InviteServerTransaction(invite, reliable=True)
    tx.start(0.0)
    forbidden = respond(invite, 403)
    tx.send_response(forbidden, 0.0)
    assert tx.next_deadline() == 32.0  # timer H only, no G
    ack = ack_for(invite, forbidden, branch=invite.top_via.branch)
    assert tx.receive_request(ack, 0.1) == [Terminated()]  # timer I is zero


def test_invite_server_2xx_accepted_retransmits_until_ack() -> None:
    invite = make_request(to_tag="dialog-local", cseq=7)  # a re-INVITE from the far end
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start(0.0)
    ok = respond(invite, 200, to_tag="dialog-local")
    assert tx.send_response(ok, 0.0) == [Send(ok)]
    assert tx.state is InviteServerState.ACCEPTED
    assert tx.receive_request(invite, 0.1) == [Send(ok)]
    assert send_times(run_clock(tx, 4.0)) == [0.5, 1.5, 3.5]

    ack = ack_for(invite, ok, branch="z9hG4bK-ack-2xx")  # a new transaction's branch
    assert tx.ack_key == ack_2xx_key(ack)
    assert server_key_for_request(ack) != tx.key
    assert tx.receive_request(ack, 4.2) == [Deliver(ack)]
    assert tx.receive_request(ack, 4.3) == []  # duplicate ACK absorbed
    assert run_clock(tx, 100.0) == [(32.0, Terminated())]  # timer L, no more 2xx


def test_invite_server_2xx_without_ack_times_out_on_timer_l() -> None:
    invite = make_request(transport="TCP")
    tx = InviteServerTransaction(invite, reliable=True)
    tx.start(0.0)
    ok = respond(invite, 200)
    tx.send_response(ok, 0.0)
    fired = run_clock(tx, 100.0)
    # 2xx retransmission is end to end (13.3.1.4), so it happens on TCP too.
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-2:] == [(32.0, TimedOut("timer L: no ACK for 2xx")), (32.0, Terminated())]


def test_invite_server_rejects_illegal_tu_calls() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    with pytest.raises(TransactionError):
        tx.send_response(respond(invite, 200), 0.0)  # before start
    tx.start(0.0)
    tx.send_response(respond(invite, 486), 0.0)
    for status in (180, 200, 500):
        with pytest.raises(TransactionError):
            tx.send_response(respond(invite, status), 0.1)
    with pytest.raises(TransactionError):
        InviteServerTransaction(make_request("OPTIONS"), reliable=False)


# --- non-INVITE server -----------------------------------------------------------------------


def test_non_invite_server_final_response_then_timer_j() -> None:
    bye = make_request("BYE", to_tag="t")
    tx = NonInviteServerTransaction(bye, reliable=False)
    assert tx.start(0.0) == [Deliver(bye)]
    assert tx.receive_request(bye, 0.3) == []  # Trying: absorbed
    ok = respond(bye, 200)
    assert tx.send_response(ok, 1.0) == [Send(ok)]
    assert tx.state is NonInviteServerState.COMPLETED
    assert tx.receive_request(bye, 1.5) == [Send(ok)]
    assert tx.receive_request(bye, 20.0) == [Send(ok)]
    assert run_clock(tx, 100.0) == [(33.0, Terminated())]
    with pytest.raises(TransactionError):
        tx.send_response(ok, 40.0)


def test_non_invite_server_proceeding_resends_provisional() -> None:
    register = make_request("REGISTER", uri="sip:127.0.0.1")
    tx = NonInviteServerTransaction(register, reliable=False)
    tx.start(0.0)
    trying = respond(register, 100)
    tx.send_response(trying, 0.0)
    assert tx.state is NonInviteServerState.PROCEEDING
    assert tx.receive_request(register, 0.5) == [Send(trying)]
    assert tx.next_deadline() is None


def test_non_invite_server_on_reliable_transport() -> None:
    options = make_request("OPTIONS", transport="TCP")
    tx = NonInviteServerTransaction(options, reliable=True)
    tx.start(0.0)
    ok = respond(options, 200)
    assert tx.send_response(ok, 0.0) == [Send(ok), Terminated()]  # timer J is zero


def test_server_transaction_ignores_other_requests() -> None:
    bye = make_request("BYE", to_tag="t")
    tx = NonInviteServerTransaction(bye, reliable=False)
    tx.start(0.0)
    tx.send_response(respond(bye, 200), 0.0)
    assert tx.receive_request(make_request("BYE", branch="z9hG4bK-x", to_tag="t"), 0.1) == []
    assert tx.receive_request(make_request("BYE", sent_by="127.0.0.2", to_tag="t"), 0.1) == []


# --- keys ------------------------------------------------------------------------------------


def test_client_key_is_branch_and_cseq_method() -> None:
    invite = make_request()
    key = client_key_for_request(invite)
    assert client_key_for_response(respond(invite, 180)) == key
    assert client_key_for_response(respond(make_request(sent_by="127.0.0.5"), 180)) == key
    assert client_key_for_response(respond(build_cancel(invite), 200)) != key
    assert client_key_for_response(respond(make_request(branch="z9hG4bK-2"), 180)) != key


def test_server_key_matching_rfc3261() -> None:
    invite = make_request()
    key = server_key_for_request(invite)
    assert server_key_for_request(make_request()) == key
    ack = ack_for(invite, respond(invite, 486), branch=invite.top_via.branch)
    assert server_key_for_request(ack) == key
    cancel = build_cancel(invite)
    assert server_key_for_request(cancel) != key
    assert cancelled_invite_key(cancel) == key
    # Same branch from another sender is another transaction; sent-by is normalised.
    assert server_key_for_request(make_request(sent_by="127.0.0.2:5070")) != key
    assert server_key_for_request(make_request(sent_by="HOST.example")) == server_key_for_request(
        make_request(sent_by="host.example:5060")
    )
    assert server_key_for_request(make_request("OPTIONS")) != key


def test_server_key_rfc2543_fallback() -> None:
    invite = make_request(branch=None)
    key = server_key_for_request(invite)
    assert key.legacy
    assert server_key_for_request(make_request(branch=None)) == key
    ack = ack_for(invite, respond(invite, 486), branch=None)
    assert server_key_for_request(ack) == key  # To tag added by our response does not matter
    assert cancelled_invite_key(make_request("CANCEL", branch=None)) == key
    for different in (
        make_request(branch=None, cseq=2),
        make_request(branch=None, from_tag="other"),
        make_request(branch=None, call_id="call-2@127.0.0.1"),
        make_request(branch=None, uri="sip:carol@127.0.0.1"),
        make_request(branch=None, sent_by="127.0.0.3"),
        make_request(branch="rfc2543-branch"),
    ):
        assert server_key_for_request(different) != key
    bye = make_request("BYE", branch=None, to_tag="a")
    assert server_key_for_request(make_request("BYE", branch=None, to_tag="b")) != (
        server_key_for_request(bye)
    )


def test_bare_magic_cookie_uses_the_rfc2543_fallback() -> None:
    first = make_request("OPTIONS", branch="z9hG4bK")
    second = make_request("OPTIONS", branch="z9hG4bK", call_id="another@127.0.0.1")
    assert server_key_for_request(first).legacy
    assert server_key_for_request(first) != server_key_for_request(second)


@pytest.mark.parametrize("name", ["inv2543.dat", "badbranch.dat"])
def test_rfc4475_requests_without_a_3261_branch(name: str) -> None:
    request = parse_message((RFC4475 / name).read_bytes())
    assert isinstance(request, Request)
    tx = new_server_transaction(request, reliable=False)
    assert tx.key == server_key_for_request(request) and tx.key.legacy
    assert tx.start(0.0) == [Deliver(request)]
    final = build_response(request, 403, to_tag="x")
    tx.send_response(final, 0.0)
    again = parse_message((RFC4475 / name).read_bytes())
    assert isinstance(again, Request)
    assert tx.receive_request(again, 0.1) == [Send(final)]


# --- CANCEL ----------------------------------------------------------------------------------


def test_build_cancel_per_section_9_1() -> None:
    invite = make_request(routes=("<sip:proxy.local;lr>",))
    cancel = build_cancel(invite)
    assert (cancel.method, cancel.uri) == ("CANCEL", invite.uri)
    assert cancel.headers.get_all("Via") == [invite.headers.get_all("Via")[0]]
    for name in ("Call-ID", "From", "To"):
        assert cancel.headers.get(name) == invite.headers.get(name)
    assert cancel.to.tag is None
    assert (cancel.cseq.seq, cancel.cseq.method) == (invite.cseq.seq, "CANCEL")
    assert cancel.headers.get_all("Route") == ["<sip:proxy.local;lr>"]
    assert cancel.headers.get("Max-Forwards") == "70"
    assert cancel.body == b""
    with pytest.raises(TransactionError):
        build_cancel(make_request("BYE"))


# --- the tables themselves -------------------------------------------------------------------


def test_terminated_is_final_in_every_table() -> None:
    tables = (
        INVITE_CLIENT_TRANSITIONS,
        NON_INVITE_CLIENT_TRANSITIONS,
        INVITE_SERVER_TRANSITIONS,
        NON_INVITE_SERVER_TRANSITIONS,
    )
    for table in tables:
        assert not [state for state, _ in table if state.name == "TERMINATED"]
        assert [target for target in table.values() if target.name == "TERMINATED"]
