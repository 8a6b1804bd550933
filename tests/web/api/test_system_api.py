"""The system's health and its redacted configuration over the API, on a real store, a live
agent pool and the dialer's metrics, with a configuration that holds secrets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialer.agents.pool import AgentSeat
from dialer.campaign.model import CampaignEvent
from dialer.config import Config, parse_config
from dialer.metrics import DialerMetrics
from dialer.runtime import Dialer
from dialer.store.repository import QueuedWebhook, Repository
from dialer.web.api.system_ops import ERROR_WINDOW_S, TRUNK_RTT
from dialer.web.state import AGENTS, METRICS
from tests.web.api.harness import Api, open_api
from tests.web.api.test_stats_api import AGAIN, BUSY, DONE, FAILED, OUT, REJECTED, answered, seed

SECRETS = ("trunk.pass.1234", "signing.key.5678", "webhook.secret.90", "smtp.pass.4321")
CONFIG = f"""
[trunks.default]
proxy = "sip:127.0.0.1:5060"
username = "carrier-user"
password = "{SECRETS[0]}"
[trunks.backup]
proxy = "sip:127.0.0.1:5062"
keepalive_s = 0
[flows]
webhook_signing_key = "{SECRETS[1]}"
[webhooks]
secret = "{SECRETS[2]}"
[smtp]
host = "mail.example.com"
username = "mailer"
password = "{SECRETS[3]}"
"""


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[Api]:
    """The app on this configuration and on metrics of its own."""
    metrics = DialerMetrics()
    metrics.gauge(TRUNK_RTT, "as Dialer registers it", "trunk", lambda: {"default": 0.0123})
    async for opened in open_api(tmp_path, parse_config(CONFIG), metrics):
        yield opened


def the_system(store: Repository, now: float) -> None:
    """Campaigns in four states; in the running one, leads due, deferred and in flight, and
    calls ended inside the error window and before it; two webhooks, one delivered."""
    old = now - ERROR_WINDOW_S - 60
    running = seed(store, "Running", [[(FAILED, AGAIN)], [(REJECTED, AGAIN)], [(BUSY, AGAIN)],
                                      [(answered(20.0), DONE)], [], [], []], now=now)  # fmt: skip
    earlier = seed(store, "Earlier", [[]], now=old)
    (lead,) = store.list_leads(earlier)
    assert lead.phone is not None
    store.finish_attempt(store.begin_attempt(lead.id, lead.phone, old), FAILED, old, then=OUT)
    store.set_campaign_state(running, CampaignEvent.START, now=now)
    leads = store.list_leads(running)
    # Due now: the three rescheduled (due at once: no time given) and the first new one.
    store.defer_lead(leads[5].id, now + 3600, now=now)  # not due yet
    assert leads[6].phone is not None
    store.begin_attempt(leads[6].id, leads[6].phone, now)  # being dialled
    paused = seed(store, "Paused", [[], []], now=now)  # its leads wait: not in the queue
    store.set_campaign_state(paused, CampaignEvent.START, now=now)
    store.set_campaign_state(paused, CampaignEvent.PAUSE, now=now)
    scheduled = seed(store, "Scheduled", [[]], now=now)
    store.set_campaign_state(scheduled, CampaignEvent.SCHEDULE, now=now, next_run_at=now + 60)
    sent, _ = store.queue_webhooks(
        [QueuedWebhook(running, "call.completed", "http://127.0.0.1:9/", "{}")] * 2, now=now
    )
    store.webhook_tried(sent, now=now, error=None, retry_at=None)


async def test_the_health_page_has_the_systems_figures(system: Api) -> None:
    now = time.time()
    await system.store.run(lambda s: the_system(s, now))
    app = system.client.server.app
    pool = app[AGENTS].pool
    for agent in (1, 2, 3):
        pool.seat(AgentSeat(agent, f"Agent {agent}", f"10{agent:02d}"))
    pool.log_in(1, now)
    pool.ready(1, now)
    pool.log_in(2, now)
    pool.pause(2, now, "lunch")
    metrics = app[METRICS]
    metrics.call_started()
    metrics.call_started()
    metrics.loop_lag.observe(0.004)
    metrics.loop_lag.observe(0.006)

    answer = await system.client.get("/api/system/health", headers=system.auth("manager"))
    assert answer.status == 200, await answer.text()
    health = await answer.json()
    assert health["campaigns"] == {"draft": 1, "scheduled": 1, "running": 1, "paused": 1,
                                   "stopped": 0, "completed": 0, "failed": 0}  # fmt: skip
    assert health["calls_in_progress"] == 2
    assert health["trunks"] == [
        {"name": "backup", "keepalive_s": 0.0, "options_rtt_ms": None, "answered": False},
        {"name": "default", "keepalive_s": 30.0, "options_rtt_ms": 12.3, "answered": True},
    ]
    assert health["sip_errors"] == {
        "window_s": ERROR_WINDOW_S, "ended": 4, "errors": 2, "rate": 0.5,
        "by_outcome": {"failed": 1, "rejected": 1, "busy": 1, "completed": 1},
    }  # fmt: skip
    assert health["queue"] == {"due_leads": 4, "webhooks_pending": 1}
    assert health["agents"] == {"logged_out": 1, "ready": 1, "reserved": 0, "on_call": 0,
                                "wrap_up": 0, "paused": 1}  # fmt: skip
    assert health["event_loop"] == {"samples": 2, "mean_lag_ms": 5.0}


def test_the_dialer_registers_the_trunk_gauge_the_health_page_reads() -> None:
    names = {metric.name for metric in Dialer(Config()).metrics.registry.collect()}
    assert TRUNK_RTT in names


async def test_admins_see_the_configuration_with_every_secret_redacted(system: Api) -> None:
    answer = await system.client.get("/api/system/settings", headers=system.auth("admin"))
    assert answer.status == 200
    text = await answer.text()
    for secret in SECRETS:
        assert secret not in text
    shown = await answer.json()
    config = shown["config"]
    default, backup = config["trunks"]["default"], config["trunks"]["backup"]
    assert (default["username"], default["password"]) == ("carrier-user", "<redacted>")
    assert (backup["proxy"], backup["password"]) == ("sip:127.0.0.1:5062", "")  # not set
    assert config["webhooks"]["secret"] == config["smtp"]["password"] == "<redacted>"
    assert config["flows"]["webhook_signing_key"] == "<redacted>"
    assert config["smtp"]["host"] == "mail.example.com" and config["web"]["port"] == 8080
    assert {"trunks.default.password", "trunks.backup.password", "flows.webhook_signing_key",
            "webhooks.secret", "smtp.password"} <= set(shown["secrets"])  # fmt: skip
    answer = await system.client.get("/api/system/settings", headers=system.auth("manager"))
    assert answer.status == 403


async def test_an_idle_system_has_zeros(system: Api) -> None:
    answer = await system.client.get("/api/system/health", headers=system.auth("manager"))
    health = await answer.json()
    assert set(health["campaigns"].values()) == {0}
    assert health["sip_errors"]["rate"] == 0.0 and health["event_loop"]["mean_lag_ms"] is None
    assert health["queue"] == {"due_leads": 0, "webhooks_pending": 0}
