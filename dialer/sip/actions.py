"""What transaction users (calls, registrations, keepalives) ask the endpoint to do.

Transaction users are sans-IO: they never send anything themselves. Each of
their methods returns a list of these actions, and the endpoint carries them
out in order: it adds the Via, creates the transaction, and queues bytes for
the transport.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.sip.message import Request, Response


@dataclass(frozen=True)
class Destination:
    """Where a request goes: an address (name or IP) and the transport to use."""

    host: str
    port: int
    transport: str = "udp"

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


@dataclass(frozen=True)
class StartTransaction:
    """Send `request` in a new client transaction; responses come back to the sender."""

    request: Request
    destination: Destination


@dataclass(frozen=True)
class SendStateless:
    """Send outside any transaction: the ACK for a 2xx, a 2xx retransmission."""

    message: Request | Response
    destination: Destination


@dataclass(frozen=True)
class Respond:
    """Answer `request` through the server transaction the endpoint made for it."""

    request: Request
    response: Response


@dataclass(frozen=True)
class Notify:
    """An event for the application (the shell that owns this transaction user)."""

    event: object


Action = StartTransaction | SendStateless | Respond | Notify
