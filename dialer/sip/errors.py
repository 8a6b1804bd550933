"""The one error the SIP message layer raises for bad input."""

from __future__ import annotations


class SipParseError(ValueError):
    """Malformed SIP.

    `status` is the response a UAS should send (400, 505, 416, 420, 415, ...), or None when the
    message must be dropped silently (a malformed response, a datagram that is not SIP at all).
    """

    def __init__(self, reason: str, status: int | None = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def __repr__(self) -> str:
        return f"SipParseError({self.reason!r}, status={self.status!r})"
