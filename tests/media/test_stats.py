"""RFC 3550 A.1/A.3/A.8 receive statistics, driven with explicit arrival times."""

from __future__ import annotations

import pytest

from media.stats import RtpStreamStats

SSRC = 0x1234


def feed(stats: RtpStreamStats, seqs: list[int], *, ssrc: int = SSRC) -> list[bool]:
    return [stats.on_received(seq, seq * 160, ssrc, 160, seq * 0.02) for seq in seqs]


def test_in_order_stream_has_no_loss() -> None:
    stats = RtpStreamStats()
    feed(stats, list(range(10)))
    assert (stats.packets_expected, stats.packets_received, stats.packets_lost) == (10, 10, 0)
    assert stats.octets_received == 1600


def test_loss_and_fraction_lost_per_interval() -> None:
    stats = RtpStreamStats()
    feed(stats, [0, 1, 2, 5, 6, 7, 8, 9])
    assert stats.packets_expected == 10
    assert stats.packets_lost == 2
    assert stats.close_report_interval() == (2 << 8) // 10  # 51
    feed(stats, [10, 11, 12, 13])
    assert stats.close_report_interval() == 0  # nothing lost in the second interval
    snapshot = stats.snapshot()
    assert snapshot.fraction_lost == 0.0
    assert snapshot.loss_ratio == pytest.approx(2 / 14)


def test_sequence_wrap_counts_a_cycle() -> None:
    stats = RtpStreamStats()
    feed(stats, [65533, 65534, 65535, 0, 1, 2])
    assert stats.packets_expected == 6 and stats.packets_lost == 0


def test_duplicates_are_counted_and_make_loss_negative_as_in_the_rfc() -> None:
    stats = RtpStreamStats()
    feed(stats, [0, 1, 2, 2, 3, 1])
    assert stats.duplicates == 2
    assert stats.out_of_order == 0
    assert stats.packets_received == 6 and stats.packets_expected == 4
    assert stats.packets_lost == -2
    assert stats.snapshot().loss_ratio == 0.0


def test_reordered_packets_are_out_of_order_not_lost() -> None:
    stats = RtpStreamStats()
    feed(stats, [0, 1, 3, 2, 4, 65535 + 0])  # the last one is before the first: late
    assert stats.out_of_order == 2
    assert stats.duplicates == 0
    assert stats.packets_expected == 5


def test_reordering_across_the_wrap_is_late_not_a_jump() -> None:
    stats = RtpStreamStats()
    feed(stats, [65534, 0, 65535, 1])
    assert stats.out_of_order == 1 and stats.duplicates == 0
    assert stats.packets_expected == 4 and stats.packets_lost == 0


def test_large_jump_needs_two_sequential_packets() -> None:
    stats = RtpStreamStats()
    accepted = feed(stats, [0, 1, 2, 20000, 20001, 20002])
    assert accepted == [True, True, True, False, True, True]
    # The first source run (3) plus the restarted run (2): the unconfirmed packet is dropped.
    assert stats.packets_received == 5
    assert stats.packets_expected == 5


def test_a_lone_wild_sequence_number_is_dropped() -> None:
    stats = RtpStreamStats()
    assert feed(stats, [0, 1, 30000, 2, 3]) == [True, True, False, True, True]
    assert stats.packets_expected == 4 and stats.packets_lost == 0


def test_new_ssrc_starts_over_but_keeps_totals() -> None:
    stats = RtpStreamStats()
    feed(stats, [100, 101, 102])
    feed(stats, [7, 8, 10], ssrc=0x9999)
    assert stats.packets_expected == 3 + 4
    assert stats.packets_received == 6
    assert stats.packets_lost == 1
    assert stats.snapshot().ssrc == 0x9999


def test_jitter_is_zero_for_perfect_pacing_even_across_timestamp_wrap() -> None:
    stats = RtpStreamStats()
    base = (1 << 32) - 800
    for n in range(20):
        stats.on_received(n, (base + 160 * n) % (1 << 32), SSRC, 160, 5.0 + n * 0.02)
    assert stats.jitter_ms == pytest.approx(0.0, abs=1e-6)


def test_jitter_follows_rfc_3550_a8() -> None:
    stats = RtpStreamStats()
    stats.on_received(0, 0, SSRC, 160, 0.0)
    stats.on_received(1, 160, SSRC, 160, 0.025)  # 5 ms late: D = 40 timestamp units
    assert stats.jitter_ms == pytest.approx(40 / 16 / 8)  # J = 2.5 units = 0.3125 ms
    for n in range(2, 400):
        stats.on_received(n, 160 * n, SSRC, 160, n * 0.02 + (0.005 if n % 2 else 0.0))
    assert stats.jitter_ms == pytest.approx(5.0, rel=1e-3)  # |D| is always 5 ms


def test_untimed_packets_leave_jitter_alone() -> None:
    stats = RtpStreamStats()
    stats.on_received(0, 0, SSRC, 160, 0.0)
    stats.on_received(1, 0, SSRC, 4, 0.5, timing=False)  # DTMF: event start timestamp
    stats.on_received(2, 320, SSRC, 160, 0.04)
    assert stats.jitter_ms == pytest.approx(0.0, abs=1e-9)
    assert stats.packets_received == 3


def test_send_counters_and_snapshot_dict() -> None:
    stats = RtpStreamStats()
    stats.on_sent(160)
    stats.on_sent(4)
    snapshot = stats.snapshot(malformed=2, rtcp=1)
    data = snapshot.to_dict()
    assert data["packets_sent"] == 2 and data["octets_sent"] == 164
    assert data["malformed"] == 2 and data["rtcp"] == 1
    assert data["ssrc"] is None and data["packets_expected"] == 0
    assert set(data) >= {"packets_lost", "fraction_lost", "jitter_ms", "duplicates", "out_of_order"}


def test_duplicate_detection_survives_long_streams() -> None:
    stats = RtpStreamStats()
    feed(stats, [n % 65536 for n in range(70000)])
    feed(stats, [(70000 - 3) % 65536])
    assert stats.duplicates == 1 and stats.out_of_order == 0
    assert stats.packets_expected == 70000
