"""The webhook outbox of the SQLite store: status callbacks, kept until delivered.

`WebhookTables` is mixed into `SqliteStore` (same connection, same `_write()`
transactions). A delivery is queued with its body already serialised, so every
try sends the same bytes (and the same signature input); the sender records
each try's result: delivered, tried again at a later time, or given up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from dialer.store.repository import NotFound, QueuedWebhook, WebhookDelivery

_COLUMNS = (
    "id, campaign_id, event, url, body, created_at, attempts, next_attempt_at, last_error,"
    " delivered_at, given_up_at"
)
_MAX_ERROR = 500


class WebhookTables:
    """The outbox; see the module docstring. Mixed into `SqliteStore`."""

    _db: sqlite3.Connection

    if TYPE_CHECKING:  # provided by SqliteStore

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def queue_webhooks(self, webhooks: Sequence[QueuedWebhook], *, now: float) -> list[int]:
        """Queue deliveries in one transaction, due at once; their ids."""
        ids = []
        with self._write() as db:
            for webhook in webhooks:
                cursor = db.execute(
                    "INSERT INTO webhook_outbox (campaign_id, event, url, body, created_at,"
                    " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (webhook.campaign_id, webhook.event, webhook.url, webhook.body, now, now),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        return ids

    def due_webhooks(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Deliveries to try now, oldest due first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_outbox WHERE delivered_at IS NULL"
            " AND given_up_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            (now, limit),
        ).fetchall()
        return [_delivery(row) for row in rows]

    def next_webhook_at(self) -> float | None:
        """When the next pending delivery is due (None: nothing pending)."""
        row = self._db.execute(
            "SELECT min(next_attempt_at) FROM webhook_outbox"
            " WHERE delivered_at IS NULL AND given_up_at IS NULL"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def webhook_tried(
        self,
        delivery_id: int,
        *,
        now: float,
        error: str | None,
        retry_at: float | None,
    ) -> WebhookDelivery:
        """One try's result: delivered (no error), due again at `retry_at`, or (an error and
        no `retry_at`) given up."""
        with self._write() as db:
            if error is None:
                db.execute(
                    "UPDATE webhook_outbox SET attempts = attempts + 1, delivered_at = ?,"
                    " last_error = NULL WHERE id = ?",
                    (now, delivery_id),
                )
            elif retry_at is not None:
                db.execute(
                    "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                    " last_error = ? WHERE id = ?",
                    (retry_at, error[:_MAX_ERROR], delivery_id),
                )
            else:
                db.execute(
                    "UPDATE webhook_outbox SET attempts = attempts + 1, given_up_at = ?,"
                    " last_error = ? WHERE id = ?",
                    (now, error[:_MAX_ERROR], delivery_id),
                )
        return self.get_webhook(delivery_id)

    def get_webhook(self, delivery_id: int) -> WebhookDelivery:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_outbox WHERE id = ?", (delivery_id,)
        ).fetchone()
        if row is None:
            raise NotFound("webhook delivery", delivery_id)
        return _delivery(row)

    def list_webhooks(self, campaign_id: int | None = None) -> list[WebhookDelivery]:
        where, params = ("WHERE campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_outbox {where} ORDER BY id", params
        ).fetchall()
        return [_delivery(row) for row in rows]


def _delivery(row: sqlite3.Row) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"],
        campaign_id=row["campaign_id"],
        event=row["event"],
        url=row["url"],
        body=row["body"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        given_up_at=row["given_up_at"],
    )
