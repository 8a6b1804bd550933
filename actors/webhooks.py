"""The webhook sender: status callbacks from the outbox to their receivers, however slow.

`queue()` never waits: the campaign actors hand it an event and carry on. The
sender writes what was queued to the store's outbox in batches (every
`FLUSH_S`, one transaction each) and sends what is due, at most
`concurrency` at a time, each try bounded by `timeout_s`. A receiver that is
down, slow or answering 5xx only ever costs its own deliveries: they are
tried again later, doubling the wait each time, until `max_attempts`; what
the outbox holds survives a restart and is sent then.

A 2xx answer is delivery; anything else (another status, a refused or timed
out connection) is a failed try, its reason kept in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiohttp

from dialer.config import WebhookSettings
from dialer.store.repository import QueuedWebhook, WebhookDelivery
from dialer.store.worker import StoreWorker
from dialer.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    retry_at,
    signature,
)

log = logging.getLogger("dialer.webhooks")

FLUSH_S = 0.1  # queued events reach the outbox within about this
IDLE_S = 1.0  # with nothing due: look at the outbox again this often (a restart's backlog)


class WebhookSender:
    def __init__(
        self,
        store: StoreWorker,
        settings: WebhookSettings,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.wall_clock = wall_clock
        self._queued: list[QueuedWebhook] = []
        self._wake = asyncio.Event()
        self._sending: set[int] = set()  # delivery ids with a try in progress
        self._tries: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing: set[str] = set()  # receivers whose failure was logged (once each)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def queue(self, campaign_id: int | None, event: str, url: str, body: str) -> None:
        self._queued.append(QueuedWebhook(campaign_id, event, url, body))
        self._wake.set()

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        self._session = aiohttp.ClientSession(timeout=timeout)
        while True:
            self._wake.clear()  # before looking: what is queued from now on wakes us
            delay = IDLE_S
            try:
                await self._flush()
                await self._send_due()
                delay = await self._sleep_s()
            except Exception:  # the outbox keeps everything: try again on the next round
                log.exception("webhook round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            if self._queued:
                await asyncio.sleep(FLUSH_S)  # gather a batch: one transaction for many

    async def _flush(self) -> None:
        if not self._queued:
            return
        batch, self._queued = self._queued, []
        now = self.wall_clock()
        try:
            await self.store.run(lambda s: s.queue_webhooks(batch, now=now))
        except Exception:
            self._queued[:0] = batch  # not lost: next round
            raise

    async def _send_due(self) -> None:
        now, room = self.wall_clock(), self.settings.concurrency * 4
        due = await self.store.run(lambda s: s.due_webhooks(now, room + len(self._sending)))
        for delivery in due:
            if delivery.id in self._sending:
                continue
            self._sending.add(delivery.id)
            task = asyncio.ensure_future(self._try(delivery))
            self._tries.add(task)
            task.add_done_callback(self._tries.discard)

    async def _sleep_s(self) -> float:
        next_at, now = await self.store.run(lambda s: s.next_webhook_at()), self.wall_clock()
        if next_at is None or (next_at <= now and self._sending):
            return IDLE_S  # nothing pending, or what is due is being tried (its end wakes us)
        return min(IDLE_S, max(0.05, next_at - now))

    async def _try(self, delivery: WebhookDelivery) -> None:
        try:
            async with self._slots:
                error = await self._post(delivery)
            now = self.wall_clock()
            again = retry_at(delivery.attempts + 1, now, self.settings) if error else None
            await self.store.run(
                lambda s: s.webhook_tried(delivery.id, now=now, error=error, retry_at=again)
            )
            self._log(delivery, error, again)
        except Exception:  # not recorded: still due, so it is tried again (a duplicate at worst)
            log.exception("webhook %d: the try's result was not stored", delivery.id)
        finally:
            self._sending.discard(delivery.id)
            self._wake.set()

    async def _post(self, delivery: WebhookDelivery) -> str | None:
        """One try; the reason it failed (None: delivered)."""
        assert self._session is not None
        stamp = int(self.wall_clock())
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.id),
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(self.settings.secret, stamp, delivery.body),
        }
        try:
            async with self._session.post(
                delivery.url, data=delivery.body.encode(), headers=headers, allow_redirects=False
            ) as answer:
                await answer.read()
                if 200 <= answer.status < 300:
                    return None
                return f"HTTP {answer.status}"
        except TimeoutError:
            return f"no answer within {self.settings.timeout_s:g} s"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}"

    def _log(self, delivery: WebhookDelivery, error: str | None, again: float | None) -> None:
        receiver = delivery.url.split("?")[0]  # a query may carry a key: never logged
        if error is None:
            if receiver in self._failing:
                self._failing.discard(receiver)
                log.info("webhooks to %s delivered again", receiver)
            return
        if again is None:
            log.warning("webhook %d (%s) to %s given up after %d tries: %s", delivery.id,
                        delivery.event, receiver, delivery.attempts + 1, error)  # fmt: skip
        elif receiver not in self._failing:
            self._failing.add(receiver)
            log.warning("webhooks to %s failing (%s): kept and tried again", receiver, error)

    async def close(self) -> None:
        """Stop; what is queued is written to the outbox first, so a restart sends it."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._tries):
            task.cancel()
        await asyncio.gather(*self._tries, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._flush()
        if self._session is not None:
            await self._session.close()
