"""A campaign's completion report reaches a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import csv
import email
import io
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from actors.mailer import ReportMailer
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.campaigns import start
from dialer.config import Config, RtpSettings, SipSettings, SmtpSettings, TrunkSettings
from dialer.runtime import Dialer
from dialer.service import CampaignHost
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from tests.e2e.campaign_run import ALL_DAY, contacts
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port

pytestmark = pytest.mark.e2e
MANAGERS = ("ann@example.com", "bob@example.org")


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.loop = asyncio.get_running_loop()
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.loop.call_soon_threadsafe(self.arrived.set)  # the server runs in its own thread
        return "250 OK"


async def test_the_report_is_mailed_to_every_address_with_the_results(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_tcp_port()
    server = Controller(inbox, hostname=LOOPBACK, port=port)
    server.start()
    settings = CampaignSettings(
        max_concurrent=3, max_duration_s=0.3, recipient_hours=ALL_DAY,
        retry=RetryRules(max_attempts=1), report_emails=MANAGERS,
    )  # fmt: skip
    try:
        with Sipp.start_uas("campaign_mix", timeout_s=60) as sipp:
            config = Config(
                sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
                rtp=RtpSettings(bind_host=LOOPBACK),
                trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp.port}",
                                                 keepalive_s=0)},
                smtp=SmtpSettings(host=LOOPBACK, port=port, security="none",
                                  from_address="dialer@example.net"),
            )  # fmt: skip
            store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
            campaign_id = await store.run(
                lambda s: s.create_campaign("Spring", now=time.time(), settings=settings.to_dict())
            )
            await store.run(lambda s: s.import_contacts(campaign_id, contacts(3), now=time.time()))
            await store.run(lambda s: start(s, campaign_id, time.time(), config))
            dialer = await Dialer.start(config)
            host = CampaignHost(config, dialer, store)
            try:
                await host.run(campaign_id, settings)
                finished = await asyncio.wait_for(host.wait_finished(campaign_id), 60)
                await asyncio.wait_for(inbox.arrived.wait(), 20)
            finally:
                await host.close()
                await dialer.close()
                store.close()
    finally:
        server.stop()
    assert finished.state == "completed"
    (envelope,) = inbox.envelopes
    assert sorted(envelope.rcpt_tos) == sorted(MANAGERS)
    assert envelope.mail_from == "dialer@example.net"
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == f"Campaign {campaign_id} \u201cSpring\u201d completed"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Total           3" in text and "Completed       1" in text  # ...0 answered
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"campaign-{campaign_id}-results.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert [r["customerName"] for r in rows] == ["Contact 0", "Contact 1", "Contact 2"]


async def test_a_mail_server_that_is_down_is_tried_again_then_given_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    campaign_id = await store.run(lambda s: s.create_campaign("Spring", now=time.time()))
    nobody = SmtpSettings(host=LOOPBACK, port=free_tcp_port(), security="none", max_attempts=2,
                          timeout_s=2.0, password="never-logged")  # fmt: skip
    mailer = ReportMailer(store, nobody, retry_s=0.01)
    mailer.campaign_completed(campaign_id, MANAGERS)
    await mailer.close()  # waits for the tries (within the timeout), which fail
    store.close()
    tries = [r.getMessage() for r in caplog.records if "report not mailed" in r.getMessage()]
    assert len(tries) == 2 and tries[-1].endswith("given up")
    assert mailer.sent == 0 and "never-logged" not in caplog.text
