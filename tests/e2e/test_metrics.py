"""`/metrics` after real calls: what Prometheus scrapes matches what happened on the wire."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from actors.agent_pool import LiveAgentPool
from dialer.agents.pool import AgentPool
from dialer.config import Config
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from tests.e2e.peers import LOOPBACK, Sipp
from tests.e2e.test_calls import MakeDialer, call, make_dialer

__all__ = ["make_dialer"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_calls_are_counted_by_outcome_with_their_setup_time(
    make_dialer: MakeDialer, tmp_path: Path
) -> None:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    user = await store.run(lambda s: s.add_user("ops", "a.long.password", "manager", now=0.0))
    _, token = await store.run(lambda s: s.create_api_token(user.id, "prometheus", now=0.0))
    with Sipp.start_uas("campaign_mix", rtp_echo=True, timeout_s=30) as trunk:
        dialer = await make_dialer(trunk.address)
        for _ in range(2):  # ...1 is busy
            assert (await call(dialer, trunk.uri("+14155550101"))).outcome == "busy"
        report = await call(dialer, trunk.uri("+14155550103"), max_duration_s=1.0)
        assert report.outcome == "completed"
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    app = make_app(store, live, Config(), metrics=dialer.metrics)
    try:
        async with TestClient(TestServer(app, host=LOOPBACK)) as client:
            assert (await client.get("/metrics")).status == 401
            answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            scraped = samples(await answer.text())
    finally:
        await live.close()
        store.close()
    assert scraped[("dialer_calls_total", (("outcome", "busy"),))] == 2
    assert scraped[("dialer_calls_total", (("outcome", "completed"),))] == 1
    assert scraped[("dialer_calls_in_progress", ())] == 0
    assert scraped[("dialer_call_setup_seconds_count", ())] == 3
    assert scraped[("dialer_rtp_packets_expected_total", ())] > 10  # the echo came back
    assert scraped[("dialer_agents", (("state", "ready"),))] == 0
