"""Benchmark: the dialing modes on simulated agents, with the dialer's own pacer.

    .venv/bin/python bench/pacing.py [--agents 20] [--live-rate 0.30] [--machine-rate 0.20]
        [--busy-rate 0.10] [--talk-mean 120] [--wrap 10] [--hours 8] [--seed 1] [--json]

A discrete-event simulation on a fake clock (a heap of events, one seeded
`random.Random` per mode). `dialer.campaign.predictive.DialPacer` is driven
exactly as the dialer drives it: after every event (and on a 1 s tick) it is
asked `decide(now, ready_agents, talking_since, wrapping_since, dialed_at,
waiting)`, and it hears each call's outcome only when the call would report it
(the live verdict, a machine's, or no answer, with the seconds since the dial),
then a bridge or an abandon, then the agent's talk time when they hang up and
wrap-up time when they are ready again. Outcomes are drawn when a call is
placed and kept from the pacer until then.

Each call: a person (`--live-rate`), a machine (`--machine-rate`), busy
(`--busy-rate`, ends 1-5 s after the dial) or no answer (the rest, at the
`--ring-timeout`). Answers ring a lognormal time around `--ring-mean`, then AMD
decides (`--amd-human`, `--amd-machine` seconds later). A person goes to the
agent who has been ready longest, else waits `--safe-harbor` seconds for one and
is abandoned. Agents talk an exponential time (`--talk-mean`; lognormal with
`--talk-sigma`), wrap up `--wrap` seconds, and are ready again. Dialing stops at
the end of `--hours`; the calls left run out, so every live answer ends bridged
or abandoned; agents' time counts inside the hours only.

Reported per mode: occupancy (talk plus wrap-up over logged-in time) and talk
only, abandonment (over live answers), agent idle between calls (mean, p90),
live conversations per agent hour, calls dialed. Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialer.campaign.predictive import DialingMode, DialPacer, PacingSettings

LIVE, MACHINE, BUSY, NO_ANSWER = "live", "machine", "busy", "no_answer"
TICK_S = 1.0


@dataclass(frozen=True)
class Scenario:
    agents: int = 20
    live_rate: float = 0.30
    machine_rate: float = 0.20
    busy_rate: float = 0.10
    ring_mean_s: float = 15.0
    ring_sigma: float = 0.4  # of the lognormal's log
    ring_timeout_s: float = 25.0
    amd_human_s: float = 2.5
    amd_machine_s: float = 5.0
    talk_mean_s: float = 120.0
    talk_sigma: float = 0.0  # 0: exponential talk times; else lognormal, this sigma of the log
    wrap_s: float = 10.0
    safe_harbor_s: float = 2.0
    hours: float = 8.0

    def __post_init__(self) -> None:
        if self.agents < 1 or self.hours <= 0:
            raise ValueError("need at least one agent and a positive duration")
        rates = (self.live_rate, self.machine_rate, self.busy_rate)
        if min(rates) < 0 or sum(rates) > 1:
            raise ValueError("live, machine and busy rates must be >= 0 and add up to <= 1")


@dataclass
class Agent:
    ready_since: float = 0.0
    talking_since: float | None = None
    wrapping_since: float | None = None
    talk_s: float = 0.0
    wrap_s: float = 0.0
    gaps: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ModeResult:
    mode: str
    occupancy: float
    talk_occupancy: float
    abandonment: float
    live_answers: int
    bridged: int
    abandoned: int
    idle_mean_s: float
    idle_p90_s: float
    contacts_per_agent_hour: float
    dialed: int
    fallbacks: int  # decisions the predictive pacer made as progressive (over the limit)


class Simulation:
    def __init__(self, scenario: Scenario, pacer: DialPacer, seed: int) -> None:
        self.sc = scenario
        self.pacer = pacer
        self.rng = random.Random(seed)
        self.end = scenario.hours * 3600.0
        self.now = 0.0
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.agents = [Agent() for _ in range(scenario.agents)]
        self.ready: deque[int] = deque(range(scenario.agents))  # longest ready first
        self.dialed_at: dict[int, float] = {}  # call id -> dial time, until its outcome
        self.outcomes: dict[int, str] = {}  # drawn at the dial, hidden from the pacer
        self.waiting: deque[int] = deque()  # people in the safe harbor, first come first
        self.dialed = self.live = self.bridged = self.abandoned = self.fallbacks = 0
        self.bridged_in_hours = 0

    def schedule(self, at: float, kind: str, ref: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, ref))

    def run(self) -> ModeResult:
        handlers = {
            "tick": self.on_tick,
            "outcome": self.on_outcome,
            "harbor": self.on_harbor,
            "hang_up": self.on_hang_up,
            "ready": self.on_ready,
        }
        self.schedule(0.0, "tick")
        while self.events:
            self.now, _, kind, ref = heapq.heappop(self.events)
            handlers[kind](ref)
            if self.now < self.end:
                self.pace()
        return self.result()

    # -- calls ---------------------------------------------------------------------

    def ring_s(self) -> float:
        sigma = self.sc.ring_sigma
        mu = math.log(self.sc.ring_mean_s) - sigma * sigma / 2
        while True:  # an answer comes before the timeout, else it would be a no answer
            ring = self.rng.lognormvariate(mu, sigma)
            if ring < self.sc.ring_timeout_s:
                return ring

    def talk_s(self) -> float:
        sigma, mean = self.sc.talk_sigma, self.sc.talk_mean_s
        if sigma <= 0:
            return self.rng.expovariate(1.0 / mean)
        return self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def dial(self) -> None:
        call = self.dialed
        self.dialed += 1
        self.dialed_at[call] = self.now
        draw, sc = self.rng.random(), self.sc
        if draw < sc.live_rate:
            outcome, after = LIVE, self.ring_s() + sc.amd_human_s
        elif draw < sc.live_rate + sc.machine_rate:
            outcome, after = MACHINE, self.ring_s() + sc.amd_machine_s
        elif draw < sc.live_rate + sc.machine_rate + sc.busy_rate:
            outcome, after = BUSY, self.rng.uniform(1.0, 5.0)
        else:
            outcome, after = NO_ANSWER, sc.ring_timeout_s
        self.outcomes[call] = outcome
        self.schedule(self.now + after, "outcome", call)

    def on_outcome(self, call: int) -> None:
        after = self.now - self.dialed_at.pop(call)
        outcome = self.outcomes.pop(call)
        if outcome == MACHINE:
            self.pacer.answered_machine(self.now, after)
        elif outcome != LIVE:
            self.pacer.not_answered(self.now, after)
        else:
            self.pacer.answered_live(self.now, after)
            self.live += 1
            if self.ready:
                self.bridge(self.ready.popleft())
            else:
                self.waiting.append(call)
                self.schedule(self.now + self.sc.safe_harbor_s, "harbor", call)

    def on_harbor(self, call: int) -> None:
        # Everyone waits the same time, so whoever's harbor ends is first in line, if still there.
        if self.waiting and self.waiting[0] == call:
            self.waiting.popleft()  # nobody came in time: the safe-harbor message, goodbye
            self.abandoned += 1
            self.pacer.abandoned(self.now)

    # -- agents --------------------------------------------------------------------

    def bridge(self, index: int) -> None:
        agent = self.agents[index]
        agent.gaps.append(self.now - agent.ready_since)
        agent.talking_since = self.now
        self.bridged += 1
        self.bridged_in_hours += self.now < self.end
        self.pacer.bridged(self.now)
        talk = self.talk_s()
        agent.talk_s += self.inside(self.now, self.now + talk)
        agent.wrap_s += self.inside(self.now + talk, self.now + talk + self.sc.wrap_s)
        self.schedule(self.now + talk, "hang_up", index)

    def on_hang_up(self, index: int) -> None:
        agent = self.agents[index]
        assert agent.talking_since is not None
        self.pacer.wrap_up_began(self.now, self.now - agent.talking_since)
        agent.talking_since, agent.wrapping_since = None, self.now
        self.schedule(self.now + self.sc.wrap_s, "ready", index)

    def on_ready(self, index: int) -> None:
        agent = self.agents[index]
        assert agent.wrapping_since is not None
        self.pacer.agent_freed(self.now, self.now - agent.wrapping_since)
        agent.wrapping_since = None
        agent.ready_since = self.now
        if self.waiting:
            self.waiting.popleft()  # the harbor event for it finds it gone
            self.bridge(index)
        else:
            self.ready.append(index)

    def inside(self, start: float, stop: float) -> float:
        return max(0.0, min(stop, self.end) - min(start, self.end))

    # -- pacing --------------------------------------------------------------------

    def on_tick(self, _: int) -> None:
        if self.now + TICK_S < self.end:
            self.schedule(self.now + TICK_S, "tick")

    def pace(self) -> None:
        decision = self.pacer.decide(
            self.now,
            ready_agents=len(self.ready),
            talking_since=[a.talking_since for a in self.agents if a.talking_since is not None],
            wrapping_since=[a.wrapping_since for a in self.agents if a.wrapping_since is not None],
            dialed_at=list(self.dialed_at.values()),
            waiting=len(self.waiting),
        )
        if decision.mode is not self.pacer.settings.mode:
            self.fallbacks += 1
        for _ in range(decision.calls):
            self.dial()

    def result(self) -> ModeResult:
        logged_in = self.sc.agents * self.end
        talk = sum(a.talk_s for a in self.agents)
        busy = talk + sum(a.wrap_s for a in self.agents)
        gaps = sorted(g for a in self.agents for g in a.gaps)
        p90 = gaps[min(len(gaps) - 1, int(0.9 * len(gaps)))] if gaps else 0.0
        settings = self.pacer.settings
        name = settings.mode.value
        if settings.mode is DialingMode.RATIO:
            name = f"ratio {settings.ratio:g}"
        return ModeResult(
            mode=name,
            occupancy=busy / logged_in,
            talk_occupancy=talk / logged_in,
            abandonment=self.abandoned / self.live if self.live else 0.0,
            live_answers=self.live,
            bridged=self.bridged,
            abandoned=self.abandoned,
            idle_mean_s=sum(gaps) / len(gaps) if gaps else 0.0,
            idle_p90_s=p90,
            contacts_per_agent_hour=self.bridged_in_hours / (self.sc.agents * self.sc.hours),
            dialed=self.dialed,
            fallbacks=self.fallbacks,
        )


def simulate(scenario: Scenario, settings: PacingSettings, seed: int) -> ModeResult:
    return Simulation(scenario, DialPacer(settings), seed).run()


def compare(
    scenario: Scenario, seed: int, ratios: tuple[float, ...] = (2.0, 3.0)
) -> list[ModeResult]:
    modes = [PacingSettings(mode=DialingMode.PROGRESSIVE)]
    modes += [PacingSettings(mode=DialingMode.RATIO, ratio=r) for r in ratios]
    modes.append(PacingSettings(mode=DialingMode.PREDICTIVE))
    return [simulate(scenario, settings, seed) for settings in modes]


def table(results: list[ModeResult]) -> str:
    lines = [
        "| mode | occupancy | talk only | abandoned | idle mean / p90"
        " | contacts/agent h | dialed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.occupancy:.1%} | {r.talk_occupancy:.1%} | {r.abandonment:.2%}"
            f" ({r.abandoned}/{r.live_answers}) | {r.idle_mean_s:.1f} / {r.idle_p90_s:.1f} s"
            f" | {r.contacts_per_agent_hour:.1f} | {r.dialed} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = Scenario()
    parser.add_argument("--agents", type=int, default=d.agents)
    parser.add_argument("--live-rate", type=float, default=d.live_rate)
    parser.add_argument("--machine-rate", type=float, default=d.machine_rate)
    parser.add_argument("--busy-rate", type=float, default=d.busy_rate)
    parser.add_argument("--ring-mean", type=float, default=d.ring_mean_s)
    parser.add_argument("--ring-timeout", type=float, default=d.ring_timeout_s)
    parser.add_argument("--amd-human", type=float, default=d.amd_human_s)
    parser.add_argument("--amd-machine", type=float, default=d.amd_machine_s)
    parser.add_argument("--talk-mean", type=float, default=d.talk_mean_s)
    parser.add_argument("--talk-sigma", type=float, default=d.talk_sigma)
    parser.add_argument("--wrap", type=float, default=d.wrap_s)
    parser.add_argument("--safe-harbor", type=float, default=d.safe_harbor_s)
    parser.add_argument("--hours", type=float, default=d.hours)
    parser.add_argument("--ratios", type=float, nargs="*", default=[2.0, 3.0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        scenario = Scenario(
            agents=args.agents,
            live_rate=args.live_rate,
            machine_rate=args.machine_rate,
            busy_rate=args.busy_rate,
            ring_mean_s=args.ring_mean,
            ring_timeout_s=args.ring_timeout,
            amd_human_s=args.amd_human,
            amd_machine_s=args.amd_machine,
            talk_mean_s=args.talk_mean,
            talk_sigma=args.talk_sigma,
            wrap_s=args.wrap,
            safe_harbor_s=args.safe_harbor,
            hours=args.hours,
        )
    except ValueError as error:
        parser.error(str(error))
    results = compare(scenario, args.seed, tuple(args.ratios))
    if args.json:
        out: dict[str, Any] = {"scenario": asdict(scenario), "seed": args.seed}
        out["modes"] = [asdict(r) for r in results]
        print(json.dumps(out, indent=2))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
