"""RTP packet parsing and serialising with golden bytes, and sequence arithmetic."""

from __future__ import annotations

import pytest

from media.rtp import (
    RtpExtension,
    RtpPacket,
    RtpParseError,
    SequenceUnwrapper,
    looks_like_rtcp,
    looks_like_rtp,
    pack_header,
    seq_delta,
    timestamp_delta,
)

PLAIN = bytes.fromhex("80001234000003e8deadbeef") + b"abc"


def test_parse_plain_packet() -> None:
    packet = RtpPacket.parse(PLAIN)
    assert packet == RtpPacket(
        payload_type=0, sequence_number=0x1234, timestamp=1000, ssrc=0xDEADBEEF, payload=b"abc"
    )
    assert packet.version == 2 and not packet.marker


def test_serialize_plain_packet_golden() -> None:
    packet = RtpPacket(0, 0x1234, 1000, 0xDEADBEEF, b"abc")
    assert packet.serialize() == PLAIN


def test_marker_and_payload_type_share_the_second_octet() -> None:
    packet = RtpPacket(101, 1, 2, 3, b"\x01\x02\x03\x04", marker=True)
    data = packet.serialize()
    assert data[:2] == b"\x80\xe5"
    assert RtpPacket.parse(data) == packet


def test_csrc_extension_and_padding_round_trip_golden() -> None:
    packet = RtpPacket(
        8,
        65535,
        0xFFFFFFFF,
        7,
        b"xy",
        csrc=(1, 2),
        extension=RtpExtension(0xBEDE, b"\x10\x20\x30\x40"),
        padding=3,
    )
    data = packet.serialize()
    assert data == bytes.fromhex(
        "b208ffffffffffff00000007"  # V=2 P=1 X=1 CC=2, PT 8, seq, ts, ssrc
        "0000000100000002"  # CSRCs
        "bede000110203040"  # extension: profile, 1 word, data
        "7879"
        "000003"  # payload, 3 padding octets ending in their count
    )
    assert RtpPacket.parse(data) == packet


def test_pack_header_matches_serialize() -> None:
    header = pack_header(0, 10, 20, 30, marker=True)
    assert header + b"p" == RtpPacket(0, 10, 20, 30, b"p", marker=True).serialize()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (bytes.fromhex("8000123400"), "shorter"),
        (bytes.fromhex("40001234000003e8deadbeef"), "version 1"),
        (bytes.fromhex("00001234000003e8deadbeef"), "version 0"),
        (bytes.fromhex("82001234000003e8deadbeef00000001"), "CSRC"),
        (bytes.fromhex("90001234000003e8deadbeef"), "extension"),
        (bytes.fromhex("90001234000003e8deadbeefbede0002aabbccdd"), "overruns"),
        (bytes.fromhex("a0001234000003e8deadbeef616200"), "zero padding"),
        (bytes.fromhex("a0001234000003e8deadbeef616205"), "padding of 5"),
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data: bytes, reason: str) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(data)


def test_padding_may_consume_the_whole_payload() -> None:
    packet = RtpPacket.parse(bytes.fromhex("a0001234000003e8deadbeef000003"))
    assert packet.payload == b"" and packet.padding == 3


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(128, 0, 0, 0),
        RtpPacket(0, 65536, 0, 0),
        RtpPacket(0, 0, 1 << 32, 0),
        RtpPacket(0, 0, 0, -1),
        RtpPacket(0, 0, 0, 0, csrc=tuple(range(16))),
        RtpPacket(0, 0, 0, 0, padding=256),
        RtpPacket(0, 0, 0, 0, extension=RtpExtension(1, b"abc")),
    ],
)
def test_serialize_rejects_out_of_range_fields(packet: RtpPacket) -> None:
    with pytest.raises(ValueError):
        packet.serialize()


def test_rtcp_demux() -> None:
    sender_report = bytes.fromhex("80c80006deadbeef")
    receiver_report = bytes.fromhex("81c90007deadbeef")
    assert looks_like_rtcp(sender_report) and looks_like_rtcp(receiver_report)
    assert not looks_like_rtp(sender_report)
    assert not looks_like_rtcp(PLAIN) and looks_like_rtp(PLAIN)
    assert not looks_like_rtcp(b"\x80") and not looks_like_rtcp(bytes.fromhex("40c8"))
    # A marker bit on PT 101 gives 0xe5 (229), outside 192..223: still RTP.
    assert looks_like_rtp(bytes.fromhex("80e5") + bytes(10))


def test_seq_and_timestamp_delta_wrap() -> None:
    assert seq_delta(0, 65535) == 1
    assert seq_delta(65535, 0) == -1
    assert seq_delta(100, 90) == 10
    assert seq_delta(32767, 0) == 32767 and seq_delta(32768, 0) == -32768
    assert timestamp_delta(80, 0xFFFFFFF0) == 96
    assert timestamp_delta(0xFFFFFFF0, 80) == -96


def test_sequence_unwrapper_across_wrap_and_reordering() -> None:
    unwrapper = SequenceUnwrapper()
    seen = [unwrapper.unwrap(seq) for seq in (65534, 65535, 0, 1, 65535, 2, 3)]
    assert seen == [65534, 65535, 65536, 65537, 65535, 65538, 65539]
