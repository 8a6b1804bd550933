"""Typed views of SIP header values: SIP URIs, name-addr, Via, CSeq (RFC 3261 sections 19, 20, 25).

Every parser here raises only SipParseError. URI components are kept escaped, exactly as received,
so that serialising gives back what the peer sent; `unescape()` decodes them for comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from dialer.sip.errors import SipParseError
from dialer.sip.headers import TOKEN_RE

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
# Characters never allowed unescaped anywhere in a URI: whitespace, controls, delimiters of the
# name-addr form.
_URI_FORBIDDEN_RE = re.compile(r'[\x00-\x20\x7f<>"]')
_HOST_RE = re.compile(r"[A-Za-z0-9_\-.]+")
_IPV6_RE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
_NEEDS_QUOTED_PAIR_RE = re.compile(r'[\\"\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')
# One ;name[=value] header parameter with the SWS the grammar allows around ';' and '='.
_HEADER_PARAM_RE = re.compile(
    r"[ \t]*;[ \t]*(" + _TOKEN + r")(?:[ \t]*=[ \t]*(\"(?:[^\"\\]|\\.)*\"|[^ \t;,\"]+))?[ \t]*",
    re.DOTALL,
)
_VIA_RE = re.compile(
    r"[ \t]*(" + _TOKEN + r")[ \t]*/[ \t]*(" + _TOKEN + r")[ \t]*/[ \t]*(" + _TOKEN + r")"
    r"[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_\-.]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*"
)
_CSEQ_RE = re.compile(r"[ \t]*([0-9]{1,10})[ \t]+(" + _TOKEN + r")[ \t]*")
MAX_CSEQ = 2**31 - 1  # RFC 3261 8.1.1.5: the sequence number is below 2**31


def unescape(text: str) -> str:
    """Decode %XX escapes (UTF-8; undecodable octets become surrogates, never an error)."""
    return unquote(text, encoding="utf-8", errors="surrogateescape") if "%" in text else text


def quote_display(display: str) -> str:
    """A display name as a quoted-string; quote, backslash and controls become quoted-pairs."""
    return '"' + _NEEDS_QUOTED_PAIR_RE.sub(r"\\\g<0>", display) + '"'


def _port(text: str, where: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or int(text) > 65535:
        raise SipParseError(f"bad port in {where}: {text!r}")
    return int(text)


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_header_params(text: str, where: str) -> dict[str, str | None]:
    """Parse `;name=value;flag...` (header parameters, RFC 3261 25.1 generic-param).

    Names are lower-cased; values are kept raw (a quoted-string keeps its quotes).
    """
    params: dict[str, str | None] = {}
    position = 0
    length = len(text)
    while position < length:
        match = _HEADER_PARAM_RE.match(text, position)
        if match is None:
            raise SipParseError(f"bad parameters in {where}: {text[position:]!r}")
        params[match.group(1).lower()] = match.group(2)
        position = match.end()
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in params.items()
    )


@dataclass
class SipUri:
    """A sip: or sips: URI (RFC 3261 19.1). Components kept escaped as received."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a SIP URI; other schemes raise SipParseError with status 416."""
        scheme, colon, rest = text.partition(":")
        if not colon or _SCHEME_RE.fullmatch(scheme) is None:
            raise SipParseError(f"not a URI: {text!r}")
        scheme = scheme.lower()
        if scheme not in ("sip", "sips"):
            raise SipParseError(f"unsupported URI scheme {scheme!r}", status=416)
        if not rest or _URI_FORBIDDEN_RE.search(rest) is not None:
            raise SipParseError(f"malformed SIP URI: {text!r}")
        user: str | None = None
        password: str | None = None
        at = rest.find("@")
        if at >= 0:
            # '@' is allowed unescaped only as the userinfo delimiter; user may hold ';' and '?'.
            user, has_password, secret = rest[:at].partition(":")
            password = secret if has_password else None
            if not user:
                raise SipParseError(f"empty user in SIP URI: {text!r}")
            rest = rest[at + 1 :]
        rest, has_headers, headers_text = rest.partition("?")
        hostport, _, params_text = rest.partition(";")
        host, port = _split_hostport(hostport, text)
        params: dict[str, str | None] = {}
        if params_text or rest.endswith(";"):
            for piece in params_text.split(";"):
                name, has_value, value = piece.partition("=")
                if not name or (has_value and not value):
                    raise SipParseError(f"bad URI parameter in {text!r}")
                params[name.lower()] = value if has_value else None
        headers: dict[str, str] = {}
        if has_headers:
            for piece in headers_text.split("&"):
                name, has_value, value = piece.partition("=")
                if not name or not has_value:
                    raise SipParseError(f"bad URI header in {text!r}")
                headers[name] = value
        return cls(scheme, user, password, host, port, params, headers)

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += (":", self.password)
            parts.append("@")
        parts.append(_host_text(self.host))
        if self.port is not None:
            parts.append(f":{self.port}")
        parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{name}={value}" for name, value in self.headers.items()))
        return "".join(parts)


def _split_hostport(hostport: str, text: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        close = hostport.find("]")
        host = hostport[1:close] if close > 0 else ""
        if not _IPV6_RE.fullmatch(host):
            raise SipParseError(f"bad IPv6 reference in {text!r}")
        after = hostport[close + 1 :]
        if not after:
            return host, None
        if not after.startswith(":"):
            raise SipParseError(f"junk after IPv6 reference in {text!r}")
        return host, _port(after[1:], text)
    host, has_port, port_text = hostport.partition(":")
    if _HOST_RE.fullmatch(host) is None:
        raise SipParseError(f"bad host in {text!r}")
    return host, _port(port_text, text) if has_port else None


def parse_uri(text: str) -> SipUri | str:
    """A SipUri for sip:/sips:, else the absolute URI verbatim (tel:, http:, urn:, ...)."""
    scheme, colon, rest = text.partition(":")
    if not colon or _SCHEME_RE.fullmatch(scheme) is None:
        raise SipParseError(f"not a URI: {text!r}")
    if scheme.lower() in ("sip", "sips"):
        return SipUri.parse(text)
    if not rest or _URI_FORBIDDEN_RE.search(rest) is not None:
        raise SipParseError(f"malformed URI: {text!r}")
    return text


@dataclass
class NameAddr:
    """From/To/Contact/Route/Record-Route value: display name, URI, header parameters."""

    uri: SipUri | str
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse name-addr or addr-spec form (RFC 3261 20.10).

        In addr-spec form (no <>), the ;params after the URI belong to the header, not the URI.
        Tolerated: unquoted display names with non-token characters (RFC 4475 baddn) and
        whitespace just inside the <> (badaspec); neither is ambiguous for a UAS.
        """
        value = text.strip(" \t")
        if not value:
            raise SipParseError("empty name-addr")
        display: str | None = None
        if value[0] == '"':
            quoted = _QUOTED_RE.match(value)
            if quoted is None:
                raise SipParseError(f"unterminated quoted string in {value!r}")
            display = _QUOTED_PAIR_RE.sub(r"\1", quoted.group()[1:-1])
            rest = value[quoted.end() :].lstrip(" \t")
            if not rest.startswith("<"):
                raise SipParseError(f"display name without <URI> in {value!r}")
        else:
            angle = value.find("<")
            semi = value.find(";")
            if angle >= 0 and (semi < 0 or angle < semi):
                display = value[:angle].rstrip(" \t") or None
                if display is not None and '"' in display:
                    raise SipParseError(f"stray quote in display name {display!r}")
                rest = value[angle:]
            else:
                uri_text, _, _ = value.partition(";")
                uri_text = uri_text.rstrip(" \t")
                return cls(
                    parse_uri(uri_text), None, parse_header_params(value[len(uri_text) :], value)
                )
        close = rest.find(">")
        if close < 0:
            raise SipParseError(f"unclosed <URI> in {value!r}")
        uri = parse_uri(rest[1:close].strip(" \t"))
        return cls(uri, display, parse_header_params(rest[close + 1 :], value))

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = f"{quote_display(self.display)} " if self.display else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


@dataclass
class Via:
    """One Via value (RFC 3261 20.42): SIP/2.0/<transport> <host>[:port];params."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        match = _VIA_RE.match(text)
        if match is None:
            raise SipParseError(f"malformed Via: {text!r}")
        protocol, version, transport, host, port_text = match.groups()
        if protocol.upper() != "SIP" or version != "2.0":
            raise SipParseError(f"Via protocol is not SIP/2.0: {text!r}")
        if host.startswith("["):
            host = host[1:-1]
            if _IPV6_RE.fullmatch(host) is None:
                raise SipParseError(f"bad IPv6 reference in Via: {text!r}")
        port = _port(port_text, "Via") if port_text is not None else None
        return cls(transport.upper(), host, port, parse_header_params(text[match.end() :], text))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {_host_text(self.host)}{port}{format_params(self.params)}"


@dataclass(frozen=True)
class CSeq:
    """CSeq (RFC 3261 20.16): a sequence number below 2**31 and a method."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = _CSEQ_RE.fullmatch(text)
        if match is None:
            raise SipParseError(f"malformed CSeq: {text!r}")
        seq = int(match.group(1))
        if seq > MAX_CSEQ:
            raise SipParseError(f"CSeq number out of range: {seq}")
        return cls(seq, match.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def is_token(text: str) -> bool:
    return TOKEN_RE.fullmatch(text) is not None
