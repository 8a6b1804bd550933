"""SDP (RFC 4566) for one audio stream and the RFC 3264 offer/answer around it.

Parsing tolerates lines it does not use (b=, i=, k=, unknown attributes, other
media) and is strict about the ones it does (v=, o=, c=, m=, rtpmap, ptime); every
failure is an `SdpError`. A refusal a SIP layer should answer with 488 is an
`SdpNegotiationError`.

`SdpSession` owns the o= line of one call: a fixed session id and a version that
increases with every offer or answer it builds (RFC 3264 §8).

Directions in `NegotiatedMedia` are from *our* side: SENDONLY means we send and do
not expect to receive. Old-style hold (RFC 2543: c=0.0.0.0) counts as the far end
not receiving.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

__all__ = [
    "PCMA",
    "PCMU",
    "TELEPHONE_EVENT",
    "Attribute",
    "Codec",
    "Connection",
    "Direction",
    "MediaDescription",
    "NegotiatedMedia",
    "Origin",
    "SdpError",
    "SdpNegotiationError",
    "SdpSession",
    "SessionDescription",
    "negotiate",
]

DEFAULT_PTIME_MS: Final = 20
DEFAULT_DTMF_PAYLOAD_TYPE: Final = 101
_RTP_AVP: Final = "RTP/AVP"


class SdpError(ValueError):
    """SDP that cannot be parsed or used."""


class SdpNegotiationError(SdpError):
    """Well-formed SDP with nothing we can agree on (a SIP layer answers 488)."""


class Direction(StrEnum):
    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def from_flags(cls, *, sends: bool, receives: bool) -> Direction:
        if sends:
            return cls.SENDRECV if receives else cls.SENDONLY
        return cls.RECVONLY if receives else cls.INACTIVE

    def mirrored(self) -> Direction:
        """The far end's direction seen from our side (their sendonly is our recvonly)."""
        return Direction.from_flags(sends=self.receives, receives=self.sends)

    def intersect(self, other: Direction) -> Direction:
        return Direction.from_flags(
            sends=self.sends and other.sends, receives=self.receives and other.receives
        )


_DIRECTION_NAMES: Final = frozenset(direction.value for direction in Direction)


@dataclass(frozen=True, slots=True)
class Codec:
    payload_type: int
    name: str
    clock_rate: int = 8000
    channels: int = 1
    fmtp: str | None = None

    def same_format(self, other: Codec) -> bool:
        """Same encoding regardless of payload type number (names are case-insensitive)."""
        return (
            self.name.lower() == other.name.lower()
            and self.clock_rate == other.clock_rate
            and self.channels == other.channels
        )


PCMU: Final = Codec(0, "PCMU")
PCMA: Final = Codec(8, "PCMA")
TELEPHONE_EVENT: Final = Codec(DEFAULT_DTMF_PAYLOAD_TYPE, "telephone-event", fmtp="0-16")

# RFC 3551 static audio payload types that need no rtpmap.
_STATIC_CODECS: Final = {
    0: PCMU,
    3: Codec(3, "GSM"),
    4: Codec(4, "G723"),
    8: PCMA,
    9: Codec(9, "G722"),
    13: Codec(13, "CN"),
    18: Codec(18, "G729"),
}


@dataclass(frozen=True, slots=True)
class Origin:
    username: str
    session_id: str
    version: int
    address_type: str
    address: str
    network_type: str = "IN"

    def line(self) -> str:
        return (
            f"o={self.username} {self.session_id} {self.version} "
            f"{self.network_type} {self.address_type} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    address_type: str  # IP4 or IP6
    address: str  # without any /ttl or /count suffix
    network_type: str = "IN"

    @property
    def is_hold(self) -> bool:
        """RFC 2543 hold: the unspecified address (0.0.0.0, or :: by analogy)."""
        return self.address in ("0.0.0.0", "::")

    def line(self) -> str:
        return f"c={self.network_type} {self.address_type} {self.address}"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    value: str | None = None

    def line(self) -> str:
        return f"a={self.name}" if self.value is None else f"a={self.name}:{self.value}"


def _direction_of(attributes: Iterable[Attribute]) -> Direction | None:
    found = None
    for attribute in attributes:
        if attribute.value is None and attribute.name in _DIRECTION_NAMES:
            found = Direction(attribute.name)
    return found


@dataclass(frozen=True, slots=True)
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    port_count: int | None = None

    def attribute(self, name: str) -> str | None:
        """The value of the first attribute of that name ('' for a flag), else None."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute.value or ""
        return None

    @property
    def direction(self) -> Direction | None:
        return _direction_of(self.attributes)

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        if value is None:
            return None
        try:
            ptime = int(float(value))
        except ValueError:
            raise SdpError(f"bad ptime {value!r}") from None
        if ptime <= 0:
            raise SdpError(f"bad ptime {value!r}")
        return ptime

    def codecs(self) -> list[Codec]:
        """The formats as codecs, in offer order; formats we cannot name are left out."""
        rtpmaps: dict[int, Codec] = {}
        fmtps: dict[int, str] = {}
        for attribute in self.attributes:
            if attribute.name == "rtpmap":
                mapped = _parse_rtpmap(attribute.value or "")
                rtpmaps[mapped.payload_type] = mapped
            elif attribute.name == "fmtp" and attribute.value:
                number, _, params = attribute.value.partition(" ")
                if number.isdigit():
                    fmtps[int(number)] = params.strip()
        found: list[Codec] = []
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            payload_type = int(fmt)
            codec = rtpmaps.get(payload_type) or _STATIC_CODECS.get(payload_type)
            if codec is None:
                continue
            if payload_type in fmtps:
                codec = replace(codec, fmtp=fmtps[payload_type])
            found.append(codec)
        return found

    def lines(self) -> list[str]:
        port = self.port if self.port_count is None else f"{self.port}/{self.port_count}"
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        if self.connection is not None:
            out.append(self.connection.line())
        out.extend(attribute.line() for attribute in self.attributes)
        return out


def _parse_rtpmap(value: str) -> Codec:
    number, _, encoding = value.partition(" ")
    parts = encoding.strip().split("/")
    try:
        payload_type = int(number)
        clock_rate = int(parts[1])
        channels = int(parts[2]) if len(parts) > 2 else 1
    except (ValueError, IndexError):
        raise SdpError(f"bad rtpmap {value!r}") from None
    if not 0 <= payload_type <= 127 or not parts[0]:
        raise SdpError(f"bad rtpmap {value!r}")
    return Codec(payload_type, parts[0], clock_rate, channels)


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()

    @classmethod
    def parse(cls, text: str | bytes) -> SessionDescription:
        return _Parser().parse(text)

    def to_text(self) -> str:
        lines = ["v=0", self.origin.line(), f"s={self.session_name or '-'}"]
        if self.connection is not None:
            lines.append(self.connection.line())
        lines.append("t=0 0")
        lines.extend(attribute.line() for attribute in self.attributes)
        for media in self.media:
            lines.extend(media.lines())
        return "\r\n".join(lines) + "\r\n"

    def __str__(self) -> str:
        return self.to_text()

    def audio_index(self) -> int:
        """Index of the first audio m-line. Raises SdpError when there is none."""
        for index, media in enumerate(self.media):
            if media.media == "audio":
                return index
        raise SdpError("no audio m-line")

    def direction_of(self, media: MediaDescription) -> Direction:
        """The m-line's direction: its own attribute, else the session's, else sendrecv."""
        return media.direction or _direction_of(self.attributes) or Direction.SENDRECV

    def connection_of(self, media: MediaDescription) -> Connection:
        connection = media.connection or self.connection
        if connection is None:
            raise SdpError("no c= line for the audio stream")
        return connection


class _Parser:
    """One pass over the lines; session-level until the first m=."""

    def __init__(self) -> None:
        self.origin: Origin | None = None
        self.session_name = "-"
        self.connection: Connection | None = None
        self.attributes: list[Attribute] = []
        self.media: list[MediaDescription] = []
        self._media_attributes: list[Attribute] = []
        self._media_connection: Connection | None = None
        self._current: MediaDescription | None = None

    def parse(self, text: str | bytes) -> SessionDescription:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SdpError(f"SDP is not UTF-8: {exc}") from None
        lines = [line.rstrip("\r") for line in text.split("\n")]
        lines = [line for line in lines if line.strip()]
        if not lines or lines[0].strip() != "v=0":
            raise SdpError("SDP must start with v=0")
        for number, line in enumerate(lines[1:], start=2):
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise SdpError(f"line {number} is not type=value: {line[:40]!r}")
            self._line(line[0], line[2:].strip())
        self._close_media()
        if self.origin is None:
            raise SdpError("no o= line")
        return SessionDescription(
            origin=self.origin,
            session_name=self.session_name,
            connection=self.connection,
            attributes=tuple(self.attributes),
            media=tuple(self.media),
        )

    def _line(self, kind: str, value: str) -> None:
        if kind == "o":
            self.origin = _parse_origin(value)
        elif kind == "s":
            self.session_name = value
        elif kind == "c":
            connection = _parse_connection(value)
            if self._current is None:
                self.connection = connection
            else:
                self._media_connection = connection
        elif kind == "m":
            self._close_media()
            self._current = _parse_media_line(value)
        elif kind == "a":
            name, colon, attr_value = value.partition(":")
            attribute = Attribute(name.strip(), attr_value.strip() if colon else None)
            if self._current is None:
                self.attributes.append(attribute)
            else:
                self._media_attributes.append(attribute)
        # v= repeated, i=, u=, e=, p=, b=, t=, r=, z=, k=: not needed, tolerated.

    def _close_media(self) -> None:
        if self._current is None:
            return
        current = self._current
        media = MediaDescription(
            media=current.media,
            port=current.port,
            proto=current.proto,
            formats=current.formats,
            connection=self._media_connection,
            attributes=tuple(self._media_attributes),
            port_count=current.port_count,
        )
        for attribute in media.attributes:
            if attribute.name == "rtpmap":
                _parse_rtpmap(attribute.value or "")  # fail now, not later
        self.media.append(media)
        self._current = None
        self._media_connection = None
        self._media_attributes = []


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6:
        raise SdpError(f"o= needs 6 fields: {value!r}")
    username, session_id, version, network_type, address_type, address = parts
    if not version.isdigit():
        raise SdpError(f"o= session version is not a number: {version!r}")
    return Origin(username, session_id, int(version), address_type, address, network_type)


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError(f"c= needs 3 fields: {value!r}")
    network_type, address_type, address = parts
    if network_type != "IN" or address_type not in ("IP4", "IP6"):
        raise SdpError(f"unsupported c= address: {value!r}")
    return Connection(address_type, address.split("/", 1)[0], network_type)


def _parse_media_line(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"m= needs media, port, proto and formats: {value!r}")
    media, port_text, proto = parts[:3]
    port_part, slash, count_part = port_text.partition("/")
    try:
        port = int(port_part)
        port_count = int(count_part) if slash else None
    except ValueError:
        raise SdpError(f"bad m= port {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise SdpError(f"m= port {port} out of range")
    return MediaDescription(media, port, proto, tuple(parts[3:]), port_count=port_count)


# -- offer / answer -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NegotiatedMedia:
    """What one offer/answer exchange decided for the audio stream."""

    remote_host: str
    remote_port: int
    payload_type: int
    codec_name: str  # "PCMU" or "PCMA"
    dtmf_payload_type: int | None
    ptime_ms: int
    direction: Direction  # ours: what we send / expect to receive


def _remote_direction(sdp: SessionDescription, media: MediaDescription) -> Direction:
    """The far end's direction, with c=0.0.0.0 read as 'do not send to me'."""
    direction = sdp.direction_of(media)
    if sdp.connection_of(media).is_hold:
        direction = direction.intersect(Direction.SENDONLY)
    return direction


def _check_ip(connection: Connection) -> str:
    try:
        ipaddress.ip_address(connection.address)
    except ValueError:
        raise SdpError(f"c= address is not an IP literal: {connection.address!r}") from None
    return connection.address


def _first_common(theirs: Sequence[Codec], ours: Sequence[Codec]) -> Codec | None:
    """Their first codec (in their order) that we support, with their payload type."""
    for codec in theirs:
        if any(codec.same_format(mine) for mine in ours):
            return codec
    return None


def _telephone_event(codecs: Sequence[Codec]) -> Codec | None:
    return next((codec for codec in codecs if codec.same_format(TELEPHONE_EVENT)), None)


def _canonical_name(codec: Codec, ours: Sequence[Codec]) -> str:
    return next(mine.name for mine in ours if codec.same_format(mine))


class SdpSession:
    """SDP for one call: builds our offers and answers with a stable o= session id."""

    def __init__(
        self,
        address: str,
        *,
        session_id: int | None = None,
        username: str = "-",
        codecs: Sequence[Codec] = (PCMU, PCMA),
        dtmf_payload_type: int | None = DEFAULT_DTMF_PAYLOAD_TYPE,
        ptime_ms: int = DEFAULT_PTIME_MS,
    ) -> None:
        if not codecs:
            raise ValueError("at least one codec")
        self.address = address
        self.address_type = "IP6" if ":" in address else "IP4"
        self.session_id = session_id if session_id is not None else secrets.randbits(62)
        self.username = username
        self.codecs = tuple(codecs)
        self.dtmf_payload_type = dtmf_payload_type
        self.ptime_ms = ptime_ms
        self.version = 0

    def _origin(self) -> Origin:
        self.version += 1
        return Origin(
            self.username, str(self.session_id), self.version, self.address_type, self.address
        )

    def _audio(
        self, port: int, codecs: Sequence[Codec], dtmf: Codec | None, direction: Direction
    ) -> MediaDescription:
        formats = [str(codec.payload_type) for codec in codecs]
        attributes = [
            Attribute("rtpmap", f"{codec.payload_type} {codec.name}/{codec.clock_rate}")
            for codec in codecs
        ]
        if dtmf is not None:
            formats.append(str(dtmf.payload_type))
            attributes.append(Attribute("rtpmap", f"{dtmf.payload_type} telephone-event/8000"))
            attributes.append(Attribute("fmtp", f"{dtmf.payload_type} 0-16"))
        attributes.append(Attribute("ptime", str(self.ptime_ms)))
        attributes.append(Attribute(direction.value))
        return MediaDescription("audio", port, _RTP_AVP, tuple(formats), None, tuple(attributes))

    def _description(self, media: Sequence[MediaDescription]) -> SessionDescription:
        return SessionDescription(
            origin=self._origin(),
            session_name="-",
            connection=Connection(self.address_type, self.address),
            media=tuple(media),
        )

    def build_offer(
        self, port: int, *, direction: Direction = Direction.SENDRECV
    ) -> SessionDescription:
        dtmf = None
        if self.dtmf_payload_type is not None:
            dtmf = Codec(self.dtmf_payload_type, TELEPHONE_EVENT.name, fmtp="0-16")
        return self._description([self._audio(port, self.codecs, dtmf, direction)])

    def build_answer(
        self,
        offer: SessionDescription,
        port: int,
        *,
        direction: Direction = Direction.SENDRECV,
    ) -> tuple[SessionDescription, NegotiatedMedia]:
        """Answer `offer` (RFC 3264 §6): every m-line answered in order, the first usable
        audio stream accepted with their first codec we support, the rest refused with
        port 0. Raises SdpNegotiationError when no audio stream is usable."""
        answered: list[MediaDescription] = []
        negotiated: NegotiatedMedia | None = None
        for media in offer.media:
            if negotiated is None and media.media == "audio" and media.port != 0:
                accepted = self._accept_audio(offer, media, port, direction)
                if accepted is not None:
                    answer_media, negotiated = accepted
                    answered.append(answer_media)
                    continue
            answered.append(
                MediaDescription(media.media, 0, media.proto, media.formats[:1] or ("0",))
            )
        if negotiated is None:
            raise SdpNegotiationError("no audio stream with a codec in common (PCMU/PCMA)")
        return self._description(answered), negotiated

    def _accept_audio(
        self,
        offer: SessionDescription,
        media: MediaDescription,
        port: int,
        direction: Direction,
    ) -> tuple[MediaDescription, NegotiatedMedia] | None:
        if media.proto != _RTP_AVP:
            return None
        offered = media.codecs()
        chosen = _first_common(offered, self.codecs)
        if chosen is None:
            return None
        dtmf = _telephone_event(offered) if self.dtmf_payload_type is not None else None
        ours = _remote_direction(offer, media).mirrored().intersect(direction)
        codec = Codec(chosen.payload_type, _canonical_name(chosen, self.codecs))
        answer_media = self._audio(port, [codec], dtmf, ours)
        negotiated = NegotiatedMedia(
            remote_host=_check_ip(offer.connection_of(media)),
            remote_port=media.port,
            payload_type=chosen.payload_type,
            codec_name=codec.name,
            dtmf_payload_type=dtmf.payload_type if dtmf is not None else None,
            ptime_ms=media.ptime or DEFAULT_PTIME_MS,
            direction=ours,
        )
        return answer_media, negotiated


def negotiate(
    local_offer: SessionDescription, remote_answer: SessionDescription
) -> NegotiatedMedia:
    """Read the far end's answer to our offer. Raises SdpNegotiationError when it refused
    the audio stream or chose nothing we offered, SdpError when it is unusable."""
    index = local_offer.audio_index()
    if index >= len(remote_answer.media):
        raise SdpError("the answer has fewer m-lines than the offer")
    offered = local_offer.media[index]
    answered = remote_answer.media[index]
    if answered.media != "audio":
        raise SdpError(f"m-line {index} is {answered.media!r} in the answer, audio in the offer")
    if answered.port == 0:
        raise SdpNegotiationError("the far end refused the audio stream (port 0)")
    our_codecs = offered.codecs()
    audio_codecs = [codec for codec in our_codecs if not codec.same_format(TELEPHONE_EVENT)]
    answer_codecs = answered.codecs()
    chosen = _first_common(answer_codecs, audio_codecs)
    if chosen is None:
        raise SdpNegotiationError("the answer has no codec in common with the offer")
    dtmf = None
    if _telephone_event(our_codecs) is not None:
        dtmf = _telephone_event(answer_codecs)
    ours = (
        _remote_direction(remote_answer, answered)
        .mirrored()
        .intersect(local_offer.direction_of(offered))
    )
    return NegotiatedMedia(
        remote_host=_check_ip(remote_answer.connection_of(answered)),
        remote_port=answered.port,
        payload_type=chosen.payload_type,
        codec_name=_canonical_name(chosen, audio_codecs),
        dtmf_payload_type=dtmf.payload_type if dtmf is not None else None,
        ptime_ms=answered.ptime or DEFAULT_PTIME_MS,
        direction=ours,
    )
