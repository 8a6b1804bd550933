"""What the agents are doing, and what they did: the wallboard and the activity report.

    GET /api/agents/live                       every agent's state now, and today's figures
    GET /api/agents/report?from=YYYY-MM-DD&to=YYYY-MM-DD[&zone=Area/City]
    GET /api/agents/report.csv?...             the same report as a file

The wallboard's states come from the live pool (the `serve` process's), its figures from
the store, since the server's local midnight (`dialer.agents.wallboard`). The report
covers whole days in `zone` (UTC by default), `from` to `to` inclusive, at most
`report.MAX_DAYS`, up to now; `dialer.agents.report` says what each figure counts. Both
read the state history the pool writes a moment after each change, so a change made
this very second may be missing from the figures while the state already shows it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from dialer.agents.report import (
    MAX_DAYS,
    ActivityFigures,
    PeriodError,
    ReportRow,
    period_bounds,
    report_rows,
    write_report_csv,
)
from dialer.agents.states import AgentState
from dialer.agents.wallboard import local_midnight, state_counts, wallboard_rows
from dialer.campaign.compliance import ComplianceError, resolve_zone
from dialer.campaign.export import iso_utc
from dialer.store.repository import Agent, NotFound, Repository
from dialer.web.api import schemas
from dialer.web.api.errors import query_date, query_refused
from dialer.web.api.operation import ApiCall, Operation, Param
from dialer.web.state import AGENTS


async def agents_live(call: ApiCall) -> dict[str, Any]:
    live = call.request.app[AGENTS]
    now = live.wall_clock()
    start = local_midnight(now)
    seats, status = dict(live.pool.seats), dict(live.pool.status)  # read on the loop

    def read(store: Repository) -> tuple[list[Agent], dict[int, ActivityFigures]]:
        agents = store.list_agents()
        ids = {agent.id for agent in agents} | set(seats)
        return agents, _figures(store, ids, start, now)

    agents, today = await call.read(read)
    rows = wallboard_rows(agents, seats, status, today, now)
    return {
        "at": now,
        "day_start": start,
        "agents": [row.to_dict() for row in rows],
        "by_state": {str(state): n for state, n in state_counts(rows).items()},
        "total": len(rows),
    }


async def agents_report(call: ApiCall) -> dict[str, Any]:
    rows, period = await _report(call)
    team = ActivityFigures.combined(row.figures for row in rows)
    return period | {
        "agents": [row.to_dict() for row in rows],
        "totals": team.to_dict(),
        "total": len(rows),
    }


async def agents_report_csv(call: ApiCall) -> web.Response:
    rows, period = await _report(call)
    out = io.StringIO()
    write_report_csv(rows, out)
    name = f"agents-{period['from']}-to-{period['to']}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _report(call: ApiCall) -> tuple[list[ReportRow], dict[str, Any]]:
    first, last = query_date(call.query, "from"), query_date(call.query, "to")
    try:
        zone = resolve_zone(call.query["zone"])
    except ComplianceError as exc:
        raise query_refused("query.zone", str(exc)) from None
    now = call.request.app[AGENTS].wall_clock()
    try:
        start, end = period_bounds(first, last, zone, now)
    except PeriodError as exc:
        raise query_refused(exc.where, str(exc)) from None

    def read(store: Repository) -> list[ReportRow]:
        agents = store.list_agents(include_removed=True)
        return report_rows(agents, _figures(store, (a.id for a in agents), start, end))

    period = {"from": first.isoformat(), "to": last.isoformat(), "zone": zone.key,
              "start": iso_utc(start), "end": iso_utc(end)}  # fmt: skip
    return await call.read(read), period


def _figures(
    store: Repository, agent_ids: Iterable[int], start: float, end: float
) -> dict[int, ActivityFigures]:
    """Each agent's figures over [start, end); none for an agent the store does not have."""
    figures = {}
    for agent_id in sorted(set(agent_ids)):
        try:
            stats = store.agent_stats(agent_id, start, end)
            paused = store.agent_paused_by_reason(agent_id, start, end)
        except NotFound:
            continue  # seated, but not (or no longer) in the store
        figures[agent_id] = ActivityFigures.of(stats, paused)
    return figures


_SECONDS = {"type": "number", "minimum": 0, "description": "seconds"}
_RATIO_OR_NULL = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_OR_NULL = {"type": ["number", "null"], "minimum": 0}
_FIGURES: dict[str, Any] = {
    "type": "object",
    "properties": {
        **dict.fromkeys(("logged_in_s", "ready_s", "reserved_s", "on_call_s", "wrap_up_s",
                         "paused_s", "talk_s"), _SECONDS),
        "paused_by_reason": {"type": "object", "additionalProperties": _SECONDS,
                             "description": "paused time by the pause's reason"},
        "calls": schemas.COUNT,
        "dispositions": schemas.COUNT,
        "mean_talk_s": {**_OR_NULL, "description": "talk over calls taken; null: no call"},
        "occupancy": {**_RATIO_OR_NULL, "description": "(reserved + on call + wrap-up) over"
                      " logged-in time; null: never logged in"},
        "contacts_per_hour": {**_OR_NULL, "description": "calls per logged-in hour"},
    },
    "required": ["logged_in_s", "ready_s", "reserved_s", "on_call_s", "wrap_up_s", "paused_s",
                 "paused_by_reason", "talk_s", "calls", "dispositions", "mean_talk_s",
                 "occupancy", "contacts_per_hour"],
}  # fmt: skip
_STATE = {"enum": [str(s) for s in AgentState]}
_LIVE_AGENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": schemas.TEXT,
        "extension": schemas.TEXT,
        "state": _STATE,
        "reason": schemas.TEXT,
        "since": {"type": ["number", "null"], "description": "Unix seconds; null: unknown"},
        "in_state_s": {"type": ["number", "null"], "minimum": 0},
        "today": _FIGURES,
    },
    "required": ["id", "name", "extension", "state", "reason", "since", "in_state_s", "today"],
}
_STATES = [str(s) for s in AgentState]
_LIVE = {
    "type": "object",
    "properties": {
        "at": {"type": "number", "description": "Unix seconds"},
        "day_start": {"type": "number", "description": "the server's local midnight"},
        "agents": {"type": "array", "items": _LIVE_AGENT},
        "by_state": {"type": "object", "properties": dict.fromkeys(_STATES, schemas.COUNT),
                     "required": _STATES, "additionalProperties": False},
        "total": schemas.COUNT,
    },
    "required": ["at", "day_start", "agents", "by_state", "total"],
}  # fmt: skip
_ROW = {
    **_FIGURES,
    "properties": {
        "id": {"type": "integer"},
        "name": schemas.TEXT,
        "extension": schemas.TEXT,
        "removed_at": schemas.TIME,
        **_FIGURES["properties"],
    },
    "required": ["id", "name", "extension", "removed_at", *_FIGURES["required"]],
}
_REPORT = {
    "type": "object",
    "properties": {
        "from": schemas.TEXT,
        "to": schemas.TEXT,
        "zone": schemas.TEXT,
        "start": {"type": "string", "description": "ISO 8601, UTC"},
        "end": {"type": "string", "description": "ISO 8601, UTC: the period's end, or now"},
        "agents": {"type": "array", "items": _ROW},
        "totals": _FIGURES,
        "total": schemas.COUNT,
    },
    "required": ["from", "to", "zone", "start", "end", "agents", "totals", "total"],
}
_DATE = {"type": "string", "pattern": r"^[12]\d{3}-\d{2}-\d{2}$", "description": "YYYY-MM-DD"}
_PERIOD = (
    Param("from", _DATE, "the first day", required=True),
    Param("to", _DATE, f"the last day (at most {MAX_DAYS} in all)", required=True),
    Param("zone", {"type": "string", "minLength": 1, "maxLength": 64, "default": "UTC"},
          "the days' time zone (IANA)"),
)  # fmt: skip
_TAG = "agents"

OPERATIONS = [
    Operation("GET", "/api/agents/live", agents_live, "The wallboard: every agent now, and"
              " today", _TAG, response=_LIVE),
    Operation("GET", "/api/agents/report", agents_report, "Agents' activity over a period",
              _TAG, query=_PERIOD, response=_REPORT),
    Operation("GET", "/api/agents/report.csv", agents_report_csv, "Agents' activity as CSV",
              _TAG, query=_PERIOD, produces="text/csv"),
]  # fmt: skip
