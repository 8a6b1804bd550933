"""Status callbacks as data: what each event says, how it is signed, when to try again.

A campaign with a `status_callback` hears of each call's progress (the events
it chose: initiated, ringing, answered, completed, as Twilio's statusCallback
has them) and of its own completion. A body is JSON, with Twilio's names where
Twilio has one (`CallSid`, `CallStatus`, `To`, `AnsweredBy`, `CallDuration`)
beside ours. It is signed like Stripe's webhooks, so a receiver can check both
who sent it and that it is fresh:

    X-Dialer-Timestamp: 1767225600
    X-Dialer-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dialer.config import WebhookSettings

SIGNATURE_HEADER = "X-Dialer-Signature"
TIMESTAMP_HEADER = "X-Dialer-Timestamp"
EVENT_HEADER = "X-Dialer-Event"
DELIVERY_HEADER = "X-Dialer-Delivery"
CAMPAIGN_COMPLETED = "campaign.completed"

# Our call outcomes as Twilio's CallStatus values.
_CALL_STATUS = {
    "completed": "completed",
    "busy": "busy",
    "no_answer": "no-answer",
    "rejected": "failed",
    "failed": "failed",
    "cancelled": "canceled",
}


def signature(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_matches(secret: str, timestamp: int, body: str, presented: str) -> bool:
    """For receivers (and tests): constant-time."""
    return hmac.compare_digest(signature(secret, timestamp, body), presented)


def retry_at(attempts: int, now: float, settings: WebhookSettings) -> float | None:
    """When to try again after `attempts` failed tries (None: give up)."""
    if attempts >= settings.max_attempts:
        return None
    wait_s: float = settings.first_retry_s * 2.0 ** (attempts - 1)
    return now + min(wait_s, settings.max_retry_s)


def call_event(
    status: str,
    *,
    at: float,
    campaign_id: int,
    lead_id: int,
    attempt_id: int,
    to: str,
    call_sid: str = "",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A call's progress: initiated, ringing, answered (CallStatus in-progress)."""
    twilio = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
    return _body(
        {
            "event": f"call.{status}",
            "at": _iso(at),
            "campaign_id": campaign_id,
            "lead_id": lead_id,
            "attempt_id": attempt_id,
            "CallSid": call_sid,
            "To": to,
            "CallStatus": twilio.get(status, status),
            **(extra or {}),
        }
    )


def call_completed(
    *,
    at: float,
    campaign_id: int,
    lead_id: int,
    attempt_id: int,
    to: str,
    call_sid: str,
    outcome: str,
    sip_code: int | None,
    reason: str,
    answered_by: str | None,
    duration_s: float,
    variables: Mapping[str, str],
) -> str:
    return call_event(
        "completed",
        at=at,
        campaign_id=campaign_id,
        lead_id=lead_id,
        attempt_id=attempt_id,
        to=to,
        call_sid=call_sid,
        extra={
            "CallStatus": _CALL_STATUS.get(outcome, "failed"),
            "outcome": outcome,
            "sip_code": sip_code,
            "reason": reason,
            "AnsweredBy": answered_by,
            "CallDuration": round(duration_s),
            "duration_s": round(duration_s, 3),
            "variables": dict(variables),
        },
    )


def campaign_completed(*, at: float, campaign_id: int, counts: Mapping[str, int]) -> str:
    return _body(
        {
            "event": CAMPAIGN_COMPLETED,
            "at": _iso(at),
            "campaign_id": campaign_id,
            "counts": dict(counts),
        }
    )


def _body(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
