"""What the campaign engine needs from durable storage, as a Protocol.

SQLite (`dialer.store.sqlite`) implements it today; PostgreSQL can later. The
interface is synchronous: the engine calls it from one writer thread (or via
`asyncio.to_thread` with one store object per thread), never from the loop.
Every method is one transaction: it either happens entirely or not at all.
Inside `transaction()` the methods called are one transaction together: a change
and the audit entry describing it commit together or not at all.
Times are Unix seconds handed in as `now`; the store never reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from dialer.agents.states import AgentState, AgentStateChange
from dialer.campaign.model import (
    AttemptOutcome,
    AttemptState,
    CampaignEvent,
    CampaignState,
    LeadEvent,
    LeadState,
)
from dialer.campaign.policy import RetryRules
from dialer.contacts.record import ContactRecord


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class NotFound(StoreError, LookupError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


class AttemptInFlight(StoreError):
    """The lead already has an attempt in flight (or is being removed while one is)."""

    def __init__(self, lead_id: int) -> None:
        super().__init__(f"lead {lead_id} already has an attempt in flight")
        self.lead_id = lead_id


class OnDoNotCallList(StoreError):
    def __init__(self, number: str) -> None:
        super().__init__(f"{number} is on the do-not-call list")
        self.number = number


class InvalidNumber(StoreError, ValueError):
    def __init__(self, number: str) -> None:
        super().__init__(f"not an E.164 number: {number!r}")
        self.number = number


class ImportRejected(StoreError):
    """One record broke a rule; the whole import was rolled back."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"import rolled back: line {line}: {reason}")
        self.line = line
        self.reason = reason


class SchemaError(StoreError):
    """The database's schema cannot be used by this code (newer, or damaged)."""


class AgentExists(StoreError):
    """Another (not removed) agent has that extension: it is their SIP username."""

    def __init__(self, extension: str) -> None:
        super().__init__(f"extension {extension} is already an agent's")
        self.extension = extension


class InvalidAgent(StoreError, ValueError):
    """An agent's field the rules refuse: a blank name, a bad extension, a weak password..."""


class DispositionRefused(StoreError):
    """The attempt cannot take this disposition (still in flight, another agent's...)."""

    def __init__(self, attempt_id: int, reason: str) -> None:
        super().__init__(f"attempt {attempt_id}: {reason}")
        self.attempt_id = attempt_id
        self.reason = reason


class UserExists(StoreError):
    """Another (not removed) user has that username; usernames compare without case."""

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists")
        self.username = username


class InvalidUser(StoreError, ValueError):
    """A field of a user or of their API token the rules refuse: a bad username or role,
    a password too short or too long, a blank token name, an expiry already past..."""


class CampaignBusy(StoreError):
    """The campaign cannot be deleted now (it may dial, or calls are still up)."""

    def __init__(self, campaign_id: int, reason: str) -> None:
        super().__init__(f"campaign {campaign_id} cannot be deleted: {reason}")
        self.campaign_id = campaign_id
        self.reason = reason


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    description: str
    state: CampaignState
    failure_reason: str | None
    settings: Mapping[str, object]
    created_at: float
    updated_at: float
    next_run_at: float | None = None  # scheduled: when the next run starts
    runs: int = 0  # runs started (a recurring campaign has one per occurrence)
    tags: tuple[str, ...] = ()  # the manager's labels (model.clean_tags)


@dataclass(frozen=True)
class Lead:
    id: int
    campaign_id: int
    name: str
    phone: str | None
    email: str | None
    secondary_phone: str | None
    timezone: str | None
    attributes: Mapping[str, str]
    state: LeadState
    attempts: int  # finished attempts, interrupted ones included
    next_attempt_at: float | None
    last_outcome: str | None
    last_attempt_at: float | None
    removed_at: float | None
    next_on_secondary: bool = False  # the next attempt dials secondary_phone

    def template_values(self) -> dict[str, str]:
        """What a flow's `{{placeholders}}` read for this contact: its CSV columns by
        their names there (customerName, phone, email...) and its attributes. Blank
        values are left out, so a placeholder with nothing to say is noticed."""
        fields = {
            "customerName": self.name,
            "phone": self.phone,
            "email": self.email,
            "secondary_phone": self.secondary_phone,
            "timezone": self.timezone,
        }
        values = {**self.attributes, **{k: v for k, v in fields.items() if v is not None}}
        return {key: value for key, value in values.items() if value.strip()}

    @property
    def next_number(self) -> str | None:
        if self.next_on_secondary and self.secondary_phone:
            return self.secondary_phone
        return self.phone


@dataclass(frozen=True)
class Attempt:
    id: int
    lead_id: int
    campaign_id: int
    number: str
    state: AttemptState
    started_at: float
    result: AttemptOutcome | None  # None while in flight
    finished_at: float | None
    agent_id: int | None = None  # the agent who took the call and recorded its disposition
    disposition: str | None = None  # the agent's label for how the call went ("sale", ...)
    notes: str | None = None


@dataclass(frozen=True)
class ReconcileReport:
    interrupted: int  # attempts closed as failed/"interrupted: dialer restarted"
    rescheduled: int
    exhausted: int  # leads moved to max_retries


INTERRUPTED_REASON = "interrupted: dialer restarted"


@dataclass(frozen=True)
class DncEntry:
    number: str  # E.164
    campaign_id: int | None  # None: the global list, which every campaign obeys
    source: str  # where it came from: "cli", "import:FILE", "callee asked"...
    added_at: float


@dataclass(frozen=True)
class Agent:
    """An agent as managers see them; their secrets are never part of it (`AgentSecrets`)."""

    id: int
    name: str
    extension: str  # also their SIP username
    campaigns: tuple[int, ...]  # empty: any campaign
    skills: tuple[str, ...]
    realm: str  # the digest realm their HA1s were computed in
    created_at: float
    updated_at: float
    removed_at: float | None = None

    def credentials_stale(self, realm: str) -> bool:
        """The realm changed since the password was set: SIP logins fail until it is reset."""
        return self.realm != realm


@dataclass(frozen=True)
class AgentSecrets:
    """What the registrar checks a REGISTER against, looked up by SIP username."""

    agent_id: int
    username: str  # the extension
    realm: str  # the HA1s are only good in this realm
    ha1_md5: str = field(repr=False)
    ha1_sha256: str = field(repr=False)

    def ha1(self, algorithm: str) -> str:
        """The HA1 for MD5(-sess) or SHA-256(-sess)."""
        if algorithm.upper().startswith("SHA-256"):
            return self.ha1_sha256
        if algorithm.upper().startswith("MD5"):
            return self.ha1_md5
        raise ValueError(f"no HA1 kept for digest algorithm {algorithm!r}")


@dataclass(frozen=True)
class AgentStats:
    """One agent over one interval [start, end), from the state history and the ledger."""

    agent_id: int
    start: float
    end: float
    calls: int  # times the agent went on_call (bridged to a person)
    talk_s: float  # time on_call
    dispositions: int  # attempts finished in the interval that the agent dispositioned
    seconds_in: Mapping[AgentState, float]  # every state, zeros included; sums to end - start
    state_at_end: AgentState  # as last recorded before `end` (logged_out if never)


@dataclass(frozen=True)
class DispositionRecorded:
    attempt: Attempt  # with the disposition, notes and the merged variables
    lead_state: LeadState  # the lead's state afterwards
    goal_reached: bool  # the disposition's variables met the goal: the lead was completed


class Role(enum.StrEnum):
    """What a web user may do; the web API decides what each role allows."""

    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


@dataclass(frozen=True)
class User:
    """A web user; their password hash is never part of it."""

    id: int
    username: str  # as given; unique among live users without regard to case
    role: Role
    disabled: bool  # a disabled user can neither log in nor use their tokens
    created_at: float
    updated_at: float
    removed_at: float | None = None

    def audit_fields(self) -> dict[str, object]:
        """What an audit entry's before/after records of the user: nothing secret."""
        return {
            "id": self.id,
            "username": self.username,
            "role": str(self.role),
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed; neither the secret nor its hash is part of it."""

    id: int
    user_id: int
    name: str
    prefix: str  # the secret's first 8 characters ("dlr_" and 4 more), to tell tokens apart
    created_at: float
    last_used_at: float | None  # up to a minute behind: written at most once a minute
    revoked_at: float | None
    expires_at: float | None  # None: until revoked

    def status(self, now: float) -> str:
        """The token's state at `now`: "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def audit_fields(self) -> dict[str, object]:
        """What an audit entry's before/after records of the token: nothing secret."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "prefix": self.prefix,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class QueuedWebhook:
    """A status callback to send: where, and the body (JSON) byte for byte."""

    campaign_id: int | None
    event: str
    url: str
    body: str


@dataclass(frozen=True)
class WebhookDelivery:
    id: int
    campaign_id: int | None
    event: str
    url: str
    body: str
    created_at: float
    attempts: int
    next_attempt_at: float
    last_error: str | None
    delivered_at: float | None
    given_up_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str  # a username, or "cli" for the command line
    role: str  # the actor's role then; "" for the command line
    action: str  # "campaign.start", "user.add"...
    target: str  # "campaign:3", "user:alice"...
    before: Mapping[str, object] | None  # as JSON stored it
    after: Mapping[str, object] | None
    source: str  # the client's IP address, or "cli"


class Repository(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction around several method calls (see the module docstring)."""
        ...

    # campaigns
    def create_campaign(
        self,
        name: str,
        *,
        now: float,
        description: str = "",
        settings: Mapping[str, object] | None = None,
        tags: Sequence[str] = (),
    ) -> int: ...

    def get_campaign(self, campaign_id: int) -> Campaign: ...

    def list_campaigns(self) -> list[Campaign]: ...

    def duplicate_campaign(self, campaign_id: int, *, now: float) -> int: ...

    def set_campaign_state(
        self,
        campaign_id: int,
        event: CampaignEvent,
        *,
        now: float,
        reason: str | None = None,
        next_run_at: float | None = None,
    ) -> Campaign: ...

    def update_campaign(
        self,
        campaign_id: int,
        *,
        now: float,
        name: str | None = None,
        description: str | None = None,
        settings: Mapping[str, object] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Campaign: ...

    def delete_campaign(self, campaign_id: int, *, now: float) -> None: ...

    def campaigns_to_purge(self, created_before: float) -> list[int]: ...

    def purge_contact_data(self, campaign_id: int, *, now: float) -> int: ...

    # leads
    def import_contacts(
        self, campaign_id: int, records: Sequence[ContactRecord], *, now: float
    ) -> int: ...

    def get_lead(self, lead_id: int) -> Lead: ...

    def due_leads(self, campaign_id: int, now: float, limit: int) -> list[Lead]: ...

    def list_leads(self, campaign_id: int, *, include_removed: bool = False) -> list[Lead]: ...

    def campaign_counts(self, campaign_id: int) -> dict[str, int]: ...

    def next_due_at(self, campaign_id: int) -> float | None: ...

    def outcome_counts(self, campaign_id: int) -> dict[str, int]: ...

    def defer_lead(self, lead_id: int, next_attempt_at: float, *, now: float) -> Lead: ...

    def block_lead(self, lead_id: int, *, now: float) -> Lead: ...

    def invalidate_lead(self, lead_id: int, *, now: float) -> Lead: ...

    def reset_lead(self, lead_id: int, *, now: float) -> Lead: ...

    def mark_completed(self, lead_id: int, *, now: float) -> Lead: ...

    def remove_lead(self, lead_id: int, *, now: float) -> None: ...

    # the attempt ledger
    def begin_attempt(self, lead_id: int, number: str, now: float) -> int: ...

    def finish_attempt(
        self,
        attempt_id: int,
        result: AttemptOutcome,
        now: float,
        *,
        then: LeadEvent,
        next_attempt_at: float | None = None,
        on_secondary: bool = False,
    ) -> bool: ...

    def get_attempt(self, attempt_id: int) -> Attempt: ...

    def in_flight_attempts(self) -> list[Attempt]: ...

    def list_attempts(self, campaign_id: int) -> list[Attempt]: ...

    def reconcile_in_flight(
        self, rules: RetryRules, now: float, *, campaign_id: int | None = None
    ) -> ReconcileReport: ...

    # do not call
    def add_dnc(
        self, number: str, *, now: float, campaign_id: int | None = None, source: str = ""
    ) -> bool: ...

    def import_dnc(
        self,
        numbers: Iterable[str],
        *,
        now: float,
        campaign_id: int | None = None,
        source: str,
    ) -> int: ...

    def remove_dnc(self, number: str, *, campaign_id: int | None = None) -> bool: ...

    def list_dnc(
        self, campaign_id: int | None = None, *, include_global: bool = True
    ) -> list[DncEntry]: ...

    def dnc_contains(self, number: str, campaign_id: int | None = None) -> bool: ...

    # agents
    def add_agent(
        self,
        name: str,
        extension: str,
        password: str,
        realm: str,
        *,
        campaigns: Sequence[int] = (),
        skills: Sequence[str] = (),
        now: float,
    ) -> Agent: ...

    def get_agent(self, agent_id: int) -> Agent: ...

    def agent_by_extension(self, extension: str) -> Agent | None: ...

    def list_agents(self, *, include_removed: bool = False) -> list[Agent]: ...

    def update_agent(
        self,
        agent_id: int,
        *,
        name: str | None = None,
        campaigns: Sequence[int] | None = None,
        skills: Sequence[str] | None = None,
        now: float,
    ) -> Agent: ...

    def set_agent_password(
        self, agent_id: int, password: str, realm: str, *, now: float
    ) -> Agent: ...

    def remove_agent(self, agent_id: int, *, now: float) -> None: ...

    def agent_secrets(self, extension: str) -> AgentSecrets | None: ...

    def list_agent_secrets(self) -> list[AgentSecrets]: ...

    def check_agent_login(self, extension: str, password: str) -> Agent | None: ...

    def record_agent_states(self, changes: Sequence[AgentStateChange]) -> None: ...

    def agent_state_history(
        self, agent_id: int, *, since: float, until: float
    ) -> list[AgentStateChange]: ...

    def record_disposition(
        self,
        attempt_id: int,
        agent_id: int,
        disposition: str,
        notes: str,
        variables: Mapping[str, str],
        *,
        now: float,
        rules: RetryRules | None = None,
    ) -> DispositionRecorded: ...

    def agent_stats(self, agent_id: int, start: float, end: float) -> AgentStats: ...

    def agent_paused_by_reason(
        self, agent_id: int, start: float, end: float
    ) -> dict[str, float]: ...

    def hand_off_counts(self, campaign_id: int, since: float) -> tuple[int, int]:
        """(people handed to agents, of whom abandoned) in calls finished since `since`."""
        ...

    # web users, API tokens, the audit log
    def add_user(self, username: str, password: str, role: str, *, now: float) -> User: ...

    def get_user(self, user_id: int) -> User: ...

    def find_user(self, username: str) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def update_user(
        self,
        user_id: int,
        *,
        now: float,
        role: str | None = None,
        disabled: bool | None = None,
    ) -> User: ...

    def set_user_password(self, user_id: int, password: str, *, now: float) -> User: ...

    def remove_user(self, user_id: int, *, now: float) -> None: ...

    def check_user_login(self, username: str, password: str) -> User | None: ...

    def create_api_token(
        self, user_id: int, name: str, *, now: float, expires_at: float | None = None
    ) -> tuple[ApiToken, str]: ...

    def get_api_token(self, token_id: int) -> ApiToken: ...

    def check_api_token(self, secret: str, *, now: float) -> User | None: ...

    def list_api_tokens(self, user_id: int | None = None) -> list[ApiToken]: ...

    def revoke_api_token(self, token_id: int, *, now: float) -> ApiToken: ...

    def record_audit(
        self,
        *,
        at: float,
        actor: str,
        role: str,
        action: str,
        target: str,
        source: str,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> AuditEntry: ...

    def list_audit(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int | None = 1000,
        offset: int = 0,
    ) -> list[AuditEntry]: ...

    # the webhook outbox
    def queue_webhooks(self, webhooks: Sequence[QueuedWebhook], *, now: float) -> list[int]: ...

    def due_webhooks(self, now: float, limit: int) -> list[WebhookDelivery]: ...

    def next_webhook_at(self) -> float | None: ...

    def webhook_tried(
        self, delivery_id: int, *, now: float, error: str | None, retry_at: float | None
    ) -> WebhookDelivery: ...

    def get_webhook(self, delivery_id: int) -> WebhookDelivery: ...

    def list_webhooks(self, campaign_id: int | None = None) -> list[WebhookDelivery]: ...

    # reports: the dashboards' health and comparison figures
    def campaign_state_counts(self) -> dict[str, int]: ...

    def due_lead_count(self, now: float) -> int: ...

    def ended_call_counts(self, since: float) -> dict[str, int]: ...

    def pending_webhook_count(self) -> int: ...

    def mean_answered_duration(self, campaign_id: int) -> float | None: ...

    def first_finish(self, campaign_id: int) -> float | None: ...

    def finished_by_slot(self, campaign_id: int, slot_s: float) -> dict[int, dict[str, int]]: ...

    def close(self) -> None: ...
