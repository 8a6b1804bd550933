"""Do-not-call lists over the API: the global one (every campaign obeys it) and a campaign's.

GET    /api/dnc?campaign_id=N        the entries (with the global list, for a campaign)
POST   /api/dnc                      {"number", "campaign_id"?}: on the list from now on
DELETE /api/dnc/{number}?campaign_id=N
"""

from __future__ import annotations

import time
from typing import Any

from dialer.campaign.export import iso_utc
from dialer.contacts.phone import PhoneError, normalize_phone
from dialer.store.repository import DncEntry, Repository
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.operation import ApiCall, Changed, Operation, Param
from dialer.web.state import CONFIG


def entry_view(entry: DncEntry) -> dict[str, Any]:
    return {"number": entry.number, "campaign_id": entry.campaign_id, "source": entry.source,
            "added_at": iso_utc(entry.added_at)}  # fmt: skip


async def list_dnc(call: ApiCall) -> dict[str, Any]:
    campaign_id, limit, offset = (
        call.query.get("campaign_id"),
        call.query["limit"],
        call.query["offset"],
    )
    entries = await call.read(lambda s: s.list_dnc(campaign_id))
    return {"entries": [entry_view(e) for e in entries[offset : offset + limit]],
            "total": len(entries)}  # fmt: skip


async def add_dnc(call: ApiCall) -> dict[str, Any]:
    number = _number(call, call.body["number"], "body.number")
    campaign_id = call.body.get("campaign_id")
    source = f"api: {call.user.username}"

    def add(store: Repository) -> Changed[dict[str, Any]]:
        added = store.add_dnc(number, now=time.time(), campaign_id=campaign_id, source=source)
        answer = {"number": number, "campaign_id": campaign_id, "added": added}
        return Changed(answer, after=answer if added else None)

    return await call.change("dnc.add", f"dnc:{number}", add)


async def remove_dnc(call: ApiCall) -> dict[str, Any]:
    number = _number(call, call.path["number"], "path.number")
    campaign_id = call.query.get("campaign_id")

    def remove(store: Repository) -> Changed[dict[str, Any]]:
        removed = store.remove_dnc(number, campaign_id=campaign_id)
        answer = {"number": number, "campaign_id": campaign_id, "removed": removed}
        return Changed(answer, before=answer if removed else None)

    return await call.change("dnc.remove", f"dnc:{number}", remove)


def _number(call: ApiCall, given: str, where: str) -> str:
    try:
        return normalize_phone(given, call.request.app[CONFIG].contacts.default_region)
    except PhoneError as exc:
        raise ApiError(422, "not a phone number", [Detail(where, exc.reason)]) from None


_CAMPAIGN_ID = schemas.ID
_ENTRY = {
    "type": "object",
    "properties": {"number": {"type": "string"}, "campaign_id": {"type": ["integer", "null"]},
                   "source": {"type": "string"}, "added_at": schemas.TIME},
    "required": ["number", "campaign_id"],
}  # fmt: skip
_ADD = {
    "type": "object",
    "properties": {"number": {"type": "string", "minLength": 1, "maxLength": 40},
                   "campaign_id": _CAMPAIGN_ID},
    "required": ["number"],
    "additionalProperties": False,
}  # fmt: skip
_CHANGED = {"type": "object", "properties": {"number": {"type": "string"}}, "required": ["number"]}
_SCOPE = Param("campaign_id", _CAMPAIGN_ID, "a campaign's own list (default: the global one)")

OPERATIONS = [
    Operation("GET", "/api/dnc", list_dnc, "Do-not-call entries", "dnc",
              query=(_SCOPE, Param("limit", schemas.LIMIT), Param("offset", schemas.OFFSET)),
              response=schemas.page_of("entries", _ENTRY)),
    Operation("POST", "/api/dnc", add_dnc, "Put a number on a do-not-call list", "dnc",
              body=_ADD, response=_CHANGED),
    Operation("DELETE", "/api/dnc/{number}", remove_dnc, "Take a number off a list", "dnc",
              query=(_SCOPE,), response=_CHANGED),
]  # fmt: skip
