"""The calendar: when the scheduled and recurring campaigns run, over a range of days.

    GET /api/calendar?from=2027-03-01&to=2027-03-31&zone=Europe/Paris

The range is whole days in `zone` (the viewer's, UTC by default), `from` to `to`
inclusive, at most `MAX_DAYS`. Each occurrence is one run of a campaign that may still
dial (scheduled, running or paused), expanded from its schedule (`runs_between`): at its
own wall time in its own zone, and placed on the viewer's day. Past runs in the range
are listed too; a campaign that starts "now" has no time of its own, so none.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaign.compliance import ComplianceError, resolve_zone, wall_time_instant
from dialer.campaign.export import iso_utc
from dialer.campaign.model import CampaignState
from dialer.campaign.schedule import runs_between
from dialer.campaign.settings import CampaignSettings
from dialer.store.repository import Campaign
from dialer.web.api import schemas
from dialer.web.api.errors import query_date, query_refused
from dialer.web.api.operation import ApiCall, Operation, Param

MAX_DAYS = 62  # two months of any length, and a week either side of one
SHOWN_STATES = frozenset({CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.PAUSED})


async def calendar(call: ApiCall) -> dict[str, Any]:
    first, last = query_date(call.query, "from"), query_date(call.query, "to")
    if last < first:
        raise query_refused("query.to", "must not be before from")
    if (last - first).days + 1 > MAX_DAYS:
        raise query_refused("query.to", f"the range is at most {MAX_DAYS} days")
    try:
        zone = resolve_zone(call.query["zone"])
    except ComplianceError as exc:
        raise query_refused("query.zone", str(exc)) from None
    start = wall_time_instant(first, time(0), zone)
    end = wall_time_instant(last + timedelta(days=1), time(0), zone)
    listed = await call.read(lambda s: s.list_campaigns())
    found: list[tuple[datetime, Campaign, str]] = []
    for campaign in listed:
        if campaign.state in SHOWN_STATES:
            settings = CampaignSettings.from_dict(campaign.settings)
            kind = str(settings.to_dict()["schedule"]["kind"])  # the settings' own name
            found += [(run, campaign, kind) for run in runs_between(settings.schedule, start, end)]
    found.sort(key=lambda item: (item[0].timestamp(), item[1].id))
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "zone": zone.key,
        "occurrences": [_occurrence(run, c, kind, zone) for run, c, kind in found],
    }


def _occurrence(run: datetime, campaign: Campaign, kind: str, viewer: ZoneInfo) -> dict[str, Any]:
    seen = run.astimezone(viewer)
    return {
        "campaign": campaign.id,
        "name": campaign.name,
        "state": str(campaign.state),
        "kind": kind,
        "at": iso_utc(run.timestamp()),
        "local": run.isoformat(timespec="minutes"),
        "zone": str(run.tzinfo),
        "date": seen.date().isoformat(),
        "time": f"{seen:%H:%M}",
    }


_DATE = {"type": "string", "pattern": r"^[12]\d{3}-\d{2}-\d{2}$", "description": "YYYY-MM-DD"}
_OCCURRENCE = {
    "type": "object",
    "properties": {
        "campaign": {"type": "integer"},
        "name": schemas.TEXT,
        "state": {"enum": sorted(str(s) for s in SHOWN_STATES)},
        "kind": {"enum": ["at", "daily", "weekly", "monthly"]},
        "at": {"type": "string", "description": "ISO 8601, UTC"},
        "local": {"type": "string", "description": "ISO 8601 in the schedule's zone"},
        "zone": {"type": "string", "description": "the schedule's zone"},
        "date": {"type": "string", "description": "the day in the viewer's zone"},
        "time": {"type": "string", "description": "HH:MM in the viewer's zone"},
    },
    "required": ["campaign", "name", "state", "kind", "at", "local", "zone", "date", "time"],
}
_CALENDAR = {
    "type": "object",
    "properties": {
        "from": schemas.TEXT,
        "to": schemas.TEXT,
        "zone": schemas.TEXT,
        "occurrences": {"type": "array", "items": _OCCURRENCE},
    },
    "required": ["from", "to", "zone", "occurrences"],
}

OPERATIONS = [
    Operation("GET", "/api/calendar", calendar, "When scheduled and recurring campaigns run",
              "campaigns",
              query=(Param("from", _DATE, "the first day", required=True),
                     Param("to", _DATE, f"the last day (at most {MAX_DAYS} in all)",
                           required=True),
                     Param("zone", {"type": "string", "minLength": 1, "maxLength": 64,
                                    "default": "UTC"}, "the days' time zone (IANA)")),
              response=_CALENDAR),
]  # fmt: skip
