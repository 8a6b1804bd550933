"""Completion reports mailed in the background: a slow or absent mail server waits alone.

`ReportMailer.campaign_completed(campaign_id, recipients)` returns at once; a
task builds the report from the store and sends it off the loop, trying again
every `RETRY_S` up to `[smtp] max_attempts` times. The report is not kept in
the store: a restart while the server is down loses it (said in the log).
"""

from __future__ import annotations

import asyncio
import io
import logging
import smtplib
import time
from collections.abc import Callable, Sequence

from dialer import campaigns, report_mail
from dialer.campaign.export import export_leads_csv
from dialer.config import SmtpSettings
from dialer.store.repository import Repository
from dialer.store.worker import StoreWorker

log = logging.getLogger("dialer.mail")

RETRY_S = 60.0


class ReportMailer:
    def __init__(
        self,
        store: StoreWorker,
        settings: SmtpSettings,
        *,
        wall_clock: Callable[[], float] = time.time,
        retry_s: float = RETRY_S,
    ) -> None:
        self.store = store
        self.settings = settings
        self.wall_clock = wall_clock
        self.retry_s = retry_s
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    def campaign_completed(self, campaign_id: int, recipients: Sequence[str]) -> None:
        if not recipients:
            return
        if not self.settings.host:
            log.warning("campaign %d: no report mailed: smtp.host is not set", campaign_id)
            return
        task = asyncio.ensure_future(self._mail(campaign_id, tuple(recipients)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mail(self, campaign_id: int, recipients: tuple[str, ...]) -> None:
        now = self.wall_clock()
        settings = self.settings

        def report(store: Repository) -> report_mail.EmailMessage:
            campaign = store.get_campaign(campaign_id)
            out = io.StringIO()
            export_leads_csv(store, campaign_id, out)
            return report_mail.completion_report(
                campaign,
                campaigns.progress(store, campaign_id).to_dict(now),
                campaigns.abandonment(store, campaign, now),
                out.getvalue(),
                sender=settings.from_address,
                recipients=recipients,
                at=now,
            )

        message = await self.store.run(report)
        for attempt in range(1, settings.max_attempts + 1):
            try:
                await asyncio.to_thread(report_mail.send, message, settings)
            except (smtplib.SMTPException, OSError) as exc:
                last = attempt == settings.max_attempts
                log.warning("campaign %d: report not mailed (try %d of %d): %s%s", campaign_id,
                            attempt, settings.max_attempts, exc,
                            "; given up" if last else "")  # fmt: skip
                if not last:
                    await asyncio.sleep(self.retry_s)
                continue
            self.sent += 1
            log.info("campaign %d: report mailed to %d addresses", campaign_id, len(recipients))
            return

    async def close(self) -> None:
        """A report being sent gets one server timeout to finish (`campaign run` stops just
        after the campaign completes); then it is dropped, said in the log."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.settings.timeout_s)
        for task in list(self._tasks):
            log.warning("a campaign report was not mailed before the stop: it is dropped")
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
