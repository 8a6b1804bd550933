"""SIPp message traces (-trace_msg) as data, and an independent check of digest credentials.

SIPp 3.6.1 cannot verify Proxy-Authorization (its verifyauth reads only Authorization) nor any
SHA-256 digest, so tests recompute the response from the traced request: RFC 7616 / RFC 2617
(qop="auth" or none; MD5, SHA-256 and their -sess forms).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class TracedMessage:
    """One SIP message from SIPp's -trace_msg file."""

    direction: Literal["sent", "received"]
    text: str
    at: float | None = None  # when SIPp sent or read it (its local wall clock, in seconds)

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def status(self) -> int | None:
        parts = self.first_line.split()
        is_response = len(parts) > 1 and parts[0] == "SIP/2.0" and parts[1].isdigit()
        return int(parts[1]) if is_response else None

    @property
    def method(self) -> str | None:
        parts = self.first_line.split()
        return parts[0] if len(parts) == 3 and parts[2] == "SIP/2.0" else None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive, full names only)."""
        head = self.text.split("\n\n", 1)[0]
        match = re.search(rf"^{re.escape(name)}[ \t]*:[ \t]*(.*)$", head, re.M | re.I)
        return match.group(1).strip() if match else None

    @property
    def body(self) -> str:
        return self.text.split("\n\n", 1)[1] if "\n\n" in self.text else ""


_TRACE_SPLIT = re.compile(
    r"^-{20,} ([0-9-]+ [0-9:.]+)\n\w+ message (sent|received) [(\[]\d+\]? bytes\)? ?:\n\n", re.M
)


def parse_message_trace(text: str) -> list[TracedMessage]:
    """Messages of a SIPp -trace_msg file, in order, each with its timestamp."""
    parts = _TRACE_SPLIT.split(text.replace("\r\n", "\n"))
    return [
        TracedMessage(
            "sent" if parts[i + 1] == "sent" else "received",
            parts[i + 2].strip("\n") + "\n",
            _trace_time(parts[i]),
        )
        for i in range(1, len(parts) - 2, 3)
    ]


def _trace_time(stamp: str) -> float:
    # Local time without a zone: fine for what tests do with it, differences between messages.
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


# --------------------------------------------------------------------------- call-level measures


def peak_concurrency(messages: Iterable[TracedMessage]) -> int:
    """Calls open at once as SIPp saw them: from its INVITE to the final answer or BYE."""
    open_calls: set[str] = set()
    peak = 0
    for message in messages:
        call_id = message.header("Call-ID") or ""
        cseq = message.header("CSeq") or ""
        if message.direction == "received" and message.method == "INVITE":
            open_calls.add(call_id)
            peak = max(peak, len(open_calls))
        elif (message.direction == "received" and message.method == "BYE") or (
            message.direction == "sent" and (message.status or 0) >= 300 and "INVITE" in cseq
        ):
            open_calls.discard(call_id)
    return peak


def new_invites(messages: Iterable[TracedMessage]) -> list[TracedMessage]:
    """The first INVITE SIPp received for each Call-ID (a new call; retransmissions left out)."""
    first: dict[str, TracedMessage] = {}
    for message in messages:
        if message.direction == "received" and message.method == "INVITE":
            first.setdefault(message.header("Call-ID") or "", message)
    return list(first.values())


def dialled_number(invite: TracedMessage) -> str:
    """The user part of an INVITE's Request-URI: "+14155550123" for sip:+14155550123@host."""
    return invite.first_line.split()[1].split(":", 1)[1].split("@", 1)[0]


def busiest_window(times: Sequence[float], width_s: float) -> int:
    """The most of `times` that fall in any half-open window [t, t + width_s)."""
    ordered = sorted(times)
    busiest = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= width_s:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


_HASH_NAMES = {"MD5": "md5", "SHA-256": "sha256"}
_AUTH_PARAM = re.compile(r'([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def digest_problems(
    request: TracedMessage, username: str, password: str, header: str = "Proxy-Authorization"
) -> list[str]:
    """Why the request's digest credentials are wrong for username/password ([] if right)."""
    value = request.header(header)
    if value is None or not value.lower().startswith("digest "):
        return [f"{request.first_line}: no Digest {header}"]
    params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _AUTH_PARAM.finditer(value)}
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
    if missing:
        return [f"{request.first_line}: {header} lacks {missing}"]
    algorithm = params.get("algorithm", "MD5")
    base = algorithm.upper().removesuffix("-SESS")
    hash_name = _HASH_NAMES.get(base)
    if hash_name is None:
        return [f"{request.first_line}: unsupported algorithm {algorithm}"]

    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode()).hexdigest()

    problems = []
    if params["username"] != username:
        problems.append(f"{request.first_line}: username {params['username']!r} != {username!r}")
    qop, nc, cnonce = params.get("qop"), params.get("nc", ""), params.get("cnonce", "")
    ha1 = h(f"{username}:{params['realm']}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{params['nonce']}:{cnonce}")
    ha2 = h(f"{request.method}:{params['uri']}")
    if qop == "auth":
        expected = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    elif qop is None:
        expected = h(f"{ha1}:{params['nonce']}:{ha2}")
    else:
        return [*problems, f"{request.first_line}: qop {qop} not checked"]
    if params["response"].lower() != expected:
        problems.append(f"{request.first_line}: wrong {algorithm} response for {username}")
    return problems
