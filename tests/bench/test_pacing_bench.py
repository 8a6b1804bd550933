"""The pacing simulator's accounting, on short runs (numbers only: no timing asserted)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from bench import pacing as bench
from dialer.campaign.predictive import DialingMode, DialPacer, PacingDecision, PacingSettings

SHORT = bench.Scenario(agents=5, hours=1.0)
GOAL_HOUR = bench.Scenario(hours=1.0)  # the scenario: 20 agents, 30% live, 120 s + 10 s


class WatchedPacer(DialPacer):
    """The real pacer, recording when it placed calls and when it heard outcomes."""

    def __init__(self, settings: PacingSettings) -> None:
        super().__init__(settings)
        self.placed: dict[float, int] = {}
        self.heard: list[tuple[float, float]] = []  # (now, seconds since the dial)

    def decide(
        self,
        now: float,
        *,
        ready_agents: int,
        talking_since: Sequence[float] = (),
        wrapping_since: Sequence[float] = (),
        dialed_at: Sequence[float] = (),
        waiting: int = 0,
    ) -> PacingDecision:
        decision = super().decide(
            now,
            ready_agents=ready_agents,
            talking_since=talking_since,
            wrapping_since=wrapping_since,
            dialed_at=dialed_at,
            waiting=waiting,
        )
        if decision.calls:
            self.placed[now] = self.placed.get(now, 0) + decision.calls
        return decision

    def answered_live(self, now: float, after_s: float) -> None:
        self.heard.append((now, after_s))
        super().answered_live(now, after_s)

    def answered_machine(self, now: float, after_s: float) -> None:
        self.heard.append((now, after_s))
        super().answered_machine(now, after_s)

    def not_answered(self, now: float, after_s: float) -> None:
        self.heard.append((now, after_s))
        super().not_answered(now, after_s)


MODES = [
    PacingSettings(mode=DialingMode.PROGRESSIVE),
    PacingSettings(mode=DialingMode.RATIO, ratio=3.0),
    PacingSettings(mode=DialingMode.PREDICTIVE),
]


@pytest.mark.parametrize("settings", MODES, ids=lambda s: s.mode.value)
def test_every_live_answer_is_bridged_or_abandoned(settings: PacingSettings) -> None:
    pacer = WatchedPacer(settings)
    sim = bench.Simulation(SHORT, pacer, seed=3)
    result = sim.run()
    assert result.live_answers > 50
    assert result.live_answers == result.bridged + result.abandoned
    assert not sim.waiting and not sim.dialed_at  # the run drained every call
    assert 0.0 < result.talk_occupancy < result.occupancy <= 1.0
    assert 0.0 <= result.abandonment <= 1.0
    assert result.idle_mean_s >= 0.0 and result.idle_p90_s >= 0.0
    assert result.dialed == sum(pacer.placed.values()) == len(pacer.heard)
    # Every outcome reached the pacer when the call would report it, not before.
    for now, after_s in pacer.heard:
        assert after_s > 0.0
        assert any(abs(now - after_s - t) < 1e-6 for t in pacer.placed)
    # Contacts are the bridges inside the hours; after them, only calls still in flight.
    in_hours = result.contacts_per_agent_hour * SHORT.agents * SHORT.hours
    lines = int(SHORT.agents * settings.max_lines_per_agent)
    assert result.bridged - lines <= round(in_hours) <= result.bridged


def test_progressive_never_abandons() -> None:
    result = bench.simulate(SHORT, PacingSettings(mode=DialingMode.PROGRESSIVE), seed=5)
    assert result.abandoned == 0 and result.live_answers > 0


def test_predictive_keeps_agents_busier_than_progressive() -> None:
    progressive, ratio, predictive = bench.compare(GOAL_HOUR, seed=11, ratios=(2.0,))
    assert progressive.mode == "progressive" and ratio.mode == "ratio 2"
    assert predictive.mode == "predictive"
    assert predictive.occupancy > progressive.occupancy + 0.05
    assert predictive.contacts_per_agent_hour > progressive.contacts_per_agent_hour
    assert predictive.abandonment < 0.05


def test_the_same_seed_gives_the_same_run() -> None:
    settings = PacingSettings()
    assert bench.simulate(SHORT, settings, seed=2) == bench.simulate(SHORT, settings, seed=2)
    assert bench.simulate(SHORT, settings, seed=2) != bench.simulate(SHORT, settings, seed=4)


def test_the_command_line_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--agents", "3", "--hours", "0.2", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"]["agents"] == 3
    assert [m["mode"] for m in out["modes"]] == ["progressive", "ratio 2", "ratio 3", "predictive"]


def test_the_command_line_refuses_impossible_rates() -> None:
    with pytest.raises(SystemExit):
        bench.main(["--live-rate", "0.8", "--machine-rate", "0.5"])
