"""SDP parsing (tolerant where it may be, strict where it must be) and RFC 3264 offer/answer."""

from __future__ import annotations

import pytest

from media.sdp import (
    PCMA,
    PCMU,
    Codec,
    Connection,
    Direction,
    SdpError,
    SdpNegotiationError,
    SdpSession,
    SessionDescription,
    negotiate,
)

TRUNK_OFFER = (
    "v=0\r\n"
    "o=root 1821 1821 IN IP4 192.0.2.10\r\n"
    "s=Asterisk PBX\r\n"
    "i=a session\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "b=AS:64\r\n"
    "t=0 0\r\n"
    "a=tool:something\r\n"
    "m=audio 16384 RTP/AVP 8 0 18 96\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-16\r\n"
    "a=ptime:30\r\n"
    "a=rtcp:16385\r\n"
    "a=x-unknown\r\n"
    "m=video 0 RTP/AVP 31\r\n"
)


def offer_text(
    formats: str,
    *extra: str,
    conn: str = "c=IN IP4 192.0.2.20",
    media_conn: str | None = None,
    session_attr: str | None = None,
) -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 192.0.2.20", "s=-", conn, "t=0 0"]
    if session_attr:
        lines.append(session_attr)
    lines.append(f"m=audio 4000 RTP/AVP {formats}")
    if media_conn:
        lines.append(media_conn)
    lines.extend(extra)
    return "\r\n".join(lines) + "\r\n"


# -- parsing -------------------------------------------------------------------------------


def test_parse_a_trunk_offer_tolerating_lines_we_do_not_use() -> None:
    sdp = SessionDescription.parse(TRUNK_OFFER)
    assert sdp.origin.session_id == "1821" and sdp.origin.version == 1821
    assert sdp.connection == Connection("IP4", "192.0.2.10")
    assert len(sdp.media) == 2 and sdp.audio_index() == 0
    audio = sdp.media[0]
    assert audio.port == 16384 and audio.formats == ("8", "0", "18", "96")
    assert [c.name for c in audio.codecs()] == ["PCMA", "PCMU", "G729", "telephone-event"]
    assert audio.codecs()[2].fmtp == "annexb=no"
    assert audio.ptime == 30
    assert sdp.direction_of(audio) is Direction.SENDRECV
    assert audio.attribute("x-unknown") == "" and audio.attribute("rtcp") == "16385"


def test_parse_bare_lf_and_static_payload_types_without_rtpmap() -> None:
    text = "v=0\no=- 5 7 IN IP4 10.0.0.1\ns=\nc=IN IP4 10.0.0.1/127\nt=0 0\nm=audio 9 RTP/AVP 0 8\n"
    sdp = SessionDescription.parse(text.encode())
    assert [(c.payload_type, c.name) for c in sdp.media[0].codecs()] == [(0, "PCMU"), (8, "PCMA")]
    assert sdp.connection is not None and sdp.connection.address == "10.0.0.1"  # ttl dropped


def test_round_trip_through_text() -> None:
    sdp = SessionDescription.parse(TRUNK_OFFER)
    assert SessionDescription.parse(sdp.to_text()).media == sdp.media


@pytest.mark.parametrize(
    "text",
    [
        "",
        "o=- 1 1 IN IP4 1.2.3.4\r\n",  # no v=
        "v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
        "v=0\r\ns=-\r\n",  # no o=
        "v=0\r\no=- 1 IN IP4 1.2.3.4\r\n",  # o= with 5 fields
        "v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n",  # non-numeric version
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IPX 1.2.3.4\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nthis is not sdp\r\n",
        b"v=0\r\no=- 1 1 IN IP4 \xff\r\n",
    ],
)
def test_malformed_sdp_raises_sdp_error(text: str | bytes) -> None:
    with pytest.raises(SdpError):
        sdp = SessionDescription.parse(text)
        for media in sdp.media:  # ptime is read lazily
            _ = media.ptime


# -- offers --------------------------------------------------------------------------------


def test_offer_golden_text() -> None:
    session = SdpSession("192.0.2.1", session_id=4242)
    offer = session.build_offer(20000)
    assert offer.to_text() == (
        "v=0\r\n"
        "o=- 4242 1 IN IP4 192.0.2.1\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.1\r\n"
        "t=0 0\r\n"
        "m=audio 20000 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )


def test_ipv6_offer_and_version_increments_per_offer_and_answer() -> None:
    session = SdpSession("::1", session_id=7, dtmf_payload_type=96, codecs=(PCMA,))
    first = session.build_offer(30000)
    assert first.origin.line() == "o=- 7 1 IN IP6 ::1"
    assert first.connection == Connection("IP6", "::1")
    assert first.media[0].formats == ("8", "96")
    answer, _ = session.build_answer(SessionDescription.parse(offer_text("8")), 30000)
    again = session.build_offer(30000, direction=Direction.SENDONLY)
    assert (answer.origin.version, again.origin.version) == (2, 3)
    assert again.origin.session_id == "7"
    assert again.media[0].direction is Direction.SENDONLY


# -- answering -----------------------------------------------------------------------------


def test_answer_picks_first_common_codec_in_offer_order_and_refuses_other_media() -> None:
    session = SdpSession("192.0.2.1", session_id=1)
    answer, media = session.build_answer(SessionDescription.parse(TRUNK_OFFER), 20002)
    assert media.codec_name == "PCMA" and media.payload_type == 8
    assert media.dtmf_payload_type == 96
    assert (media.remote_host, media.remote_port, media.ptime_ms) == ("192.0.2.10", 16384, 30)
    assert media.direction is Direction.SENDRECV
    audio, video = answer.media
    assert audio.formats == ("8", "96") and audio.port == 20002
    assert audio.attribute("fmtp") == "96 0-16"
    assert (video.media, video.port) == ("video", 0)


def test_answer_maps_dynamic_payload_type_by_name() -> None:
    offer = offer_text("97 0", "a=rtpmap:97 pcmu/8000", "a=rtpmap:0 PCMU/8000")
    _, media = SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)
    assert (media.payload_type, media.codec_name) == (97, "PCMU")
    assert media.dtmf_payload_type is None


def test_answer_ignores_wideband_telephone_event() -> None:
    offer = offer_text("0 110", "a=rtpmap:110 telephone-event/48000")
    answer, media = SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)
    assert media.dtmf_payload_type is None and answer.media[0].formats == ("0",)


def test_answer_without_common_codec_is_a_negotiation_error() -> None:
    offer = offer_text("18 9", "a=rtpmap:18 G729/8000")
    with pytest.raises(SdpNegotiationError):
        SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)


def test_answer_refuses_secure_rtp_profile() -> None:
    offer = offer_text("0").replace("RTP/AVP", "RTP/SAVP")
    with pytest.raises(SdpNegotiationError):
        SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)


@pytest.mark.parametrize(
    ("their_attribute", "conn", "ours"),
    [
        ("a=sendrecv", "c=IN IP4 192.0.2.20", Direction.SENDRECV),
        ("a=sendonly", "c=IN IP4 192.0.2.20", Direction.RECVONLY),
        ("a=recvonly", "c=IN IP4 192.0.2.20", Direction.SENDONLY),
        ("a=inactive", "c=IN IP4 192.0.2.20", Direction.INACTIVE),
        (None, "c=IN IP4 0.0.0.0", Direction.RECVONLY),  # RFC 2543 hold
        ("a=sendonly", "c=IN IP4 0.0.0.0", Direction.RECVONLY),
        ("a=recvonly", "c=IN IP4 0.0.0.0", Direction.INACTIVE),
    ],
)
def test_answer_mirrors_direction(their_attribute: str | None, conn: str, ours: Direction) -> None:
    extra = [their_attribute] if their_attribute else []
    offer = SessionDescription.parse(offer_text("0", *extra, conn=conn))
    answer, media = SdpSession("192.0.2.1").build_answer(offer, 20000)
    assert media.direction is ours
    assert answer.media[0].direction is ours


def test_session_level_direction_and_media_level_connection() -> None:
    offer = offer_text(
        "0", conn="c=IN IP4 0.0.0.0", media_conn="c=IN IP4 192.0.2.99", session_attr="a=sendonly"
    )
    _, media = SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)
    assert media.remote_host == "192.0.2.99"  # media c= wins, so not a 0.0.0.0 hold
    assert media.direction is Direction.RECVONLY  # from the session-level sendonly


def test_answer_needs_an_ip_literal_connection() -> None:
    offer = offer_text("0", conn="c=IN IP4 pbx.example.com")
    with pytest.raises(SdpError):
        SdpSession("192.0.2.1").build_answer(SessionDescription.parse(offer), 20000)


# -- reading answers -----------------------------------------------------------------------


def make_answer(
    formats: str, *extra: str, port: int = 5000, conn: str = "c=IN IP4 192.0.2.50"
) -> SessionDescription:
    lines = [
        "v=0",
        "o=- 9 9 IN IP4 192.0.2.50",
        "s=-",
        conn,
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        *extra,
    ]
    return SessionDescription.parse("\r\n".join(lines) + "\r\n")


@pytest.fixture
def our_offer() -> SessionDescription:
    return SdpSession("192.0.2.1", session_id=1).build_offer(20000)


def test_negotiate_reads_codec_dtmf_ptime_and_address(our_offer: SessionDescription) -> None:
    answer = make_answer(
        "8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=ptime:20"
    )
    media = negotiate(our_offer, answer)
    assert media.remote_host == "192.0.2.50" and media.remote_port == 5000
    assert (media.payload_type, media.codec_name, media.dtmf_payload_type) == (8, "PCMA", 101)
    assert media.ptime_ms == 20 and media.direction is Direction.SENDRECV


def test_negotiate_without_telephone_event(our_offer: SessionDescription) -> None:
    media = negotiate(our_offer, make_answer("0"))
    assert media.codec_name == "PCMU" and media.dtmf_payload_type is None
    assert media.ptime_ms == 20


def test_negotiate_with_ipv6_answer(our_offer: SessionDescription) -> None:
    media = negotiate(our_offer, make_answer("0", conn="c=IN IP6 2001:db8::5"))
    assert media.remote_host == "2001:db8::5"


@pytest.mark.parametrize(
    ("attribute", "ours"),
    [
        ("a=recvonly", Direction.SENDONLY),
        ("a=sendonly", Direction.RECVONLY),
        ("a=inactive", Direction.INACTIVE),
    ],
)
def test_negotiate_direction(
    our_offer: SessionDescription, attribute: str, ours: Direction
) -> None:
    assert negotiate(our_offer, make_answer("0", attribute)).direction is ours


def test_negotiate_refusals(our_offer: SessionDescription) -> None:
    with pytest.raises(SdpNegotiationError):
        negotiate(our_offer, make_answer("18", "a=rtpmap:18 G729/8000"))
    with pytest.raises(SdpNegotiationError):
        negotiate(our_offer, make_answer("0", port=0))
    with pytest.raises(SdpNegotiationError):
        negotiate(our_offer, make_answer("101", "a=rtpmap:101 telephone-event/8000"))


def test_negotiate_unusable_answers(our_offer: SessionDescription) -> None:
    no_connection = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
    )
    with pytest.raises(SdpError):
        negotiate(our_offer, no_connection)
    no_media = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n")
    with pytest.raises(SdpError):
        negotiate(our_offer, no_media)


def test_codec_comparison_ignores_case_and_payload_number() -> None:
    assert Codec(97, "pcmu").same_format(PCMU)
    assert not Codec(0, "PCMU", 16000).same_format(PCMU)
