"""The dialing modes' pacer and the abandonment meter, with a fake clock (times are arguments)."""

from __future__ import annotations

import random

import pytest

from dialer.campaign.abandonment import WINDOW_DAYS, AbandonmentMeter
from dialer.campaign.predictive import (
    CallStatistics,
    DialingMode,
    DialPacer,
    PacingSettings,
    PacingSettingsError,
    SortedSamples,
)

DAY = 86_400.0


def trained(
    live_share: float, *, calls: int = 400, meter: AbandonmentMeter | None = None
) -> DialPacer:
    """A predictive pacer that has seen `calls` outcomes (live ones 15 s after the dial,
    machines at 20 s, the rest no answer at 25 s) and 100 agents' talks (60-180 s) and
    10 s wrap-ups. Deterministic: every tenth-share of calls in a fixed pattern."""
    pacer = DialPacer(PacingSettings(), meter)
    for i in range(calls):
        share = (i % 20) / 20
        if share < live_share:
            pacer.answered_live(float(i), 15.0)
        elif share < live_share + 0.2:
            pacer.answered_machine(float(i), 20.0)
        else:
            pacer.not_answered(float(i), 25.0)
    for i in range(100):
        pacer.wrap_up_began(float(i), 60.0 + (i * 37) % 121)
        pacer.agent_freed(float(i), 10.0)
    return pacer


# -- the meter ---------------------------------------------------------------------


def test_meter_counts_live_answers_and_abandons() -> None:
    meter = AbandonmentMeter()
    for _ in range(97):
        meter.bridged(100.0)
    for _ in range(3):
        meter.abandoned(200.0)
    reading = meter.reading(300.0)
    assert (reading.live, reading.abandoned) == (100, 3)
    assert meter.rate(300.0) == pytest.approx(0.03)
    assert meter.today_rate(300.0) == pytest.approx(0.03)


def test_meter_today_is_separate_from_the_30_days() -> None:
    meter = AbandonmentMeter()
    meter.record(0, live=1000, abandoned=10)  # 1% on day 0
    meter.record(1, live=50, abandoned=5)  # 10% today
    now = 1 * DAY + 3600.0
    assert meter.rate(now) == pytest.approx(15 / 1050)
    assert meter.today_rate(now) == pytest.approx(0.10)
    assert meter.reading(now).worst == pytest.approx(0.10)
    assert meter.today_rate(2 * DAY) == 0.0  # a new day starts at nothing


def test_meter_window_expires_old_days() -> None:
    meter = AbandonmentMeter()
    meter.record(0, 100, 50)
    meter.record(10, 100, 0)
    assert meter.rate((WINDOW_DAYS - 1) * DAY) == pytest.approx(0.25)  # day 0 still counts
    assert meter.rate(WINDOW_DAYS * DAY) == 0.0  # day 0 is 30 days old: out
    meter.bridged(WINDOW_DAYS * DAY)
    assert 0 not in meter.days()  # and its bucket is gone
    for day in range(100):  # memory stays one bucket per day of the window
        meter.record(day, 1, 0)
    assert len(meter.days()) == WINDOW_DAYS


def test_meter_days_come_from_the_shells_function() -> None:
    meter = AbandonmentMeter(day_of=lambda now: int((now - 5 * 3600) // DAY))  # UTC-5
    meter.abandoned(4 * 3600.0)  # 04:00 UTC is yesterday, local
    assert meter.days() == {-1: (1, 1)}
    assert meter.today_rate(6 * 3600.0) == 0.0


@pytest.mark.parametrize(("live", "abandoned"), [(-1, 0), (5, -2), (3, 4)])
def test_meter_refuses_bad_counts(live: int, abandoned: int) -> None:
    meter = AbandonmentMeter()
    with pytest.raises(ValueError):
        meter.record(0, live, abandoned)
    assert meter.days() == {}


@pytest.mark.parametrize("limit", [0.0, -0.1, 1.0])
def test_meter_refuses_a_limit_that_cannot_work(limit: float) -> None:
    with pytest.raises(ValueError):
        AbandonmentMeter(limit)


# -- the simple modes -------------------------------------------------------------


def test_progressive_never_exceeds_the_ready_agents() -> None:
    pacer = DialPacer(PacingSettings(mode=DialingMode.PROGRESSIVE))
    rng = random.Random(7)
    for _ in range(500):
        ready = rng.randrange(0, 30)
        dialed = [rng.uniform(0, 100) for _ in range(rng.randrange(0, 40))]
        waiting = rng.randrange(0, 3)
        calls = pacer.calls_to_place(100.0, ready_agents=ready, dialed_at=dialed, waiting=waiting)
        assert calls == max(0, ready - len(dialed) - waiting)


def test_ratio_dials_its_ratio_of_the_ready_agents() -> None:
    pacer = DialPacer(PacingSettings(mode=DialingMode.RATIO, ratio=2.5))
    assert pacer.calls_to_place(0.0, ready_agents=4) == 10
    assert pacer.calls_to_place(0.0, ready_agents=3, dialed_at=[0.0] * 5) == 2  # 7.5 -> 7
    assert pacer.calls_to_place(0.0, ready_agents=1, dialed_at=[0.0] * 5) == 0


def test_preview_places_nothing_and_broadcast_is_not_agent_paced() -> None:
    pacer = DialPacer(PacingSettings(mode=DialingMode.PREVIEW))
    assert pacer.calls_to_place(0.0, ready_agents=10) == 0
    assert not DialingMode.BROADCAST.agent_paced
    with pytest.raises(PacingSettingsError, match="not agent-paced"):
        PacingSettings(mode=DialingMode.BROADCAST)


@pytest.mark.parametrize(
    "changes",
    [{"ratio": 0.5}, {"target_share": 1.0}, {"prior_live": 0.0}, {"outcome_window": 0}],
)
def test_settings_that_cannot_work_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(PacingSettingsError):
        PacingSettings(**changes)  # type: ignore[arg-type]


# -- predictive -------------------------------------------------------------------


def test_cold_start_is_progressive() -> None:
    pacer = DialPacer(PacingSettings())
    assert pacer.calls_to_place(0.0, ready_agents=10) == 10
    assert pacer.calls_to_place(0.0, ready_agents=10, talking_since=[0.0] * 10) == 10
    assert pacer.calls_to_place(0.0, ready_agents=10, dialed_at=[0.0] * 4) == 6


def test_a_few_calls_do_not_make_it_aggressive() -> None:
    pacer = DialPacer(PacingSettings())
    for i in range(5):  # five no-answers in a row: the prior still dominates
        pacer.not_answered(float(i), 25.0)
    assert pacer.calls_to_place(10.0, ready_agents=10) <= 12


def test_predictive_dials_more_than_progressive_when_few_answer() -> None:
    pacer = trained(live_share=0.2)
    calls = pacer.calls_to_place(1000.0, ready_agents=5, talking_since=[950.0] * 15)
    assert calls >= 5 * 2  # progressive would place 5
    assert pacer.stats.share("live") == pytest.approx(0.2)
    assert pacer.stats.share("machine") == pytest.approx(0.2)


def test_the_lower_the_answer_rate_the_more_calls() -> None:
    def calls(live_share: float) -> int:
        return trained(live_share).calls_to_place(
            1000.0, ready_agents=5, talking_since=[950.0] * 15
        )

    assert calls(0.15) > calls(0.3) > calls(0.6) >= 5


def test_agents_about_to_be_free_bring_calls_forward() -> None:
    pacer = trained(live_share=0.3)
    just_started = pacer.calls_to_place(1000.0, ready_agents=0, talking_since=[1000.0] * 10)
    wrapping = pacer.calls_to_place(1000.0, ready_agents=0, wrapping_since=[995.0] * 10)
    assert wrapping > just_started
    # A talk that has gone on as long as the longest seen is not assumed to end soon.
    long_talks = pacer.calls_to_place(1000.0, ready_agents=0, talking_since=[0.0] * 10)
    assert long_talks <= just_started + 1


def test_calls_ringing_long_count_for_less() -> None:
    pacer = trained(live_share=0.3)
    assert pacer.stats.live_given_ringing(20.0) < 0.1 < pacer.stats.live_given_ringing(0.0)
    fresh = pacer.calls_to_place(1000.0, ready_agents=6, dialed_at=[1000.0] * 10)
    stale = pacer.calls_to_place(1000.0, ready_agents=6, dialed_at=[980.0] * 10)
    assert stale > fresh


def test_it_falls_back_to_progressive_at_the_limit() -> None:
    meter = AbandonmentMeter(limit=0.03)
    meter.record(0, live=100, abandoned=3)  # exactly at the limit, today
    pacer = trained(live_share=0.2, meter=meter)
    decision = pacer.decide(1000.0, ready_agents=5, dialed_at=[1000.0])
    assert decision.mode is DialingMode.PROGRESSIVE and decision.calls == 4
    assert "limit" in decision.reason


def test_today_over_the_limit_falls_back_even_when_the_month_is_fine() -> None:
    meter = AbandonmentMeter(limit=0.03)
    meter.record(0, live=10_000, abandoned=0)
    meter.record(1, live=20, abandoned=1)  # 5% today, 0.01% over 30 days
    pacer = trained(live_share=0.2, meter=meter)
    assert pacer.decide(DAY + 60.0, ready_agents=5).mode is DialingMode.PROGRESSIVE
    for _ in range(20):  # 1 in 40 is 2.5%: under the limit again
        pacer.bridged(DAY + 120.0)
    decision = pacer.decide(DAY + 180.0, ready_agents=5)
    assert decision.mode is DialingMode.PREDICTIVE and decision.calls >= 5


def test_it_backs_off_as_the_rate_nears_the_limit() -> None:
    def calls(abandoned: int) -> int:
        meter = AbandonmentMeter(limit=0.03)
        meter.record(0, live=1000, abandoned=abandoned)
        return trained(0.2, meter=meter).calls_to_place(
            100.0, ready_agents=5, talking_since=[50.0] * 15
        )

    assert calls(10) > calls(27) >= 5  # 1% against 2.7%


def test_abandons_shrink_the_budget_and_bridges_grow_it_back() -> None:
    pacer = trained(live_share=0.2)
    start = pacer.risk
    pacer.abandoned(10.0)
    assert pacer.risk < start
    lowered = pacer.risk
    for _ in range(200):
        pacer.bridged(20.0)
    assert pacer.risk > lowered
    for _ in range(10_000):
        pacer.bridged(30.0)
    assert pacer.risk == pacer.settings.max_risk  # bounded


def test_predictive_is_deterministic() -> None:
    snapshot = {
        "ready_agents": 3,
        "talking_since": [900.0, 960.0, 990.0],
        "wrapping_since": [995.0],
        "dialed_at": [985.0, 999.0],
        "waiting": 1,
    }
    first = trained(0.3).decide(1000.0, **snapshot)  # type: ignore[arg-type]
    second = trained(0.3).decide(1000.0, **snapshot)  # type: ignore[arg-type]
    assert first == second


def test_bad_inputs() -> None:
    pacer = trained(live_share=0.3)
    with pytest.raises(ValueError):
        pacer.calls_to_place(0.0, ready_agents=-1)
    with pytest.raises(ValueError):
        pacer.calls_to_place(0.0, ready_agents=1, waiting=-1)
    # Times from a clock that stepped back: elapsed times clamp at zero, never crash.
    pacer.answered_live(0.0, -3.0)
    pacer.wrap_up_began(0.0, -1.0)
    assert pacer.calls_to_place(0.0, ready_agents=2, talking_since=[50.0], dialed_at=[60.0]) >= 1


def test_nothing_but_the_line_ceiling_bounds_it() -> None:
    pacer = trained(live_share=0.05)
    calls = pacer.calls_to_place(1000.0, ready_agents=4)
    assert calls == 4 * pacer.settings.max_lines_per_agent


# -- the estimates' windows -------------------------------------------------------


def test_sorted_samples_keep_the_last_ones() -> None:
    samples = SortedSamples(3)
    for value in (5.0, 1.0, 9.0, 7.0):
        samples.add(value)
    assert len(samples) == 3 and samples.total == pytest.approx(17.0)
    assert samples.above(5.0) == 2 and samples.above(0.0) == 3  # 5.0 was the oldest


def test_outcome_window_forgets_old_calls() -> None:
    stats = CallStatistics(PacingSettings(outcome_window=10))
    for i in range(10):
        stats.outcome("live", 15.0 + i)
    for _ in range(10):
        stats.outcome("unanswered", 25.0)
    assert stats.share("live") == 0.0
    prior_only = PacingSettings().prior_live * 10 / (10 + 10)  # prior 10 calls, 10 seen
    assert stats.live_given_ringing(0.0) == pytest.approx(prior_only)
