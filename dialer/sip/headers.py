"""SIP header fields: an ordered, case-insensitive multimap (RFC 3261 section 7.3).

Names are matched case-insensitively and compact forms are expanded on insert, so `get("v")`,
`get("VIA")` and `get("Via")` are the same lookup. Values are kept raw (already unfolded by the
parser); the typed views (NameAddr, Via, CSeq) live in `dialer.sip.uri` and parse on demand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# RFC 3261 25.1 token: the grammar of header names, methods, parameter names and option tags.
TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")

# RFC 3261 7.3.3 compact forms, plus the common ones registered later (RFC 3265, 3515, 3892,
# 4028, 3841, 4474).
_COMPACT = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

_CANONICAL_NAMES = (
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Diversion",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "History-Info",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "Min-SE",
    "MIME-Version",
    "Organization",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Remote-Party-ID",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
)
_CANONICAL = {name.lower(): name for name in _CANONICAL_NAMES}

# Header fields whose grammar is a comma-separated list (RFC 3261 7.3.1). Anything else, notably
# the authentication headers and Date, is never split on commas.
LIST_HEADERS = frozenset(
    {
        "accept",
        "accept-contact",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "diversion",
        "error-info",
        "history-info",
        "in-reply-to",
        "p-asserted-identity",
        "p-preferred-identity",
        "path",
        "proxy-require",
        "reason",
        "record-route",
        "reject-contact",
        "require",
        "route",
        "security-client",
        "security-server",
        "security-verify",
        "service-route",
        "supported",
        "unsupported",
        "via",
        "warning",
    }
)


def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact form expanded."""
    low = name.lower()
    return _COMPACT.get(low, low)


def canonical_name(name: str) -> str:
    """The spelling used on output: 'call-id' -> 'Call-ID', 'v' -> 'Via'; unknown names as given."""
    return _CANONICAL.get(header_key(name), name)


def split_list(value: str) -> list[str]:
    """Split a list-valued header on top-level commas: not inside "..." nor <...>.

    Empty elements are skipped (an empty `Supported:` is an empty list).
    """
    if "," not in value:
        item = value.strip(" \t")
        return [item] if item else []
    items: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    length = len(value)
    while i < length:
        char = value[i]
        if in_quotes:
            if char == "\\":
                i += 1  # the quoted-pair's second character cannot end the string
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            item = value[start:i].strip(" \t")
            if item:
                items.append(item)
            start = i + 1
        i += 1
    item = value[start:].strip(" \t")
    if item:
        items.append(item)
    return items


def _checked_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header value contains a line break: {value!r}")
    return value


class Headers:
    """Ordered, case-insensitive multimap of header fields (see the module docstring)."""

    __slots__ = ("_fields",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        # (lookup key, output name, raw value), in message order.
        self._fields: list[tuple[str, str, str]] = []
        for name, value in items:
            self.add(name, value)

    @classmethod
    def from_parsed(cls, fields: list[tuple[str, str, str]]) -> Headers:
        """Adopt (key, name, value) triples the message parser already validated."""
        headers = cls.__new__(cls)
        headers._fields = fields
        return headers

    def get(self, name: str) -> str | None:
        """The first field's raw value, or None."""
        key = header_key(name)
        for field_key, _, value in self._fields:
            if field_key == key:
                return value
        return None

    def get_fields(self, name: str) -> list[str]:
        """Every field's raw value, one per header line, never split on commas."""
        key = header_key(name)
        return [value for field_key, _, value in self._fields if field_key == key]

    def get_all(self, name: str) -> list[str]:
        """Every value; list-valued headers (Via, Contact, Route, ...) are split on commas."""
        key = header_key(name)
        values = [value for field_key, _, value in self._fields if field_key == key]
        if key not in LIST_HEADERS:
            return values
        items: list[str] = []
        for value in values:
            items.extend(split_list(value))
        return items

    def add(self, name: str, value: str) -> None:
        """Append a field at the end."""
        self._fields.append((header_key(name), canonical_name(name), _checked_value(value)))

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first field of that name (top of the message if there is none)."""
        key = header_key(name)
        position = next((i for i, entry in enumerate(self._fields) if entry[0] == key), 0)
        self._fields.insert(position, (key, canonical_name(name), _checked_value(value)))

    def set(self, name: str, value: str) -> None:
        """Replace every field of that name by one, at the position of the first."""
        key = header_key(name)
        entry = (key, canonical_name(name), _checked_value(value))
        kept: list[tuple[str, str, str]] = []
        placed = False
        for field in self._fields:
            if field[0] != key:
                kept.append(field)
            elif not placed:
                kept.append(entry)
                placed = True
        if not placed:
            kept.append(entry)
        self._fields = kept

    def remove(self, name: str) -> None:
        key = header_key(name)
        self._fields = [field for field in self._fields if field[0] != key]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = header_key(name)
        return any(field[0] == key for field in self._fields)

    def items(self) -> list[tuple[str, str]]:
        """(canonical name, raw value) in message order."""
        return [(name, value) for _, name, value in self._fields]

    def copy(self) -> Headers:
        return Headers.from_parsed(list(self._fields))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._fields] == [(k, v) for k, _, v in other._fields]

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"
