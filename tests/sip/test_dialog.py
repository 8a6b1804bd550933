"""Dialog: route set, remote target and CSeq handling (RFC 3261 12)."""

from __future__ import annotations

import pytest

from dialer.sip.dialog import Dialog, DialogError
from dialer.sip.message import Request, build_response, new_request


def invite() -> Request:
    request = new_request(
        "INVITE",
        "sip:bob@carrier.test",
        from_="<sip:dialer@carrier.test>;tag=ours",
        to="<sip:bob@carrier.test>",
        call_id="c1",
        seq=7,
    )
    request.headers.prepend("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx")
    return request


def answered(*record_route: str, contact: str | None = "<sip:bob@192.0.2.9>") -> Dialog:
    ok = build_response(invite(), 200, to_tag="theirs")
    for value in record_route:
        ok.headers.add("Record-Route", value)
    if contact:
        ok.headers.add("Contact", contact)
    return Dialog.from_response(invite(), ok)


def test_loose_routes_keep_the_target_in_the_request_uri() -> None:
    dialog = answered("<sip:p2.test;lr>", "<sip:p1.test;lr>")
    bye = dialog.request("BYE")
    assert bye.uri == "sip:bob@192.0.2.9"
    assert bye.headers.get_all("Route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert bye.cseq.seq == 8 and bye.to.tag == "theirs" and bye.from_.tag == "ours"
    assert dialog.next_hop().host == "p1.test"


def test_a_strict_router_goes_in_the_request_uri_and_the_target_last_in_route() -> None:
    dialog = answered("<sip:p1.test>")
    bye = dialog.request("BYE")
    assert bye.uri == "sip:p1.test"
    assert bye.headers.get_all("Route") == ["<sip:bob@192.0.2.9>"]


def test_ack_reuses_the_invite_cseq_and_its_credentials() -> None:
    request = invite()
    request.headers.add("Proxy-Authorization", 'Digest username="u", response="r"')
    dialog = answered()
    ack = dialog.ack_for_2xx(request)
    assert (ack.cseq.seq, ack.cseq.method) == (7, "ACK")
    assert ack.headers.get("Proxy-Authorization") == 'Digest username="u", response="r"'
    assert dialog.request("BYE").cseq.seq == 8  # the ACK took no new number


def test_a_2xx_without_contact_or_tag_makes_no_dialog() -> None:
    with pytest.raises(DialogError, match="Contact"):
        answered(contact=None)
    untagged = build_response(invite(), 200)
    untagged.headers.add("Contact", "<sip:bob@192.0.2.9>")
    with pytest.raises(DialogError, match="To tag"):
        Dialog.from_response(invite(), untagged)


def test_remote_requests_must_move_cseq_forward() -> None:
    dialog = answered()
    first = new_request(
        "INFO",
        "sip:dialer@127.0.0.1",
        from_="<sip:bob@x>;tag=theirs",
        to="<sip:dialer@x>;tag=ours",
        call_id="c1",
        seq=3,
    )
    assert dialog.accept_remote_request(first) is None
    assert dialog.accept_remote_request(first) == 500
    reinvite = new_request(
        "INVITE",
        "sip:dialer@127.0.0.1",
        from_="<sip:bob@x>;tag=theirs",
        to="<sip:dialer@x>;tag=ours",
        call_id="c1",
        seq=4,
    )
    reinvite.headers.add("Contact", "<sip:bob@198.51.100.1:5062>")
    assert dialog.accept_remote_request(reinvite) is None
    assert dialog.remote_target == "sip:bob@198.51.100.1:5062"
