"""JSON schemas the API's operations share: what comes back, and its common parts."""

from __future__ import annotations

from typing import Any

from dialer import library
from dialer.campaign.model import MAX_TAGS, TAG, CampaignState, LeadState
from dialer.campaigns import CHANNELS

Schema = dict[str, Any]

TIME = {"type": ["string", "null"], "description": "ISO 8601, UTC"}
TEXT = {"type": "string"}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}
TAGS = {
    "type": "array",
    "maxItems": MAX_TAGS,
    "items": {"type": "string", "pattern": f"^\\s*{TAG.pattern}\\s*$"},
    "description": "labels to find campaigns by (each once, case aside)",
}
LIBRARY_NAME = {"type": "string", "pattern": f"^{library.NAME.pattern}$"}  # a flow, a prompt
DESCRIPTION = {"type": "string", "maxLength": 10_000}
COUNT = {"type": "integer", "minimum": 0}
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}  # SQLite's integers

ERROR: Schema = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "message": TEXT,
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"at": TEXT, "message": TEXT},
                        "required": ["at", "message"],
                    },
                },
            },
            "required": ["status", "message"],
        }
    },
    "required": ["error"],
}

USER_BRIEF: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": TEXT,
        "role": {"enum": ["admin", "manager", "agent"]},
    },
    "required": ["id", "username", "role"],
}

CAMPAIGN_SUMMARY: Schema = {
    "type": "object",
    "properties": {
        "campaign": {"type": "integer"},
        "name": TEXT,
        "state": {"enum": [str(s) for s in CampaignState]},
        "runs": COUNT,
        "next_run_at": TIME,
        "failure_reason": TEXT,
        "channel": {"enum": list(CHANNELS)},
        "tags": {"type": "array", "items": TEXT},
    },
    "required": ["campaign", "name", "state", "runs", "next_run_at", "channel", "tags"],
}

PROGRESS: Schema = {
    "type": "object",
    "properties": {
        "total": COUNT,
        "called": COUNT,
        "completed": COUNT,
        "failed": COUNT,
        "remaining": COUNT,
        "in_progress": COUNT,
        "success_rate": {"type": "number"},
        "next_call": TEXT,
    },
    "required": ["total", "called", "completed", "failed", "remaining", "in_progress"],
}

CAMPAIGN: Schema = {
    "type": "object",
    "properties": {
        **CAMPAIGN_SUMMARY["properties"],
        "description": TEXT,
        "settings": {"type": "object"},
        "progress": PROGRESS,
        "abandonment": {"type": "object"},
    },
    "required": [*CAMPAIGN_SUMMARY["required"], "description", "settings"],
}

LEAD: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": TEXT,
        "phone": {"type": ["string", "null"]},
        "secondary_phone": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "state": {"enum": [str(s) for s in LeadState]},
        "attempts": COUNT,
        "last_outcome": {"type": ["string", "null"]},
        "next_attempt_at": TIME,
    },
    "required": ["id", "name", "phone", "state", "attempts"],
}


def shape_of(value: object) -> Schema:
    """A JSON schema of `value`'s shape: its keys (no others) and their types, each also
    null (the settings codec reads null as "the default"). What a shape cannot say
    (a real time zone, a window that ends after it starts) the codec refuses with 422."""
    if isinstance(value, bool):
        return {"type": ["boolean", "null"]}
    if isinstance(value, int):
        return {"type": ["integer", "null"]}
    if isinstance(value, float):
        return {"type": ["number", "null"]}
    if isinstance(value, str):
        return {"type": ["string", "null"]}
    if isinstance(value, list):
        return {"type": ["array", "null"]}
    if isinstance(value, dict):
        if not value:  # a map of names (delay_by_outcome): any names
            return {"type": ["object", "null"]}
        properties = {key: shape_of(item) for key, item in value.items()}
        return {"type": ["object", "null"], "properties": properties, "additionalProperties": False}
    return {}  # None by default: an optional object or text, checked by the codec


def page_of(key: str, item: Schema) -> Schema:
    """A list response: the items, and how many there are in all (before limit/offset)."""
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": item}, "total": COUNT},
        "required": [key, "total"],
    }


LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
OFFSET = {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0}
