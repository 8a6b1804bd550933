"""Campaigns running inside one dialer process: `dialer serve` and `dialer campaign run`.

`CampaignHost` owns what running campaigns share: the `Dialer` (SIP endpoint,
media clock, RTP ports), the store worker, the global and per-trunk channel
pools and one pacer per trunk. It runs each campaign as a transient child of
its campaign supervisor (restarted after a crash, not after it completes);
each campaign actor first closes the attempts a previous run of it left in
flight.

`serve` is the long-running service: every `poll_s` it starts any campaign
the store says is running (started by `dialer campaign start` or, later, the API), until
SIGTERM or SIGINT, when it stops the campaigns (calls in progress are hung up
and their attempts reconciled at the next start) and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import time as dt_time
from pathlib import Path

from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool
from actors.runtime import spawn
from actors.supervisor import ChildSpec, Restart, Supervisor
from dialer.campaign.compliance import DEFAULT_HOURS, RecipientHours
from dialer.campaign.model import CampaignState
from dialer.campaign.pacing import PacerSettings, TrunkPacer
from dialer.campaign.settings import CampaignSettings
from dialer.config import Config
from dialer.runtime import Dialer
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from media.audiofile import load_ulaw

log = logging.getLogger("dialer.service")

ANY_HOUR = RecipientHours(dt_time(0), dt_time(23, 59, 59))


def plan_for(campaign_id: int, settings: CampaignSettings) -> CampaignPlan:
    prompt = load_ulaw(Path(settings.prompt_file)) if settings.prompt_file else None
    return CampaignPlan(
        campaign_id,
        trunk=settings.trunk,
        max_concurrent=settings.max_concurrent,
        rules=settings.rules(),
        hours=ANY_HOUR if settings.any_hour else DEFAULT_HOURS,
        prompt=prompt,
        max_duration_s=settings.max_duration_s,
    )


class CampaignHost:
    def __init__(self, config: Config, dialer: Dialer, store: StoreWorker) -> None:
        self.config = config
        self.dialer = dialer
        self.store = store
        self.finished: dict[int, CampaignFinished] = {}
        self.refused: set[int] = set()
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
        self._campaigns = Supervisor("campaigns", max_restarts=3, period_s=60.0)
        self._task = spawn(self._campaigns)

    async def run(self, campaign_id: int, settings: CampaignSettings) -> None:
        """Start dialling `campaign_id` (no-op if it already runs here)."""
        if campaign_id in self._active:
            return
        self.config.trunk(settings.trunk)  # an unknown trunk is refused before dialling
        plan = plan_for(campaign_id, settings)
        self._active.add(campaign_id)

        def start() -> CampaignActor:
            return CampaignActor(
                self.dialer,
                self.store,
                plan,
                channels=(self._global, self._trunk_pools[plan.trunk]),
                pacer=self._pacers[plan.trunk],
                on_finished=self._on_finished,
            )

        await self._campaigns.start_child(
            ChildSpec(f"campaign-{campaign_id}", start, restart=Restart.TRANSIENT)
        )

    async def wait_finished(self, campaign_id: int) -> CampaignFinished:
        while campaign_id not in self.finished:
            self._changed.clear()
            await self._changed.wait()
        return self.finished[campaign_id]

    async def close(self) -> None:
        self._campaigns.stop()
        await asyncio.gather(self._task, return_exceptions=True)

    def _on_finished(self, result: CampaignFinished) -> None:
        self._active.discard(result.campaign_id)
        self.finished[result.campaign_id] = result
        self._changed.set()


async def serve(config: Config, db: Path, *, poll_s: float = 1.0) -> int:
    db.parent.mkdir(parents=True, exist_ok=True)
    store = StoreWorker(lambda: SqliteStore(db))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        dialer = await Dialer.start(config)
        host = CampaignHost(config, dialer, store)
        log.info("serving (store %s)", db)
        try:
            while not stop.is_set():
                await _start_running_campaigns(host, store)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_s)
        finally:
            await host.close()
            await dialer.close()
    finally:
        store.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0


async def _start_running_campaigns(host: CampaignHost, store: StoreWorker) -> None:
    campaigns = await store.run(lambda s: s.list_campaigns())
    for campaign in campaigns:
        if campaign.state is not CampaignState.RUNNING or campaign.id in host.refused:
            continue
        try:
            await host.run(campaign.id, CampaignSettings.from_dict(campaign.settings))
        except ValueError as exc:  # bad stored settings, an unknown trunk, an unreadable prompt
            host.refused.add(campaign.id)  # said once, not every poll
            log.error("campaign %d cannot run: %s", campaign.id, exc)
