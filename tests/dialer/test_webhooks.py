"""Status callbacks as data: the signature, the retry schedule, the bodies; and the outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from dialer.config import WebhookSettings
from dialer.store.repository import QueuedWebhook
from dialer.store.sqlite import SqliteStore
from dialer.webhooks import call_completed, retry_at, signature, signature_matches


def test_the_signature_is_the_hmac_of_the_timestamp_and_the_body() -> None:
    body = '{"event":"call.completed"}'
    expected = hmac.new(b"k", b"1767225600." + body.encode(), hashlib.sha256).hexdigest()
    assert signature("k", 1767225600, body) == f"sha256={expected}"
    assert signature_matches("k", 1767225600, body, f"sha256={expected}")
    assert not signature_matches("k", 1767225601, body, f"sha256={expected}")  # replayed later
    assert not signature_matches("other", 1767225600, body, f"sha256={expected}")


def test_retries_double_up_to_the_ceiling_then_stop() -> None:
    settings = WebhookSettings(first_retry_s=2.0, max_retry_s=10.0, max_attempts=5)
    waits = [retry_at(n, 100.0, settings) for n in range(1, 6)]
    assert waits == [102.0, 104.0, 108.0, 110.0, None]


def test_a_completed_call_speaks_twilio_and_ours() -> None:
    body = json.loads(
        call_completed(
            at=0.0,
            campaign_id=3,
            lead_id=4,
            attempt_id=5,
            to="+14155550100",
            call_sid="abc",
            outcome="no_answer",
            sip_code=480,
            reason="480 Temporarily Unavailable",
            answered_by=None,
            duration_s=0.0,
            variables={"dtmf": "1"},
        )
    )
    assert (body["event"], body["CallStatus"], body["outcome"]) == (
        "call.completed", "no-answer", "no_answer"
    )  # fmt: skip
    assert body["at"] == "1970-01-01T00:00:00.000+00:00" and body["variables"] == {"dtmf": "1"}


def test_the_outbox_keeps_a_delivery_until_it_is_delivered_or_given_up(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "dialer.db")
    first, second = store.queue_webhooks(
        [QueuedWebhook(1, "call.completed", "http://x/h", "{}"),
         QueuedWebhook(1, "campaign.completed", "http://x/h", "{}")],
        now=10.0,
    )  # fmt: skip
    assert [d.id for d in store.due_webhooks(10.0, 10)] == [first, second]
    store.webhook_tried(first, now=11.0, error="HTTP 503", retry_at=20.0)
    store.webhook_tried(second, now=11.0, error=None, retry_at=None)
    assert store.due_webhooks(15.0, 10) == [] and store.next_webhook_at() == 20.0
    retried = store.webhook_tried(first, now=20.0, error="HTTP 503", retry_at=None)
    assert (retried.attempts, retried.last_error, retried.given_up_at) == (2, "HTTP 503", 20.0)
    assert store.get_webhook(second).delivered_at == 11.0
    assert store.next_webhook_at() is None
    store.close()
