"""Campaign results as CSV a manager opens in Excel: one row per contact, or per attempt.

Pure: it reads the store through two list methods and writes text to a stream
the caller opened (with `newline=""`, as the csv module wants). Decisions:

* Everything per contact (attempts, outcome, times, duration, answered_by,
  variables) is derived from the attempt ledger, the record of what happened,
  so the two exports always agree. `attempts` counts every ledger row of the
  lead, one still in flight included; `last_outcome` is that of the last
  finished attempt. Removed leads are left out of the contact export but
  their attempts stay in the attempt export (the ledger is never pruned).
* Times are ISO 8601 UTC to the second ("2027-01-15T08:00:00Z"): when each
  attempt was dialled (started_at), and in the attempt export when it ended.
* Attribute columns are the union of the leads' attribute keys, in first-seen
  order; a key that clashes with a fixed column gets " (attribute)" appended.
* Spreadsheet formula injection: a free-text cell (name, email, attributes,
  reason, variables) starting with = + - @ TAB or CR gets a leading "'".
  Phone numbers are E.164 (checked by the store), so a leading + is left alone
  and the column stays a number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, TextIO

from dialer.campaign.model import AttemptOutcome
from dialer.store.repository import Attempt, Lead

__all__ = [
    "ATTEMPT_COLUMNS",
    "LEAD_COLUMNS_AFTER_ATTRIBUTES",
    "LEAD_COLUMNS_BEFORE_ATTRIBUTES",
    "ResultsSource",
    "export_attempts_csv",
    "export_leads_csv",
    "guard_formula",
    "iso_utc",
]

LEAD_COLUMNS_BEFORE_ATTRIBUTES = ("customerName", "phone", "email", "secondary_phone", "timezone")
LEAD_COLUMNS_AFTER_ATTRIBUTES = (
    "state",
    "last_outcome",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "duration_s",
    "answered_by",
    "variables",
    "agent",
)
ATTEMPT_COLUMNS = (
    "attempt_id",
    "lead_id",
    "customerName",
    "number",
    "started_at",
    "finished_at",
    "state",
    "outcome",
    "sip_code",
    "reason",
    "answered_by",
    "duration_s",
    "variables",
)
# OWASP's list: the four the spreadsheets treat as a formula start, plus tab and CR.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ResultsSource(Protocol):
    """The part of the Repository the export reads."""

    def list_leads(self, campaign_id: int, *, include_removed: bool = False) -> list[Lead]: ...

    def list_attempts(self, campaign_id: int) -> list[Attempt]: ...


def guard_formula(text: str) -> str:
    """Make a free-text cell inert in a spreadsheet: a formula start gets a leading "'"."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_leads_csv(store: ResultsSource, campaign_id: int, out: TextIO) -> int:
    """One row per (not removed) contact, in import order; return the rows written.

    An unknown campaign raises the store's NotFound; an empty one writes the header.
    """
    leads = store.list_leads(campaign_id)
    by_lead: dict[int, list[Attempt]] = {}
    for attempt in store.list_attempts(campaign_id):
        by_lead.setdefault(attempt.lead_id, []).append(attempt)
    attribute_keys = _attribute_keys(leads)
    attribute_headers = _attribute_headers(attribute_keys)
    writer = csv.writer(out, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(
        [*LEAD_COLUMNS_BEFORE_ATTRIBUTES, *attribute_headers, *LEAD_COLUMNS_AFTER_ATTRIBUTES]
    )
    for lead in leads:
        writer.writerow(
            [
                guard_formula(lead.name),
                lead.phone or "",
                guard_formula(lead.email or ""),
                lead.secondary_phone or "",
                lead.timezone or "",
                *(guard_formula(lead.attributes.get(key, "")) for key in attribute_keys),
                *_ledger_summary(lead, by_lead.get(lead.id, [])),
            ]
        )
    return len(leads)


def export_attempts_csv(store: ResultsSource, campaign_id: int, out: TextIO) -> int:
    """One row per attempt in the ledger, in dialling order; return the rows written."""
    names = {lead.id: lead.name for lead in store.list_leads(campaign_id, include_removed=True)}
    attempts = store.list_attempts(campaign_id)
    writer = csv.writer(out, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(ATTEMPT_COLUMNS)
    for attempt in attempts:
        result = attempt.result
        writer.writerow(
            [
                attempt.id,
                attempt.lead_id,
                guard_formula(names.get(attempt.lead_id, "")),
                attempt.number,
                iso_utc(attempt.started_at) or "",
                iso_utc(attempt.finished_at) or "",
                attempt.state,
                result.outcome if result else "",
                _text(result.sip_code if result else None),
                guard_formula(result.reason if result else ""),
                (result.answered_by or "") if result else "",
                _text(result.duration_s if result else None),
                guard_formula(_json(result.variables) if result else ""),
            ]
        )
    return len(attempts)


def _attribute_keys(leads: Iterable[Lead]) -> list[str]:
    seen: dict[str, None] = {}  # a dict keeps first-seen order
    for lead in leads:
        seen.update(dict.fromkeys(lead.attributes))
    return list(seen)


def _attribute_headers(keys: Sequence[str]) -> list[str]:
    """The header of each attribute column, renamed when it clashes with another column."""
    taken = set(LEAD_COLUMNS_BEFORE_ATTRIBUTES) | set(LEAD_COLUMNS_AFTER_ATTRIBUTES) | set(keys)
    headers = []
    for key in keys:
        header = key
        if key in LEAD_COLUMNS_BEFORE_ATTRIBUTES or key in LEAD_COLUMNS_AFTER_ATTRIBUTES:
            header = key + " (attribute)"
            while header in taken:
                header += " (attribute)"
            taken.add(header)
        headers.append(guard_formula(header))
    return headers


def _ledger_summary(lead: Lead, attempts: Sequence[Attempt]) -> list[str]:
    """state .. agent for one lead, from its attempts in id order."""
    finished = [attempt.result for attempt in attempts if attempt.result is not None]
    durations = [result.duration_s for result in finished if result.duration_s is not None]
    answered = [result.answered_by for result in finished if result.answered_by is not None]
    return [
        str(lead.state),
        str(finished[-1].outcome) if finished else "",
        str(len(attempts)),
        (iso_utc(attempts[0].started_at) or "") if attempts else "",
        (iso_utc(attempts[-1].started_at) or "") if attempts else "",
        _text(sum(durations)) if durations else "",
        str(answered[-1]) if answered else "",
        guard_formula(_json(finished[-1].variables)) if finished else "",
        _agent_of(finished),
    ]


def _agent_of(results: Sequence[AttemptOutcome]) -> str:
    """The extension of the last agent who took one of the lead's calls."""
    agents = [r.variables.get("agent", "") for r in results if r.variables.get("agent")]
    return guard_formula(agents[-1]) if agents else ""


def iso_utc(seconds: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC to the second ("2027-01-15T08:00:00Z"); None stays None.

    The one way the dialer writes an instant for people: exports, progress, the CLI."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: float | None) -> str:
    if value is None:
        return ""
    return str(round(value, 3)) if isinstance(value, float) else str(value)


def _json(variables: Mapping[str, str]) -> str:
    return json.dumps(dict(variables), ensure_ascii=False)
