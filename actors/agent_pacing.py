"""A campaign's dialing paced by its agents: the `DialPacer` fed from calls and agents.

The campaign actor asks `room(now, dialed_at)` before each dial (how many more
calls its agents can take now, per its mode) and reports every finished call
with `call_finished(report, now)`. Agents' state changes come in from the
`LiveAgentPool` as they happen: a wrap-up beginning gives the talk time, a
ready after it the wrap-up time.

A call in flight that has been handed to an agent is resolved, not ringing;
the actor does not see the hand-off, so the oldest dials, as many as this
campaign's agents have people on the line, are taken to be those calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from actors.agent_pool import LiveAgentPool
from dialer.agents.states import AgentState, AgentStateChange
from dialer.calling import CallReport
from dialer.campaign.abandonment import WINDOW_DAYS, utc_day
from dialer.campaign.predictive import DialPacer, PacingDecision
from dialer.flow.interpreter import ABANDONED
from dialer.store.worker import StoreWorker

DAY_S = 86_400.0


class AgentPacing:
    def __init__(
        self,
        pacer: DialPacer,
        agents: LiveAgentPool,
        campaign_id: int,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.pacer = pacer
        self.agents = agents
        self.campaign_id = campaign_id
        self.wake = wake  # an agent's change may make room for a call
        self._last: dict[int, AgentStateChange] = {}  # each agent's latest change
        self.last_decision: PacingDecision | None = None

    async def seed(self, store: StoreWorker, now: float) -> None:
        """The abandonment meter from the ledger's last 30 days: a restart forgets nothing."""
        campaign, today = self.campaign_id, utc_day(now)
        starts = [(today - back) * DAY_S for back in range(WINDOW_DAYS)]  # newest first
        since = await store.run(lambda s: [s.hand_off_counts(campaign, t) for t in starts])
        newer = (0, 0)
        for start, (live, lost) in zip(starts, since, strict=True):
            day_live, day_lost = live - newer[0], lost - newer[1]
            if day_live:
                self.pacer.meter.record(utc_day(start), day_live, day_lost)
            newer = (live, lost)

    def attach(self) -> None:
        self.agents.listeners.append(self.on_agent_change)

    def detach(self) -> None:
        if self.on_agent_change in self.agents.listeners:
            self.agents.listeners.remove(self.on_agent_change)

    def room(self, now: float, dialed_at: Sequence[float]) -> int:
        view = self.agents.pool.pacing_view(self.campaign_id)
        handed = len(view.talking_since)
        ringing = sorted(dialed_at)[handed:]  # the oldest dials are the ones answered
        decision = self.pacer.decide(
            now,
            ready_agents=view.ready,
            talking_since=view.talking_since,
            wrapping_since=view.wrapping_since,
            dialed_at=ringing,
        )
        self.last_decision = decision
        return decision.calls

    def call_finished(self, report: CallReport, now: float) -> None:
        after_s = (report.setup_ms or 0.0) / 1000
        if report.answered_at is None:
            self.pacer.not_answered(now, after_s)
        elif report.answered_by == "machine":
            self.pacer.answered_machine(now, after_s)
        else:
            status = report.variables.get("DialCallStatus")
            self.pacer.answered_live(now, after_s)
            if status == ABANDONED:
                self.pacer.abandoned(now)
            elif status == "completed":
                self.pacer.bridged(now)

    def on_agent_change(self, change: AgentStateChange) -> None:
        seat = self.agents.pool.seats.get(change.agent_id)
        if seat is None or not seat.serves(self.campaign_id):
            return
        before = self._last.get(change.agent_id)
        self._last[change.agent_id] = change
        if change.state is AgentState.READY:
            self.wake()
        if before is None:
            return
        if change.state is AgentState.WRAP_UP and before.state is AgentState.ON_CALL:
            self.pacer.wrap_up_began(change.at, change.at - before.at)
        elif change.state is AgentState.READY and before.state is AgentState.WRAP_UP:
            self.pacer.agent_freed(change.at, change.at - before.at)
