"""SIP URI, name-addr, Via and CSeq parsing (dialer.sip.uri)."""

from __future__ import annotations

import pytest

from dialer.sip.errors import SipParseError
from dialer.sip.uri import CSeq, NameAddr, SipUri, Via, parse_uri, unescape


class TestSipUri:
    def test_all_components(self) -> None:
        uri = SipUri.parse("sip:alice:secret@example.com:5070;transport=TCP;lr?Subject=hi&X=1")
        assert uri == SipUri(
            scheme="sip",
            user="alice",
            password="secret",
            host="example.com",
            port=5070,
            params={"transport": "TCP", "lr": None},
            headers={"Subject": "hi", "X": "1"},
        )

    @pytest.mark.parametrize(
        "text",
        [
            "sip:example.com",
            "sips:bob@example.com:5061",
            "sip:+15551234567@gw.example.net;user=phone",
            "sip:alice:pw@10.0.0.1:5060;transport=udp;lr",
            "sip:[2001:db8::10]:5070;maddr=[2001:db8::1]",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "sip:cal%6Cer@host5.example.net;n%61me=v%61lue%25%34%31",
        ],
    )
    def test_round_trip(self, text: str) -> None:
        assert str(SipUri.parse(text)) == text

    def test_param_names_are_lower_cased_values_kept(self) -> None:
        uri = SipUri.parse("sip:a@b;Transport=TCP;LR")
        assert uri.params == {"transport": "TCP", "lr": None}

    def test_scheme_is_case_insensitive(self) -> None:
        assert SipUri.parse("SIP:a@b").scheme == "sip"
        assert SipUri.parse("SiPs:a@b").scheme == "sips"

    def test_ipv6_host_without_brackets_serialised_with_them(self) -> None:
        uri = SipUri.parse("sip:[::1]:5060")
        assert (uri.host, uri.port) == ("::1", 5060)
        assert str(SipUri(host="2001:db8::2", port=5080)) == "sip:[2001:db8::2]:5080"
        assert SipUri.parse("sip:bob@[2001:db8::3]").host == "2001:db8::3"

    def test_user_part_may_hold_semicolons_and_question_marks(self) -> None:
        uri = SipUri.parse("sip:user;par=u%40example.net@example.com")
        assert (uri.user, uri.host, uri.params) == ("user;par=u%40example.net", "example.com", {})
        assert SipUri.parse("sip:a?b;c@host").user == "a?b;c"

    def test_escapes_are_kept_and_unescape_decodes(self) -> None:
        uri = SipUri.parse("sip:%75se%72@example.com")
        assert uri.user == "%75se%72"
        assert unescape(uri.user) == "user"
        assert unescape("null-%00-null") == "null-\x00-null"
        assert unescape("%Z%45") == "%ZE"  # not an escape, left alone
        assert unescape("%ff") == "\udcff"  # undecodable octet, no exception

    def test_other_schemes_are_416(self) -> None:
        with pytest.raises(SipParseError) as caught:
            SipUri.parse("tel:+15551234567")
        assert caught.value.status == 416

    @pytest.mark.parametrize(
        "text",
        [
            "example.com",
            "<sip:a@b>",
            "sip:",
            "sip:@host",
            "sip:a@",
            "sip:a@b:",
            "sip:a@b:70000",
            "sip:a@b:5o60",
            "sip:a@b;",
            "sip:a@b;;lr",
            "sip:a@b;=x",
            "sip:a@b;x=",
            "sip:a b@c",
            "sip:a@[::1",
            "sip:a@[zz]",
            "sip:a@[::1]x",
            "sip:a@b?",
            "sip:a@b?noequals",
            "1sip:a@b",
            "sip:a@ho\x00st",
            "sip:a@b\tc",
        ],
    )
    def test_malformed_is_400(self, text: str) -> None:
        with pytest.raises(SipParseError) as caught:
            SipUri.parse(text)
        assert caught.value.status == 400

    def test_parse_uri_keeps_unknown_schemes_opaque(self) -> None:
        assert parse_uri("isbn:2983792873") == "isbn:2983792873"
        assert parse_uri("tel:+1-555-0100;phone-context=example.com") == (
            "tel:+1-555-0100;phone-context=example.com"
        )
        assert isinstance(parse_uri("sip:a@b"), SipUri)
        with pytest.raises(SipParseError):
            parse_uri("urn: spaced")


class TestNameAddr:
    def test_quoted_display_with_escapes(self) -> None:
        value = NameAddr.parse('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8')
        assert value.display == 'J Rosenberg \\"'
        assert value.tag == "98asjd8"
        assert str(value) == '"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8'

    def test_display_with_controls_round_trips(self) -> None:
        value = NameAddr(SipUri(user="a", host="b"), 'BEL:\x07 NUL:\x00 "q" \\')
        assert str(value) == '"BEL:\\\x07 NUL:\\\x00 \\"q\\" \\\\" <sip:a@b>'
        assert NameAddr.parse(str(value)) == value

    def test_addr_spec_params_belong_to_the_header(self) -> None:
        value = NameAddr.parse("sip:+19725552222@gw1.example.net;unknownparam;tag=x")
        assert isinstance(value.uri, SipUri)
        assert value.uri.params == {}
        assert value.params == {"unknownparam": None, "tag": "x"}
        assert str(value) == "<sip:+19725552222@gw1.example.net>;unknownparam;tag=x"

    def test_name_addr_uri_params_belong_to_the_uri(self) -> None:
        value = NameAddr.parse("<sip:gw1.example.net;unknownparam>;expires=60")
        assert isinstance(value.uri, SipUri)
        assert value.uri.params == {"unknownparam": None}
        assert value.params == {"expires": "60"}

    def test_sws_around_separators_and_quoted_values(self) -> None:
        value = NameAddr.parse('<sip:a@b> ; newparam =  newvalue ;\tflag ; q = 0.33;x="a;b,c"')
        assert value.params == {"newparam": "newvalue", "flag": None, "q": "0.33", "x": '"a;b,c"'}

    def test_unquoted_display_names(self) -> None:
        assert NameAddr.parse("caller<sip:caller@example.com>").display == "caller"
        assert NameAddr.parse("A. Bell <sip:a@b>").display == "A. Bell"
        # Non-token characters, unquoted (RFC 4475 baddn): tolerated, re-quoted on output.
        value = NameAddr.parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43")
        assert value.display == "Bell, Alexander"
        assert str(value) == '"Bell, Alexander" <sip:a.g.bell@example.com>;tag=43'

    def test_spaces_inside_angle_brackets_tolerated(self) -> None:
        value = NameAddr.parse('"Watson, Thomas" < sip:t.watson@example.org >')
        assert isinstance(value.uri, SipUri)
        assert value.uri.host == "example.org"

    def test_unknown_schemes_kept_verbatim(self) -> None:
        assert NameAddr.parse("<http://www.example.com>;tag=3").uri == "http://www.example.com"
        assert NameAddr.parse("isbn:2983792873").uri == "isbn:2983792873"
        assert str(NameAddr.parse("<tel:+15550100>")) == "<tel:+15550100>"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   ",
            '"Mr. J. User <sip:j.user@example.com>',
            '"name" sip:a@b',
            "<sip:a@b",
            "Bell, Alexander",
            "<sip:a@b>;;",
            "<sip:a@b>;tag=1, <sip:c@d>",
            "sip:a@b, sip:c@d",
            'ab"c <sip:a@b>',
            "*",
        ],
    )
    def test_malformed(self, text: str) -> None:
        with pytest.raises(SipParseError):
            NameAddr.parse(text)

    def test_valueless_tag_is_a_flag(self) -> None:
        assert NameAddr.parse("<sip:a@b>;tag").params == {"tag": None}


class TestVia:
    def test_typical(self) -> None:
        via = Via.parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=1.2.3.4")
        assert via == Via(
            "UDP",
            "192.0.2.1",
            5060,
            {"branch": "z9hG4bK776asdhds", "rport": None, "received": "1.2.3.4"},
        )
        assert via.branch == "z9hG4bK776asdhds"
        assert str(via) == (
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=1.2.3.4"
        )

    def test_whitespace_the_grammar_allows(self) -> None:
        via = Via.parse("SIP  / 2.0  / tcp     spindle.example.com   ;   branch  =   z9hG4bK9ikj8")
        assert (via.transport, via.host, via.port, via.branch) == (
            "TCP",
            "spindle.example.com",
            None,
            "z9hG4bK9ikj8",
        )
        assert Via.parse("SIP/2.0/UDP host : 5080").port == 5080

    def test_ipv6_sent_by(self) -> None:
        via = Via.parse("SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx")
        assert (via.host, via.port) == ("2001:db8::9", 5061)
        assert str(via) == "SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx"

    def test_branch_exposed_as_is(self) -> None:
        assert Via.parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").branch == "z9hG4bK"
        assert Via.parse("SIP/2.0/UDP iftgw.example.com").branch is None

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP ",
            "SIP/7.0/UDP host",
            "HTTP/2.0/UDP host",
            "SIP/2.0/UDP host;;",
            "SIP/2.0/UDP host;branch=a b",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP [zz::1]",
            "SIP/2.0/UDP host junk",
            "SIP/2.0 UDP host",
        ],
    )
    def test_malformed(self, text: str) -> None:
        with pytest.raises(SipParseError):
            Via.parse(text)


class TestCSeq:
    def test_parse_and_str(self) -> None:
        assert CSeq.parse("0009 INVITE") == CSeq(9, "INVITE")
        assert CSeq.parse(" 1  BYE ") == CSeq(1, "BYE")
        assert str(CSeq(314159, "INVITE")) == "314159 INVITE"
        assert CSeq.parse(f"{2**31 - 1} ACK").seq == 2**31 - 1

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "INVITE",
            "1",
            "-1 INVITE",
            "1.5 INVITE",
            f"{2**31} INVITE",
            "36893488147419103232 REGISTER",
            "1 INV ITE",
            "1 INVITE;x",
            "\u0661 INVITE",
        ],
    )
    def test_malformed(self, text: str) -> None:
        with pytest.raises(SipParseError):
            CSeq.parse(text)
