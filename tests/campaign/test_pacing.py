"""Per-trunk pacing with a fake clock: rate, burst, back-off on 503, recovery."""

from __future__ import annotations

from itertools import pairwise

import pytest

from dialer.campaign.pacing import PacerSettings, SlidingWindow, TokenBucket, TrunkPacer


def dial_times(pacer: TrunkPacer, start: float, until: float) -> list[float]:
    """Every instant a greedy dialer gets a slot, asking again exactly when told to."""
    times, now = [], start
    while now < until:
        wait = pacer.acquire(now)
        if wait is None:
            times.append(now)
        else:
            now = wait
    return times


def test_bucket_gives_burst_then_the_rate() -> None:
    bucket = TokenBucket(10.0, burst=3, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.next_available(0.0) == pytest.approx(0.1)
    assert not bucket.try_take(0.05)
    assert bucket.try_take(0.1)


def test_rate_holds_over_a_long_run() -> None:
    pacer = TrunkPacer(PacerSettings(cps=5.0), now=0.0)
    times = dial_times(pacer, 0.0, 100.0)
    # One at once, then one every 1/cps seconds, never closer.
    assert times[0] == 0.0
    assert len(times) == pytest.approx(1 + 5 * 100, abs=1)
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) == pytest.approx(0.2) and max(gaps) == pytest.approx(0.2)


def test_no_second_ever_holds_more_than_cps_calls_even_after_idling() -> None:
    pacer = TrunkPacer(PacerSettings(cps=4.0), now=0.0)
    times = dial_times(pacer, 30.0, 31.0) + dial_times(pacer, 40.0, 42.5)  # idle in between
    for start in times:
        in_one_second = [t for t in times if start <= t < start + 1.0]
        assert len(in_one_second) <= 4
    assert len(dial_times(pacer, 50.0, 51.0)) == 4  # and the rate is reached


def test_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0.0, now=0.0)


def test_503_with_retry_after_pauses_the_trunk_and_halves_the_rate() -> None:
    pacer = TrunkPacer(PacerSettings(cps=10.0), now=0.0)
    pacer.on_final_response(503, 30, now=1.0)
    assert pacer.acquire(2.0) == 31.0
    assert pacer.rate == 5.0
    assert pacer.acquire(31.0) is None


def test_retry_after_is_capped() -> None:
    pacer = TrunkPacer(PacerSettings(cps=10.0, max_retry_after_s=120.0), now=0.0)
    pacer.on_final_response(503, 86400, now=0.0)
    assert pacer.acquire(1.0) == 120.0


def test_repeated_503_backs_off_exponentially_to_a_cap_and_a_floor() -> None:
    pacer = TrunkPacer(PacerSettings(cps=8.0, max_backoff_s=4.0, min_rate=1.0), now=0.0)
    pauses = []
    now = 0.0
    for _ in range(5):
        pacer.on_final_response(503, None, now)
        pauses.append(pacer.paused_until - now)
        now = pacer.paused_until
    assert pauses == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert pacer.rate == 1.0


def test_good_calls_restore_the_rate_gradually() -> None:
    pacer = TrunkPacer(PacerSettings(cps=10.0), now=0.0)
    pacer.on_final_response(503, None, 0.0)
    assert pacer.rate == 5.0
    pacer.on_final_response(200, None, 2.0)
    assert pacer.rate == 6.0 and pacer.refusals_in_a_row == 0
    for _ in range(10):
        pacer.on_final_response(486, None, 3.0)  # busy is the callee, not the trunk
    assert pacer.rate == 10.0


def test_a_timeout_neither_punishes_nor_rewards() -> None:
    pacer = TrunkPacer(PacerSettings(cps=10.0), now=0.0)
    pacer.on_final_response(503, None, 0.0)
    pacer.on_final_response(None, None, 5.0)
    assert pacer.rate == 5.0 and pacer.refusals_in_a_row == 1


def test_a_late_waker_catches_up_without_breaking_cps_in_any_second() -> None:
    pacer = TrunkPacer(PacerSettings(cps=100.0), now=0.0)
    times, now = [], 0.0
    while now < 20.0:
        wait = pacer.acquire(now)
        if wait is None:
            times.append(now)
        else:
            now = max(wait, now + 0.03)  # the loop oversleeps: wakes 30 ms apart at best
    # Ten tokens saved up cover a late wake: the rate holds...
    assert len(times) >= 100 * 20 * 0.97
    # ...and no one-second window ever holds more than cps calls.
    counts = [sum(1 for t in times if start <= t < start + 1.0) for start in times]
    assert max(counts) <= 100


def test_the_window_alone_caps_a_second() -> None:
    window = SlidingWindow(3)
    for t in (0.0, 0.1, 0.2):
        assert window.next_available(t) == t
        window.record(t)
    assert window.next_available(0.5) == 1.0  # the first of the three leaves the window
    assert window.next_available(1.0) == 1.0
