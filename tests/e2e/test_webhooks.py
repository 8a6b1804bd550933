"""Status callbacks from a real campaign to a local receiver that is down at first.

The campaign (SIPp: one number answers, one is busy, one rings and gives up) runs to the
end while the receiver is not even listening: nothing waits for it. When it comes up, the
retries deliver everything the outbox kept, each signed, each call's events in order."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.campaigns import start
from dialer.config import Config, RtpSettings, SipSettings, TrunkSettings, WebhookSettings
from dialer.runtime import Dialer
from dialer.service import CampaignCannotRun, CampaignHost, plan_for
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_matches
from tests.e2e.campaign_run import ALL_DAY, contacts
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port

pytestmark = pytest.mark.e2e
SECRET = "a shared secret for the receiver"
EVENTS = ("initiated", "ringing", "answered", "completed")


class Receiver:
    """A webhook receiver on loopback: every request, its signature checked."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.got_campaign_completed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        stamp = int(request.headers[TIMESTAMP_HEADER])
        if not signature_matches(SECRET, stamp, body, request.headers[SIGNATURE_HEADER]):
            self.bad_signatures += 1
            return web.Response(status=401)
        assert abs(time.time() - stamp) < 60
        event = json.loads(body)
        self.received.append(event)
        if event["event"] == "campaign.completed":
            self.got_campaign_completed.set()
        return web.Response(status=204)


async def test_every_event_is_delivered_signed_after_the_receiver_comes_back(
    tmp_path: Path,
) -> None:
    port = free_tcp_port()
    url = f"http://{LOOPBACK}:{port}/hooks?key=k"
    records = contacts(3)  # ...0 answers, ...1 busy, ...2 rings then 480
    settings = CampaignSettings(
        max_concurrent=3, max_duration_s=0.3, recipient_hours=ALL_DAY, status_callback=url,
        status_events=EVENTS, retry=RetryRules(max_attempts=1),
    )  # fmt: skip
    with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK),
            trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0)},
            webhooks=WebhookSettings(secret=SECRET, first_retry_s=0.2, max_retry_s=1.0,
                                     timeout_s=2.0),
        )  # fmt: skip
        store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
        campaign_id = await store.run(
            lambda s: s.create_campaign("hooks", now=time.time(), settings=settings.to_dict())
        )
        await store.run(lambda s: s.import_contacts(campaign_id, records, now=time.time()))
        await store.run(lambda s: start(s, campaign_id, time.time(), config))
        dialer = await Dialer.start(config)
        host = CampaignHost(config, dialer, store)
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hooks", receiver.handle)
        runner = web.AppRunner(app)
        try:
            await host.run(campaign_id, settings)
            finished = await asyncio.wait_for(host.wait_finished(campaign_id), 60)
            assert finished.state == "completed"  # all while nobody listened
            pending = await store.run(lambda s: s.list_webhooks(campaign_id))
            assert pending and all(d.delivered_at is None for d in pending)
            refused = {d.id for d in pending if d.attempts >= 1 and d.last_error}
            assert len(refused) >= 3  # tried already, and kept
            await runner.setup()
            await web.TCPSite(runner, LOOPBACK, port).start()
            await asyncio.wait_for(receiver.got_campaign_completed.wait(), 20)
            deliveries = await store.run(lambda s: s.list_webhooks(campaign_id))
            async with asyncio.timeout(10):
                while any(d.delivered_at is None for d in deliveries):
                    await asyncio.sleep(0.05)
                    deliveries = await store.run(lambda s: s.list_webhooks(campaign_id))
        finally:
            await host.close()
            await dialer.close()
            await runner.cleanup()
        attempts = await store.run(lambda s: s.list_attempts(campaign_id))
        store.close()
    assert receiver.bad_signatures == 0
    assert all(d.attempts >= 2 for d in deliveries if d.id in refused)  # delivered on a retry
    by_attempt: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in receiver.received:
        if event["event"] != "campaign.completed":
            by_attempt[event["attempt_id"]].append(event)
    assert set(by_attempt) == {a.id for a in attempts}
    statuses = {}
    for attempt in attempts:
        events = sorted(by_attempt[attempt.id], key=lambda e: e["at"])
        names = [e["event"] for e in events]
        assert names[0] == "call.initiated" and names[-1] == "call.completed", names
        assert len(set(names)) == len(names)  # each once, retries or not
        completed = events[-1]
        assert completed["CallSid"] and completed["To"] == attempt.number
        statuses[attempt.number[-1]] = (completed["CallStatus"], "call.answered" in names)
    assert statuses == {"0": ("completed", True), "1": ("busy", False), "2": ("no-answer", False)}
    (done,) = [e for e in receiver.received if e["event"] == "campaign.completed"]
    assert done["campaign_id"] == campaign_id and done["counts"]["completed"] >= 1


def test_a_campaign_with_a_callback_does_not_run_without_a_secret() -> None:
    settings = CampaignSettings(status_callback="http://127.0.0.1:9/hooks")
    with pytest.raises(CampaignCannotRun, match=r"webhooks\.secret"):
        plan_for(1, settings, Config(), lambda: None)  # type: ignore[arg-type, return-value]
