"""The UAS-side verdict on an incoming datagram, before any transaction sees it.

`screen()` applies RFC 3261 8.2.1-8.2.3 and the RFC 4475 torture cases that belong to the
message layer: it returns Accept, Reject (with the response to send) or Drop (send nothing).

Decisions worth knowing:
- Nothing is ever answered for an ACK (RFC 3261 17): a bad ACK is dropped.
- A Reject carries a response whenever the request has a Via and a CSeq, which is what the client
  transaction matches on (RFC 3261 17.1.3); From/To/Call-ID are echoed when present. Without
  them nothing can be sent, so the verdict is Drop.
- Methods outside `supported_methods` are accepted once syntactically sound, so the endpoint
  answers 405/501 first, as 8.2.1 orders, instead of 416/420/415 for a method it would refuse.
- A UAS checks Require only; Proxy-Require is addressed to proxies (8.2.2.3, RFC 4475 3.3.5).
- Responses carrying more than one Via are dropped (8.1.3.3: not meant for this UAC); so is the
  RFC 4475 `bcast` case, which never gets near a broadcast address anyway: responses are
  matched to transactions, never routed by Via.
- Accept/Accept-Encoding (406), Authorization schemes and Max-Forwards 0 are the endpoint's
  business, not the screener's.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.sip.errors import SipParseError
from dialer.sip.message import (
    Message,
    Request,
    Response,
    build_response,
    new_tag,
    parse_message,
    salvage_request,
)
from dialer.sip.uri import SipUri

SUPPORTED_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "INFO",
        "NOTIFY",
        "REGISTER",
        "UPDATE",
        "PRACK",
    }
)
# Methods registered with IANA: not supporting one of these is 405, not 501.
_KNOWN_METHODS = SUPPORTED_METHODS | {"MESSAGE", "PUBLISH", "REFER", "SUBSCRIBE"}
_CORE_HEADERS = ("To", "From", "Call-ID", "CSeq", "Via")
_SINGLE_VALUE_HEADERS = (
    "To",
    "From",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
)


@dataclass(frozen=True)
class Accept:
    message: Message


@dataclass(frozen=True)
class Reject:
    status: int
    reason: str
    response: Response | None


@dataclass(frozen=True)
class Drop:
    reason: str


Verdict = Accept | Reject | Drop


class _Refusal(Exception):
    """Internal: a check failed with this status and these extra response headers."""

    def __init__(self, status: int, reason: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.extra = extra


def screen(
    data: bytes,
    *,
    supported_extensions: frozenset[str] = frozenset(),
    accepted_content_types: frozenset[str] = frozenset({"application/sdp"}),
    supported_schemes: frozenset[str] = frozenset({"sip", "sips"}),
    supported_methods: frozenset[str] = SUPPORTED_METHODS,
) -> Verdict:
    """Decide what to do with one incoming datagram (see the module docstring). Never raises."""
    if not data.strip(b"\r\n"):
        return Drop("keep-alive")
    try:
        message = parse_message(data)
    except SipParseError as exc:
        return _unparsable(data, exc)
    if isinstance(message, Response):
        return _screen_response(message)
    try:
        _check_request(
            message,
            supported_extensions,
            accepted_content_types,
            supported_schemes,
            supported_methods,
        )
    except _Refusal as refusal:
        return _reject(message, refusal.status, refusal.reason, refusal.extra)
    return Accept(message)


def refuse_method(
    request: Request, supported_methods: frozenset[str] = SUPPORTED_METHODS
) -> Response:
    """The answer to a request whose method is not in `supported_methods` (RFC 3261 8.2.1):
    405 with Allow for a method SIP defines, 501 for one nobody registered."""
    status = 405 if request.method in _KNOWN_METHODS else 501
    response = build_response(request, status, to_tag=new_tag())
    response.headers.add("Allow", ", ".join(sorted(supported_methods)))
    return response


def _unparsable(data: bytes, exc: SipParseError) -> Verdict:
    if exc.status is None:
        return Drop(exc.reason)
    salvaged = salvage_request(data)
    if salvaged is None:
        return Drop(f"not a SIP request: {exc.reason}")
    return _reject(salvaged, exc.status, exc.reason)


def _reject(
    request: Request, status: int, reason: str, extra: tuple[tuple[str, str], ...] = ()
) -> Verdict:
    if request.method == "ACK":
        return Drop(f"bad ACK (never answered): {reason}")
    if "Via" not in request.headers or "CSeq" not in request.headers:
        return Drop(f"{status} {reason}; no Via/CSeq to answer with")
    response = build_response(request, status, to_tag=new_tag())
    for name, value in extra:
        response.headers.add(name, value)
    return Reject(status, reason, response)


def _check_request(
    request: Request,
    supported_extensions: frozenset[str],
    accepted_content_types: frozenset[str],
    supported_schemes: frozenset[str],
    supported_methods: frozenset[str],
) -> None:
    headers = request.headers
    missing = [name for name in _CORE_HEADERS if name not in headers]
    if missing:
        raise _Refusal(400, f"missing {', '.join(missing)}")
    for name in _SINGLE_VALUE_HEADERS:
        if len(headers.get_fields(name)) > 1:
            raise _Refusal(400, f"more than one {name}")
    try:
        cseq = request.cseq  # first: an out-of-range CSeq is the RFC 4475 scalar02 error
        _ = (request.vias, request.from_, request.to, request.call_id, request.max_forwards)
    except SipParseError as exc:
        raise _Refusal(400, exc.reason) from None
    if cseq.method != request.method:
        raise _Refusal(400, f"CSeq method {cseq.method!r} differs from {request.method!r}")
    if request.method not in supported_methods or request.method in ("ACK", "CANCEL"):
        return  # 405/501 is the endpoint's; ACK/CANCEL follow the INVITE they belong to
    _check_request_uri(request.uri, supported_schemes)
    unsupported = [tag for tag in headers.get_all("Require") if tag not in supported_extensions]
    if unsupported:
        raise _Refusal(
            420, f"unsupported extensions {unsupported}", (("Unsupported", ", ".join(unsupported)),)
        )
    if request.body:
        _check_body(request, accepted_content_types)


def _check_request_uri(uri: str, supported_schemes: frozenset[str]) -> None:
    scheme = uri.partition(":")[0].lower()
    if scheme not in supported_schemes:
        raise _Refusal(416, f"Request-URI scheme {scheme!r} not supported")
    if scheme not in ("sip", "sips"):
        return
    try:
        parsed = SipUri.parse(uri)
    except SipParseError as exc:
        raise _Refusal(400, exc.reason) from None
    if parsed.headers:
        # RFC 3261 19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri).
        raise _Refusal(400, "escaped headers in the Request-URI")


def _check_body(request: Request, accepted_content_types: frozenset[str]) -> None:
    try:
        content_type = request.content_type
    except SipParseError as exc:
        raise _Refusal(400, exc.reason) from None
    if content_type is None:
        raise _Refusal(400, "body without Content-Type")  # RFC 3261 20.15
    if content_type not in accepted_content_types:
        raise _Refusal(
            415,
            f"Content-Type {content_type!r} not accepted",
            (("Accept", ", ".join(sorted(accepted_content_types))),),
        )
    encodings = [coding.lower() for coding in request.headers.get_all("Content-Encoding")]
    if any(coding != "identity" for coding in encodings):
        raise _Refusal(
            415, f"Content-Encoding {encodings} not supported", (("Accept-Encoding", "identity"),)
        )


def _screen_response(response: Response) -> Verdict:
    headers = response.headers
    missing = [name for name in _CORE_HEADERS if name not in headers]
    if missing:
        return Drop(f"response without {', '.join(missing)}")
    for name in _SINGLE_VALUE_HEADERS:
        if len(headers.get_fields(name)) > 1:
            return Drop(f"response with more than one {name}")
    try:
        vias = response.vias
        _ = (response.from_, response.to, response.call_id, response.cseq)  # parsing is the check
    except SipParseError as exc:
        return Drop(f"malformed response: {exc.reason}")
    if len(vias) > 1:
        return Drop("response with more than one Via (RFC 3261 8.1.3.3)")
    return Accept(response)
