"""How many calls to place for a campaign's agents, per dialing mode: sans-IO, time passed in.

- broadcast: no agents, the flow only; not agent-paced (`max_concurrent` and the
  trunk's `TrunkPacer` set its rate), so no `DialPacer` is built for it.
- preview: the agent sees the contact and clicks to dial; the pacer places nothing.
- progressive: one call per ready agent (ready agents minus calls in flight), so a
  live answer always finds its agent: no abandonment, but agents wait out every
  ring, busy and machine.
- ratio: a fixed number of calls per ready agent, blind to what is measured.
- predictive: calls so that the live people expected to answer meet the agents
  expected to be free when they do, within an abandonment risk.

Predictive, in detail. A new call, if a person answers it, does so about H
seconds after the dial (the measured mean time to a live answer). By then the
ready agents are free, an agent in wrap-up for w seconds is free with the
measured P(wrap-up <= w + H | > w), and an agent talking for t seconds with
P(talk <= t + H - mean wrap-up | > t), both from the recent times themselves (a
long call is not assumed to end soon). Each call in flight brings a person with
the measured P(live | still unresolved after ringing r seconds). Supply S and
demand D are sums of these bets (normal approximations, continuity-corrected).
The pacer adds calls while the next one's person would find an agent, that is
while P(D >= S) with the calls before it stays within a risk budget; and never
places fewer than progressive would.

The budget is a feedback loop on what actually happens, because the model is
only a model: every live answer moves it (a bridge raises it a little, an
abandon lowers it more) so that abandons settle at a set point below the limit
(`target_share` of it). As the measured rate (the worse of the last 30 days and
today, from the `AbandonmentMeter`) rises past the set point the budget shrinks,
to nothing at the limit; at or over the limit the pacer dials progressive until
the rate recovers. A cold start is conservative: the priors say every call is
answered live and agents take long (so it begins exactly as progressive), and
give way to the measurements within the first few dozen calls.

Events the dialer feeds: each call's outcome once (`answered_live`,
`answered_machine`, `not_answered`, with the seconds since the dial); for a live
one, `bridged` or `abandoned`; for the agent, `wrap_up_began` when the call ends
and `agent_freed` when they are ready again.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from dialer.campaign.abandonment import AbandonmentMeter

Outcome = Literal["live", "machine", "unanswered"]  # what a dial ended in, for the pacer


class PacingSettingsError(ValueError):
    """Pacing settings that cannot work (names the setting)."""


class DialingMode(StrEnum):
    BROADCAST = "broadcast"
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    RATIO = "ratio"
    PREDICTIVE = "predictive"

    @property
    def agent_paced(self) -> bool:
        return self is not DialingMode.BROADCAST


@dataclass(frozen=True)
class PacingSettings:
    mode: DialingMode = DialingMode.PREDICTIVE
    ratio: float = 2.0  # calls per ready agent, in ratio mode
    target_share: float = 0.8  # the set point, as a share of the abandonment limit
    max_lines_per_agent: float = 5.0  # a ceiling on calls in flight, whatever the estimates say
    # Priors (a cold start): every call answered live, after 15 s; long talks and wrap-ups.
    prior_live: float = 1.0
    prior_live_after_s: float = 15.0
    prior_talk_s: float = 300.0
    prior_wrap_s: float = 30.0
    prior_weight: float = 10.0  # how many observations the priors are worth
    outcome_window: int = 1000  # recent calls the answer estimates are made from
    service_window: int = 300  # recent talks, and wrap-ups
    initial_risk: float = 0.05  # P(no agent) the next call may take, at first
    gain: float = 0.1  # how far one live answer moves the risk budget (in log)
    min_risk: float = 0.005
    max_risk: float = 0.5

    def __post_init__(self) -> None:
        if not self.mode.agent_paced:
            raise PacingSettingsError(
                "broadcast is not agent-paced: max_concurrent and the trunk pace it"
            )
        if self.ratio < 1.0:
            raise PacingSettingsError(f"ratio must be at least 1 call per agent, got {self.ratio}")
        if not 0.0 < self.target_share < 1.0:
            raise PacingSettingsError(f"target_share must be in (0, 1), got {self.target_share}")
        if self.max_lines_per_agent < 1.0:
            raise PacingSettingsError("max_lines_per_agent must be at least 1")
        if not 0.0 < self.prior_live <= 1.0 or self.prior_weight <= 0:
            raise PacingSettingsError("prior_live must be in (0, 1] and prior_weight positive")
        if self.prior_live_after_s <= 0 or min(self.prior_talk_s, self.prior_wrap_s) <= 0:
            raise PacingSettingsError("prior times must be positive")
        if self.outcome_window < 1 or self.service_window < 1:
            raise PacingSettingsError("windows must hold at least one sample")
        if not 0.0 < self.min_risk <= self.max_risk < 1.0 or self.gain <= 0:
            raise PacingSettingsError("need 0 < min_risk <= max_risk < 1 and a positive gain")


class SortedSamples:
    """The last `size` samples, also kept sorted so that a tail count is a bisection.

    With no `size` the owner evicts, with `discard` (a sub-window of another's).
    """

    def __init__(self, size: int | None) -> None:
        self.size = size
        self._arrival: deque[float] = deque()
        self._sorted: list[float] = []
        self.total = 0.0

    def __len__(self) -> int:
        return len(self._sorted)

    def add(self, value: float) -> None:
        insort(self._sorted, value)
        self.total += value
        if self.size is not None:
            self._arrival.append(value)
            if len(self._arrival) > self.size:
                self.discard(self._arrival.popleft())

    def discard(self, value: float) -> None:
        """Drop one sample equal to `value`."""
        del self._sorted[bisect_right(self._sorted, value) - 1]
        self.total -= value

    def above(self, value: float) -> int:
        return len(self._sorted) - bisect_right(self._sorted, value)

    def mean(self, prior: float, weight: float) -> float:
        return (weight * prior + self.total) / (weight + len(self._sorted))


class CallStatistics:
    """What the pacer has measured: recent calls' outcomes, agents' talk and wrap-up times.

    Each estimate blends a prior worth `prior_weight` observations with the samples
    that bear on it, so it is defined from the first call and the data take over.
    """

    def __init__(self, settings: PacingSettings) -> None:
        self.settings = settings
        self._outcomes: deque[tuple[float, Outcome]] = deque()  # (seconds after dial, kind)
        self._resolved = SortedSamples(settings.outcome_window)  # every outcome's time
        self._live = SortedSamples(None)  # the live ones', evicted here
        self.kinds: dict[Outcome, int] = {"live": 0, "machine": 0, "unanswered": 0}
        self.talks = SortedSamples(settings.service_window)
        self.wraps = SortedSamples(settings.service_window)

    def outcome(self, kind: Outcome, after_s: float) -> None:
        after_s = max(0.0, after_s)
        self._outcomes.append((after_s, kind))
        self.kinds[kind] += 1
        self._resolved.add(after_s)  # evicts its own oldest, in step with _outcomes
        if kind == "live":
            self._live.add(after_s)
        if len(self._outcomes) > self.settings.outcome_window:
            old_after, old_kind = self._outcomes.popleft()
            self.kinds[old_kind] -= 1
            if old_kind == "live":
                self._live.discard(old_after)

    def share(self, kind: Outcome) -> float:
        """The share of recent calls that ended `kind` (live, machine, unanswered)."""
        return self.kinds[kind] / len(self._outcomes) if self._outcomes else 0.0

    def live_given_ringing(self, ringing_s: float) -> float:
        """P(a live answer | the call is still unresolved after `ringing_s`)."""
        s = self.settings
        still = self._resolved.above(ringing_s)
        live = self._live.above(ringing_s)
        return (s.prior_weight * s.prior_live + live) / (s.prior_weight + still)

    @property
    def live_after_s(self) -> float:
        """Mean time from the dial to a live answer: how far ahead a new call looks."""
        return self._live.mean(self.settings.prior_live_after_s, self.settings.prior_weight)

    @property
    def talk_s(self) -> float:
        return self.talks.mean(self.settings.prior_talk_s, self.settings.prior_weight)

    @property
    def wrap_s(self) -> float:
        return self.wraps.mean(self.settings.prior_wrap_s, self.settings.prior_weight)

    def talk_over_within(self, talking_s: float, horizon_s: float) -> float:
        """P(an agent talking for `talking_s` is free, wrap-up done, within `horizon_s`)."""
        left = horizon_s - self.wrap_s
        if left <= 0:
            return 0.0
        return _ends_within(self.talks, talking_s, left, self.settings.prior_talk_s, self.settings)

    def wrap_over_within(self, wrapping_s: float, horizon_s: float) -> float:
        """P(an agent in wrap-up for `wrapping_s` is ready within `horizon_s`)."""
        return _ends_within(
            self.wraps, wrapping_s, horizon_s, self.settings.prior_wrap_s, self.settings
        )


def _ends_within(
    samples: SortedSamples, elapsed: float, horizon: float, prior_mean: float, s: PacingSettings
) -> float:
    # P(T <= elapsed + horizon | T > elapsed), from the samples themselves (a long call
    # is not assumed to end soon), blended with an exponential prior.
    still = samples.above(elapsed)
    ending = still - samples.above(elapsed + horizon)
    prior = 1.0 - math.exp(-horizon / prior_mean)
    return (s.prior_weight * prior + ending) / (s.prior_weight + still)


@dataclass(frozen=True)
class PacingDecision:
    calls: int  # to place now
    mode: DialingMode  # the mode the decision was made in (progressive when fallen back)
    reason: str
    expected_live: float = 0.0  # people expected from the calls in flight and these
    expected_free: float = 0.0  # agents expected free for them
    risk: float = 0.0  # the chance the last call placed finds no agent, allowed


class DialPacer:
    def __init__(self, settings: PacingSettings, meter: AbandonmentMeter | None = None) -> None:
        self.settings = settings
        self.meter = meter if meter is not None else AbandonmentMeter()
        self.stats = CallStatistics(settings)
        self.set_point = self.meter.limit * settings.target_share
        self.risk = settings.initial_risk  # the controller's budget, before the headroom cut

    # -- events ------------------------------------------------------------------

    def answered_live(self, now: float, after_s: float) -> None:
        """A person answered (AMD said human, or no AMD) `after_s` after the dial."""
        self.stats.outcome("live", after_s)

    def answered_machine(self, now: float, after_s: float) -> None:
        self.stats.outcome("machine", after_s)

    def not_answered(self, now: float, after_s: float) -> None:
        """Busy, no answer, rejected or failed: the call ended with nobody to talk to."""
        self.stats.outcome("unanswered", after_s)

    def bridged(self, now: float) -> None:
        self.meter.bridged(now)
        self._steer(abandoned=False)

    def abandoned(self, now: float) -> None:
        self.meter.abandoned(now)
        self._steer(abandoned=True)

    def wrap_up_began(self, now: float, talk_s: float) -> None:
        """An agent's call ended `talk_s` after the bridge; their after-call work begins."""
        self.stats.talks.add(max(0.0, talk_s))

    def agent_freed(self, now: float, wrap_s: float) -> None:
        """An agent is ready again after `wrap_s` of wrap-up (0 when there is none)."""
        self.stats.wraps.add(max(0.0, wrap_s))

    def _steer(self, *, abandoned: bool) -> None:
        # Stochastic approximation: the budget stops moving when abandons are set_point
        # of live answers. Multiplicative, so it reacts alike at 0.5% and at 5%.
        s = self.settings
        step = -(1.0 - self.set_point) if abandoned else self.set_point
        self.risk = min(s.max_risk, max(s.min_risk, self.risk * math.exp(s.gain * step)))

    # -- the decision ------------------------------------------------------------

    def calls_to_place(
        self,
        now: float,
        *,
        ready_agents: int,
        talking_since: Sequence[float] = (),
        wrapping_since: Sequence[float] = (),
        dialed_at: Sequence[float] = (),
        waiting: int = 0,
    ) -> int:
        """How many calls to place now; see `decide`."""
        return self.decide(
            now,
            ready_agents=ready_agents,
            talking_since=talking_since,
            wrapping_since=wrapping_since,
            dialed_at=dialed_at,
            waiting=waiting,
        ).calls

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
        """The calls to place now, and why.

        `ready_agents`: agents free for a call and not reserved for one.
        `talking_since`: for each agent on a call (or reserved for a person who
        answered), when it was bridged (reserved). `wrapping_since`: for each agent in
        wrap-up, when it began. `dialed_at`: for each call placed and not yet resolved
        (ringing, or answered with AMD still listening), when it was dialed.
        `waiting`: people who answered and wait for an agent inside the safe harbor.
        Paused and logged-out agents are in none of them.
        """
        if ready_agents < 0 or waiting < 0:
            raise ValueError("ready_agents and waiting cannot be negative")
        s = self.settings
        in_flight = len(dialed_at) + waiting
        progressive = max(0, ready_agents - in_flight)
        if s.mode is DialingMode.PREVIEW:
            return PacingDecision(0, s.mode, "preview: the agent dials")
        if s.mode is DialingMode.PROGRESSIVE:
            return PacingDecision(progressive, s.mode, "one call per ready agent")
        if s.mode is DialingMode.RATIO:
            lines = math.floor(s.ratio * ready_agents + 1e-9)
            return PacingDecision(max(0, lines - in_flight), s.mode, f"{s.ratio:g} per agent")
        worst = self.meter.reading(now).worst
        limit = self.meter.limit
        if worst >= limit:
            return PacingDecision(
                progressive,
                DialingMode.PROGRESSIVE,
                f"abandonment {worst:.2%} at or over the limit {limit:.2%}",
            )
        risk = self.risk * min(1.0, (limit - worst) / (limit - self.set_point))
        horizon = self.stats.live_after_s
        free_mean, free_var = float(ready_agents), 0.0
        for since in talking_since:
            q = self.stats.talk_over_within(max(0.0, now - since), horizon)
            free_mean += q
            free_var += q * (1.0 - q)
        for since in wrapping_since:
            q = self.stats.wrap_over_within(max(0.0, now - since), horizon)
            free_mean += q
            free_var += q * (1.0 - q)
        live_mean, live_var = float(waiting), 0.0
        for at in dialed_at:
            p = self.stats.live_given_ringing(max(0.0, now - at))
            live_mean += p
            live_var += p * (1.0 - p)
        p_new = self.stats.live_given_ringing(0.0)
        agents = ready_agents + len(talking_since) + len(wrapping_since)
        ceiling = max(0, math.floor(s.max_lines_per_agent * agents) - in_flight)
        calls = 0
        while calls < ceiling:
            # The next call's person finds no agent when the people before them already
            # took every agent free by then: P(D >= S), normal, continuity-corrected.
            mean = live_mean + calls * p_new - free_mean + 0.5
            sd = math.sqrt(live_var + free_var + calls * p_new * (1.0 - p_new) + 1e-9)
            if 0.5 * math.erfc(-mean / (sd * math.sqrt(2.0))) > risk:
                break
            calls += 1
        calls = max(calls, min(progressive, ceiling))
        return PacingDecision(
            calls,
            s.mode,
            f"risk {risk:.2%} over {horizon:.0f} s",
            live_mean + calls * p_new,
            free_mean,
            risk,
        )
