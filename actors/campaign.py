"""CampaignActor: dials a campaign's leads within its limits and records every outcome.

One actor per running campaign. Its mailbox serialises everything that
changes the campaign, so the limits are plain counters:

- the campaign's own `max_concurrent` calls;
- `ChannelPool`s shared with other campaigns: the global limit and the trunk's
  channels;
- the trunk's `TrunkPacer` (calls per second, backing off on 503/Retry-After);
- calling hours: the campaign window and the recipient's local time in every
  zone of the number (a lead outside them is deferred to the next allowed
  instant, not dialled; one whose zone cannot be judged is marked invalid);
- with agents, their pacing (`AgentPacing`); in preview mode the agents
  themselves choose each dial (`PreviewDesk`).

The actor lives for one run of its campaign and stops when there is nothing
left for it to do: every lead final (the campaign completes, or waits for its
next scheduled run), or a manager paused or stopped it and the calls in
progress ended. A paused campaign so holds no slot among the campaigns a
process dials at once; resumed, it gets a fresh actor.

The order of a dial is the ledger's rule: the attempt row is committed
(`begin_attempt`) before the CallActor exists, so the INVITE can never leave
without a record; the CallActor's one `CallFinished` is written once with the
lead's next step (`finish_attempt`), decided by the retry policy. Calls run as
temporary children of the campaign's own call supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from actors.agent_pacing import AgentPacing
from actors.agent_pool import LiveAgentPool
from actors.call import CallActor, CallFinished
from actors.preview import Preview, PreviewDecided, PreviewDesk
from actors.runtime import Actor, spawn
from actors.supervisor import ChildSpec, Restart, Supervisor
from actors.webhooks import WebhookSender
from dialer import webhooks
from dialer.agents.endpoint import PreviewChoice
from dialer.amd_listener import AmdRequest, hand_to_agents
from dialer.calling import CallRequest
from dialer.campaign.abandonment import AbandonmentMeter
from dialer.campaign.answering import AnsweringPolicy
from dialer.campaign.compliance import (
    DEFAULT_HOURS,
    CallingWindow,
    ComplianceError,
    RecipientHours,
    may_call,
    next_allowed,
    zones_for_number,
)
from dialer.campaign.model import (
    FINAL_CAMPAIGN_STATES,
    AnsweredBy,
    AttemptOutcome,
    CallOutcome,
    CampaignEvent,
    CampaignState,
)
from dialer.campaign.pacing import TrunkPacer
from dialer.campaign.policy import RetryRules, after_attempt
from dialer.campaign.predictive import DialingMode, DialPacer, PacingSettings
from dialer.campaign.schedule import Schedule, StartNow, next_round
from dialer.flow.preparation import CallPreparation
from dialer.flow.runner import FlowRequest, FlowRuntime, SafeHarbor
from dialer.flow.validation import CampaignFlow
from dialer.ledger_news import LedgerNews
from dialer.runtime import Dialer
from dialer.store.repository import AttemptInFlight, Lead, OnDoNotCallList
from dialer.store.worker import StoreWorker

log = logging.getLogger("dialer.campaign")

IDLE_POLL_S = 1.0  # nothing due: look again this often (retries come due, channels free up)
STATE_POLL_S = 0.5  # how stale the stored campaign state (pause, stop) may get while dialling
NO_WINDOW_RETRY_S = 3600.0  # no allowed instant within the horizon: look again then
AGENT_PACING_TICK_S = 0.5  # agent-paced and no room: ask the pacer again this soon


class ChannelPool:
    """A count of simultaneous calls shared by several campaigns (a trunk, the whole box)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.in_use = 0
        self.peak = 0

    def try_take(self) -> bool:
        if self.in_use >= self.size:
            return False
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)
        return True

    def give_back(self) -> None:
        self.in_use = max(0, self.in_use - 1)


@dataclass(frozen=True)
class CampaignPlan:
    campaign_id: int
    trunk: str = "default"
    max_concurrent: int = 10
    rules: RetryRules = field(default_factory=RetryRules)
    window: CallingWindow | None = None  # None: any time the recipient hours allow
    hours: RecipientHours | None = DEFAULT_HOURS  # None: any hour (lab trunks only)
    schedule: Schedule = field(default_factory=StartNow)  # decides if another run follows
    prompt: bytes | None = None
    flow: CampaignFlow | None = None  # run on answer (instead of the prompt)
    flow_runtime: FlowRuntime | None = None  # the process's speech, fetcher, hand-off
    answering: AnsweringPolicy = field(default_factory=AnsweringPolicy)  # AMD, if enabled
    message_flow: CampaignFlow | None = None  # left on machines (answering.on_machine)
    ring_timeout_s: float | None = None
    max_duration_s: float | None = None
    batch: int = 200  # leads fetched from the store at a time
    pacing: PacingSettings | None = None  # agent-paced modes (None: broadcast)
    agents: LiveAgentPool | None = None  # with `pacing`: who takes the people
    abandon_limit: float = 0.03
    safe_harbor: SafeHarbor | None = None  # the campaign's own message (None: the process's)
    preview_decide_s: float = 60.0  # preview: an agent's time to choose, then paused
    preview_skip_s: float = 900.0  # preview: a skipped lead comes back this much later
    status_callback: str | None = None  # where calls' progress is POSTed, through `webhooks`
    status_events: frozenset[str] = frozenset({"completed"})
    webhooks: WebhookSender | None = None
    news: LedgerNews | None = None  # told of each attempt begun or recorded (live pages)


@dataclass(frozen=True)
class CampaignFinished:
    campaign_id: int
    state: str  # completed, scheduled (a next run follows), paused or stopped
    peak_concurrent: int
    reconciled: int  # attempts a previous run left in flight, closed when this one started


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class _Pump:
    pass


class CampaignActor(Actor):
    def __init__(
        self,
        dialer: Dialer,
        store: StoreWorker,
        plan: CampaignPlan,
        *,
        channels: tuple[ChannelPool, ...],
        pacer: TrunkPacer,
        on_finished: Callable[[CampaignFinished], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(f"campaign-{plan.campaign_id}")
        self.dialer = dialer
        self.store = store
        self.plan = plan
        self.channels = channels
        self.pacer = pacer
        self.on_finished = on_finished
        self.wall_clock = wall_clock
        self.in_flight: dict[int, _Dialled] = {}  # by attempt id
        self.peak_concurrent = 0
        self.reconciled = 0
        self._due: deque[Lead] = deque()
        self._paused = False
        self._stopping = False
        self.agent_pacing: AgentPacing | None = None
        if plan.pacing is not None:
            assert plan.agents is not None, "agent-paced dialing needs the agents"
            dial_pacer = DialPacer(plan.pacing, AbandonmentMeter(limit=plan.abandon_limit))
            self.agent_pacing = AgentPacing(
                dial_pacer, plan.agents, plan.campaign_id, self._tell_pump
            )
        self.previews: PreviewDesk | None = None
        if plan.pacing is not None and plan.pacing.mode is DialingMode.PREVIEW:
            assert plan.agents is not None
            self.previews = PreviewDesk(
                plan.agents, plan.campaign_id, self._tell, decide_within_s=plan.preview_decide_s
            )
        self._state_read_at = -STATE_POLL_S
        self._wake: asyncio.TimerHandle | None = None
        self._calls = Supervisor(f"calls-{plan.campaign_id}", max_restarts=0, period_s=1.0)
        self._preparation: CallPreparation | None = None
        if plan.flow is not None:
            assert plan.flow_runtime is not None, "a flow needs the process's flow runtime"
            self._preparation = CallPreparation(
                plan.flow, plan.flow_runtime, self._opt_out, plan.safe_harbor
            )
        self._message: CallPreparation | None = None
        if plan.message_flow is not None:
            assert plan.flow_runtime is not None, "a message needs the process's flow runtime"
            self._message = CallPreparation(
                plan.message_flow, plan.flow_runtime, self._opt_out, plan.safe_harbor
            )
        self._calls_task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def on_start(self) -> None:
        if self.plan.flow_runtime is not None:
            await self.plan.flow_runtime.hand_off.prepare(self.plan.safe_harbor)
        if self.agent_pacing is not None:
            await self.agent_pacing.seed(self.store, self.wall_clock())
            self.agent_pacing.attach()
        # Attempts a previous run of this campaign left in flight (a crash, a restart by
        # the supervisor) are closed first: counted as failed, never redialled blindly.
        rules, campaign, now = self.plan.rules, self.plan.campaign_id, self.wall_clock()
        report = await self.store.run(
            lambda s: s.reconcile_in_flight(rules, now, campaign_id=campaign)
        )
        self.reconciled = report.interrupted
        self._calls_task = spawn(self._calls)
        self.ref.tell(_Pump())

    async def on_stop(self) -> None:
        self._withdraw_previews("campaign over")
        if self.agent_pacing is not None:
            self.agent_pacing.detach()
        if self._wake is not None:
            self._wake.cancel()
        for preparation in (self._preparation, self._message):
            if preparation is not None:
                preparation.cancel()
        self._calls.stop()
        if self._calls_task is not None:
            await asyncio.gather(self._calls_task, return_exceptions=True)

    async def receive(self, message: object) -> object:
        if isinstance(message, _Pump):
            await self._pump()
        elif isinstance(message, CallFinished):
            await self._finished(message)
        elif isinstance(message, PreviewDecided):
            await self._preview_decided(message)
        elif isinstance(message, Pause):
            self._paused = True
            await self._set_state(CampaignEvent.PAUSE)
            self._withdraw_previews("campaign paused")
            await self._maybe_finish()
        elif isinstance(message, Resume):
            self._paused = False
            await self._set_state(CampaignEvent.RESUME)
            self.ref.tell(_Pump())
        elif isinstance(message, Stop):
            # Final: no new dials; calls in progress finish and are recorded.
            self._stopping = True
            await self._set_state(CampaignEvent.STOP)
            self._withdraw_previews("campaign stopped")
            await self._maybe_finish()
        return None

    # -- dialling ----------------------------------------------------------------------

    async def _pump(self) -> None:
        await self._follow_stored_state()
        loop = asyncio.get_running_loop()
        if self._paused or self._stopping:
            self._withdraw_previews("campaign paused" if self._paused else "campaign stopped")
            await self._maybe_finish()  # once the calls in progress have ended
            if self._paused:
                self._wake_at(loop.time() + IDLE_POLL_S)  # to notice a resume meanwhile
            return
        if self.previews is not None:
            await self._pump_previews(self.previews)
            return
        while len(self.in_flight) < self.plan.max_concurrent:
            if not self._agents_have_room():
                self._wake_at(loop.time() + AGENT_PACING_TICK_S)  # estimates age: look again
                return
            lead = await self._next_lead()
            if lead is None:
                await self._maybe_finish()
                self._wake_at(loop.time() + IDLE_POLL_S)
                return
            if not await self._within_hours(lead):
                continue
            wait_until = await self._place(lead)
            if wait_until is not None:
                self._due.appendleft(lead)
                self._wake_at(wait_until)
                return

    async def _place(self, lead: Lead, chosen: Preview | None = None) -> float | None:
        """Dial the lead if the trunk's pace and the channels allow it; None when done with
        it (dialled, or found not to be dialled), or when to try again."""
        loop = asyncio.get_running_loop()
        wait_until = self.pacer.acquire(loop.time())
        if wait_until is not None:
            return wait_until
        taken = [pool for pool in self.channels if pool.try_take()]
        if len(taken) < len(self.channels):
            for pool in taken:
                pool.give_back()
            return loop.time() + 0.1  # another campaign holds the channels
        if await self._dial(lead, chosen) is None:
            for pool in taken:
                pool.give_back()
        return None

    async def _pump_previews(self, desk: PreviewDesk) -> None:
        """Dial what agents chose, in order; then show every free agent a lead."""
        while desk.chosen and len(self.in_flight) < self.plan.max_concurrent:
            preview = desk.chosen[0]
            if not desk.still_waiting(preview):  # gone meanwhile: someone else will call
                desk.chosen.popleft()
                self._due.appendleft(preview.lead)
                continue
            if not await self._within_hours(preview.lead):  # the time it took to choose
                desk.chosen.popleft()
                desk.not_dialled(preview, "outside calling hours now")
                continue
            wait_until = await self._place(preview.lead, preview)
            if wait_until is not None:
                self._wake_at(wait_until)
                return
            desk.chosen.popleft()
        for agent_id in desk.free_agents():
            while True:
                lead = await self._next_lead()
                if lead is None:
                    await self._maybe_finish()
                    self._wake_at(asyncio.get_running_loop().time() + IDLE_POLL_S)
                    return
                if await self._within_hours(lead):
                    break
            if not desk.show(agent_id, lead):
                self._due.appendleft(lead)
        if not desk.shown and not desk.chosen:
            await self._maybe_finish()  # the last lead's call ended with nobody free
        # Agents' changes wake the actor; this, a pause or stop from the CLI or the API,
        # and the leads skipped coming due again.
        self._wake_at(asyncio.get_running_loop().time() + IDLE_POLL_S)

    async def _preview_decided(self, message: PreviewDecided) -> None:
        desk = self.previews
        preview = desk.decided(message) if desk is not None else None
        if preview is None:
            return  # withdrawn meanwhile
        if message.choice is PreviewChoice.SKIP:
            lead, now = preview.lead, self.wall_clock()
            later = now + self.plan.preview_skip_s
            await self.store.run(lambda s: s.defer_lead(lead.id, later, now=now))
        elif message.choice is not PreviewChoice.CALL:
            self._due.appendleft(preview.lead)  # not seen, or not there: for the next agent
        self.ref.tell(_Pump())

    def _withdraw_previews(self, why: str) -> None:
        if self.previews is not None:
            self._due.extendleft(reversed(self.previews.withdraw(why)))

    def _agents_have_room(self) -> bool:
        if self.agent_pacing is None:
            return True
        dialed_at = [dialled.dialed_at for dialled in self.in_flight.values()]
        return self.agent_pacing.room(self.wall_clock(), dialed_at) > 0

    async def _next_lead(self) -> Lead | None:
        if not self._due:
            now = self.wall_clock()
            campaign, batch = self.plan.campaign_id, self.plan.batch
            leads = await self.store.run(lambda s: s.due_leads(campaign, now, batch))
            dialling = {dialled.lead_id for dialled in self.in_flight.values()}
            if self.previews is not None:
                dialling |= self.previews.held()
            self._due.extend(lead for lead in leads if lead.id not in dialling)
        if self._preparation is not None:
            # Speech for the next few in line, rendered while earlier calls are dialled.
            self._preparation.warm(list(self._due)[: self.plan.max_concurrent])
        return self._due.popleft() if self._due else None

    async def _within_hours(self, lead: Lead) -> bool:
        """May the lead be dialled now? If not, it is deferred (or found unusable)."""
        assert lead.phone is not None
        now = datetime.fromtimestamp(self.wall_clock(), UTC)
        window, hours = self.plan.window or _ANY_TIME, self.plan.hours or _ANY_HOUR
        try:
            zones = (lead.timezone,) if lead.timezone else zones_for_number(lead.phone)
            if may_call(now, window, zones, hours).allowed:
                return True
            later = next_allowed(now, window, zones, hours)
        except ComplianceError as exc:
            # A zone or number that cannot be judged is never dialled "just in case".
            log.warning("lead %d cannot be dialled: %s", lead.id, exc)
            await self.store.run(lambda s: s.invalidate_lead(lead.id, now=now.timestamp()))
            return False
        at = later.timestamp() if later else now.timestamp() + NO_WINDOW_RETRY_S
        await self.store.run(lambda s: s.defer_lead(lead.id, at, now=now.timestamp()))
        return False

    async def _dial(self, lead: Lead, chosen: Preview | None = None) -> int | None:
        """The attempt placed (None: the lead cannot be dialled; the reason is logged and
        stored). `chosen`: an agent chose it from a preview, and waits for whoever answers."""
        agent_id = chosen.agent_id if chosen is not None else None
        number = lead.next_number
        assert number is not None
        flow = None
        if self._preparation is not None:
            prepared = await self._preparation.request_for(lead, number)
            if isinstance(prepared, str):
                log.warning("lead %d cannot be dialled with this flow: %s", lead.id, prepared)
                now = self.wall_clock()
                await self.store.run(lambda s: s.invalidate_lead(lead.id, now=now))
                self._not_dialled(chosen, "cannot be dialled with this flow")
                return None
            flow = replace(prepared, agent_id=agent_id)
        amd = await self._amd_for(lead, number, agent_id)
        if isinstance(amd, str):
            log.warning("lead %d cannot be dialled with this message: %s", lead.id, amd)
            now = self.wall_clock()
            await self.store.run(lambda s: s.invalidate_lead(lead.id, now=now))
            self._not_dialled(chosen, "cannot be dialled with this message")
            return None
        now = self.wall_clock()
        try:
            # The ledger first: the INVITE below can never leave without this row.
            attempt_id = await self.store.run(lambda s: s.begin_attempt(lead.id, number, now))
        except OnDoNotCallList:
            # Either of a contact's numbers on a list blocks the contact: whoever asked
            # not to be called is not called on their other line instead.
            await self.store.run(lambda s: s.block_lead(lead.id, now=now))
            self._not_dialled(chosen, "on a do-not-call list")
            return None
        except AttemptInFlight:
            self._not_dialled(chosen, "already being dialled")  # a stale batch entry
            return None
        self.in_flight[attempt_id] = _Dialled(lead.id, number, self.wall_clock())
        self._ledger_changed()
        if chosen is not None and self.previews is not None:
            self.previews.dialled(chosen, attempt_id)
        self.peak_concurrent = max(self.peak_concurrent, len(self.in_flight))
        plan = self.plan
        request = CallRequest(
            target=number,
            trunk=plan.trunk,
            prompt=plan.prompt,
            flow=flow,
            amd=amd,
            ring_timeout_s=plan.ring_timeout_s,
            max_duration_s=plan.max_duration_s,
            on_progress=self._progress_callback(lead.id, attempt_id, number),
        )
        spec = ChildSpec(
            f"call-{attempt_id}",
            lambda: CallActor(
                self.dialer, request, attempt_id=attempt_id, lead_id=lead.id, report_to=self.ref
            ),
            restart=Restart.TEMPORARY,
        )
        await self._calls.start_child(spec)
        return attempt_id

    def _progress_callback(
        self, lead_id: int, attempt_id: int, number: str
    ) -> Callable[[str, str], None] | None:
        """The call's progress, to the status callback (the events the campaign chose)."""
        plan = self.plan
        sender, url = plan.webhooks, plan.status_callback
        if sender is None or url is None:
            return None

        def progress(status: str, call_sid: str) -> None:
            if status in plan.status_events:
                body = webhooks.call_event(
                    status, at=self.wall_clock(), campaign_id=plan.campaign_id, lead_id=lead_id,
                    attempt_id=attempt_id, to=number, call_sid=call_sid,
                )  # fmt: skip
                sender.queue(plan.campaign_id, f"call.{status}", url, body)

        return progress

    def _not_dialled(self, chosen: Preview | None, why: str) -> None:
        if chosen is not None and self.previews is not None:
            self.previews.not_dialled(chosen, why)

    # -- outcomes ------------------------------------------------------------------------

    async def _finished(self, message: CallFinished) -> None:
        report = message.report
        dialled = self.in_flight.pop(message.attempt_id, None)
        if dialled is None:
            return  # not ours, or already written
        for pool in self.channels:
            pool.give_back()
        loop = asyncio.get_running_loop()
        self.pacer.on_final_response(report.sip_code, report.retry_after_s, loop.time())
        if self.agent_pacing is not None:
            self.agent_pacing.call_finished(report, self.wall_clock())
        if self.previews is not None:
            said = f"{report.outcome}: {report.reason}" if report.reason else report.outcome
            self.previews.call_over(message.attempt_id, said)
        variables = dict(report.variables) | ({"dtmf": report.dtmf} if report.dtmf else {})
        result = AttemptOutcome(
            outcome=CallOutcome(report.outcome),
            sip_code=report.sip_code,
            reason=report.reason,
            answered_by=AnsweredBy(report.answered_by) if report.answered_by else None,
            variables=variables,
            duration_s=report.duration_s,
        )
        now = self.wall_clock()
        lead = await self.store.run(lambda s: s.get_lead(message.lead_id))
        on_primary = dialled.number == lead.phone and lead.secondary_phone is not None
        step = after_attempt(
            self.plan.rules, lead.attempts + 1, result, now, secondary_untried=on_primary
        )
        await self.store.run(
            lambda s: s.finish_attempt(
                message.attempt_id,
                result,
                now,
                then=step.event,
                next_attempt_at=step.next_attempt_at,
                on_secondary=step.on_secondary,
            )
        )
        self._ledger_changed()
        self._call_completed(message, dialled, result, now)
        self.ref.tell(_Pump())
        if self._stopping or self._paused:
            await self._maybe_finish()

    def _ledger_changed(self) -> None:
        if self.plan.news is not None:
            self.plan.news.changed(self.plan.campaign_id)

    def _call_completed(
        self, message: CallFinished, dialled: _Dialled, result: AttemptOutcome, now: float
    ) -> None:
        plan = self.plan
        if plan.webhooks is None or plan.status_callback is None:
            return
        if "completed" not in plan.status_events:
            return
        body = webhooks.call_completed(
            at=now, campaign_id=plan.campaign_id, lead_id=message.lead_id,
            attempt_id=message.attempt_id, to=dialled.number, call_sid=message.report.call_id,
            outcome=str(result.outcome), sip_code=result.sip_code, reason=result.reason,
            answered_by=str(result.answered_by) if result.answered_by else None,
            duration_s=result.duration_s or 0.0, variables=result.variables,
        )  # fmt: skip
        plan.webhooks.queue(plan.campaign_id, "call.completed", plan.status_callback, body)

    async def _amd_for(
        self, lead: Lead, number: str, agent_id: int | None = None
    ) -> AmdRequest | str | None:
        """The call's AMD instructions (None: no AMD); a reason when the message left on
        machines cannot speak to this contact."""
        policy = self.plan.answering
        if not policy.enabled:
            return None
        message = None
        if self._message is not None:
            prepared = await self._message.request_for(lead, number)
            if isinstance(prepared, str):
                return prepared
            message = prepared
        agent = None
        if policy.on_human == "agent":
            assert self.plan.flow_runtime is not None, "a hand-off needs the flow runtime"
            agent = FlowRequest(
                self.plan.flow_runtime,
                hand_to_agents(f"campaign-{self.plan.campaign_id}"),
                lead.template_values(),
                self._opt_out(lead, number),
                campaign_id=lead.campaign_id,
                lead_id=lead.id,
                agent_id=agent_id,
                safe_harbor=self.plan.safe_harbor,
            )
        return AmdRequest(
            detector=policy.detector,
            wait=policy.wait,
            on_machine=policy.on_machine,
            message=message,
            max_beep_wait_ms=policy.max_beep_wait_ms,
            on_human=policy.on_human,
            agent=agent,
            unknown_as=policy.unknown_as,
        )

    def _opt_out(self, lead: Lead, number: str) -> Callable[[], Awaitable[None]]:
        """What the opt-out key does on `lead`'s call: the number goes on the global
        do-not-call list at once (not when the call ends: a crash must not lose it)."""
        campaign = self.plan.campaign_id

        async def record() -> None:
            now = self.wall_clock()
            source = f"opt-out key, campaign {campaign}"
            await self.store.run(lambda s: s.add_dnc(number, now=now, source=source))
            log.info("lead %d opted out: %s is on the do-not-call list", lead.id, number)

        return record

    async def _follow_stored_state(self, *, now: bool = False) -> None:
        """Pause, resume and stop also come from outside (the CLI, later the API) via the store.

        Read at most every STATE_POLL_S while dialling (not once per dial: at 100 cps
        that is a store round trip every 10 ms), or `now` when it decides what happens."""
        loop_now = asyncio.get_running_loop().time()
        if not now and loop_now < self._state_read_at + STATE_POLL_S:
            return
        self._state_read_at = loop_now
        campaign = self.plan.campaign_id
        state = (await self.store.run(lambda s: s.get_campaign(campaign))).state
        if state is CampaignState.PAUSED and not self._paused:
            log.info("campaign %d paused: no new dials", campaign)
        self._paused = state is CampaignState.PAUSED
        if state in FINAL_CAMPAIGN_STATES and not self._stopping:
            log.info("campaign %d %s: no new dials, calls in progress finish", campaign, state)
            self._stopping = True

    async def _maybe_finish(self) -> None:
        """Stop once nothing is left to do: paused or stopped with no call in progress,
        or every lead final (then the campaign completes, or waits for its next run)."""
        if self.in_flight:
            return
        await self._follow_stored_state(now=True)  # decide on the state as it is now
        if self._stopping:
            state = "stopped"
        elif self._paused:
            state = "paused"
        else:
            campaign = self.plan.campaign_id
            counts = await self.store.run(lambda s: s.campaign_counts(campaign))
            if any(counts.get(open_state, 0) for open_state in _OPEN_LEAD_STATES):
                return
            state = await self._end_run()
        log.info(
            "campaign %d %s (peak %d calls)", self.plan.campaign_id, state, self.peak_concurrent
        )
        if self.on_finished is not None:
            self.on_finished(
                CampaignFinished(
                    self.plan.campaign_id, state, self.peak_concurrent, self.reconciled
                )
            )
        self.stop()

    async def _end_run(self) -> str:
        """Every lead is final: the campaign completes, or a recurring one awaits its next run."""
        now = self.wall_clock()
        following = next_round(self.plan.schedule, datetime.fromtimestamp(now, UTC))
        if following is None:
            await self._set_state(CampaignEvent.COMPLETE)
            await self._campaign_completed(now)
            return "completed"
        campaign, at = self.plan.campaign_id, following.timestamp()
        await self.store.run(
            lambda s: s.set_campaign_state(
                campaign, CampaignEvent.SCHEDULE, now=now, next_run_at=at
            )
        )
        log.info("campaign %d: next run at %s", campaign, following.isoformat())
        return "scheduled"

    async def _campaign_completed(self, now: float) -> None:
        plan = self.plan
        if plan.webhooks is None or plan.status_callback is None:
            return
        campaign = plan.campaign_id
        counts = await self.store.run(lambda s: s.campaign_counts(campaign))
        body = webhooks.campaign_completed(at=now, campaign_id=campaign, counts=counts)
        plan.webhooks.queue(campaign, webhooks.CAMPAIGN_COMPLETED, plan.status_callback, body)

    async def _set_state(self, event: CampaignEvent) -> None:
        campaign, now = self.plan.campaign_id, self.wall_clock()
        await self.store.run(lambda s: s.set_campaign_state(campaign, event, now=now))

    def _wake_at(self, when: float) -> None:
        if self._wake is not None:
            self._wake.cancel()
        loop = asyncio.get_running_loop()
        self._wake = loop.call_at(when, self._tell_pump)

    def _tell_pump(self) -> None:
        self._tell(_Pump())

    def _tell(self, message: object) -> None:
        if self.alive:
            self.ref.tell(message)


@dataclass(frozen=True)
class _Dialled:
    lead_id: int
    number: str  # the primary or the secondary
    dialed_at: float  # wall clock


_OPEN_LEAD_STATES = ("created", "scheduled", "processing", "rescheduled")
# No campaign window: only the recipient's hours apply (start == end is the whole day).
_ANY_TIME = CallingWindow(frozenset(range(7)), dt_time(0), dt_time(0), ZoneInfo("UTC"))
_ANY_HOUR = RecipientHours(dt_time(0), dt_time.max)
