"""Campaigns over the API: the same actions as `dialer campaign ...`, audited.

    GET    /api/campaigns                     list: filter by state, tag, channel; search,
                                              sort, page
    POST   /api/campaigns                     create a draft
    GET    /api/campaigns/{id}                settings, progress, abandonment
    PATCH  /api/campaigns/{id}                name, description, tags; settings while a draft
    DELETE /api/campaigns/{id}                a draft or a finished campaign, with its data
    POST   /api/campaigns/{id}/duplicate      a new draft with the same settings
    POST   /api/campaigns/{id}/start|pause|resume|stop

`settings` is the object `dialer campaign show --json` prints, validated by
`CampaignSettings.from_dict` (a wrong key comes back as 422 naming it); in a
PATCH it is merged over the stored settings, key by key at the top level.
Stopping is final: its answer says how many contacts were left uncalled.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from dialer import campaigns
from dialer.campaign.model import FINAL_CAMPAIGN_STATES, CampaignState, clean_tags
from dialer.campaign.settings import CampaignSettings
from dialer.store.repository import Campaign, Repository
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.operation import ApiCall, Changed, Operation, Param
from dialer.web.state import CONFIG, LEDGER_NEWS, STOPPING

SORTS = ("id", "name", "state", "created_at", "updated_at")
LIVE_INTERVAL_S = 1.0  # the dashboard's refresh (the issue asks for 5 s at most)
LIVE_GAP_S = 0.2  # ...and the least time between two, however busy the ledger
FINAL_STATES = {str(state) for state in FINAL_CAMPAIGN_STATES}


async def list_campaigns(call: ApiCall) -> dict[str, Any]:
    state, search = call.query.get("state"), call.query.get("q", "").strip().lower()
    tag = call.query.get("tag", "").strip().casefold()
    sort, descending = call.query["sort"], call.query["order"] == "desc"
    limit, offset = call.query["limit"], call.query["offset"]
    now = time.time()

    def listing(store: Repository) -> dict[str, Any]:
        found = [
            c
            for c in store.list_campaigns()
            if (state is None or c.state == state)
            and (not search or search in c.name.lower() or search == str(c.id))
            and (not tag or tag in (t.casefold() for t in c.tags))
        ]
        found.sort(key=lambda c: _sort_key(c, sort), reverse=descending)
        page = found[offset : offset + limit]
        rows = [
            campaigns.summary(c) | {"progress": campaigns.progress(store, c.id).to_dict(now)}
            for c in page
        ]
        return {"campaigns": rows, "total": len(found)}

    return await call.read(listing)


def _sort_key(campaign: Campaign, sort: str) -> Any:
    key = getattr(campaign, sort)
    return key.lower() if isinstance(key, str) else key


async def create_campaign(call: ApiCall) -> dict[str, Any]:
    body = call.body
    settings = CampaignSettings.from_dict(body.get("settings", {}))
    await _check_flow(call, settings)
    name, description = body["name"].strip(), body.get("description", "")
    tags = _tags(body.get("tags", []))

    def create(store: Repository) -> Changed[dict[str, Any]]:
        now = time.time()
        campaign_id = store.create_campaign(
            name, now=now, description=description, settings=settings.to_dict(), tags=tags
        )
        created = campaigns.describe(store.get_campaign(campaign_id))
        return Changed(created, after=created, target=f"campaign:{campaign_id}")

    return await call.change("campaign.create", "campaign", create)


async def get_campaign(call: ApiCall) -> dict[str, Any]:
    campaign_id, now = call.path["campaign_id"], time.time()

    def show(store: Repository) -> dict[str, Any]:
        campaign = store.get_campaign(campaign_id)
        return campaigns.describe(campaign) | {
            "progress": campaigns.progress(store, campaign_id).to_dict(now),
            "abandonment": campaigns.abandonment(store, campaign, now),
        }

    return await call.read(show)


async def edit_campaign(call: ApiCall) -> dict[str, Any]:
    campaign_id, body = call.path["campaign_id"], call.body
    stored = await call.read(lambda s: s.get_campaign(campaign_id))
    settings = None
    if "settings" in body:
        old = CampaignSettings.from_dict(stored.settings)
        settings = CampaignSettings.from_dict({**old.to_dict(), **body["settings"]})
        if (settings.flow, settings.answering) != (old.flow, old.answering):
            await _check_flow(call, settings)
        if settings == old:
            settings = None

    def edit(store: Repository) -> Changed[dict[str, Any]]:
        before = campaigns.describe(store.get_campaign(campaign_id))
        edited = store.update_campaign(
            campaign_id,
            now=time.time(),
            name=body["name"].strip() if "name" in body else None,
            description=body.get("description"),
            settings=settings.to_dict() if settings is not None else None,
            tags=_tags(body["tags"]) if "tags" in body else None,
        )
        after = campaigns.describe(edited)
        return Changed(after, before=before, after=after)

    return await call.change("campaign.edit", f"campaign:{campaign_id}", edit)


async def delete_campaign(call: ApiCall) -> dict[str, Any]:
    campaign_id = call.path["campaign_id"]

    def delete(store: Repository) -> Changed[dict[str, Any]]:
        before = campaigns.describe(store.get_campaign(campaign_id))
        before["progress"] = campaigns.progress(store, campaign_id).to_dict(time.time())
        store.delete_campaign(campaign_id, now=time.time())
        return Changed({"deleted": campaign_id}, before=before)

    return await call.change("campaign.delete", f"campaign:{campaign_id}", delete)


async def duplicate_campaign(call: ApiCall) -> dict[str, Any]:
    campaign_id = call.path["campaign_id"]

    def duplicate(store: Repository) -> Changed[dict[str, Any]]:
        copy = store.duplicate_campaign(campaign_id, now=time.time())
        created = campaigns.describe(store.get_campaign(copy)) | {"copied_from": campaign_id}
        return Changed(created, after=created, target=f"campaign:{copy}")

    return await call.change("campaign.duplicate", f"campaign:{campaign_id}", duplicate)


async def start_campaign(call: ApiCall) -> dict[str, Any]:
    campaign_id, config = call.path["campaign_id"], call.request.app[CONFIG]
    return await _control(
        call, "start", lambda s: campaigns.start(s, campaign_id, time.time(), config)
    )


async def pause_campaign(call: ApiCall) -> dict[str, Any]:
    return await _set_state(call, "pause")


async def resume_campaign(call: ApiCall) -> dict[str, Any]:
    return await _set_state(call, "resume")


async def stop_campaign(call: ApiCall) -> dict[str, Any]:
    return await _set_state(call, "stop")


async def _set_state(call: ApiCall, verb: str) -> dict[str, Any]:
    campaign_id, event = call.path["campaign_id"], campaigns.CONTROLS[verb]
    return await _control(
        call, verb, lambda s: s.set_campaign_state(campaign_id, event, now=time.time())
    )


async def _control(call: ApiCall, verb: str, act: Any) -> dict[str, Any]:
    campaign_id = call.path["campaign_id"]

    def control(store: Repository) -> Changed[dict[str, Any]]:
        before = campaigns.summary(store.get_campaign(campaign_id))
        remaining = campaigns.progress(store, campaign_id).remaining
        after = campaigns.summary(act(store))
        if verb == "stop":
            after["uncalled"] = remaining  # what the manager gave up on
        return Changed(after, before=before, after=after)

    return await call.change(f"campaign.{verb}", f"campaign:{campaign_id}", control)


async def live_campaign(call: ApiCall) -> web.StreamResponse:
    """Server-sent events: the campaign's figures, until it is final (its last figures are
    sent), the page goes, or the server stops. Sent when its ledger changes (no more often
    than every LIVE_GAP_S) and at least every LIVE_INTERVAL_S."""
    campaign_id, loop = call.path["campaign_id"], asyncio.get_running_loop()
    app = call.request.app
    stopping = app[STOPPING]
    with app[LEDGER_NEWS].listen(campaign_id) as changed:
        snapshot = await call.read(lambda s: _snapshot(s, campaign_id, time.time()))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        await response.prepare(call.request)
        first_final, started = snapshot["progress"]["final"], loop.time()
        while True:
            elapsed = loop.time() - started
            rate = (snapshot["progress"]["final"] - first_final) / elapsed if elapsed > 0 else 0.0
            snapshot["finals_per_s"] = round(rate, 3)
            snapshot["eta_s"] = snapshot.pop("_progress").eta_s(rate)
            try:
                await response.write(f"event: campaign\ndata: {json.dumps(snapshot)}\n\n".encode())
            except ConnectionResetError:
                break
            if snapshot["state"] in FINAL_STATES:
                break
            await _next_news(changed, stopping, LIVE_INTERVAL_S, LIVE_GAP_S)
            if stopping.is_set():  # the server's shutdown must not wait for the page
                break
            changed.clear()  # before the read: a change during it sends again
            snapshot = await call.read(lambda s: _snapshot(s, campaign_id, time.time()))
    return response


async def _next_news(
    changed: asyncio.Event, stopping: asyncio.Event, interval_s: float, gap_s: float
) -> None:
    """Until the next snapshot is due: a change, but no sooner than `gap_s` from now (so a
    busy campaign's ends go together), else `interval_s` from now; or the stop at once."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    news, stop = asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((news, stop), timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
        rest = gap_s - (loop.time() - start)
        if changed.is_set() and not stopping.is_set() and rest > 0:
            await asyncio.wait((stop,), timeout=rest)
    finally:
        news.cancel()
        stop.cancel()


def _snapshot(store: Repository, campaign_id: int, now: float) -> dict[str, Any]:
    campaign = store.get_campaign(campaign_id)
    counts = store.campaign_counts(campaign_id)
    progress = campaigns.progress(store, campaign_id)
    return campaigns.summary(campaign) | {
        "at": now,
        "progress": progress.to_dict(now) | {"final": progress.final},
        "_progress": progress,
        "retrying": counts.get("rescheduled", 0),
        "outcomes": store.outcome_counts(campaign_id),
        "abandonment": campaigns.abandonment(store, campaign, now),
        "timeline": campaigns.timeline(store, campaign_id, now),
    }


def _tags(tags: list[str]) -> tuple[str, ...]:
    try:
        return clean_tags(tags)
    except ValueError as exc:
        raise ApiError(422, "the tags cannot be used", [Detail("body.tags", str(exc))]) from None


async def _check_flow(call: ApiCall, settings: CampaignSettings) -> None:
    """Flows are read and their voices checked off the loop (TTS engines start up)."""
    config = call.request.app[CONFIG]
    await asyncio.to_thread(campaigns.check_flow, settings, config)


_SETTINGS = {
    **schemas.shape_of(CampaignSettings().to_dict()),
    "type": "object",
    "description": "as `dialer campaign show --json` prints them; any key left out keeps"
    " its default (or, in a PATCH, its value)",
}
_CREATE = {
    "type": "object",
    "properties": {
        "name": schemas.NAME,
        "description": schemas.DESCRIPTION,
        "tags": schemas.TAGS,
        "settings": _SETTINGS,
    },
    "required": ["name"],
    "additionalProperties": False,
}
_EDIT = {**_CREATE, "required": [], "minProperties": 1}
_LIST_QUERY = (
    Param("state", {"enum": [str(s) for s in CampaignState]}, "only campaigns in this state"),
    Param("q", {"type": "string", "maxLength": 200}, "search: part of the name, or the id"),
    Param("tag", {"type": "string", "maxLength": 40}, "only campaigns with this tag"),
    Param("channel", {"enum": list(campaigns.CHANNELS)}, "only campaigns on this channel"),
    Param("sort", {"enum": list(SORTS), "default": "id"}),
    Param("order", {"enum": ["asc", "desc"], "default": "desc"}),
    Param("limit", schemas.LIMIT),
    Param("offset", schemas.OFFSET),
)
_LISTED = {
    **schemas.CAMPAIGN_SUMMARY,
    "properties": {**schemas.CAMPAIGN_SUMMARY["properties"], "progress": schemas.PROGRESS},
}
_CONTROLLED = {
    **schemas.CAMPAIGN_SUMMARY,
    "properties": {**schemas.CAMPAIGN_SUMMARY["properties"], "uncalled": schemas.COUNT},
}
_ONE = "/api/campaigns/{campaign_id}"
_TAG = "campaigns"

OPERATIONS = [
    Operation("GET", "/api/campaigns", list_campaigns, "List campaigns", _TAG,
              query=_LIST_QUERY, response=schemas.page_of("campaigns", _LISTED)),
    Operation("POST", "/api/campaigns", create_campaign, "Create a draft campaign", _TAG,
              body=_CREATE, response=schemas.CAMPAIGN, status=201),
    Operation("GET", _ONE, get_campaign, "A campaign: settings, progress, abandonment", _TAG,
              response=schemas.CAMPAIGN),
    Operation("PATCH", _ONE, edit_campaign, "Edit a campaign (settings: drafts only)", _TAG,
              body=_EDIT, response=schemas.CAMPAIGN),
    Operation("DELETE", _ONE, delete_campaign, "Delete a draft or finished campaign", _TAG,
              response={"type": "object", "properties": {"deleted": {"type": "integer"}}}),
    Operation("POST", _ONE + "/duplicate", duplicate_campaign, "Copy into a new draft", _TAG,
              response=schemas.CAMPAIGN, status=201),
    Operation("POST", _ONE + "/start", start_campaign, "Start (or schedule) a draft", _TAG,
              response=_CONTROLLED),
    Operation("POST", _ONE + "/pause", pause_campaign, "Pause: calls in progress finish", _TAG,
              response=_CONTROLLED),
    Operation("POST", _ONE + "/resume", resume_campaign, "Resume a paused campaign", _TAG,
              response=_CONTROLLED),
    Operation("POST", _ONE + "/stop", stop_campaign, "Stop for good", _TAG,
              response=_CONTROLLED),
    Operation("GET", _ONE + "/live", live_campaign, "Live figures (server-sent events, each"
              " second, until final)", _TAG, produces="text/event-stream"),
]  # fmt: skip
