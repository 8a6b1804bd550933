"""RFC 4733 telephone-events: payload bytes, the sender's sequence, the receiver's dedup."""

from __future__ import annotations

import pytest

from media.dtmf import (
    DtmfDigit,
    DtmfParseError,
    DtmfReceiver,
    DtmfSender,
    OutgoingEvent,
    TelephoneEvent,
    dtmf_packet_plan,
)


def test_payload_golden_bytes() -> None:
    assert TelephoneEvent(5, True, 10, 800).to_bytes() == bytes.fromhex("058a0320")
    assert TelephoneEvent(11, False, 63, 160).to_bytes() == bytes.fromhex("0b3f00a0")
    assert TelephoneEvent.parse(bytes.fromhex("058a0320")) == TelephoneEvent(5, True, 10, 800)
    # The reserved bit is ignored; a redundant second block is ignored.
    assert TelephoneEvent.parse(bytes.fromhex("01ca014001ca0140")) == TelephoneEvent(
        1, True, 10, 320
    )


def test_short_payload_raises_parse_error() -> None:
    with pytest.raises(DtmfParseError):
        TelephoneEvent.parse(b"\x05\x8a\x03")


@pytest.mark.parametrize(
    "event",
    [
        TelephoneEvent(256, False, 0, 0),
        TelephoneEvent(1, False, 64, 0),
        TelephoneEvent(1, False, 0, 65536),
    ],
)
def test_out_of_range_fields_refused(event: TelephoneEvent) -> None:
    with pytest.raises(ValueError):
        event.to_bytes()


def test_plan_for_100_ms_digit() -> None:
    plan = dtmf_packet_plan("5", duration_ms=100, volume=10)
    events = [TelephoneEvent.parse(p.payload) for p in plan]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [p.marker for p in plan] == [True] + [False] * 6
    assert {e.event for e in events} == {5}
    assert plan[0].payload == bytes.fromhex("050a00a0")


def test_plan_for_single_interval_digit_is_three_end_packets() -> None:
    plan = dtmf_packet_plan("#", duration_ms=20)
    events = [TelephoneEvent.parse(p.payload) for p in plan]
    assert [(e.event, e.end, e.duration) for e in events] == [(11, True, 160)] * 3
    assert plan[0].marker and not plan[1].marker


@pytest.mark.parametrize("digit", ["x", "", "12", "E"])
def test_plan_refuses_non_dtmf(digit: str) -> None:
    with pytest.raises(ValueError):
        dtmf_packet_plan(digit)


def test_receiver_reports_one_digit_per_press_despite_repeated_end_packets() -> None:
    receiver = DtmfReceiver()
    digits = []
    for n, plan in enumerate(dtmf_packet_plan("7", duration_ms=120)):
        digits += receiver.on_packet(plan.payload, 4000, now=n * 0.02)
    assert digits == [DtmfDigit("7", 120, 4000)]
    # A late retransmission of the same event stays silent.
    assert receiver.on_packet(dtmf_packet_plan("7")[-1].payload, 4000, now=1.0) == []


def test_receiver_reports_consecutive_presses_of_the_same_key() -> None:
    receiver = DtmfReceiver()
    digits = []
    for timestamp in (1000, 3000):
        for plan in dtmf_packet_plan("1"):
            digits += receiver.on_packet(plan.payload, timestamp, now=0.0)
    assert [d.digit for d in digits] == ["1", "1"]
    assert [d.timestamp for d in digits] == [1000, 3000]


def test_lost_end_packets_finish_at_next_event_or_by_timeout() -> None:
    receiver = DtmfReceiver(timeout=0.5)
    updates = [
        p for p in dtmf_packet_plan("3", duration_ms=60) if not TelephoneEvent.parse(p.payload).end
    ]
    for plan in updates:
        assert receiver.on_packet(plan.payload, 100, now=0.0) == []
    assert receiver.in_progress
    # The next key's first packet closes the previous one.
    first_of_next = dtmf_packet_plan("4")[0].payload
    assert receiver.on_packet(first_of_next, 900, now=0.1) == [DtmfDigit("3", 40, 100)]
    assert receiver.expire(0.5) is None  # '4' seen at 0.1: not quiet long enough
    assert receiver.expire(0.6) == DtmfDigit("4", 20, 900)
    assert not receiver.in_progress
    assert receiver.expire(5.0) is None


def test_end_packet_first_then_stale_updates() -> None:
    receiver = DtmfReceiver()
    plan = dtmf_packet_plan("9")
    assert receiver.on_packet(plan[-1].payload, 50, now=0.0) == [DtmfDigit("9", 100, 50)]
    assert receiver.on_packet(plan[0].payload, 50, now=0.0) == []


def test_non_dtmf_events_and_garbage_are_ignored() -> None:
    receiver = DtmfReceiver()
    assert receiver.on_packet(TelephoneEvent(32, True, 10, 800).to_bytes(), 1, 0.0) == []
    assert receiver.on_packet(b"\x01", 2, 0.0) == []
    assert receiver.malformed == 1


def run_sender(sender: DtmfSender, ticks: int) -> list[OutgoingEvent | None]:
    return [sender.next_packet(1000 + 160 * n) for n in range(ticks)]


def test_sender_sequence_with_gap_between_digits() -> None:
    sender = DtmfSender(duration_ms=100, gap_packets=2)
    assert sender.queue("12") == 2
    out = run_sender(sender, 18)
    first, gap, second = out[:7], out[7:9], out[9:16]
    assert all(e is not None and e.timestamp == 1000 for e in first)
    assert gap == [None, None]
    assert all(e is not None and e.timestamp == 1000 + 9 * 160 for e in second)
    assert [e.marker for e in first if e] == [True] + [False] * 6
    assert [e.last for e in first if e] == [False] * 6 + [True]
    assert [e.last for e in second if e][-1]
    assert out[16:] == [None, None] and not sender.busy


def test_sender_refuses_bad_digits_without_queueing_any() -> None:
    sender = DtmfSender()
    with pytest.raises(ValueError):
        sender.queue("12x")
    assert not sender.busy


def test_sender_to_receiver_round_trip() -> None:
    sender = DtmfSender(duration_ms=80)
    receiver = DtmfReceiver()
    sender.queue("*0#D")
    digits: list[DtmfDigit] = []
    for n, event in enumerate(run_sender(sender, 60)):
        if event is not None:
            digits += receiver.on_packet(event.payload, event.timestamp, now=n * 0.02)
    assert "".join(d.digit for d in digits) == "*0#D"
    assert {d.duration_ms for d in digits} == {80}
