"""SIP messages: parsing, serialisation, headers, responses, stream framing."""

from __future__ import annotations

import pytest

from dialer.sip.errors import SipParseError
from dialer.sip.headers import Headers
from dialer.sip.message import (
    Request,
    Response,
    StreamParser,
    build_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
    reason_phrase,
)
from dialer.sip.screening import Accept, Drop, Reject, refuse_method, screen
from dialer.sip.uri import CSeq, SipUri

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def invite_bytes(body: bytes = SDP, *, extra: str = "") -> bytes:
    head = (
        "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@127.0.0.1>;tag=a1\r\n'
        "To: <sip:bob@127.0.0.1>\r\n"
        "Call-ID: c1@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:alice@127.0.0.1:5060>\r\n"
        "Content-Type: application/sdp\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def ok_bytes(body: bytes = SDP) -> bytes:
    head = (
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport=5060;received=127.0.0.1\r\n"
        'From: "Alice" <sip:alice@127.0.0.1>;tag=a1\r\n'
        "To: <sip:bob@127.0.0.1>;tag=b2\r\n"
        "Call-ID: c1@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:bob@127.0.0.1:5080>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class TestHeaders:
    def test_compact_forms_and_case_are_one_name(self) -> None:
        headers = Headers(
            [
                ("v", "SIP/2.0/UDP a"),
                ("i", "x@y"),
                ("call-id", "dup"),
                ("WWW-AUTHENTICATE", "Digest realm=r"),
            ]
        )
        assert headers.items() == [
            ("Via", "SIP/2.0/UDP a"),
            ("Call-ID", "x@y"),
            ("Call-ID", "dup"),
            ("WWW-Authenticate", "Digest realm=r"),
        ]
        assert headers.get("VIA") == headers.get("v") == "SIP/2.0/UDP a"
        assert headers.get_all("Call-Id") == ["x@y", "dup"]
        assert "i" in headers and "Contact" not in headers and 3 not in headers

    def test_unknown_names_keep_their_spelling(self) -> None:
        headers = Headers([("X-Campaign-ID", "7")])
        assert headers.items() == [("X-Campaign-ID", "7")]
        assert headers.get("x-campaign-id") == "7"

    def test_get_all_splits_lists_respecting_quotes_and_angles(self) -> None:
        headers = Headers()
        headers.add("Contact", '"Doe, John" <sip:a@b;x=1>, <sip:c,d@e>;q=0.5,sip:f@g')
        headers.add("m", "<sip:h@i>")
        headers.add("Supported", "")
        headers.add("Require", "100rel , timer,,")
        assert headers.get_all("Contact") == [
            '"Doe, John" <sip:a@b;x=1>',
            "<sip:c,d@e>;q=0.5",
            "sip:f@g",
            "<sip:h@i>",
        ]
        assert headers.get_all("Supported") == []
        assert headers.get_all("Require") == ["100rel", "timer"]

    def test_get_all_handles_escaped_quotes(self) -> None:
        headers = Headers([("Contact", r'"a \", b" <sip:a@b>, <sip:c@d>')])
        assert headers.get_all("Contact") == [r'"a \", b" <sip:a@b>', "<sip:c@d>"]

    def test_auth_and_unknown_headers_never_split(self) -> None:
        challenge = 'Digest realm="a,b", nonce="n", qop="auth,auth-int", algorithm=MD5'
        headers = Headers(
            [
                ("WWW-Authenticate", challenge),
                ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
                ("X-List", "a, b"),
            ]
        )
        assert headers.get_all("WWW-Authenticate") == [challenge]
        assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
        assert headers.get_all("X-List") == ["a, b"]
        assert headers.get_fields("Contact") == []

    def test_set_replaces_all_at_first_position(self) -> None:
        headers = Headers([("X-A", "1"), ("Via", "v1"), ("X-B", "2"), ("Via", "v2")])
        headers.set("via", "v3")
        assert headers.items() == [("X-A", "1"), ("Via", "v3"), ("X-B", "2")]
        headers.set("c", "text/plain")
        assert headers.items()[-1] == ("Content-Type", "text/plain")

    def test_prepend_goes_before_the_first_of_its_name(self) -> None:
        headers = Headers([("Max-Forwards", "70"), ("Via", "v1")])
        headers.prepend("Via", "v0")
        headers.prepend("Route", "<sip:p>")
        assert headers.items() == [
            ("Route", "<sip:p>"),
            ("Max-Forwards", "70"),
            ("Via", "v0"),
            ("Via", "v1"),
        ]

    def test_remove_copy_len_eq(self) -> None:
        headers = Headers([("Via", "v1"), ("To", "t"), ("v", "v2")])
        copy = headers.copy()
        headers.remove("VIA")
        assert headers.items() == [("To", "t")]
        assert len(copy) == 3 and copy != headers
        assert Headers([("t", "x")]) == Headers([("To", "x")])

    def test_line_breaks_in_values_are_refused(self) -> None:
        with pytest.raises(ValueError):
            Headers().add("Subject", "hi\r\nVia: injected")
        with pytest.raises(ValueError):
            Headers().set("Subject", "a\nb")


class TestParse:
    def test_typical_invite(self) -> None:
        request = parse_message(invite_bytes())
        assert isinstance(request, Request)
        assert (request.method, request.uri, request.body) == (
            "INVITE",
            "sip:bob@127.0.0.1:5080",
            SDP,
        )
        assert request.call_id == "c1@127.0.0.1"
        assert request.cseq == CSeq(1, "INVITE")
        assert request.from_.display == "Alice" and request.from_.tag == "a1"
        assert request.to.tag is None
        assert request.top_via.branch == "z9hG4bK1" and request.top_via.params["rport"] is None
        assert request.max_forwards == 70
        assert request.content_type == "application/sdp"
        assert isinstance(request.contacts[0].uri, SipUri)

    def test_typical_200(self) -> None:
        response = parse_message(ok_bytes())
        assert isinstance(response, Response)
        assert (response.status, response.reason, response.body) == (200, "OK", SDP)
        assert response.to.tag == "b2"
        assert response.top_via.params["received"] == "127.0.0.1"

    def test_round_trip(self) -> None:
        request = Request(
            "OPTIONS",
            "sip:bob@[2001:db8::1]:5080;transport=udp",
            Headers(
                [
                    ("Via", "SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bKx"),
                    ("From", "<sip:alice@example.com>;tag=1"),
                    ("To", "<sip:bob@example.com>"),
                    ("Call-ID", "abc"),
                    ("CSeq", "7 OPTIONS"),
                    ("Subject", "Grüße \u2013 ok"),
                ]
            ),
            b"\x00binary\xff",
        )
        parsed = parse_message(request.to_bytes())
        assert isinstance(parsed, Request)
        request.headers.add("Content-Length", "8")
        assert parsed == request

    def test_to_bytes_sets_content_length(self) -> None:
        response = Response(
            200, "OK", Headers([("CSeq", "1 BYE"), ("l", "999"), ("l", "5")]), b"hello"
        )
        assert response.to_bytes() == (
            b"SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\nContent-Length: 5\r\n\r\nhello"
        )
        assert Response(180, "Ringing").to_bytes() == (
            b"SIP/2.0 180 Ringing\r\nContent-Length: 0\r\n\r\n"
        )

    def test_folding_and_odd_spacing(self) -> None:
        data = (
            b"OPTIONS sip:a@b SIP/2.0\r\nVia  : SIP/2.0/UDP\r\n host;branch=z9hG4bK1\r\n"
            b"Subject:\r\n\tfirst line\r\n  second line\r\nTO :\r\n sip:a@b ; tag = 9\r\n"
            b"Empty:\r\nl: 0\r\n\r\n"
        )
        request = parse_message(data)
        assert request.headers.get("Via") == "SIP/2.0/UDP host;branch=z9hG4bK1"
        assert request.headers.get("Subject") == "first line second line"
        assert request.to.tag == "9"
        assert request.headers.get("Empty") == ""

    def test_utf8_reason_and_8bit_octets_round_trip(self) -> None:
        reason = "Нет"
        data = (
            f"SIP/2.0 486 {reason}\r\n".encode()
            + b"X-Raw: \xff\xfe caf\xc3\xa9\r\n"
            + b"Content-Length: 0\r\n\r\n"
        )
        response = parse_message(data)
        assert isinstance(response, Response)
        assert response.reason == reason
        assert response.headers.get("X-Raw") == "\udcff\udcfe café"
        assert response.to_bytes() == data

    def test_body_kept_byte_exact_with_nuls(self) -> None:
        body = b"--b\r\nContent-Type: text/plain\r\n\r\n\x00\x01\xff\r\n\r\n--b--\r\n"
        request = parse_message(invite_bytes(body))
        assert request.body == body

    def test_trailing_octets_beyond_content_length_ignored(self) -> None:
        request = parse_message(invite_bytes() + b"garbage after the message")
        assert request.body == SDP

    def test_missing_content_length_takes_the_rest(self) -> None:
        data = b"BYE sip:a@b SIP/2.0\r\nCSeq: 2 BYE\r\n\r\nrest of datagram"
        assert parse_message(data).body == b"rest of datagram"

    def test_identical_duplicate_content_lengths_are_fine(self) -> None:
        data = b"BYE sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nhi"
        assert parse_message(data).body == b"hi"

    def test_leading_crlf_and_bare_lf_tolerated(self) -> None:
        data = b"\r\n\r\nBYE sip:a@b SIP/2.0\nCSeq: 2 BYE\nContent-Length: 2\n\nhi"
        request = parse_message(data)
        assert isinstance(request, Request)
        assert (request.cseq, request.body) == (CSeq(2, "BYE"), b"hi")

    def test_extra_spaces_in_request_line_tolerated(self) -> None:
        request = parse_message(b"BYE  sip:a@b  SIP/2.0  \r\nl: 0\r\n\r\n")
        assert isinstance(request, Request)
        assert request.uri == "sip:a@b"

    def test_empty_reason_phrase(self) -> None:
        for line in (b"SIP/2.0 100 ", b"SIP/2.0 100"):
            response = parse_message(line + b"\r\nl: 0\r\n\r\n")
            assert isinstance(response, Response)
            assert (response.status, response.reason) == (100, "")

    @pytest.mark.parametrize(
        ("data", "status"),
        [
            (b"", 400),
            (b"\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: 0\r\n", 400),
            (b"BYE sip:a@b SIP/3.0\r\nl: 0\r\n\r\n", 505),
            (b"BYE sip:a@b HTTP/1.1\r\nl: 0\r\n\r\n", 400),
            (b"BYE sip:a@b\r\nl: 0\r\n\r\n", 400),
            (b"BYE sip:a@b; lr SIP/2.0\r\nl: 0\r\n\r\n", 400),
            (b"B(E sip:a@b SIP/2.0\r\nl: 0\r\n\r\n", 400),
            (b"BYE <sip:a@b> SIP/2.0\r\nl: 0\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\n folded first\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: -1\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: +1\r\n\r\nx", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: ten\r\n\r\n", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nxx", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nxx", 400),
            (b"BYE sip:a@b SIP/2.0\r\nl: " + b"9" * 5000 + b"\r\n\r\n", 400),
            (b"SIP/2.0 4294967301 big\r\nl: 0\r\n\r\n", None),
            (b"SIP/2.0 099 low\r\nl: 0\r\n\r\n", None),
            (b"SIP/2.0 700 high\r\nl: 0\r\n\r\n", None),
            (b"SIP/2.0 2x0 odd\r\nl: 0\r\n\r\n", None),
            (b"SIP/3.0 200 OK\r\nl: 0\r\n\r\n", None),
            (b"SIP/2.0 200 OK\r\nl: 5\r\n\r\nxx", None),
            (b"SIP/2.0 200 OK\r\nno colon\r\n\r\n", None),
            (b"SIP/2.0 200 OK\r\nl: 0\r\n", None),
        ],
    )
    def test_malformed(self, data: bytes, status: int | None) -> None:
        with pytest.raises(SipParseError) as caught:
            parse_message(data)
        assert caught.value.status == status

    def test_properties_raise_parse_errors(self) -> None:
        request = parse_message(
            b"BYE sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\n"
            b"Content-Type: nonsense\r\nCall-ID: a b\r\nl: 0\r\n\r\n"
        )
        assert isinstance(request, Request)
        for prop in (
            "cseq",
            "from_",
            "to",
            "vias",
            "top_via",
            "max_forwards",
            "content_type",
            "call_id",
        ):
            with pytest.raises(SipParseError):
                getattr(request, prop)
        assert request.contacts == []


class TestBuildResponse:
    def request(self) -> Request:
        data = invite_bytes(
            extra=(
                "Via: SIP/2.0/UDP proxy1;branch=z9hG4bKp1, SIP/2.0/TCP proxy2;branch=z9hG4bKp2\r\n"
                "Record-Route: <sip:proxy1;lr>\r\nTimestamp: 54\r\n"
            )
        )
        request = parse_message(data)
        assert isinstance(request, Request)
        return request

    def test_copies_the_rfc_3261_8_2_6_headers(self) -> None:
        response = build_response(self.request(), 486, to_tag="t9")
        assert (response.status, response.reason, response.body) == (486, "Busy Here", b"")
        assert response.headers.items() == [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport"),
            ("Via", "SIP/2.0/UDP proxy1;branch=z9hG4bKp1, SIP/2.0/TCP proxy2;branch=z9hG4bKp2"),
            ("From", '"Alice" <sip:alice@127.0.0.1>;tag=a1'),
            ("To", "<sip:bob@127.0.0.1>;tag=t9"),
            ("Call-ID", "c1@127.0.0.1"),
            ("CSeq", "1 INVITE"),
            ("Content-Length", "0"),
        ]
        assert [via.host for via in response.vias] == ["127.0.0.1", "proxy1", "proxy2"]

    def test_existing_to_tag_kept_and_custom_reason(self) -> None:
        request = self.request()
        request.headers.set("To", "sip:bob@127.0.0.1;tag=old")
        response = build_response(request, 200, "Fine", to_tag="new")
        assert response.headers.get("To") == "sip:bob@127.0.0.1;tag=old"
        assert response.reason == "Fine"

    def test_no_to_tag_unless_asked(self) -> None:
        assert build_response(self.request(), 180).headers.get("To") == "<sip:bob@127.0.0.1>"

    def test_timestamp_echoed_in_100_only(self) -> None:
        assert build_response(self.request(), 100).headers.get("Timestamp") == "54"
        assert "Timestamp" not in build_response(self.request(), 180).headers

    def test_malformed_to_echoed_verbatim(self) -> None:
        request = self.request()
        request.headers.set("To", '"unterminated <sip:bob@b>')
        response = build_response(request, 400, to_tag="x")
        assert response.headers.get("To") == '"unterminated <sip:bob@b>'

    def test_response_serialises_and_parses_back(self) -> None:
        response = build_response(self.request(), 603, to_tag="z")
        parsed = parse_message(response.to_bytes())
        assert parsed == response

    def test_reason_phrases_and_bad_status(self) -> None:
        assert reason_phrase(481) == "Call/Transaction Does Not Exist"
        assert reason_phrase(499) == "Client Error"
        with pytest.raises(ValueError):
            build_response(self.request(), 99)


class TestStreamParser:
    def test_concatenated_messages_and_keepalives(self) -> None:
        parser = StreamParser()
        stream = b"\r\n\r\n" + invite_bytes() + b"\r\n" + ok_bytes() + b"\r\n\r\n"
        messages = parser.feed(stream)
        assert [type(m) for m in messages] == [Request, Response]
        assert messages[0].body == SDP and messages[1].body == SDP
        assert parser.feed(b"") == []

    def test_split_at_every_octet(self) -> None:
        parser = StreamParser()
        stream = invite_bytes() + ok_bytes(b"")
        messages = []
        for i in range(len(stream)):
            messages += parser.feed(stream[i : i + 1])
        assert [m.to_bytes() for m in messages] == [
            parse_message(invite_bytes()).to_bytes(),
            parse_message(ok_bytes(b"")).to_bytes(),
        ]

    def test_frames_are_raw_octets(self) -> None:
        parser = StreamParser()
        assert parser.feed_frames(invite_bytes()[:50]) == []
        assert parser.feed_frames(invite_bytes()[50:] + b"\r\n") == [invite_bytes()]

    def test_missing_content_length_is_fatal(self) -> None:
        parser = StreamParser()
        with pytest.raises(SipParseError):
            parser.feed(b"BYE sip:a@b SIP/2.0\r\nCSeq: 1 BYE\r\n\r\n")
        with pytest.raises(SipParseError):
            parser.feed(ok_bytes())

    def test_oversize_is_fatal(self) -> None:
        with pytest.raises(SipParseError):
            StreamParser(max_head=100).feed(b"X" * 101)
        with pytest.raises(SipParseError):
            StreamParser(max_body=10).feed(b"BYE sip:a@b SIP/2.0\r\nl: 11\r\n\r\n")

    def test_malformed_but_framed_message_is_skipped_after_raising(self) -> None:
        parser = StreamParser()
        bad = b"BYE sip:a@b SIP/9.0\r\nContent-Length: 0\r\n\r\n"
        with pytest.raises(SipParseError) as caught:
            parser.feed(invite_bytes() + bad + ok_bytes())
        assert caught.value.status == 505
        messages = parser.feed(b"")
        assert [type(m) for m in messages] == [Request, Response]  # nothing lost


def test_identifiers() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith("z9hG4bK") for b in branches)
    assert new_tag() != new_tag()
    call_id = new_call_id("127.0.0.1")
    assert call_id.endswith("@127.0.0.1") and len(call_id) > 20


class TestScreen:
    """screen() rules beyond the RFC 4475 messages (those are in tests/conformance)."""

    def test_typical_messages_accepted(self) -> None:
        for data in (invite_bytes(), ok_bytes()):
            verdict = screen(data)
            assert isinstance(verdict, Accept)
            assert verdict.message == parse_message(data)

    def test_keepalives_dropped(self) -> None:
        assert screen(b"\r\n\r\n") == Drop("keep-alive")
        assert isinstance(screen(b"\x00\x01\x00\x00garbage"), Drop)

    def test_bad_ack_is_never_answered(self) -> None:
        ack = invite_bytes().replace(b"INVITE", b"ACK").replace(b"Max-Forwards: 70", b"To: x")
        assert isinstance(screen(ack), Drop)
        ack = invite_bytes(b"").replace(b"INVITE", b"ACK")
        ack = ack.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
        assert isinstance(screen(ack), Drop)

    def test_ack_with_unknown_body_type_is_the_dialogs_business(self) -> None:
        ack = invite_bytes(b"x").replace(b"INVITE", b"ACK").replace(b"application/sdp", b"a/b")
        assert isinstance(screen(ack), Accept)

    def test_reject_has_a_to_tag_and_the_extra_header(self) -> None:
        verdict = screen(
            invite_bytes(extra="Require: 100rel, timer\r\n"),
            supported_extensions=frozenset({"timer"}),
        )
        assert isinstance(verdict, Reject) and verdict.response is not None
        assert verdict.status == 420
        assert verdict.response.headers.get("Unsupported") == "100rel"
        assert verdict.response.to.tag is not None

    def test_unsupported_methods_left_to_the_endpoint(self) -> None:
        data = (
            invite_bytes(extra="Require: foo\r\n")
            .replace(b"INVITE", b"SUBSCRIBE")
            .replace(b"sip:bob@127.0.0.1:5080", b"tel:+15550100")
        )
        verdict = screen(data)
        assert isinstance(verdict, Accept) and isinstance(verdict.message, Request)
        assert refuse_method(verdict.message).status == 405
        response = refuse_method(verdict.message, frozenset({"INVITE", "BYE"}))
        assert response.headers.get("Allow") == "BYE, INVITE"
        verdict = screen(data.replace(b"SUBSCRIBE", b"FROB"))
        assert isinstance(verdict, Accept) and isinstance(verdict.message, Request)
        assert refuse_method(verdict.message).status == 501

    @pytest.mark.parametrize(
        ("data", "status"),
        [
            (invite_bytes().replace(b"Content-Type: application/sdp\r\n", b""), 400),
            (invite_bytes().replace(b"application/sdp", b"sdp"), 400),
            (invite_bytes().replace(b"application/sdp", b"Application/SDP;charset=x"), 0),
            (invite_bytes(extra="Content-Encoding: gzip\r\n"), 415),
            (invite_bytes(extra="Content-Length: 135\r\n"), 400),
            (invite_bytes(extra="Max-Forwards: 70\r\n"), 400),
            (invite_bytes().replace(b"Max-Forwards: 70", b"Max-Forwards: x"), 400),
            (invite_bytes().replace(b"From: ", b"X-From: "), 400),
            (invite_bytes().replace(b"Via: ", b"Via: SIP/2.0/UDP host;branch=x, ;;"), 400),
            (invite_bytes().replace(b"sip:bob@127.0.0.1:5080", b"sips:bob@h;;"), 400),
            (invite_bytes().replace(b"sip:bob@127.0.0.1:5080", b"sip:bob@h?x=y"), 400),
            (invite_bytes().replace(b"sip:bob@127.0.0.1:5080", b"tel:+15550100"), 416),
        ],
    )
    def test_request_rules(self, data: bytes, status: int) -> None:
        verdict = screen(data)
        if status == 0:
            assert isinstance(verdict, Accept)
        else:
            assert isinstance(verdict, Reject), verdict
            assert verdict.status == status
            assert verdict.response is not None and verdict.response.status == status

    def test_encoding_reject_lists_identity(self) -> None:
        verdict = screen(invite_bytes(extra="Content-Encoding: gzip\r\n"))
        assert isinstance(verdict, Reject) and verdict.response is not None
        assert verdict.response.headers.get("Accept-Encoding") == "identity"

    def test_no_via_means_nothing_to_answer(self) -> None:
        data = invite_bytes().replace(
            b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport\r\n", b""
        )
        assert isinstance(screen(data), Drop)

    @pytest.mark.parametrize(
        "data",
        [
            ok_bytes().replace(b"Call-ID", b"X-Call-ID"),
            ok_bytes().replace(b"CSeq: 1 INVITE", b"CSeq: x INVITE"),
            ok_bytes().replace(b"To: ", b"To: <sip:a@b>\r\nTo: "),
            ok_bytes().replace(b"Via: ", b"Via: SIP/2.0/UDP proxy;branch=z9hG4bKp\r\nVia: "),
            ok_bytes().replace(b"200 OK", b"200"),  # fine: empty reason, still accepted below
        ],
    )
    def test_bad_responses_dropped(self, data: bytes) -> None:
        verdict = screen(data)
        if data.startswith(b"SIP/2.0 200\r\n"):
            assert isinstance(verdict, Accept)
        else:
            assert isinstance(verdict, Drop), verdict
