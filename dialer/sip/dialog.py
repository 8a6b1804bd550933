"""The UAC side of a SIP dialog (RFC 3261 section 12): identity, route set, CSeq, target.

A dialog is made from the INVITE we sent and the response that carried the
remote tag (an early dialog from a 1xx, a confirmed one from the 2xx). It then
builds every in-dialog request: BYE, the ACK for a 2xx, re-INVITE answers'
checks, with the route set taken from Record-Route and the remote target from
Contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialer.sip.errors import SipParseError
from dialer.sip.message import Request, Response, new_request
from dialer.sip.uri import NameAddr, SipUri


class DialogError(ValueError):
    """A response or request that cannot form or continue the dialog."""


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_party: str  # our From header value (with our tag)
    remote_party: str  # the To header value as the far end answered it (with its tag)
    remote_target: str  # the Contact URI of the far end
    route_set: list[str] = field(default_factory=list)  # Route values, in sending order
    local_seq: int = 1
    remote_seq: int | None = None
    confirmed: bool = False

    @classmethod
    def from_response(cls, invite: Request, response: Response) -> Dialog:
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (RFC 3261 12.1.2)."""
        try:
            to = response.to
            contacts = response.headers.get_all("Contact")
            record_routes = response.headers.get_all("Record-Route")
            local = invite.from_
        except SipParseError as exc:
            raise DialogError(f"unusable response headers: {exc.reason}") from None
        if not to.tag:
            raise DialogError("response has no To tag")
        local_tag = local.tag
        if not local_tag:
            raise DialogError("our INVITE has no From tag")
        if response.status >= 200 and not contacts:
            raise DialogError("2xx to INVITE without Contact")
        target = invite.uri
        if contacts:
            target = _uri_text(contacts[0])
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=to.tag,
            local_party=invite.headers.get("From") or "",
            remote_party=response.headers.get("To") or "",
            remote_target=target,
            route_set=list(reversed(record_routes)),
            local_seq=invite.cseq.seq,
            confirmed=200 <= response.status < 300,
        )

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    def request(self, method: str, *, seq: int | None = None, body: bytes = b"") -> Request:
        """An in-dialog request (RFC 3261 12.2.1.1). A new CSeq unless `seq` is given (ACK)."""
        if seq is None:
            self.local_seq += 1
            seq = self.local_seq
        uri, routes = self._request_uri_and_routes()
        request = new_request(
            method,
            uri,
            from_=self.local_party,
            to=self.remote_party,
            call_id=self.call_id,
            seq=seq,
        )
        for route in routes:
            request.headers.add("Route", route)
        request.body = body
        return request

    def ack_for_2xx(self, invite: Request) -> Request:
        """ACK for a 2xx: same CSeq number as the INVITE, method ACK; credentials copied."""
        ack = self.request("ACK", seq=invite.cseq.seq)
        for name in ("Authorization", "Proxy-Authorization"):
            for value in invite.headers.get_all(name):
                ack.headers.add(name, value)
        return ack

    def next_hop(self) -> SipUri:
        """Where in-dialog requests go: the first route, else the remote target."""
        first = self.route_set[0] if self.route_set else self.remote_target
        uri = NameAddr.parse(first).uri if self.route_set else SipUri.parse(first)
        if not isinstance(uri, SipUri):
            raise DialogError(f"cannot route to {first!r}")
        return uri

    def accept_remote_request(self, request: Request) -> int | None:
        """Check a request from the far end against the dialog; a status to refuse it, or None."""
        seq = request.cseq.seq
        if request.method != "ACK" and self.remote_seq is not None and seq <= self.remote_seq:
            # RFC 3261 12.2.2: lower CSeq is out of order; equal is a retransmission the
            # transaction layer absorbs, so here it can only be a confused peer.
            return 500
        if request.method != "ACK":
            self.remote_seq = seq
        if request.method in ("INVITE", "UPDATE"):
            contacts = request.headers.get_all("Contact")
            if contacts:
                self.remote_target = _uri_text(contacts[0])
        return None

    def _request_uri_and_routes(self) -> tuple[str, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = NameAddr.parse(self.route_set[0])
        if isinstance(first.uri, SipUri) and "lr" in first.uri.params:
            return self.remote_target, list(self.route_set)
        # Strict router (RFC 2543): it goes in the Request-URI, the target last in Route.
        return str(first.uri), [*self.route_set[1:], f"<{self.remote_target}>"]


def _uri_text(header_value: str) -> str:
    uri = NameAddr.parse(header_value).uri
    return str(uri)
