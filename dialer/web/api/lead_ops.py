"""Contacts and leads over the API: uploads, the event trigger, a manager's lead actions.

    POST   /api/campaigns/{id}/contacts      a CSV (multipart, field "file"): the import report
    GET    /api/campaigns/{id}/leads         the campaign's leads, by state, a page at a time
    POST   /api/campaigns/{id}/leads         the event trigger: one contact, now
    POST   /api/leads/{id}/reset|complete    as `dialer contacts reset|complete`
    DELETE /api/leads/{id}                   never dial it again (its attempts stay)
    GET    /api/campaigns/{id}/results.csv   the results export (?attempts=true: the ledger)

The event trigger is how another system (a CRM, an event bus) asks for a call:
the contact is checked by the rules a file's row is, and `repeat` says what
happens when the campaign already has that number: `once` (ever: nothing
more), `always` (called again, once its last call is over), or `interval`
(called again if its last call was `interval_s` ago or more).
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from aiohttp import web

from dialer import campaigns
from dialer.campaign.export import export_attempts_csv, export_leads_csv
from dialer.campaign.model import FINAL_CAMPAIGN_STATES, FINAL_LEAD_STATES, LeadState
from dialer.contacts.csv_import import ContactImportError, parse_contact, parse_contacts
from dialer.contacts.phone import check_region
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Lead, Repository, StoreError
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.operation import ApiCall, Changed, Operation, Param
from dialer.web.state import CONFIG

REPEATS = ("once", "always", "interval")
_RETIRED = frozenset({LeadState.DO_NOT_CALL, LeadState.INVALID})


async def upload_contacts(call: ApiCall) -> dict[str, Any]:
    campaign_id, config = call.path["campaign_id"], call.request.app[CONFIG]
    region = _region(call.query.get("region"), config.contacts.default_region, "query.region")
    try:
        result = await asyncio.to_thread(
            parse_contacts, call.upload, default_region=region, max_rows=config.contacts.max_rows
        )
    except ContactImportError as exc:
        raise ApiError(422, "the file was refused, nothing imported",
                       [Detail("form.file", exc.reason)]) from None  # fmt: skip
    report = result.to_dict()

    def load(store: Repository) -> Changed[dict[str, Any]]:
        added = store.import_contacts(campaign_id, result.records, now=time.time())
        counts = {key: report[key] for key in ("total_rows", "imported", "merged_duplicates")}
        summary = counts | {"rejected": len(result.errors), "new_leads": added}
        return Changed(report | {"new_leads": added}, after=summary)

    return await call.change("contacts.import", f"campaign:{campaign_id}", load)


async def list_leads(call: ApiCall) -> dict[str, Any]:
    campaign_id, state = call.path["campaign_id"], call.query.get("state")
    limit, offset = call.query["limit"], call.query["offset"]
    leads = await call.read(lambda s: s.list_leads(campaign_id))
    if state is not None:
        leads = [lead for lead in leads if lead.state == state]
    page = leads[offset : offset + limit]
    return {"leads": [campaigns.lead_view(lead) for lead in page], "total": len(leads)}


async def trigger_lead(call: ApiCall) -> dict[str, Any]:
    campaign_id, body = call.path["campaign_id"], call.body
    config = call.request.app[CONFIG]
    region = _region(body.get("region"), config.contacts.default_region, "body.region")
    try:
        record = parse_contact(body["contact"], default_region=region)
    except ContactImportError as exc:
        raise ApiError(422, "the contact cannot be called",
                       [Detail("body.contact", exc.reason)]) from None  # fmt: skip
    if record.phone is None:
        raise ApiError(422, "the contact cannot be called",
                       [Detail("body.contact.phone", "is required")])  # fmt: skip
    repeat, interval_s = body.get("repeat", "once"), body.get("interval_s", 0)
    if repeat == "interval" and not interval_s:
        raise ApiError(400, "the body is not valid",
                       [Detail("body.interval_s", "is required with repeat=interval")])  # fmt: skip

    def trigger(store: Repository) -> Changed[dict[str, Any]]:
        now = time.time()
        campaign = store.get_campaign(campaign_id)
        if campaign.state in FINAL_CAMPAIGN_STATES:
            raise StoreError(f"campaign {campaign_id} is {campaign.state}: it calls nobody more")
        known = _lead_with_phone(store, campaign_id, record)
        outcome, why = _decide(known, repeat, interval_s, now)
        if outcome == "added" or outcome == "called_again":
            store.import_contacts(campaign_id, [record], now=now)  # new, or its details updated
        if outcome == "called_again":
            assert known is not None
            store.reset_lead(known.id, now=now)
        lead = _lead_with_phone(store, campaign_id, record)
        assert lead is not None
        answer = {"outcome": outcome, "reason": why, "lead": campaigns.lead_view(lead)}
        changed = outcome in ("added", "called_again")
        return Changed(answer, after=answer if changed else None, target=f"lead:{lead.id}")

    return await call.change("lead.trigger", f"campaign:{campaign_id}", trigger)


def _region(given: str | None, default: str, where: str) -> str:
    try:
        return check_region(given or default)
    except ValueError as exc:
        raise ApiError(422, "unknown region", [Detail(where, str(exc))]) from None


def _lead_with_phone(store: Repository, campaign_id: int, record: ContactRecord) -> Lead | None:
    leads = store.list_leads(campaign_id, include_removed=True)
    return next((lead for lead in leads if lead.phone == record.phone), None)


def _decide(known: Lead | None, repeat: str, interval_s: float, now: float) -> tuple[str, str]:
    """What the trigger does: added, called_again, or unchanged (and why)."""
    if known is None:
        return "added", "a new contact"
    if known.removed_at is not None:
        return "unchanged", "the contact was removed from this campaign"
    if known.state in _RETIRED:
        return "unchanged", f"the contact is {known.state}"
    if known.state not in FINAL_LEAD_STATES:
        return "unchanged", "the contact is already waiting to be called"
    if repeat == "once":
        return "unchanged", "the contact was called before (repeat: once)"
    last = known.last_attempt_at
    if repeat == "interval" and last is not None and now - last < interval_s:
        return "unchanged", f"the contact was called less than {interval_s:g} s ago"
    return "called_again", "the contact's last call is over"


async def reset_lead(call: ApiCall) -> dict[str, Any]:
    return await _lead_action(call, "reset", lambda s, lead, now: s.reset_lead(lead, now=now))


async def complete_lead(call: ApiCall) -> dict[str, Any]:
    return await _lead_action(
        call, "complete", lambda s, lead, now: s.mark_completed(lead, now=now)
    )


async def remove_lead(call: ApiCall) -> dict[str, Any]:
    def remove(store: Repository, lead_id: int, now: float) -> Lead:
        store.remove_lead(lead_id, now=now)
        return store.get_lead(lead_id)

    return await _lead_action(call, "remove", remove)


async def _lead_action(call: ApiCall, verb: str, act: Any) -> dict[str, Any]:
    lead_id = call.path["lead_id"]

    def action(store: Repository) -> Changed[dict[str, Any]]:
        before = campaigns.lead_view(store.get_lead(lead_id))
        after = campaigns.lead_view(act(store, lead_id, time.time())) | {
            "removed": verb == "remove"
        }
        return Changed(after, before=before, after=after)

    return await call.change(f"lead.{verb}", f"lead:{lead_id}", action)


async def export_results(call: ApiCall) -> web.Response:
    campaign_id, attempts = call.path["campaign_id"], call.query["attempts"]
    export = export_attempts_csv if attempts else export_leads_csv

    def write(store: Repository) -> str:
        out = io.StringIO()
        export(store, campaign_id, out)
        return out.getvalue()

    text = await call.read(write)
    name = f"campaign-{campaign_id}-{'attempts' if attempts else 'results'}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


_REGION = {"type": "string", "pattern": "^[A-Za-z]{2}$"}
_CONTACT = {
    "type": "object",
    "description": "customerName, phone, and optionally email, secondary_phone, timezone;"
    " any other name is an attribute",
    "properties": {"customerName": {"type": "string"}, "phone": {"type": "string"}},
    "required": ["customerName", "phone"],
    "additionalProperties": {"type": "string", "maxLength": 1000},
    "maxProperties": 100,
}
_TRIGGER = {
    "type": "object",
    "properties": {
        "contact": _CONTACT,
        "repeat": {"enum": list(REPEATS), "default": "once"},
        "interval_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 366 * 86400},
        "region": _REGION,
    },
    "required": ["contact"],
    "additionalProperties": False,
}
_TRIGGERED = {
    "type": "object",
    "properties": {
        "outcome": {"enum": ["added", "called_again", "unchanged"]},
        "reason": {"type": "string"},
        "lead": schemas.LEAD,
    },
    "required": ["outcome", "reason", "lead"],
}
_REPORT = {
    "type": "object",
    "properties": {
        "total_rows": schemas.COUNT,
        "imported": schemas.COUNT,
        "merged_duplicates": schemas.COUNT,
        "new_leads": schemas.COUNT,
        "errors": {"type": "array"},
    },
    "required": ["total_rows", "imported", "merged_duplicates", "new_leads", "errors"],
}
_LEAD_ACTED = {**schemas.LEAD, "properties": {**schemas.LEAD["properties"], "removed": {}}}
_CAMPAIGN = "/api/campaigns/{campaign_id}"
_LEAD = "/api/leads/{lead_id}"
_TAG = "leads"

OPERATIONS = [
    Operation("POST", _CAMPAIGN + "/contacts", upload_contacts, "Import a contact CSV", _TAG,
              upload="file", query=(Param("region", _REGION, "for national numbers"),),
              response=_REPORT),
    Operation("GET", _CAMPAIGN + "/leads", list_leads, "A campaign's leads", _TAG,
              query=(Param("state", {"enum": [str(s) for s in LeadState]}),
                     Param("limit", schemas.LIMIT), Param("offset", schemas.OFFSET)),
              response=schemas.page_of("leads", schemas.LEAD)),
    Operation("POST", _CAMPAIGN + "/leads", trigger_lead, "Call a contact now (event trigger)",
              _TAG, body=_TRIGGER, response=_TRIGGERED),
    Operation("POST", _LEAD + "/reset", reset_lead, "A final lead starts over", _TAG,
              response=_LEAD_ACTED),
    Operation("POST", _LEAD + "/complete", complete_lead, "No more calls needed", _TAG,
              response=_LEAD_ACTED),
    Operation("DELETE", _LEAD, remove_lead, "Never dial this lead again", _TAG,
              response=_LEAD_ACTED),
    Operation("GET", _CAMPAIGN + "/results.csv", export_results, "The results as CSV", _TAG,
              query=(Param("attempts", {"type": "boolean", "default": False},
                           "one row per attempt instead of per contact"),),
              produces="text/csv"),
]  # fmt: skip
