"""RFC 4475 torture messages against the message layer: parse_message and screen().

One checker per index.tsv line states precisely what this layer gives for that message. Where
the index allows "reject or tolerate", the choice is made once and commented.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, StreamParser, parse_message
from dialer.sip.screening import Accept, Drop, Reject, Verdict, screen
from dialer.sip.uri import CSeq, NameAddr, SipUri, Via, unescape

HERE = Path(__file__).parent / "rfc4475"
ROWS = [line.split("\t") for line in (HERE / "index.tsv").read_text().splitlines()[1:] if line]
NAMES = [row[0].removesuffix(".dat") for row in ROWS]


def load(name: str) -> bytes:
    return (HERE / f"{name}.dat").read_bytes()


Checker = Callable[[bytes], None]
CHECKS: dict[str, Checker] = {}


def check(name: str) -> Callable[[Checker], Checker]:
    def register(function: Checker) -> Checker:
        CHECKS[name] = function
        return function

    return register


def accepted_request(data: bytes, **options: frozenset[str]) -> Request:
    verdict = screen(data, **options)
    assert isinstance(verdict, Accept), verdict
    assert isinstance(verdict.message, Request)
    return verdict.message


def rejected(data: bytes, status: int, **options: frozenset[str]) -> Response:
    """Assert a Reject with `status` whose response echoes the request and parses back."""
    verdict = screen(data, **options)
    assert isinstance(verdict, Reject), verdict
    assert verdict.status == status
    response = verdict.response
    assert response is not None
    assert response.status == status
    reparsed = parse_message(response.to_bytes())
    assert isinstance(reparsed, Response) and reparsed.status == status
    assert response.to_bytes().count(b"\r\nVia: ") >= 1
    return response


def dropped(data: bytes) -> Drop:
    verdict = screen(data)
    assert isinstance(verdict, Drop), verdict
    return verdict


def sip_uri(value: SipUri | str) -> SipUri:
    assert isinstance(value, SipUri), value
    return value


# --- valid: must parse ------------------------------------------------------------------------


@check("wsinv")
def _wsinv(data: bytes) -> None:
    request = accepted_request(data)
    assert request.method == "INVITE"
    assert sip_uri(SipUri.parse(request.uri)).params == {"unknownparam": None}
    assert request.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert request.cseq == CSeq(9, "INVITE")
    assert request.max_forwards == 68
    assert request.to.tag == "1918181833n"
    assert (request.from_.display, request.from_.tag) == ('J Rosenberg \\"', "98asjd8")
    assert [(v.transport, v.host, v.branch) for v in request.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert request.headers.get("Subject") == ""
    assert request.headers.get("NewFangledHeader") == (
        "newfangled value continued newfangled value"
    )
    assert request.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    route = NameAddr.parse(request.headers.get_all("Route")[0])
    assert sip_uri(route.uri).params == {
        "lr": None,
        "unknownwith": "value",
        "unknown-no-value": None,
    }
    contact = request.contacts[0]
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(request.body) == 150 and request.body.startswith(b"v=0\r\n")


@check("intmeth")
def _intmeth(data: bytes) -> None:
    request = accepted_request(data)  # unknown method: the endpoint answers 405/501
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    assert request.method == method and request.cseq == CSeq(139122385, method)
    uri = SipUri.parse(request.uri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert request.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert request.from_.display == "token1~` token2'+_ token3*%!.-"
    assert request.from_.tag == "_token~1'+`*%!-."
    assert request.from_.params["fromparam''~+*_!.-%"] == '"работающий"'
    assert request.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert request.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert request.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert request.max_forwards == 255


@check("esc01")
def _esc01(data: bytes) -> None:
    request = accepted_request(data)
    uri = SipUri.parse(request.uri)
    assert (unescape(uri.user or ""), uri.host) == ("sips:user@example.com", "example.net")
    assert unescape(sip_uri(request.to.uri).user or "") == "user"
    assert unescape(sip_uri(request.from_.uri).user or "") == "I have spaces"
    contact = sip_uri(request.contacts[0].uri)
    assert unescape(contact.user or "") == "caller"
    assert contact.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    assert request.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert request.content_type == "application/sdp" and len(request.body) == 150


@check("escnull")
def _escnull(data: bytes) -> None:
    request = accepted_request(data)
    assert unescape(sip_uri(request.to.uri).user or "") == "null-\x00-null"
    assert [unescape(sip_uri(c.uri).user or "") for c in request.contacts] == ["\x00", "\x00\x00"]


@check("esc02")
def _esc02(data: bytes) -> None:
    request = accepted_request(data)  # RE%47IST%45R is not REGISTER: methods are not unescaped
    assert request.method == "RE%47IST%45R" and request.cseq.method == "RE%47IST%45R"
    assert request.to.display == "%Z%45"
    assert request.top_via.branch == "z9hG4bK209%fzsnel234"
    assert len(request.contacts) == 2  # C%6Fntact is another header
    assert request.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


@check("lwsdisp")
def _lwsdisp(data: bytes) -> None:
    request = accepted_request(data)
    assert (request.from_.display, request.from_.tag) == ("caller", "323")


@check("longreq")
def _longreq(data: bytes) -> None:
    request = accepted_request(data)
    vias = request.vias
    assert len(vias) == 34
    assert [v.host for v in vias[:3]] == [
        "sip33.example.com",
        "sip32.example.com",
        "sip31.example.com",
    ]
    assert vias[-1].params["received"] == "192.0.2.5"
    assert vias[-1].branch is not None and vias[-1].branch.endswith("longbranchvalue")
    to_uri = sip_uri(request.to.uri)
    assert to_uri.port == 6000 and len(to_uri.params) == 3
    assert request.to.display is not None and request.to.display.endswith("proportion")
    assert request.from_.tag is not None and len(request.from_.tag) == 155
    assert request.call_id.startswith("longreq.onereallyreally")
    assert len(request.body) == 150


@check("dblreq")
def _dblreq(data: bytes) -> None:
    request = accepted_request(data)
    assert request.method == "REGISTER" and request.body == b""
    assert request.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


@check("semiuri")
def _semiuri(data: bytes) -> None:
    request = accepted_request(data)
    uri = SipUri.parse(request.uri)
    assert (uri.user, uri.host, uri.params) == ("user;par=u%40example.net", "example.com", {})
    assert request.headers.get_all("Accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


@check("transports")
def _transports(data: bytes) -> None:
    request = accepted_request(data)
    assert [v.transport for v in request.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert request.call_id == "transports.kijh4akdnaqjkwendsasfdj"


@check("mpart01")
def _mpart01(data: bytes) -> None:
    request = accepted_request(data)  # MESSAGE is not ours: the endpoint answers 405
    assert request.body == data[data.index(b"\r\n\r\n") + 4 :]
    assert len(request.body) == 553 and b"\x00" in request.body
    assert request.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert request.content_type == "multipart/mixed"
    assert request.top_via.params == {
        "branch": "z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-",
        "rport": None,
    }


@check("unreason")
def _unreason(data: bytes) -> None:
    verdict = screen(data)
    assert isinstance(verdict, Accept) and isinstance(verdict.message, Response)
    response = verdict.message
    assert response.status == 200
    assert response.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert len(response.body) == 154 and response.to.tag == "2229"


@check("noreason")
def _noreason(data: bytes) -> None:
    verdict = screen(data)
    assert isinstance(verdict, Accept) and isinstance(verdict.message, Response)
    assert (verdict.message.status, verdict.message.reason) == (100, "")


# --- invalid ----------------------------------------------------------------------------------


@check("badinv01")
def _badinv01(data: bytes) -> None:
    response = rejected(data, 400)
    assert response.headers.get_fields("Via") == ["SIP/2.0/UDP 192.0.2.15;;,;,,"]


@check("clerr")
def _clerr(data: bytes) -> None:
    # Reject, not drop: every header is intact, so the sender learns why (RFC 4475 3.1.2.2).
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.status == 400
    response = rejected(data, 400)
    assert response.headers.get("Call-ID") == "clerr.0ha0isndaksdjweiafasdk3"


@check("ncl")
def _ncl(data: bytes) -> None:
    rejected(data, 400)


@check("scalar02")
def _scalar02(data: bytes) -> None:
    verdict = screen(data)
    assert isinstance(verdict, Reject) and "CSeq" in verdict.reason
    response = rejected(data, 400)
    assert response.headers.get("CSeq") == "36893488147419103232 REGISTER"  # echoed verbatim


@check("scalarlg")
def _scalarlg(data: bytes) -> None:
    dropped(data)


@check("quotbal")
def _quotbal(data: bytes) -> None:
    response = rejected(data, 400)
    assert response.headers.get("To") == '"Mr. J. User <sip:j.user@example.com>'


@check("ltgtruri")
def _ltgtruri(data: bytes) -> None:
    rejected(data, 400)


@check("lwsruri")
def _lwsruri(data: bytes) -> None:
    rejected(data, 400)


@check("lwsstart")
def _lwsstart(data: bytes) -> None:
    # Tolerated: the elements stay strict, and a UAS never forwards the start line.
    assert accepted_request(data).uri == "sip:user@example.com"


@check("trws")
def _trws(data: bytes) -> None:
    # Tolerated for the same reason as lwsstart.
    assert accepted_request(data).uri == "sip:remote-target@example.com"


@check("escruri")
def _escruri(data: bytes) -> None:
    # Rejected: RFC 3261 19.1.1 forbids headers in a Request-URI; ignoring them silently would
    # hide a broken or hostile peer.
    rejected(data, 400)


@check("baddate")
def _baddate(data: bytes) -> None:
    request = accepted_request(data)  # Date is never interpreted
    assert request.headers.get("Date") == "Fri, 01 Jan 2010 16:00:00 EST"


@check("regbadct")
def _regbadct(data: bytes) -> None:
    request = accepted_request(data)
    contact = request.contacts[0]
    assert contact.params == {}
    assert sip_uri(contact.uri).headers == {"Route": "%3Csip:sip.example.com%3E"}


@check("badaspec")
def _badaspec(data: bytes) -> None:
    # Tolerated: spaces just inside <> are unambiguous, and To is only ever echoed.
    request = accepted_request(data)
    assert request.to.display == "Watson, Thomas"
    assert str(request.to.uri) == "sip:t.watson@example.org"


@check("baddn")
def _baddn(data: bytes) -> None:
    # Tolerated: the display name is everything before '<'; nothing depends on it.
    request = accepted_request(data)
    assert request.from_.display == "Bell, Alexander" and request.from_.tag == "43"
    assert request.to.display == "Watson, Thomas"


@check("badvers")
def _badvers(data: bytes) -> None:
    response = rejected(data, 505)
    assert response.reason == "Version Not Supported"
    assert response.to_bytes().startswith(b"SIP/2.0 505 Version Not Supported\r\n")


@check("mismatch01")
def _mismatch01(data: bytes) -> None:
    rejected(data, 400)


@check("mismatch02")
def _mismatch02(data: bytes) -> None:
    rejected(data, 400)


@check("bigcode")
def _bigcode(data: bytes) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.status is None
    dropped(data)


# --- semantic and compatibility ---------------------------------------------------------------


@check("badbranch")
def _badbranch(data: bytes) -> None:
    assert accepted_request(data).top_via.branch == "z9hG4bK"


@check("insuf")
def _insuf(data: bytes) -> None:
    response = rejected(data, 400)
    # Via and CSeq are what the client transaction matches on; the rest cannot be echoed.
    assert response.headers.get("CSeq") == "193942 INVITE"
    assert "To" not in response.headers and "Call-ID" not in response.headers


@check("unkscm")
def _unkscm(data: bytes) -> None:
    rejected(data, 416)


@check("novelsc")
def _novelsc(data: bytes) -> None:
    rejected(data, 416)
    accepted_request(data, supported_schemes=frozenset({"sip", "soap.beep"}))


@check("unksm2")
def _unksm2(data: bytes) -> None:
    request = accepted_request(data)
    assert request.to.uri == "isbn:2983792873"
    assert (request.from_.uri, request.from_.tag) == ("http://www.example.com", "3234233")
    assert request.contacts[0].uri == "name:John_Smith"


@check("bext01")
def _bext01(data: bytes) -> None:
    response = rejected(data, 420)
    # A UAS lists Require only: Proxy-Require is for proxies (RFC 3261 8.2.2.3).
    assert response.headers.get_all("Unsupported") == [
        "nothingSupportsThis",
        "nothingSupportsThisEither",
    ]
    accepted_request(
        data, supported_extensions=frozenset({"nothingSupportsThis", "nothingSupportsThisEither"})
    )


@check("invut")
def _invut(data: bytes) -> None:
    response = rejected(data, 415)
    assert response.headers.get("Accept") == "application/sdp"
    assert response.to.tag is not None  # RFC 3261 8.2.6.2


@check("regaut01")
def _regaut01(data: bytes) -> None:
    request = accepted_request(data)  # the endpoint's auth answers 401/403, never authenticates
    assert request.headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"


@check("multi01")
def _multi01(data: bytes) -> None:
    response = rejected(data, 400)
    assert response.headers.get_fields("Call-ID") == ["multi01.98asdh@192.0.2.1"]


@check("mcl01")
def _mcl01(data: bytes) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.status == 400
    rejected(data, 400)


@check("bcast")
def _bcast(data: bytes) -> None:
    # Parses; the verdict is Drop because a UAC discards responses with two Vias (RFC 3261
    # 8.1.3.3). Nothing is ever sent towards 255.255.255.255 either way.
    response = parse_message(data)
    assert isinstance(response, Response)
    assert response.vias[1].host == "255.255.255.255"
    assert "Via" in dropped(data).reason


@check("zeromf")
def _zeromf(data: bytes) -> None:
    assert accepted_request(data).max_forwards == 0  # a UAS answers normally; 483 is for proxies


@check("cparam01")
def _cparam01(data: bytes) -> None:
    contact = accepted_request(data).contacts[0]
    assert contact.params == {"unknownparam": None}
    assert sip_uri(contact.uri).params == {}


@check("cparam02")
def _cparam02(data: bytes) -> None:
    contact = accepted_request(data).contacts[0]
    assert contact.params == {}
    assert sip_uri(contact.uri).params == {"unknownparam": None}


@check("regescrt")
def _regescrt(data: bytes) -> None:
    contact = sip_uri(accepted_request(data).contacts[0].uri)
    assert contact.headers == {"Route": "%3Csip:sip.example.com%3E"}
    assert unescape(contact.headers["Route"]) == "<sip:sip.example.com>"


@check("sdp01")
def _sdp01(data: bytes) -> None:
    request = accepted_request(data)  # 406 or an answer without a body is endpoint policy
    assert request.headers.get_all("Accept") == ["text/nobodyKnowsThis"]


@check("inv2543")
def _inv2543(data: bytes) -> None:
    request = accepted_request(data)
    assert request.top_via == Via("UDP", "iftgw.example.com")
    assert request.top_via.branch is None
    assert request.max_forwards is None and request.from_.tag is None
    assert request.body == data[data.index(b"\r\n\r\n") + 4 :]  # no Content-Length: the rest


# --- the table --------------------------------------------------------------------------------


def test_index_lists_all_49_messages() -> None:
    assert len(ROWS) == 49
    assert all(len(row) == 4 for row in ROWS)
    assert sorted(f"{name}.dat" for name in NAMES) == sorted(p.name for p in HERE.glob("*.dat"))
    assert set(CHECKS) == set(NAMES)


@pytest.mark.parametrize("row", ROWS, ids=NAMES)
def test_torture_message(row: list[str]) -> None:
    name, _, kind, _ = row
    data = load(name.removesuffix(".dat"))
    if kind == "valid":
        assert isinstance(screen(data), Accept)
    CHECKS[name.removesuffix(".dat")](data)


# --- fuzzing: only SipParseError may escape ---------------------------------------------------

INTERESTING = b' \t\r\n:;,<>"\\%@[]=/?&0123456789\x00\xff'


def mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buffer:
            buffer += bytes([rng.choice(INTERESTING)])
        at = rng.randrange(len(buffer))
        operation = rng.randrange(7)
        if operation == 0:
            buffer[at] = rng.randrange(256)
        elif operation == 1:
            buffer[at:at] = bytes(rng.choice(INTERESTING) for _ in range(rng.randint(1, 4)))
        elif operation == 2:
            del buffer[at : at + rng.randint(1, 16)]
        elif operation == 3:
            piece = buffer[at : at + rng.randint(1, 40)]
            buffer[at:at] = piece
        elif operation == 4:
            del buffer[at:]
        elif operation == 5:
            buffer[at:at] = rng.choice([b"9" * rng.randint(5, 30), b"-1", b"\r\n ", b"SIP/2.0"])
        else:
            end = buffer.find(b"\r\n", at)
            line_start = buffer.rfind(b"\r\n", 0, at)
            if end > 0 and line_start >= 0:
                buffer[end:end] = buffer[line_start:end]  # duplicate a header line
    return bytes(buffer)


def exercise(data: bytes) -> None:
    """Everything a receiver does with a datagram; raises only SipParseError."""
    verdict: Verdict = screen(data)
    assert isinstance(verdict, Accept | Reject | Drop)
    if isinstance(verdict, Reject) and verdict.response is not None:
        parse_message(verdict.response.to_bytes())
    try:
        message = parse_message(data)
    except SipParseError:
        return
    reparsed = parse_message(message.to_bytes())
    assert type(reparsed) is type(message) and reparsed.body == message.body
    for prop in (
        "call_id",
        "cseq",
        "from_",
        "to",
        "vias",
        "top_via",
        "contacts",
        "content_type",
        "max_forwards",
    ):
        with contextlib.suppress(SipParseError):
            getattr(message, prop, None)
    for value in message.headers.get_all("Route") + message.headers.get_all("Contact"):
        with contextlib.suppress(SipParseError):
            NameAddr.parse(value)
    if isinstance(message, Request):
        with contextlib.suppress(SipParseError):
            SipUri.parse(message.uri)


def test_fuzzed_torture_messages_raise_only_sip_parse_errors() -> None:
    rng = random.Random(4475)
    seeds = [load(name) for name in NAMES]
    for _ in range(4000):
        data = mutate(rng, rng.choice(seeds))
        exercise(data)
        parser = StreamParser()
        position = 0
        try:
            while position < len(data):
                step = rng.randint(1, 200)
                parser.feed(data[position : position + step])
                position += step
        except SipParseError:
            pass
