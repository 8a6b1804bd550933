"""Agents' activity over a period, from their stored figures: what a supervisor reports on.

Pure: `ActivityFigures.of` turns one agent's `AgentStats` (time in each state, calls,
talk, dispositions) and their paused time by reason into the figures a report shows;
`report_rows` picks whose rows a report has; `write_report_csv` writes them as the
campaign exports write theirs. Decisions:

* Logged-in time is every state but logged_out: ready, reserved, on_call, wrap_up and
  paused (a paused agent is logged in, just not taking calls).
* Occupancy is (reserved + on_call + wrap_up) over logged-in time; None with no logged-in
  time. Contacts per hour are the calls taken over logged-in hours; None likewise.
* Mean talk is time on_call over calls taken; None with no call taken (time on a call
  already up when the period began counts as talk, but that call is not taken in it).
* A live agent always has a row (zeros when idle); a removed one only if they did
  something in the period: logged in, took a call or recorded a disposition.
* A period is whole days in a zone, `first` to `last` inclusive, at most `MAX_DAYS`; its
  end is clipped to `now`, so the state an agent is in does not run into the future.
* Rounding, in JSON and CSV alike: seconds to 0.1 s, occupancy to 4 decimals, contacts
  per hour to 2; None is null in JSON and an empty cell in CSV. A pause recorded without
  a reason is "" in JSON and "no reason" in the CSV, which has one `paused_s (REASON)`
  column per reason seen in any row, sorted (a header starting "paused_s" is never a
  formula); names are guarded against spreadsheet formulas as `dialer.campaign.export`
  guards its cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from dialer.agents.states import AgentState
from dialer.campaign.compliance import wall_time_instant
from dialer.campaign.export import guard_formula, iso_utc
from dialer.store.repository import Agent, AgentStats

__all__ = [
    "BUSY_STATES",
    "LOGGED_IN_STATES",
    "MAX_DAYS",
    "REPORT_COLUMNS",
    "ActivityFigures",
    "PeriodError",
    "ReportRow",
    "period_bounds",
    "report_rows",
    "write_report_csv",
]

MAX_DAYS = 366
LOGGED_IN_STATES = tuple(state for state in AgentState if state is not AgentState.LOGGED_OUT)
BUSY_STATES = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)
_HOUR_S = 3600.0
_SECONDS = {
    "ready_s": AgentState.READY,
    "reserved_s": AgentState.RESERVED,
    "on_call_s": AgentState.ON_CALL,
    "wrap_up_s": AgentState.WRAP_UP,
    "paused_s": AgentState.PAUSED,
}
REPORT_COLUMNS = (
    "agent_id", "name", "extension", "removed_at", "logged_in_s", *_SECONDS, "calls",
    "dispositions", "mean_talk_s", "occupancy", "contacts_per_hour",
)  # fmt: skip
_NO_REASON = "no reason"  # the CSV's name for a pause recorded without one


class PeriodError(ValueError):
    """A period a report cannot cover; `where` names the query parameter at fault."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class ActivityFigures:
    """One agent's figures over one interval."""

    seconds_in: Mapping[AgentState, float]  # every state, zeros included
    paused_by_reason: Mapping[str, float]  # sums to seconds_in[paused]
    calls: int
    talk_s: float
    dispositions: int

    @classmethod
    def of(cls, stats: AgentStats, paused_by_reason: Mapping[str, float]) -> ActivityFigures:
        return cls(
            seconds_in={state: stats.seconds_in.get(state, 0.0) for state in AgentState},
            paused_by_reason=dict(sorted(paused_by_reason.items())),
            calls=stats.calls,
            talk_s=stats.talk_s,
            dispositions=stats.dispositions,
        )

    @classmethod
    def idle(cls) -> ActivityFigures:
        """The figures of an agent the store has nothing on."""
        return cls(dict.fromkeys(AgentState, 0.0), {}, 0, 0.0, 0)

    @classmethod
    def combined(cls, many: Iterable[ActivityFigures]) -> ActivityFigures:
        """A team's figures: every agent's seconds, calls and dispositions added up (its
        ratios are then the team's, not a mean of the agents')."""
        seconds = dict.fromkeys(AgentState, 0.0)
        paused: dict[str, float] = {}
        calls = dispositions = 0
        talk = 0.0
        for figures in many:
            for state, value in figures.seconds_in.items():
                seconds[state] += value
            for reason, value in figures.paused_by_reason.items():
                paused[reason] = paused.get(reason, 0.0) + value
            calls, talk = calls + figures.calls, talk + figures.talk_s
            dispositions += figures.dispositions
        return cls(seconds, dict(sorted(paused.items())), calls, talk, dispositions)

    @property
    def logged_in_s(self) -> float:
        return sum(self.seconds_in[state] for state in LOGGED_IN_STATES)

    @property
    def busy_s(self) -> float:
        return sum(self.seconds_in[state] for state in BUSY_STATES)

    @property
    def occupancy(self) -> float | None:
        logged_in = self.logged_in_s
        return self.busy_s / logged_in if logged_in > 0 else None

    @property
    def mean_talk_s(self) -> float | None:
        return self.talk_s / self.calls if self.calls else None

    @property
    def contacts_per_hour(self) -> float | None:
        logged_in = self.logged_in_s
        return self.calls / (logged_in / _HOUR_S) if logged_in > 0 else None

    @property
    def active(self) -> bool:
        """Did the agent do anything: log in, take a call, record a disposition?"""
        return self.logged_in_s > 0 or self.calls > 0 or self.dispositions > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "logged_in_s": _seconds(self.logged_in_s),
            **{key: _seconds(self.seconds_in[state]) for key, state in _SECONDS.items()},
            "paused_by_reason": {r: _seconds(s) for r, s in self.paused_by_reason.items()},
            "calls": self.calls,
            "talk_s": _seconds(self.talk_s),
            "dispositions": self.dispositions,
            "mean_talk_s": _maybe(self.mean_talk_s, 1),
            "occupancy": _maybe(self.occupancy, 4),
            "contacts_per_hour": _maybe(self.contacts_per_hour, 2),
        }


@dataclass(frozen=True)
class ReportRow:
    """One agent's line in a report."""

    agent_id: int
    name: str
    extension: str
    removed_at: float | None
    figures: ActivityFigures

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.agent_id,
            "name": self.name,
            "extension": self.extension,
            "removed_at": iso_utc(self.removed_at),
        } | self.figures.to_dict()


def report_rows(agents: Iterable[Agent], figures: Mapping[int, ActivityFigures]) -> list[ReportRow]:
    """A row per live agent and per removed agent active in the period, by id; an agent
    with no figures has none."""
    return [
        ReportRow(agent.id, agent.name, agent.extension, agent.removed_at, figures[agent.id])
        for agent in sorted(agents, key=lambda a: a.id)
        if agent.id in figures and (agent.removed_at is None or figures[agent.id].active)
    ]


def period_bounds(first: date, last: date, zone: ZoneInfo, now: float) -> tuple[float, float]:
    """[start, end) of the days `first` to `last` in `zone`, the end clipped to `now` (and
    never before the start: a period to come is empty). PeriodError when `last` is before
    `first` or the period is over `MAX_DAYS` days."""
    if last < first:
        raise PeriodError("query.to", "must not be before from")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("query.to", f"the period is at most {MAX_DAYS} days")
    start = wall_time_instant(first, time(0), zone).timestamp()
    end = wall_time_instant(last + timedelta(days=1), time(0), zone).timestamp()
    return start, max(start, min(end, now))


def write_report_csv(rows: Sequence[ReportRow], out: TextIO) -> int:
    """The rows as CSV (header included) on `out`, opened with newline=""; the rows written."""
    reasons = sorted({reason for row in rows for reason in row.figures.paused_by_reason})
    writer = csv.writer(out, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([*REPORT_COLUMNS, *(f"paused_s ({r or _NO_REASON})" for r in reasons)])
    for row in rows:
        figures = row.figures
        writer.writerow(
            [
                row.agent_id,
                guard_formula(row.name),
                row.extension,
                iso_utc(row.removed_at) or "",
                _cell(figures.logged_in_s, 1),
                *(_cell(figures.seconds_in[state], 1) for state in _SECONDS.values()),
                figures.calls,
                figures.dispositions,
                _cell(figures.mean_talk_s, 1),
                _cell(figures.occupancy, 4),
                _cell(figures.contacts_per_hour, 2),
                *(_cell(figures.paused_by_reason.get(r, 0.0), 1) for r in reasons),
            ]
        )
    return len(rows)


def _seconds(value: float) -> float:
    return round(value, 1)


def _maybe(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else str(round(value, digits))
