"""The system's health, for managers, and its running configuration, for admins.

    GET /api/system/health     campaigns by state, calls in progress, trunks' OPTIONS round
                               trips, the SIP error rate, the queue, agents by state, loop lag
    GET /api/system/settings   the configuration, every secret redacted (admins)

Where each figure comes from:
- campaigns by state, the queue (leads due now in running campaigns, webhook deliveries
  pending) and the SIP error rate: the store. The error rate is over the attempts that
  ended in the last `ERROR_WINDOW_S`, from the ledger (so it is every node's, and
  survives a restart): failed or rejected, of all that ended;
- calls in progress, trunks' round trips and the event loop's lag: this process's
  metrics (`/metrics`). A trunk's round trip is its last answered OPTIONS (null: none
  answered yet); the lag is the mean since the process started;
- agents by state: the live pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from dialer.agents.states import AgentState
from dialer.campaign.export import iso_utc
from dialer.campaign.model import CallOutcome, CampaignState
from dialer.config_view import redacted, secret_keys
from dialer.metrics import DialerMetrics
from dialer.store.repository import Repository
from dialer.web.api import schemas
from dialer.web.api.operation import ApiCall, Operation, Role
from dialer.web.state import AGENTS, CONFIG, METRICS

ERROR_WINDOW_S = 900.0
SIP_ERRORS = (CallOutcome.FAILED, CallOutcome.REJECTED)
# Registered by `Dialer` (dialer.runtime) on its metrics, read back here by name.
TRUNK_RTT = "dialer_trunk_options_rtt_seconds"


async def system_health(call: ApiCall) -> dict[str, Any]:
    app, now = call.request.app, time.time()
    figures = await call.read(lambda s: _stored(s, now))
    metrics = app[METRICS]
    rtts = _gauge(metrics.registry, TRUNK_RTT, "trunk")
    trunks = [
        {
            "name": name,
            "keepalive_s": trunk.keepalive_s,  # 0: no OPTIONS sent
            "options_rtt_ms": _ms(rtts.get(name)),
            "answered": name in rtts,
        }
        for name, trunk in sorted(app[CONFIG].trunks.items())
    ]
    agents = {str(state): count for state, count in app[AGENTS].pool.counts().items()}
    return figures | {
        "at": iso_utc(now),
        "calls_in_progress": int(_value(_samples(metrics.in_progress))),
        "trunks": trunks,
        "agents": agents,
        "event_loop": _lag(metrics),
    }


def _stored(store: Repository, now: float) -> dict[str, Any]:
    ended = store.ended_call_counts(now - ERROR_WINDOW_S)
    total, errors = sum(ended.values()), sum(ended.get(o, 0) for o in SIP_ERRORS)
    return {
        "campaigns": store.campaign_state_counts(),
        "sip_errors": {
            "window_s": ERROR_WINDOW_S,
            "ended": total,
            "errors": errors,
            "rate": round(errors / total, 4) if total else 0.0,
            "by_outcome": ended,
        },
        "queue": {
            "due_leads": store.due_lead_count(now),
            "webhooks_pending": store.pending_webhook_count(),
        },
    }


def _gauge(registry: CollectorRegistry, name: str, label: str) -> dict[str, float]:
    return {
        sample.labels[label]: sample.value
        for metric in registry.collect()
        if metric.name == name
        for sample in metric.samples
    }


def _samples(collector: Collector) -> list[Sample]:
    return [sample for metric in collector.collect() for sample in metric.samples]


def _value(samples: Iterable[Sample], suffix: str = "") -> float:
    """The value of the sample whose name ends so (a histogram's _sum, _count...)."""
    return float(next(s.value for s in samples if s.name.endswith(suffix)))


def _lag(metrics: DialerMetrics) -> dict[str, Any]:
    samples = _samples(metrics.loop_lag)
    count, total = _value(samples, "_count"), _value(samples, "_sum")
    return {"samples": int(count), "mean_lag_ms": _ms(total / count) if count else None}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def system_settings(call: ApiCall) -> dict[str, Any]:
    config = call.request.app[CONFIG]
    return {"config": redacted(config), "secrets": secret_keys(config)}


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNTS_BY = {
    "type": "object",
    "additionalProperties": schemas.COUNT,
}


def _counts_of(names: list[str]) -> dict[str, Any]:
    return {**_COUNTS_BY, "properties": dict.fromkeys(names, schemas.COUNT), "required": names}


_HEALTH = {
    "type": "object",
    "properties": {
        "at": schemas.TIME,
        "campaigns": _counts_of([str(s) for s in CampaignState]),
        "calls_in_progress": {"type": "integer"},
        "trunks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": schemas.TEXT,
                    "keepalive_s": {"type": "number"},
                    "options_rtt_ms": _NUMBER_OR_NULL,
                    "answered": {"type": "boolean"},
                },
                "required": ["name", "keepalive_s", "options_rtt_ms", "answered"],
            },
        },
        "sip_errors": {
            "type": "object",
            "properties": {
                "window_s": {"type": "number"},
                "ended": schemas.COUNT,
                "errors": schemas.COUNT,
                "rate": {"type": "number", "minimum": 0, "maximum": 1},
                "by_outcome": _COUNTS_BY,
            },
            "required": ["window_s", "ended", "errors", "rate", "by_outcome"],
        },
        "queue": _counts_of(["due_leads", "webhooks_pending"]),
        "agents": _counts_of([str(s) for s in AgentState]),
        "event_loop": {
            "type": "object",
            "properties": {"samples": schemas.COUNT, "mean_lag_ms": _NUMBER_OR_NULL},
            "required": ["samples", "mean_lag_ms"],
        },
    },
    "required": ["at", "campaigns", "calls_in_progress", "trunks", "sip_errors", "queue",
                 "agents", "event_loop"],
}  # fmt: skip
_SETTINGS = {
    "type": "object",
    "properties": {
        "config": {"type": "object", "description": "config.toml's sections, as loaded"},
        "secrets": {"type": "array", "items": schemas.TEXT,
                    "description": "the keys shown redacted (\"\" when not set)"},
    },
    "required": ["config", "secrets"],
}  # fmt: skip
_TAG = "system"

OPERATIONS = [
    Operation("GET", "/api/system/health", system_health, "The system's health", _TAG,
              response=_HEALTH),
    Operation("GET", "/api/system/settings", system_settings, "The running configuration,"
              " secrets redacted", _TAG, role=Role.ADMIN, response=_SETTINGS),
]  # fmt: skip
