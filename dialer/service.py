"""Campaigns running inside one dialer process: `dialer serve` and `dialer campaign run`.

`CampaignHost` owns what running campaigns share: the `Dialer` (SIP endpoint,
media clock, RTP ports), the store worker, the global and per-trunk channel
pools, one pacer per trunk, and the slots for `limits.max_concurrent_campaigns`.

Supervision: each campaign runs under a supervisor of its own, which restarts
its actor after a crash (the new actor first closes the attempts the old one
left in flight) up to `RESTARTS` times in `RESTART_PERIOD_S`. Past that the
campaign is marked failed with the crash as its reason, and the others carry
on: one broken campaign never takes the process, or another campaign, down.
A campaign that ends normally (completed, waiting for its next run, paused or
stopped) frees its slot.

`serve` is the long-running service. Every `poll_s` it starts each scheduled
campaign whose run is due, and dials every running campaign it has a slot
for (started by `dialer campaign start`, resumed after a pause, or later by
the API). A campaign whose settings cannot be used (an unknown trunk, an
unreadable prompt) is marked failed with the reason. SIGTERM or SIGINT stops
the campaigns (calls in progress are hung up, their attempts reconciled at the
next start) and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from actors.agent_pool import LiveAgentPool
from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool
from actors.mailer import ReportMailer
from actors.runtime import spawn
from actors.supervisor import ChildExit, ChildSpec, ExitAction, Restart, Supervisor
from actors.webhooks import WebhookSender
from dialer import retention
from dialer.agents.directory import AgentDirectory
from dialer.agents.handoff import AgentHandOff
from dialer.agents.pool import AgentPool
from dialer.amd_listener import hand_to_agents
from dialer.campaign.model import CampaignEvent, CampaignState, IllegalTransition
from dialer.campaign.pacing import PacerSettings, TrunkPacer
from dialer.campaign.policy import RetryRules
from dialer.campaign.predictive import DialingMode, PacingSettings
from dialer.campaign.settings import CampaignSettings, SettingsError
from dialer.collector import freeze_survivors
from dialer.config import Config, ConfigError
from dialer.flow.document import FlowError
from dialer.flow.runner import FlowRuntime, HandOffHandler, SafeHarbor
from dialer.flow.validation import CampaignFlow, load_campaign_flow
from dialer.ledger_news import LedgerNews
from dialer.runtime import Dialer
from dialer.store.repository import Campaign
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.app import start_web
from media.audiofile import AudioFileError, load_ulaw

log = logging.getLogger("dialer.service")

RESTARTS = 3  # crashes of one campaign's actor tolerated within RESTART_PERIOD_S
RESTART_PERIOD_S = 60.0

MakeActor = Callable[..., CampaignActor]


class CampaignCannotRun(ValueError):
    """The campaign's settings cannot be used here; the message says why."""


def plan_for(
    campaign_id: int,
    settings: CampaignSettings,
    config: Config,
    flow_runtime: Callable[[], FlowRuntime],
    agents: LiveAgentPool | None = None,
    webhooks: WebhookSender | None = None,
    news: LedgerNews | None = None,
) -> CampaignPlan:
    """What a campaign's actor runs from; CampaignCannotRun when the settings cannot work
    (an unknown trunk, an unreadable prompt, a broken flow or a voice no engine has)."""
    flow = message = runtime = None
    answering = settings.answering
    try:
        config.trunk(settings.trunk)
        prompt = load_ulaw(Path(settings.prompt_file)) if settings.prompt_file else None
        if settings.flow:
            runtime = flow_runtime()
            flow = load_campaign_flow(settings.flow, runtime.speech.check_voice)
        if answering.enabled and answering.on_machine == "message" and answering.message_flow:
            runtime = flow_runtime()
            message = load_campaign_flow(answering.message_flow, runtime.speech.check_voice)
        if answering.enabled and answering.on_human == "agent":
            runtime = flow_runtime()  # hands people over as a flow's <Enqueue> does
        safe_harbor = _safe_harbor(settings)
    except (ConfigError, AudioFileError, FlowError) as exc:
        raise CampaignCannotRun(str(exc)) from None
    if settings.status_callback and not config.webhooks.secret:
        raise CampaignCannotRun(
            "status_callback: webhooks.secret is not set, and callbacks are never sent unsigned"
        )
    pacing = None
    mode = DialingMode(settings.mode)
    if mode.agent_paced:
        if agents is None:
            raise CampaignCannotRun(f"{mode} dialing needs agents: run it under `dialer serve`")
        pacing = PacingSettings(mode=mode, ratio=settings.dial_ratio)
        runtime = flow_runtime()
        if flow is None and prompt is None:  # the people who answer go straight to agents
            start = hand_to_agents(f"campaign-{campaign_id}")
            flow = CampaignFlow(start.location, start.flow, {}, frozenset())
    return CampaignPlan(
        campaign_id,
        trunk=settings.trunk,
        max_concurrent=settings.max_concurrent,
        rules=settings.rules(),
        window=settings.window,
        hours=settings.recipient_hours,
        schedule=settings.schedule,
        prompt=prompt,
        flow=flow,
        flow_runtime=runtime,
        answering=answering,
        message_flow=message,
        ring_timeout_s=settings.ring_timeout_s,
        max_duration_s=settings.max_duration_s,
        pacing=pacing,
        agents=agents if pacing is not None else None,
        abandon_limit=settings.abandon_limit,
        safe_harbor=safe_harbor,
        preview_decide_s=config.agents.preview_decide_s,
        preview_skip_s=config.agents.preview_skip_s,
        status_callback=settings.status_callback,
        status_events=frozenset(settings.status_events),
        webhooks=webhooks if settings.status_callback else None,
        news=news,
    )


def _safe_harbor(settings: CampaignSettings) -> SafeHarbor | None:
    """The campaign's own safe-harbor message, its recording read now (AudioFileError)."""
    if settings.safe_harbor_file:
        return SafeHarbor(audio=load_ulaw(Path(settings.safe_harbor_file)))
    if settings.safe_harbor_message:
        return SafeHarbor(message=settings.safe_harbor_message)
    return None


class CampaignHost:
    def __init__(
        self,
        config: Config,
        dialer: Dialer,
        store: StoreWorker,
        *,
        make_actor: MakeActor = CampaignActor,
        wall_clock: Callable[[], float] = time.time,
        agents: LiveAgentPool | None = None,
        hand_off: Callable[[FlowRuntime], HandOffHandler] | None = None,
    ) -> None:
        self.config = config
        self.dialer = dialer
        self.store = store
        self.agents = agents
        self.hand_off = hand_off  # the agents' hand-off, for the flow runtime when built
        self.make_actor = make_actor
        self.wall_clock = wall_clock
        self.finished: dict[int, CampaignFinished] = {}
        self._changed = asyncio.Event()
        self._active: set[int] = set()
        self._global = ChannelPool(config.limits.max_concurrent_calls)
        self._trunk_pools = {
            name: ChannelPool(trunk.max_channels) for name, trunk in config.trunks.items()
        }
        loop = asyncio.get_running_loop()
        self._pacers = {
            name: TrunkPacer(PacerSettings(cps=trunk.cps), now=loop.time())
            for name, trunk in config.trunks.items()
        }
        # Campaign supervisors are temporary children: when one gives up, its campaign
        # is failed (below), never restarted blindly and never escalated further.
        self._campaigns = Supervisor("campaigns", observer=self._on_campaign_exit)
        self._task = spawn(self._campaigns)
        self._flow_runtime: FlowRuntime | None = None
        self._failures: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._failure_task = asyncio.get_running_loop().create_task(self._record_failures())
        self.webhooks = WebhookSender(store, config.webhooks, wall_clock=wall_clock)
        self.webhooks.start()  # also sends what a previous run left in the outbox
        self.mailer = ReportMailer(store, config.smtp, wall_clock=wall_clock)
        self.news = LedgerNews()  # the live pages of the campaigns run here listen to it
        self._report_to: dict[int, tuple[str, ...]] = {}  # by campaign: its report_emails

    @property
    def has_slot(self) -> bool:
        return len(self._active) < self.config.limits.max_concurrent_campaigns

    def is_active(self, campaign_id: int) -> bool:
        return campaign_id in self._active

    async def run(self, campaign_id: int, settings: CampaignSettings) -> bool:
        """Start dialling `campaign_id`; False when every campaign slot is taken.

        A no-op (True) if it already runs here; CampaignCannotRun for unusable settings.
        """
        if campaign_id in self._active:
            return True
        if not self.has_slot:
            return False
        plan = plan_for(
            campaign_id,
            settings,
            self.config,
            self.flow_runtime,
            self.agents,
            self.webhooks,
            self.news,
        )
        self._active.add(campaign_id)
        self.finished.pop(campaign_id, None)
        self._report_to[campaign_id] = settings.report_emails

        def start_actor() -> CampaignActor:
            return self.make_actor(
                self.dialer,
                self.store,
                plan,
                channels=(self._global, self._trunk_pools[plan.trunk]),
                pacer=self._pacers[plan.trunk],
                on_finished=self._on_finished,
                wall_clock=self.wall_clock,
            )

        await self._campaigns.start_child(
            ChildSpec(
                _supervisor_name(campaign_id),
                lambda: _CampaignSupervisor(campaign_id, start_actor),
                restart=Restart.TEMPORARY,
                shutdown_timeout_s=15.0,  # its actor hangs up its calls first
            )
        )
        return True

    async def wait_finished(self, campaign_id: int) -> CampaignFinished:
        while campaign_id not in self.finished:
            self._changed.clear()
            await self._changed.wait()
        return self.finished[campaign_id]

    def flow_runtime(self) -> FlowRuntime:
        """What this process's flows share, built when the first campaign with a flow runs."""
        if self._flow_runtime is None:
            self._flow_runtime = FlowRuntime.from_config(self.config)
            if self.hand_off is not None:
                self._flow_runtime.hand_off = self.hand_off(self._flow_runtime)
        return self._flow_runtime

    async def close(self) -> None:
        self._campaigns.stop()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._flow_runtime is not None:
            await self._flow_runtime.close()
        self._failure_task.cancel()
        await asyncio.gather(self._failure_task, return_exceptions=True)
        await self.webhooks.close()
        await self.mailer.close()

    def _on_finished(self, result: CampaignFinished) -> None:
        if result.state == "completed":
            self.mailer.campaign_completed(
                result.campaign_id, self._report_to.get(result.campaign_id, ())
            )
        self._active.discard(result.campaign_id)
        self.finished[result.campaign_id] = result
        self._changed.set()

    def _on_campaign_exit(self, exit: ChildExit) -> None:
        if exit.error is None or exit.action is not ExitAction.REMOVED:
            return
        campaign_id = int(exit.child.rsplit("-", 1)[1])
        cause = exit.error.__cause__ or exit.error
        reason = f"crashed {RESTARTS + 1} times within {RESTART_PERIOD_S:g} s: {cause!r}"
        self._failures.put_nowait((campaign_id, reason))

    async def _record_failures(self) -> None:
        while True:
            campaign_id, reason = await self._failures.get()
            log.error("campaign %d failed: %s", campaign_id, reason)
            now = self.wall_clock()
            try:
                await set_campaign_state(
                    self.store, campaign_id, CampaignEvent.FAIL, now=now, reason=reason
                )
            except IllegalTransition as exc:  # stopped meanwhile: that stands
                log.warning("campaign %d not marked failed: %s", campaign_id, exc)
            self._on_finished(CampaignFinished(campaign_id, "failed", 0, 0))


class _CampaignSupervisor(Supervisor):
    """One campaign's actor: restarted after a crash, done when the actor ends normally."""

    def __init__(self, campaign_id: int, start_actor: Callable[[], CampaignActor]) -> None:
        super().__init__(
            _supervisor_name(campaign_id),
            [ChildSpec("actor", start_actor, restart=Restart.TRANSIENT, shutdown_timeout_s=10.0)],
            max_restarts=RESTARTS,
            period_s=RESTART_PERIOD_S,
            observer=self._on_exit,
        )

    def _on_exit(self, exit: ChildExit) -> None:
        if exit.action is ExitAction.REMOVED:  # the actor finished its run
            self.stop()


async def set_campaign_state(
    store: StoreWorker,
    campaign_id: int,
    event: CampaignEvent,
    *,
    now: float,
    reason: str | None = None,
    next_run_at: float | None = None,
) -> Campaign:
    return await store.run(
        lambda s: s.set_campaign_state(
            campaign_id, event, now=now, reason=reason, next_run_at=next_run_at
        )
    )


def _supervisor_name(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


async def serve(config: Config, db: Path, *, poll_s: float = 1.0) -> int:
    db.parent.mkdir(parents=True, exist_ok=True)
    store = StoreWorker(lambda: SqliteStore(db))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        directory = AgentDirectory(store, config.agents.realm)
        dialer = await Dialer.start(config, agent_credentials=directory.credentials_for)
        agents = LiveAgentPool(
            AgentPool(wrap_up_s=config.agents.wrap_up_s),
            record=lambda changes: store.run(lambda s: s.record_agent_states(changes)),
        )
        directory.live, directory.dialer = agents, dialer
        dialer.add_agent_listener(directory.on_registrar_event)
        await directory.refresh()

        def hand_off(runtime: FlowRuntime) -> HandOffHandler:
            desk = AgentHandOff(dialer, agents, config.agents, runtime.speech,
                                opt_out_key=config.flows.opt_out_key)  # fmt: skip
            return desk

        host = CampaignHost(config, dialer, store, agents=agents, hand_off=hand_off)
        log.info("serving (store %s)", db)
        await reconcile_idle_campaigns(store, time.time())
        waiting: set[int] = set()
        web_runner = None
        loop_watch = asyncio.ensure_future(dialer.metrics.watch_loop())
        retention_checked = -retention.CHECK_S
        try:
            if config.web.enabled:
                web_runner = await start_web(store, agents, config, dialer.metrics, host.news)
            freeze_survivors()  # started: what lives now lives on
            while not stop.is_set():
                await start_due_campaigns(host, store, waiting)
                await directory.refresh()
                if loop.time() >= retention_checked + retention.CHECK_S:
                    retention_checked = loop.time()
                    await retention.purge_expired_contacts(store, config.retention, time.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_s)
        finally:
            loop_watch.cancel()
            await host.close()
            if web_runner is not None:  # the consoles log out before the agents close
                await web_runner.cleanup()
            await agents.close()
            await dialer.close()
    finally:
        store.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0


async def reconcile_idle_campaigns(store: StoreWorker, now: float) -> int:
    """At start: close the attempts a crash left in flight in campaigns no actor will run
    (paused, stopped, failed...), which would else show calls in progress forever.
    Running campaigns are left to their own actor, which does the same when it starts."""
    closed = 0
    for campaign in await store.run(lambda s: s.list_campaigns()):
        if campaign.state is not CampaignState.RUNNING:
            closed += await _reconcile(store, campaign, now)
    return closed


async def _reconcile(store: StoreWorker, campaign: Campaign, now: float) -> int:
    try:
        rules = CampaignSettings.from_dict(campaign.settings).retry
    except SettingsError:
        rules = RetryRules()  # the attempts still close; the leads follow the default rules
    report = await store.run(lambda s: s.reconcile_in_flight(rules, now, campaign_id=campaign.id))
    return report.interrupted


async def start_due_campaigns(host: CampaignHost, store: StoreWorker, waiting: set[int]) -> None:
    """One pass of the service: begin the runs that are due, dial what may be dialled.

    `waiting` remembers campaigns already told they wait for a slot (said once).
    """
    now = host.wall_clock()
    for campaign in await store.run(lambda s: s.list_campaigns()):
        if campaign.state is CampaignState.SCHEDULED and (campaign.next_run_at or 0) <= now:
            campaign = await set_campaign_state(store, campaign.id, CampaignEvent.START, now=now)
            log.info("campaign %d: run %d begins", campaign.id, campaign.runs)
        if campaign.state is not CampaignState.RUNNING or host.is_active(campaign.id):
            continue
        try:
            settings = CampaignSettings.from_dict(campaign.settings)
            started = await host.run(campaign.id, settings)
        except (SettingsError, CampaignCannotRun) as exc:  # bad settings, unknown trunk...
            reason = f"cannot run: {exc}"
            log.error("campaign %d %s", campaign.id, reason)
            await set_campaign_state(store, campaign.id, CampaignEvent.FAIL, now=now, reason=reason)
            continue
        if started:
            waiting.discard(campaign.id)
        elif campaign.id not in waiting:
            waiting.add(campaign.id)
            log.warning(
                "campaign %d waits: %d campaigns are dialling (limits.max_concurrent_campaigns)",
                campaign.id,
                host.config.limits.max_concurrent_campaigns,
            )
