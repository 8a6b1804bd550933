"""Lead, campaign and attempt states as data: transition tables, frozen records.

Like h11's `_state.py`: each machine is a table `state -> {event: next state}`.
An illegal transition is a missing key and raises `IllegalTransition`, which
names the machine, the state and the event. Final states have no outgoing
events except the manager's own actions (reset, mark completed).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dialer.sip.call import Outcome as CallOutcome  # one vocabulary for call outcomes

__all__ = [
    "CAMPAIGN_FIELDS",
    "CAMPAIGN_TRANSITIONS",
    "EDITABLE_FIELDS",
    "FINAL_CAMPAIGN_STATES",
    "FINAL_LEAD_STATES",
    "LEAD_TRANSITIONS",
    "MAX_TAGS",
    "AnsweredBy",
    "AttemptOutcome",
    "AttemptState",
    "CallOutcome",
    "CampaignEvent",
    "CampaignState",
    "IllegalTransition",
    "LeadEvent",
    "LeadState",
    "NotEditable",
    "check_edit",
    "clean_tags",
    "next_campaign_state",
    "next_lead_state",
]


class IllegalTransition(ValueError):
    """An event that the machine's table has no entry for in the current state."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: no transition from '{state}' on '{event}'")
        self.machine = machine
        self.state = state
        self.event = event


class LeadState(enum.StrEnum):
    CREATED = "created"
    SCHEDULED = "scheduled"  # picked by the scheduler, waiting for a slot
    PROCESSING = "processing"  # an attempt is in flight
    COMPLETED = "completed"
    RESCHEDULED = "rescheduled"  # to be dialled again at next_attempt_at
    MAX_RETRIES = "max_retries"
    DO_NOT_CALL = "do_not_call"
    INVALID = "invalid"


class LeadEvent(enum.StrEnum):
    SCHEDULE = "schedule"
    DIAL = "dial"  # an attempt begins
    COMPLETE = "complete"  # the call reached its goal
    RESCHEDULE = "reschedule"
    EXHAUST = "exhaust"  # out of attempts
    BLOCK = "block"  # the callee or a list said: do not call
    INVALIDATE = "invalidate"  # the number cannot be dialled
    RESET = "reset"  # manager: start over
    MARK_COMPLETED = "mark_completed"  # manager: no more calls needed


_LS, _LE = LeadState, LeadEvent
_MANAGER_ON_FINAL = {_LE.RESET: _LS.CREATED, _LE.MARK_COMPLETED: _LS.COMPLETED}
_REFUSALS = {_LE.BLOCK: _LS.DO_NOT_CALL, _LE.INVALIDATE: _LS.INVALID}

LEAD_TRANSITIONS: Mapping[LeadState, Mapping[LeadEvent, LeadState]] = MappingProxyType(
    {
        _LS.CREATED: {
            _LE.SCHEDULE: _LS.SCHEDULED,
            _LE.DIAL: _LS.PROCESSING,
            _LE.MARK_COMPLETED: _LS.COMPLETED,
            **_REFUSALS,
        },
        _LS.SCHEDULED: {
            _LE.DIAL: _LS.PROCESSING,
            _LE.RESCHEDULE: _LS.RESCHEDULED,  # e.g. calling hours closed before a slot came
            _LE.MARK_COMPLETED: _LS.COMPLETED,
            **_REFUSALS,
        },
        _LS.PROCESSING: {
            _LE.COMPLETE: _LS.COMPLETED,
            _LE.RESCHEDULE: _LS.RESCHEDULED,
            _LE.EXHAUST: _LS.MAX_RETRIES,
            **_REFUSALS,
        },
        _LS.RESCHEDULED: {
            _LE.SCHEDULE: _LS.SCHEDULED,
            _LE.DIAL: _LS.PROCESSING,
            _LE.MARK_COMPLETED: _LS.COMPLETED,
            **_REFUSALS,
        },
        _LS.COMPLETED: {_LE.RESET: _LS.CREATED},
        _LS.MAX_RETRIES: dict(_MANAGER_ON_FINAL),
        _LS.DO_NOT_CALL: dict(_MANAGER_ON_FINAL),
        _LS.INVALID: dict(_MANAGER_ON_FINAL),
    }
)
FINAL_LEAD_STATES = frozenset({_LS.COMPLETED, _LS.MAX_RETRIES, _LS.DO_NOT_CALL, _LS.INVALID})


def next_lead_state(state: LeadState, event: LeadEvent) -> LeadState:
    try:
        return LEAD_TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition("lead", state, event) from None


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # waits for its start time
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # by a manager; final
    COMPLETED = "completed"  # no lead left to dial; final
    FAILED = "failed"  # final; the store keeps the reason


class CampaignEvent(enum.StrEnum):
    SCHEDULE = "schedule"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    COMPLETE = "complete"
    FAIL = "fail"  # needs a reason


_CS, _CE = CampaignState, CampaignEvent

CAMPAIGN_TRANSITIONS: Mapping[CampaignState, Mapping[CampaignEvent, CampaignState]] = (
    MappingProxyType(
        {
            _CS.DRAFT: {_CE.SCHEDULE: _CS.SCHEDULED, _CE.START: _CS.RUNNING, _CE.STOP: _CS.STOPPED},
            _CS.SCHEDULED: {_CE.START: _CS.RUNNING, _CE.STOP: _CS.STOPPED, _CE.FAIL: _CS.FAILED},
            _CS.RUNNING: {
                _CE.SCHEDULE: _CS.SCHEDULED,  # a recurring campaign between two runs
                _CE.PAUSE: _CS.PAUSED,
                _CE.STOP: _CS.STOPPED,
                _CE.COMPLETE: _CS.COMPLETED,
                _CE.FAIL: _CS.FAILED,
            },
            _CS.PAUSED: {_CE.RESUME: _CS.RUNNING, _CE.STOP: _CS.STOPPED, _CE.FAIL: _CS.FAILED},
            _CS.STOPPED: {},
            _CS.COMPLETED: {},
            _CS.FAILED: {},
        }
    )
)
FINAL_CAMPAIGN_STATES = frozenset({_CS.STOPPED, _CS.COMPLETED, _CS.FAILED})


def next_campaign_state(state: CampaignState, event: CampaignEvent) -> CampaignState:
    try:
        return CAMPAIGN_TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition("campaign", state, event) from None


class NotEditable(ValueError):
    """A change the campaign's state does not allow (names the state and the fields)."""


# A draft is the manager's to shape; once a campaign has started, the contacts called so
# far were called under its settings, so only the labels may change (duplicate it to
# change anything else).
CAMPAIGN_FIELDS = frozenset({"name", "description", "tags", "settings"})
EDITABLE_FIELDS: Mapping[CampaignState, frozenset[str]] = MappingProxyType(
    {state: frozenset({"name", "description", "tags"}) for state in CampaignState}
    | {CampaignState.DRAFT: CAMPAIGN_FIELDS}
)
MAX_TAGS = 20
TAG = re.compile(r"[^\s,][^,]{0,39}")  # a label: no commas (the CLI's separator), <= 40


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as kept: trimmed, each once (case aside), in the order given. ValueError names
    the first that cannot be one."""
    kept: dict[str, str] = {}
    for tag in tags:
        text = tag.strip()
        if not TAG.fullmatch(text):
            raise ValueError(f"not a tag: {tag!r} (1 to 40 characters, no commas)")
        kept.setdefault(text.casefold(), text)
    if len(kept) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags (got {len(kept)})")
    return tuple(kept.values())


def check_edit(state: CampaignState, changed: frozenset[str]) -> None:
    refused = changed - EDITABLE_FIELDS[state]
    if refused:
        allowed = " and ".join(sorted(EDITABLE_FIELDS[state]))
        raise NotEditable(
            f"a {state} campaign cannot change its {', '.join(sorted(refused))}"
            f" (only its {allowed}; duplicate it to change the rest)"
        )


class AttemptState(enum.StrEnum):
    IN_FLIGHT = "in_flight"  # committed before the INVITE leaves
    FINISHED = "finished"  # outcome written, once


class AnsweredBy(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt came to, as the call reports it and the ledger keeps it."""

    outcome: CallOutcome
    sip_code: int | None = None
    reason: str = ""
    answered_by: AnsweredBy | None = None  # None: never answered, or AMD not run
    variables: Mapping[str, str] = field(default_factory=dict)  # flow variables (keys pressed...)
    duration_s: float | None = None
