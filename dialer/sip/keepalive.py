"""OPTIONS keepalive to a trunk, sans-IO: is it up, and how far away is it.

Any final response proves the trunk is alive and gives a round-trip time,
even 404 or 405 (many carriers refuse OPTIONS but still answer it). Only a
transaction time-out marks the trunk down. One probe at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.sip.actions import Action, Destination, Notify, StartTransaction
from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, new_call_id, new_request, new_tag


@dataclass(frozen=True)
class TrunkAlive:
    trunk: str
    sip_code: int
    rtt_s: float
    at: float


@dataclass(frozen=True)
class TrunkDown:
    trunk: str
    reason: str
    at: float


@dataclass(frozen=True)
class KeepaliveParams:
    trunk: str
    target: str  # Request-URI of the probe
    from_uri: str
    destination: Destination
    interval_s: float
    user_agent: str = "dialer"


class OptionsKeepalive:
    def __init__(self, params: KeepaliveParams) -> None:
        self.params = params
        self.last_rtt_s: float | None = None
        self.alive: bool | None = None  # unknown until the first probe ends
        self._seq = 0
        self._tag = new_tag()
        self._call_id = new_call_id(params.destination.host)
        self._pending: Request | None = None
        self._sent_at = 0.0
        self._next_probe: float | None = None

    def start(self, now: float) -> list[Action]:
        return self._probe(now)

    def next_deadline(self) -> float | None:
        return self._next_probe

    def on_timer(self, now: float) -> list[Action]:
        if self._next_probe is not None and now >= self._next_probe and self._pending is None:
            return self._probe(now)
        return []

    def on_response(self, response: Response, now: float) -> list[Action]:
        if self._pending is None or response.status < 200:
            return []
        try:
            if response.cseq.seq != self._pending.cseq.seq:
                return []
        except SipParseError:
            return []
        self._pending = None
        self.alive = True
        self.last_rtt_s = now - self._sent_at
        self._next_probe = now + self.params.interval_s
        return [Notify(TrunkAlive(self.params.trunk, response.status, self.last_rtt_s, now))]

    def on_transaction_timeout(self, request: Request, now: float) -> list[Action]:
        if request is not self._pending:
            return []
        self._pending = None
        self.alive = False
        self._next_probe = now + self.params.interval_s
        return [Notify(TrunkDown(self.params.trunk, "no answer to OPTIONS", now))]

    def _probe(self, now: float) -> list[Action]:
        p = self.params
        self._seq += 1
        request = new_request(
            "OPTIONS",
            p.target,
            from_=f"<{p.from_uri}>;tag={self._tag}",
            to=f"<{p.target}>",
            call_id=self._call_id,
            seq=self._seq,
        )
        request.headers.add("Accept", "application/sdp")
        request.headers.add("User-Agent", p.user_agent)
        self._pending = request
        self._sent_at = now
        self._next_probe = None
        return [StartTransaction(request, p.destination)]
