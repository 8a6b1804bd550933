"""SIP messages: parse a datagram or a stream, serialise, build responses (RFC 3261 7, 8.2.6, 18.3).

Parsing is cheap and lazy: parse_message checks the framing (start line, header lines,
Content-Length) and keeps header values raw; the typed properties (`cseq`, `to`, `vias`, ...) parse
them on each access. Header octets are decoded as UTF-8 with surrogateescape, so any byte sequence
decodes and `to_bytes()` gives the same octets back. Only SipParseError ever escapes a parser.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from dataclasses import dataclass, field

from dialer.sip.errors import SipParseError
from dialer.sip.headers import Headers, canonical_name, header_key
from dialer.sip.uri import CSeq, NameAddr, Via, is_token

SIP_VERSION = "SIP/2.0"
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_REQUEST_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:[^\x00-\x20\x7f<>\"]+")
_CALL_ID_RE = re.compile(r"[^\x00-\x20\x7f]+")

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
}
_CLASS_PHRASES = {
    1: "Provisional",
    2: "Success",
    3: "Redirection",
    4: "Client Error",
    5: "Server Error",
    6: "Global Failure",
}


def reason_phrase(status: int) -> str:
    """The standard reason phrase of a status code (a generic one for unlisted codes)."""
    return REASON_PHRASES.get(status) or _CLASS_PHRASES.get(status // 100, "Unknown")


class _MessageViews:
    """Typed views over the raw headers, parsed on demand; shared by Request and Response."""

    headers: Headers
    body: bytes

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name}")
        return value

    @property
    def call_id(self) -> str:
        value = self._required("Call-ID")
        if _CALL_ID_RE.fullmatch(value) is None:
            raise SipParseError(f"malformed Call-ID: {value!r}")
        return value

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via")
        return [Via.parse(value) for value in values]

    @property
    def top_via(self) -> Via:
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via")
        return Via.parse(values[0])

    @property
    def contacts(self) -> list[NameAddr]:
        """Every Contact value ([] when absent); `Contact: *` raises, handle it before."""
        return [NameAddr.parse(value) for value in self.headers.get_all("Contact")]

    @property
    def content_type(self) -> str | None:
        """The media type, lower case, without parameters: 'application/sdp'."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        media_type = value.partition(";")[0].strip(" \t").lower()
        kind, slash, subtype = media_type.partition("/")
        if not (slash and is_token(kind) and is_token(subtype)):
            raise SipParseError(f"malformed Content-Type: {value!r}")
        return media_type

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line]
        length_written = False
        for name, value in self.headers.items():
            if name == "Content-Length":  # canonical spelling of 'l' and any case variant
                if length_written:
                    continue
                value = str(len(self.body))
                length_written = True
            lines.append(f"{name}: {value}\r\n")
        if not length_written:
            lines.append(f"Content-Length: {len(self.body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("utf-8", "surrogateescape") + self.body


@dataclass
class Request(_MessageViews):
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0-255), None when absent."""
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or len(value) > 10 or int(value) > 255:
            raise SipParseError(f"malformed Max-Forwards: {value!r}")
        return int(value)

    def to_bytes(self) -> bytes:
        """Start line, headers in order, Content-Length = len(body), blank line, body."""
        return self._serialise(f"{self.method} {self.uri} {SIP_VERSION}\r\n")


@dataclass
class Response(_MessageViews):
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        """Status line, headers in order, Content-Length = len(body), blank line, body."""
        return self._serialise(f"{SIP_VERSION} {self.status} {self.reason}\r\n")


Message = Request | Response


def _skip_crlf(data: bytes | bytearray, start: int = 0) -> int:
    """Index of the first octet that is not CR or LF (RFC 3261 7.5 / RFC 5626 keep-alives)."""
    length = len(data)
    while start < length and data[start] in (13, 10):
        start += 1
    return start


def _find_head_end(data: bytes | bytearray, start: int) -> tuple[int, int]:
    """(end of the header section, start of the body), or (-1, -1) if there is no blank line.

    CRLF is the rule; bare LF line ends are tolerated.
    """
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start, crlf if crlf >= 0 else len(data))
    if lf >= 0:
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 4
    return -1, -1


def _is_status_line(first_line: bytes | bytearray) -> bool:
    return first_line[:4].upper() == b"SIP/"


def _header_lines(head: str, drop_status: int | None) -> list[str]:
    lines = head.split("\r\n")
    # Every CR and LF was part of a CRLF pair: the common case, no rework needed.
    if head.count("\r") == head.count("\n") == len(lines) - 1:
        return lines
    lines = head.replace("\r\n", "\n").split("\n")
    if any("\r" in line for line in lines):
        raise SipParseError("bare CR in the header section", drop_status)
    return lines


def _parse_fields(lines: list[str], drop_status: int | None) -> list[tuple[str, str, str]]:
    """Unfold continuation lines and split `name: value`; values are stripped of SP/HTAB."""
    fields: list[tuple[str, str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise SipParseError("continuation line before the first header", drop_status)
            key, name, value = fields[-1]
            extra = line.strip(" \t")
            fields[-1] = (key, name, f"{value} {extra}" if value else extra)
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or _HEADER_NAME_RE.fullmatch(name) is None:
            raise SipParseError(f"malformed header line: {line[:60]!r}", drop_status)
        key = header_key(name)
        fields.append((key, canonical_name(name), value.strip(" \t")))
    return fields


def _content_length(values: list[str], drop_status: int | None) -> int | None:
    """The declared body length: None when absent; one value, or several identical ones."""
    if not values:
        return None
    lengths = set()
    for value in values:
        if not (value.isascii() and value.isdigit()) or len(value) > 10:
            raise SipParseError(f"bad Content-Length: {value!r}", drop_status)
        lengths.add(int(value))
    if len(lengths) > 1:
        raise SipParseError("conflicting Content-Length values", drop_status)
    return lengths.pop()


def _start_line(line: str) -> tuple[str, str, str]:
    """Split a Request-Line into method, Request-URI, version.

    Extra SP between or after the elements is tolerated (RFC 4475 lwsstart, trws): a UAS never
    forwards the start line, and the elements themselves stay strict, so `sip:a@b; lr` (lwsruri)
    is still four elements and rejected.
    """
    parts = line.split(" ")
    if len(parts) != 3:
        parts = [part for part in parts if part]
    if len(parts) != 3:
        raise SipParseError(f"malformed Request-Line: {line[:80]!r}")
    method, uri, version = parts
    if version.upper() != SIP_VERSION:
        if _VERSION_RE.fullmatch(version) is not None:
            raise SipParseError(f"unsupported SIP version {version!r}", 505)
        raise SipParseError(f"malformed SIP version {version!r}")
    if not is_token(method):
        raise SipParseError(f"malformed method {method[:40]!r}")
    if _REQUEST_URI_RE.fullmatch(uri) is None:
        raise SipParseError(f"malformed Request-URI {uri[:80]!r}")
    return method, uri, version


def _status_line(line: str) -> tuple[int, str]:
    version, _, rest = line.partition(" ")
    if version.upper() != SIP_VERSION:
        raise SipParseError(f"response with SIP version {version[:20]!r}", None)
    code, _, reason = rest.lstrip(" ").partition(" ")
    if len(code) != 3 or not (code.isascii() and code.isdigit()) or not 100 <= int(code) <= 699:
        raise SipParseError(f"bad status code {code[:20]!r}", None)
    return int(code), reason


def parse_message(data: bytes) -> Message:
    """Parse one datagram.

    Octets beyond Content-Length are ignored (RFC 4475 dblreq); without Content-Length the body
    is the rest of the datagram. Raises SipParseError only: `status` None for a response (drop
    it), else the status a UAS answers with.
    """
    start = _skip_crlf(data)
    line_end = data.find(b"\n", start)
    first = data[start : line_end if line_end >= 0 else len(data)]
    drop_status = None if _is_status_line(first) else 400
    head_end, body_start = _find_head_end(data, start)
    if head_end < 0:
        raise SipParseError("no blank line after the header section", drop_status)
    head = data[start:head_end].decode("utf-8", "surrogateescape")
    if head.endswith("\r"):
        head = head[:-1]  # the CR of a CRLF LF ending
    lines = _header_lines(head, drop_status)
    fields = _parse_fields(lines[1:], drop_status)
    length = _content_length([v for k, _, v in fields if k == "content-length"], drop_status)
    available = len(data) - body_start
    if length is None:
        body = data[body_start:]
    elif length > available:
        raise SipParseError(
            f"Content-Length {length} exceeds the {available} octets received", drop_status
        )
    else:
        body = data[body_start : body_start + length]
    headers = Headers.from_parsed(fields)
    if drop_status is None:
        status, reason = _status_line(lines[0])
        return Response(status, reason, headers, bytes(body))
    method, uri, _ = _start_line(lines[0])
    return Request(method, uri, headers, bytes(body))


def salvage_request(data: bytes) -> Request | None:
    """Best effort for a request that failed parse_message: the method and every well-formed
    header line, enough to echo Via/From/To/Call-ID/CSeq in an error response. None when the
    datagram does not even start like a request."""
    start = _skip_crlf(data)
    head_end, _ = _find_head_end(data, start)
    head = data[start : head_end if head_end >= 0 else len(data)]
    lines = head.decode("utf-8", "surrogateescape").replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if (
        len(parts) < 2
        or not is_token(parts[0])
        or _is_status_line(lines[0].encode("utf-8", "surrogateescape"))
    ):
        return None
    fields: list[tuple[str, str, str]] = []
    for line in lines[1:]:
        if "\r" in line:
            continue  # a bare CR must never reach an echoed header
        if line[:1] in (" ", "\t"):
            if fields:
                key, name, value = fields[-1]
                extra = line.strip(" \t")
                fields[-1] = (key, name, f"{value} {extra}" if value else extra)
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if colon and _HEADER_NAME_RE.fullmatch(name):
            fields.append((header_key(name), canonical_name(name), value.strip(" \t")))
    return Request(parts[0], parts[1], Headers.from_parsed(fields))


class StreamParser:
    """Message framing for a stream transport (TCP/TLS, RFC 3261 18.3).

    Content-Length is mandatory; CRLF keep-alives between messages are skipped (RFC 5626).
    A framing failure (missing or bad Content-Length, oversize message) is unrecoverable: it
    raises, and so does every later call. A malformed message that is framed correctly raises
    for that message only; `feed(b"")` then continues with what follows it.
    """

    def __init__(self, *, max_head: int = 65536, max_body: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._max_head = max_head
        self._max_body = max_body
        self._failure: SipParseError | None = None
        self._frames: deque[bytes] = deque()
        self._parsed: list[Message] = []

    def feed(self, data: bytes) -> list[Message]:
        """Complete messages in order; raises SipParseError (see the class docstring)."""
        self._frames.extend(self.feed_frames(data))
        messages, self._parsed = self._parsed, []
        while self._frames:
            frame = self._frames.popleft()
            try:
                messages.append(parse_message(frame))
            except SipParseError:
                self._parsed = messages  # handed out by the next call
                raise
        return messages

    def feed_frames(self, data: bytes) -> list[bytes]:
        """Complete messages as raw octets (for `screening.screen`), without parsing them."""
        if self._failure is not None:
            raise SipParseError(f"stream already failed: {self._failure.reason}", None)
        self._buffer += data
        frames: list[bytes] = []
        try:
            while (frame := self._next_frame()) is not None:
                frames.append(frame)
        except SipParseError as exc:
            self._failure = exc
            self._buffer.clear()
            raise
        return frames

    def _next_frame(self) -> bytes | None:
        buffer = self._buffer
        start = _skip_crlf(buffer)
        if start:
            del buffer[:start]
        head_end, body_start = _find_head_end(buffer, 0)
        if head_end < 0:
            if len(buffer) > self._max_head:
                raise SipParseError("header section too large", None)
            return None
        if head_end > self._max_head:
            raise SipParseError("header section too large", None)
        lines = buffer[:head_end].decode("latin-1").replace("\r\n", "\n").split("\n")
        values = [
            value.strip(" \t") for key, value in _loose_fields(lines[1:]) if key == "content-length"
        ]
        length = _content_length(values, None)
        if length is None:
            raise SipParseError("Content-Length is mandatory on a stream", None)
        if length > self._max_body:
            raise SipParseError(f"body of {length} octets is too large", None)
        end = body_start + length
        if len(buffer) < end:
            return None
        frame = bytes(buffer[:end])
        del buffer[:end]
        return frame


def _loose_fields(lines: list[str]) -> list[tuple[str, str]]:
    """(key, value) pairs with folding applied and no validation: only for framing."""
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], f"{fields[-1][1]} {line}")
            continue
        name, _, value = line.partition(":")
        fields.append((header_key(name.strip(" \t")), value))
    return fields


def new_request(
    method: str, uri: str, *, from_: str, to: str, call_id: str, seq: int, max_forwards: int = 70
) -> Request:
    """A request with the headers every UAC request carries (RFC 3261 8.1.1), no Via:
    the endpoint adds that when it picks the transport."""
    headers = Headers()
    headers.add("Max-Forwards", str(max_forwards))
    headers.add("From", from_)
    headers.add("To", to)
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{seq} {method}")
    return Request(method, uri, headers)


def build_response(
    request: Request, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> Response:
    """A response to `request` (RFC 3261 8.2.6).

    Copies every Via field in order, From, To, Call-ID and CSeq verbatim (the first of each when
    a malformed request repeats them), and Timestamp for a 100. `to_tag` is appended to To when
    To parses and has no tag; a To that does not parse is echoed unchanged. Content-Length 0.
    """
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} is not in 100-699")
    headers = Headers()
    for via in request.headers.get_fields("Via"):
        headers.add("Via", via)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is not None:
            headers.add(name, _with_tag(value, to_tag) if name == "To" and to_tag else value)
    if status == 100 and (timestamp := request.headers.get("Timestamp")) is not None:
        headers.add("Timestamp", timestamp)  # RFC 3261 8.2.6.1
    headers.add("Content-Length", "0")
    return Response(status, reason if reason is not None else reason_phrase(status), headers)


def _with_tag(to_value: str, tag: str) -> str:
    try:
        to = NameAddr.parse(to_value)
    except SipParseError:
        return to_value
    return to_value if to.tag is not None else f"{to_value};tag={tag}"


def new_branch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 64 random bits."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag: 48 random bits."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    """A fresh Call-ID: 96 random bits at `host`."""
    return f"{secrets.token_hex(12)}@{host}"
