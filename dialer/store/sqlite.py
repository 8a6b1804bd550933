"""The Repository on SQLite (stdlib sqlite3), WAL mode: the embedded default.

Threading rule: one `SqliteStore` (one connection) per thread. The connection
keeps sqlite3's `check_same_thread=True`, so using it from another thread is a
`ProgrammingError`, not silent corruption. The engine calls the store from a
single writer thread, or via `asyncio.to_thread` with a store per worker
thread; several stores (threads or processes) on one file are safe: every
write runs in `BEGIN IMMEDIATE`, so writers queue on the database lock (up to
`busy_timeout`) instead of failing with SQLITE_BUSY when a read transaction
tries to upgrade to a write mid-way.

Pragmas:
- journal_mode=WAL: readers never block the writer and vice versa;
- synchronous=FULL: in WAL mode NORMAL may lose the last commits on power
  loss. An attempt row is committed before its INVITE leaves; losing that row
  after the call was placed would let a restart dial the lead again. One fsync
  per commit (a few ms) is cheap next to a SIP call;
- foreign_keys=ON: sqlite leaves them off by default;
- busy_timeout: concurrent writers wait rather than fail.

Transactions nest: a `_write()` inside another (a method called within
`transaction()`, or by another method) is a SAVEPOINT of the outer one. Its
changes commit only with the outer transaction, and an error out of it undoes
just its own changes, so each method stays all-or-nothing even when its caller
catches the error and carries on.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from dialer.campaign.model import (
    FINAL_CAMPAIGN_STATES,
    AnsweredBy,
    AttemptOutcome,
    AttemptState,
    CallOutcome,
    CampaignEvent,
    CampaignState,
    LeadEvent,
    LeadState,
    check_edit,
    next_campaign_state,
    next_lead_state,
)
from dialer.campaign.policy import RetryRules, after_attempt
from dialer.contacts.record import ContactRecord
from dialer.store.migrate import MIGRATIONS_DIR, migrate, migrations
from dialer.store.repository import (
    INTERRUPTED_REASON,
    Attempt,
    AttemptInFlight,
    Campaign,
    CampaignBusy,
    DncEntry,
    ImportRejected,
    InvalidNumber,
    Lead,
    NotFound,
    OnDoNotCallList,
    ReconcileReport,
    SchemaError,
)
from dialer.store.sqlite_accounts import AccountTables
from dialer.store.sqlite_agents import AgentTables
from dialer.store.sqlite_reports import OUTCOME_KIND, ReportQueries
from dialer.store.sqlite_webhooks import WebhookTables

log = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

_LEAD_COLUMNS = (
    "id, campaign_id, name, phone, email, secondary_phone, timezone, attributes, state,"
    " attempts, next_attempt_at, last_outcome, last_attempt_at, removed_at, next_on_secondary"
)
_ATTEMPT_COLUMNS = (
    "id, lead_id, campaign_id, number, state, started_at, outcome, sip_code, reason,"
    " answered_by, variables, duration_s, finished_at, agent_id, disposition, notes"
)
# Merge rule for a phone already in the campaign (earlier in the file or an earlier
# import): the later record wins for every field it fills in, attributes merge key
# by key (later wins), and the lead's state, attempts and history stay as they were.
_UPSERT_LEAD = """
INSERT INTO leads (campaign_id, name, phone, email, secondary_phone, timezone, attributes,
                   state, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, phone) DO UPDATE SET
    name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE leads.name END,
    email = coalesce(excluded.email, leads.email),
    secondary_phone = coalesce(excluded.secondary_phone, leads.secondary_phone),
    timezone = coalesce(excluded.timezone, leads.timezone),
    attributes = json_patch(leads.attributes, excluded.attributes),
    updated_at = excluded.updated_at
"""
_JSON_COLUMNS = frozenset({"settings", "tags"})
# Above every id in use or deleted: SQLite alone would hand out a deleted highest id again.
_NEXT_CAMPAIGN_ID = (
    "(SELECT max(coalesce((SELECT max(id) FROM campaigns), 0),"
    " coalesce((SELECT max(id) FROM deleted_campaigns), 0)) + 1)"
)
_IN_DNC = (
    "EXISTS (SELECT 1 FROM dnc WHERE dnc.number = {number}"
    " AND (dnc.campaign_id IS NULL OR dnc.campaign_id = {campaign}))"
)


def is_e164(number: str) -> bool:
    return _E164.fullmatch(number) is not None


def _require_e164(number: str) -> None:
    if not is_e164(number):
        raise InvalidNumber(number)


_DELETABLE = FINAL_CAMPAIGN_STATES | {CampaignState.DRAFT}  # nothing dials, nothing will


class SqliteStore(AgentTables, AccountTables, WebhookTables, ReportQueries):
    """Repository on one SQLite file; see the module docstring for the threading rule.
    The agent tables' methods come from `AgentTables` (dialer.store.sqlite_agents), the
    users', API tokens' and audit log's from `AccountTables` (dialer.store.sqlite_accounts),
    the webhook outbox's from `WebhookTables` (dialer.store.sqlite_webhooks), the
    dashboards' figures from `ReportQueries` (dialer.store.sqlite_reports).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 5000,
        migrations_dir: Path = MIGRATIONS_DIR,
    ) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        self._db = sqlite3.connect(
            path, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=True
        )
        self._db.row_factory = sqlite3.Row
        self._write_depth = 0  # _write() blocks open on this connection
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal" and str(path) != ":memory:":
            self._db.close()
            raise SchemaError(f"cannot switch {path} to WAL mode (got {mode!r})")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        try:
            with self._write() as db:
                self.schema_version = migrate(db, migrations(migrations_dir))
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction around several method calls: they commit together when
        the block ends, or an exception out of it rolls them all back. The write lock is
        held throughout, so keep the block to store calls (no I/O, no waiting)."""
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the write lock taken up front; inside another, a
        savepoint of it (see the module docstring)."""
        depth = self._write_depth
        savepoint = f"write_{depth}"
        self._db.execute(f"SAVEPOINT {savepoint}" if depth else "BEGIN IMMEDIATE")
        self._write_depth = depth + 1
        try:
            yield self._db
            self._db.execute(f"RELEASE {savepoint}" if depth else "COMMIT")
        except BaseException:
            if self._db.in_transaction:  # sqlite may have rolled back already
                if depth:
                    self._db.execute(f"ROLLBACK TO {savepoint}")
                    self._db.execute(f"RELEASE {savepoint}")
                else:
                    self._db.execute("ROLLBACK")
            raise
        finally:
            self._write_depth = depth

    # -- campaigns ---------------------------------------------------------------

    def create_campaign(
        self,
        name: str,
        *,
        now: float,
        description: str = "",
        settings: Mapping[str, object] | None = None,
        tags: Sequence[str] = (),
    ) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO campaigns"
                " (id, name, description, settings, tags, created_at, updated_at)"
                f" VALUES ({_NEXT_CAMPAIGN_ID}, ?, ?, ?, ?, ?, ?)",
                (name, description, json.dumps(dict(settings or {})), json.dumps(list(tags)),
                 now, now),
            )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def list_campaigns(self) -> list[Campaign]:
        rows = self._db.execute("SELECT id FROM campaigns ORDER BY id").fetchall()
        return [self.get_campaign(row["id"]) for row in rows]

    def duplicate_campaign(self, campaign_id: int, *, now: float) -> int:
        """A new draft with the same name, description and settings (no leads)."""
        original = self.get_campaign(campaign_id)
        return self.create_campaign(
            f"{original.name} (copy)",
            now=now,
            description=original.description,
            settings=original.settings,
            tags=original.tags,
        )

    def get_campaign(self, campaign_id: int) -> Campaign:
        row = self._db.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        if row is None:
            raise NotFound("campaign", campaign_id)
        return Campaign(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            state=CampaignState(row["state"]),
            failure_reason=row["failure_reason"],
            settings=json.loads(row["settings"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            next_run_at=row["next_run_at"],
            runs=row["runs"],
            tags=tuple(json.loads(row["tags"])),
        )

    def set_campaign_state(
        self,
        campaign_id: int,
        event: CampaignEvent,
        *,
        now: float,
        reason: str | None = None,
        next_run_at: float | None = None,
    ) -> Campaign:
        """Apply the campaign table's transition, with what each event carries:

        - FAIL carries its `reason`; SCHEDULE the `next_run_at` of the run it waits for;
        - START begins a run: `runs` goes up by one, and from the second run on (a
          recurring campaign) every lead that ended the last run (completed or out of
          attempts) starts over as created, in the same transaction. Do-not-call,
          invalid and removed leads stay as they are.
        """
        if (event is CampaignEvent.FAIL) != bool(reason):
            raise ValueError("a reason is given with FAIL, and only with FAIL")
        if (event is CampaignEvent.SCHEDULE) != (next_run_at is not None):
            raise ValueError("next_run_at is given with SCHEDULE, and only with SCHEDULE")
        with self._write() as db:
            campaign = self.get_campaign(campaign_id)
            after = next_campaign_state(campaign.state, event)
            runs = campaign.runs + (event is CampaignEvent.START)
            db.execute(
                "UPDATE campaigns SET state = ?, failure_reason = ?, next_run_at = ?, runs = ?,"
                " updated_at = ? WHERE id = ?",
                (after, reason, next_run_at, runs, now, campaign_id),
            )
            if event is CampaignEvent.START and campaign.runs > 0:
                self._start_leads_over(campaign_id, now, run=runs)
        log.info("campaign %d: %s -(%s)-> %s", campaign_id, campaign.state, event, after)
        return self.get_campaign(campaign_id)

    def _start_leads_over(self, campaign_id: int, now: float, *, run: int) -> None:
        ended = (LeadState.COMPLETED, LeadState.MAX_RETRIES)
        after = {next_lead_state(state, LeadEvent.RESET) for state in ended}  # the table decides
        (state,) = after
        cursor = self._db.execute(
            "UPDATE leads SET state = ?, attempts = 0, next_attempt_at = NULL,"
            " next_on_secondary = 0, updated_at = ?"
            " WHERE campaign_id = ? AND removed_at IS NULL AND state IN (?, ?)",
            (state, now, campaign_id, *ended),
        )
        log.info("campaign %d: run %d: %d leads start over", campaign_id, run, cursor.rowcount)

    def update_campaign(
        self,
        campaign_id: int,
        *,
        now: float,
        name: str | None = None,
        description: str | None = None,
        settings: Mapping[str, object] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Campaign:
        """Change what the campaign's state allows (model.EDITABLE_FIELDS), else NotEditable.

        A value equal to the current one is not a change, so a client may send the whole
        campaign back with only its name edited."""
        with self._write() as db:
            campaign = self.get_campaign(campaign_id)
            stored = None if settings is None else json.loads(json.dumps(dict(settings)))
            wanted = {"name": name, "description": description, "settings": stored,
                      "tags": None if tags is None else list(tags)}  # fmt: skip
            current = {
                "name": campaign.name,
                "description": campaign.description,
                "settings": campaign.settings,
                "tags": list(campaign.tags),
            }
            changes = {k: v for k, v in wanted.items() if v is not None and v != current[k]}
            check_edit(campaign.state, frozenset(changes))
            if changes:
                assignments = "".join(f"{key} = ?, " for key in changes)  # names are ours
                values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in changes.items()]
                db.execute(
                    f"UPDATE campaigns SET {assignments}updated_at = ? WHERE id = ?",
                    (*values, now, campaign_id),
                )
                log.info("campaign %d: edited %s", campaign_id, ", ".join(sorted(changes)))
        return self.get_campaign(campaign_id)

    def campaigns_to_purge(self, created_before: float) -> list[int]:
        """Final campaigns created before then whose contact data is still there."""
        finals = ", ".join(f"'{state}'" for state in sorted(FINAL_CAMPAIGN_STATES))
        rows = self._db.execute(
            f"SELECT id FROM campaigns WHERE created_at < ? AND state IN ({finals})"
            " AND contacts_purged_at IS NULL ORDER BY id",
            (created_before,),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def purge_contact_data(self, campaign_id: int, *, now: float) -> int:
        """Data retention: the campaign's leads lose their names, numbers, emails and
        attributes, its attempts keep only their number's first digits (country and
        region, for reports) and lose agents' notes; its delivered webhooks go. Outcomes,
        counts and do-not-call entries stay. Only a final campaign (CampaignBusy else);
        returns the leads purged."""
        with self._write() as db:
            campaign = self.get_campaign(campaign_id)
            if campaign.state not in FINAL_CAMPAIGN_STATES:
                raise CampaignBusy(campaign_id, f"it is {campaign.state}: purged once it ends")
            purged = db.execute(
                "UPDATE leads SET name = '', phone = NULL, email = NULL, secondary_phone = NULL,"
                " attributes = '{}', updated_at = ? WHERE campaign_id = ?",
                (now, campaign_id),
            ).rowcount
            db.execute(
                "UPDATE attempts SET number = substr(number, 1, 5), notes = NULL"
                " WHERE campaign_id = ?",
                (campaign_id,),
            )
            db.execute(
                "DELETE FROM webhook_outbox WHERE campaign_id = ? AND delivered_at IS NOT NULL",
                (campaign_id,),
            )
            db.execute(
                "UPDATE campaigns SET contacts_purged_at = ? WHERE id = ?", (now, campaign_id)
            )
        log.info("campaign %d: contact data of %d leads purged", campaign_id, purged)
        return int(purged)

    def delete_campaign(self, campaign_id: int, *, now: float) -> None:
        """Delete a draft, stopped, completed or failed campaign with its leads, its attempt
        ledger and its own do-not-call list (CampaignBusy for one that dials or may, or
        whose last calls are still up). Its id is never given to another campaign.

        Agents assigned to it and to others lose it from their list; one assigned to it
        alone keeps the dead id, as an empty list would let them take any campaign's calls.
        """
        with self._write() as db:
            campaign = self.get_campaign(campaign_id)
            if campaign.state not in _DELETABLE:
                raise CampaignBusy(
                    campaign_id,
                    f"it is {campaign.state}: stop it first (a draft, stopped, completed"
                    " or failed campaign can be deleted)",
                )
            (in_flight,) = db.execute(
                "SELECT count(*) FROM attempts WHERE campaign_id = ? AND state = 'in_flight'",
                (campaign_id,),
            ).fetchone()
            if in_flight:
                raise CampaignBusy(campaign_id, f"{in_flight} of its calls are still up")
            attempts = db.execute(
                "DELETE FROM attempts WHERE campaign_id = ?"
                " OR lead_id IN (SELECT id FROM leads WHERE campaign_id = ?)",
                (campaign_id, campaign_id),
            ).rowcount
            leads = db.execute("DELETE FROM leads WHERE campaign_id = ?", (campaign_id,)).rowcount
            db.execute("DELETE FROM dnc WHERE campaign_id = ?", (campaign_id,))
            db.execute(
                "UPDATE agents SET campaigns = (SELECT json_group_array(value)"
                "   FROM json_each(agents.campaigns) WHERE value <> ?)"
                " WHERE json_array_length(campaigns) > 1"
                " AND EXISTS (SELECT 1 FROM json_each(agents.campaigns) WHERE value = ?)",
                (campaign_id, campaign_id),
            )
            db.execute("DELETE FROM campaigns WHERE id = ?", (campaign_id,))
            db.execute(
                "INSERT INTO deleted_campaigns (id, name, deleted_at) VALUES (?, ?, ?)",
                (campaign_id, campaign.name, now),
            )
        log.info(
            "campaign %d: deleted (%s), with %d leads and %d attempts",
            campaign_id,
            campaign.state,
            leads,
            attempts,
        )

    def _require_campaign(self, campaign_id: int) -> None:
        if self._db.execute("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)).fetchone():
            return
        raise NotFound("campaign", campaign_id)

    # -- leads -------------------------------------------------------------------

    def import_contacts(
        self, campaign_id: int, records: Sequence[ContactRecord], *, now: float
    ) -> int:
        """Add the records as leads in ONE transaction; return how many leads are new.

        Duplicates by phone merge (rule at `_UPSERT_LEAD`). A record with only a
        secondary phone has it promoted to primary; one with no phone at all
        becomes an `invalid` lead. Any bad record rolls back the whole import.
        """
        with self._write() as db:
            self._require_campaign(campaign_id)
            count = "SELECT count(*) FROM leads WHERE campaign_id = ?"
            before = db.execute(count, (campaign_id,)).fetchone()[0]
            for record in records:
                phone = record.phone or record.secondary_phone
                secondary = record.secondary_phone if record.phone else None
                for number in (phone, secondary):
                    if number is not None and not is_e164(number):
                        raise ImportRejected(record.line, f"not an E.164 number: {number!r}")
                state = LeadState.CREATED if phone else LeadState.INVALID
                params = (
                    campaign_id,
                    record.name,
                    phone,
                    record.email,
                    secondary,
                    record.timezone,
                    json.dumps(record.attributes),
                    state,
                    now,
                    now,
                )
                try:
                    db.execute(_UPSERT_LEAD, params)
                except sqlite3.IntegrityError as error:
                    raise ImportRejected(record.line, str(error)) from error
            created: int = db.execute(count, (campaign_id,)).fetchone()[0] - before
        log.info(
            "campaign %d: imported %d records, %d new leads", campaign_id, len(records), created
        )
        return created

    def get_lead(self, lead_id: int) -> Lead:
        row = self._db.execute(
            f"SELECT {_LEAD_COLUMNS} FROM leads WHERE id = ?", (lead_id,)
        ).fetchone()
        if row is None:
            raise NotFound("lead", lead_id)
        return _lead(row)

    def _live_lead(self, lead_id: int) -> Lead:
        lead = self.get_lead(lead_id)
        if lead.removed_at is not None:
            raise NotFound("lead", lead_id)
        return lead

    def due_leads(self, campaign_id: int, now: float, limit: int) -> list[Lead]:
        """Leads to dial now: created or rescheduled and due, not in flight.

        Leads on a do-not-call list are returned too: the list is checked at dial time
        (`begin_attempt` refuses them), which is when the engine marks them do_not_call.
        Filtering them here would leave them open forever and the campaign unfinished.
        """
        rows = self._db.execute(
            f"SELECT {_LEAD_COLUMNS} FROM leads"
            " WHERE campaign_id = ? AND state IN (?, ?) AND removed_at IS NULL"
            " AND phone IS NOT NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM attempts"
            "   WHERE attempts.lead_id = leads.id AND attempts.state = 'in_flight')"
            " ORDER BY coalesce(next_attempt_at, 0), id LIMIT ?",
            (campaign_id, LeadState.CREATED, LeadState.RESCHEDULED, now, limit),
        ).fetchall()
        return [_lead(row) for row in rows]

    def list_leads(self, campaign_id: int, *, include_removed: bool = False) -> list[Lead]:
        """The campaign's leads in id (import) order; removed ones only when asked."""
        self._require_campaign(campaign_id)
        live = "" if include_removed else " AND removed_at IS NULL"
        rows = self._db.execute(
            f"SELECT {_LEAD_COLUMNS} FROM leads WHERE campaign_id = ?{live} ORDER BY id",
            (campaign_id,),
        ).fetchall()
        return [_lead(row) for row in rows]

    def campaign_counts(self, campaign_id: int) -> dict[str, int]:
        """Live leads per LeadState (every state present, zeros included), plus
        "removed" (leads a manager removed), "in_flight" (attempts in flight) and
        "called" (live leads dialled at least once in this run)."""
        self._require_campaign(campaign_id)
        counts = {str(state): 0 for state in LeadState}
        counts |= {"removed": 0, "in_flight": 0, "called": 0}
        # one statement, so one snapshot: the numbers add up even while calls finish
        rows = self._db.execute(
            "SELECT CASE WHEN removed_at IS NULL THEN state ELSE 'removed' END AS kind, count(*)"
            " FROM leads WHERE campaign_id = ? GROUP BY kind"
            " UNION ALL SELECT 'in_flight', count(*) FROM attempts"
            " WHERE campaign_id = ? AND state = 'in_flight'"
            " UNION ALL SELECT 'called', count(*) FROM leads WHERE campaign_id = ?"
            " AND removed_at IS NULL AND (attempts > 0 OR state = 'processing')",
            (campaign_id, campaign_id, campaign_id),
        ).fetchall()
        counts.update({row[0]: row[1] for row in rows})
        return counts

    def outcome_counts(self, campaign_id: int) -> dict[str, int]:
        """Finished attempts by what they came to, as a dashboard shows them: human,
        machine (a voicemail) and unknown for AMD's answered calls, answered (no AMD),
        then no_answer, busy, rejected, failed, cancelled."""
        self._require_campaign(campaign_id)
        rows = self._db.execute(
            f"SELECT {OUTCOME_KIND} AS kind, count(*) FROM attempts"
            " WHERE campaign_id = ? AND state = 'finished' GROUP BY kind",
            (campaign_id,),
        ).fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    def next_due_at(self, campaign_id: int) -> float | None:
        """When the campaign's next lead comes due (its earliest open lead; None if none).

        A lead due since any time in the past reports that time: the caller compares
        with its own clock."""
        self._require_campaign(campaign_id)
        (due,) = self._db.execute(
            "SELECT min(coalesce(next_attempt_at, created_at)) FROM leads"
            " WHERE campaign_id = ? AND state IN (?, ?) AND removed_at IS NULL"
            " AND phone IS NOT NULL",
            (campaign_id, LeadState.CREATED, LeadState.RESCHEDULED),
        ).fetchone()
        return None if due is None else float(due)

    def _move_lead(self, lead: Lead, event: LeadEvent, now: float, **columns: object) -> LeadState:
        """Apply the lead table's transition, with any other columns set alongside."""
        after = next_lead_state(lead.state, event)
        assignments = "".join(f", {name} = ?" for name in columns)  # names are ours, not input
        self._db.execute(
            f"UPDATE leads SET state = ?, updated_at = ?{assignments} WHERE id = ?",
            (after, now, *columns.values(), lead.id),
        )
        log.info("lead %d: %s -(%s)-> %s", lead.id, lead.state, event, after)
        return after

    def reset_lead(self, lead_id: int, *, now: float) -> Lead:
        """Manager: a final lead starts over, attempts counted from zero."""
        with self._write():
            lead = self._live_lead(lead_id)
            self._move_lead(
                lead, LeadEvent.RESET, now, attempts=0, next_attempt_at=None, next_on_secondary=0
            )
        return self.get_lead(lead_id)

    def mark_completed(self, lead_id: int, *, now: float) -> Lead:
        with self._write():
            self._move_lead(self._live_lead(lead_id), LeadEvent.MARK_COMPLETED, now)
        return self.get_lead(lead_id)

    def defer_lead(self, lead_id: int, next_attempt_at: float, *, now: float) -> Lead:
        """Not now (outside calling hours): the lead keeps its state and waits until then."""
        with self._write() as db:
            self._live_lead(lead_id)
            db.execute(
                "UPDATE leads SET next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (next_attempt_at, now, lead_id),
            )
        return self.get_lead(lead_id)

    def invalidate_lead(self, lead_id: int, *, now: float) -> Lead:
        """The lead cannot be dialled as it stands (its number or zone is unusable)."""
        with self._write():
            self._move_lead(self._live_lead(lead_id), LeadEvent.INVALIDATE, now)
        return self.get_lead(lead_id)

    def block_lead(self, lead_id: int, *, now: float) -> Lead:
        """The number is on a do-not-call list: the lead is never dialled."""
        with self._write():
            self._move_lead(self._live_lead(lead_id), LeadEvent.BLOCK, now)
        return self.get_lead(lead_id)

    def remove_lead(self, lead_id: int, *, now: float) -> None:
        """Manager: the lead is never dialled again; its attempts stay in the ledger."""
        with self._write() as db:
            self._live_lead(lead_id)
            in_flight = db.execute(
                "SELECT 1 FROM attempts WHERE lead_id = ? AND state = 'in_flight'", (lead_id,)
            ).fetchone()
            if in_flight:
                raise AttemptInFlight(lead_id)
            db.execute(
                "UPDATE leads SET removed_at = ?, updated_at = ? WHERE id = ?", (now, now, lead_id)
            )
        log.info("lead %d: removed", lead_id)

    # -- the attempt ledger ------------------------------------------------------

    def begin_attempt(self, lead_id: int, number: str, now: float) -> int:
        """Commit an in-flight attempt (call this BEFORE the INVITE is sent); lead -> processing.

        The partial unique index `attempts_one_in_flight` is what refuses a second
        attempt for the lead, so two writers racing cannot both win.
        """
        _require_e164(number)
        with self._write() as db:
            lead = self._live_lead(lead_id)
            if self._in_dnc(number, lead.campaign_id):
                raise OnDoNotCallList(number)
            try:
                cursor = db.execute(
                    "INSERT INTO attempts (lead_id, campaign_id, number, started_at)"
                    " VALUES (?, ?, ?, ?)",
                    (lead_id, lead.campaign_id, number, now),
                )
            except sqlite3.IntegrityError as error:
                if "attempts.lead_id" in str(error):
                    raise AttemptInFlight(lead_id) from error
                raise
            self._move_lead(lead, LeadEvent.DIAL, now)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_attempt(
        self,
        attempt_id: int,
        result: AttemptOutcome,
        now: float,
        *,
        then: LeadEvent,
        next_attempt_at: float | None = None,
        on_secondary: bool = False,
    ) -> bool:
        """Write the outcome once and move the lead by `then`, in one transaction
        (`on_secondary`: the lead's next attempt dials its secondary number).

        False (and nothing written) when the attempt already has its outcome: the
        first one stands. `then` is checked before anything is written.
        """
        with self._write() as db:
            attempt = self.get_attempt(attempt_id)
            if attempt.state is AttemptState.FINISHED:
                return False
            lead = self.get_lead(attempt.lead_id)
            next_lead_state(lead.state, then)  # raises before the ledger is touched
            db.execute(
                "UPDATE attempts SET state = 'finished', outcome = ?, sip_code = ?, reason = ?,"
                " answered_by = ?, variables = ?, duration_s = ?, finished_at = ?"
                " WHERE id = ? AND state = 'in_flight'",
                (
                    result.outcome,
                    result.sip_code,
                    result.reason,
                    result.answered_by,
                    json.dumps(dict(result.variables)),
                    result.duration_s,
                    now,
                    attempt_id,
                ),
            )
            self._move_lead(
                lead,
                then,
                now,
                attempts=lead.attempts + 1,
                last_attempt_at=now,
                last_outcome=str(result.outcome),
                next_attempt_at=next_attempt_at,
                next_on_secondary=int(on_secondary),
            )
        return True

    def get_attempt(self, attempt_id: int) -> Attempt:
        row = self._db.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        if row is None:
            raise NotFound("attempt", attempt_id)
        return _attempt(row)

    def in_flight_attempts(self) -> list[Attempt]:
        rows = self._db.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE state = 'in_flight' ORDER BY id"
        ).fetchall()
        return [_attempt(row) for row in rows]

    def list_attempts(self, campaign_id: int) -> list[Attempt]:
        """The campaign's whole ledger in id (dialling) order, removed leads' attempts included."""
        self._require_campaign(campaign_id)
        rows = self._db.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE campaign_id = ? ORDER BY id",
            (campaign_id,),
        ).fetchall()
        return [_attempt(row) for row in rows]

    def reconcile_in_flight(
        self, rules: RetryRules, now: float, *, campaign_id: int | None = None
    ) -> ReconcileReport:
        """On start: close attempts a crash left in flight, counted as failed, never redialled
        blindly. Each lead's next step is the retry policy's for a failed attempt, retried
        even where `failed` is not a retry outcome: nobody knows how the call went. So the
        lead falls back to its secondary number, is rescheduled, or is out of attempts.

        `campaign_id` limits it to one campaign: for a campaign actor restarted by its
        supervisor while the process (and other campaigns' calls) carry on.
        """
        interrupted = AttemptOutcome(CallOutcome.FAILED, reason=INTERRUPTED_REASON)
        rules = replace(rules, retry_outcomes=rules.retry_outcomes | {CallOutcome.FAILED})
        rescheduled = exhausted = 0
        with self._write() as db:
            stranded = [
                attempt
                for attempt in self.in_flight_attempts()
                if campaign_id is None or attempt.campaign_id == campaign_id
            ]
            for attempt in stranded:
                lead = self.get_lead(attempt.lead_id)
                db.execute(
                    "UPDATE attempts SET state = 'finished', outcome = ?, reason = ?,"
                    " variables = '{}', finished_at = ? WHERE id = ?",
                    (CallOutcome.FAILED, INTERRUPTED_REASON, now, attempt.id),
                )
                on_primary = attempt.number == lead.phone and lead.secondary_phone is not None
                step = after_attempt(
                    rules, lead.attempts + 1, interrupted, now, secondary_untried=on_primary
                )
                exhausted += step.event is LeadEvent.EXHAUST
                rescheduled += step.event is LeadEvent.RESCHEDULE
                self._move_lead(
                    lead,
                    step.event,
                    now,
                    attempts=lead.attempts + 1,
                    last_attempt_at=now,
                    last_outcome=str(CallOutcome.FAILED),
                    next_attempt_at=step.next_attempt_at,
                    next_on_secondary=int(step.on_secondary),
                )
        report = ReconcileReport(len(stranded), rescheduled, exhausted)
        if stranded:
            log.warning("reconciled attempts left in flight: %s", report)
        return report

    # -- do not call -------------------------------------------------------------

    def add_dnc(
        self, number: str, *, now: float, campaign_id: int | None = None, source: str = ""
    ) -> bool:
        """Add a number (to every campaign when campaign_id is None); False if already there."""
        return self.import_dnc([number], now=now, campaign_id=campaign_id, source=source) == 1

    def import_dnc(
        self,
        numbers: Iterable[str],
        *,
        now: float,
        campaign_id: int | None = None,
        source: str,
    ) -> int:
        """Add many numbers to one list in ONE transaction; return how many were new.

        A number that is not E.164 raises InvalidNumber and rolls the whole import back.
        One already on the list keeps its original source and time.
        """
        added = 0
        with self._write() as db:
            if campaign_id is not None:
                self._require_campaign(campaign_id)
            for number in numbers:
                _require_e164(number)
                added += db.execute(
                    "INSERT OR IGNORE INTO dnc (number, campaign_id, source, added_at)"
                    " VALUES (?, ?, ?, ?)",
                    (number, campaign_id, source, now),
                ).rowcount
        log.info("do-not-call %s: %d numbers added from %r", _dnc_scope(campaign_id), added, source)
        return added

    def remove_dnc(self, number: str, *, campaign_id: int | None = None) -> bool:
        """Take a number off one list (the global one when campaign_id is None); False if it
        was not on that list. Leads already blocked stay do_not_call until a manager resets them.
        """
        _require_e164(number)
        with self._write() as db:
            if campaign_id is not None:
                self._require_campaign(campaign_id)
            cursor = db.execute(
                "DELETE FROM dnc WHERE number = ? AND campaign_id IS ?", (number, campaign_id)
            )
        if cursor.rowcount:
            log.info("do-not-call %s: %s removed", _dnc_scope(campaign_id), number)
        return cursor.rowcount == 1

    def list_dnc(
        self, campaign_id: int | None = None, *, include_global: bool = True
    ) -> list[DncEntry]:
        """The global list (campaign_id None), or what applies to one campaign: its own list,
        plus the global one unless include_global is False. By number, the global entry first.
        """
        params: tuple[int, ...] = ()
        if campaign_id is None:
            where = "campaign_id IS NULL"
        else:
            self._require_campaign(campaign_id)
            where = "campaign_id = ?" + (" OR campaign_id IS NULL" if include_global else "")
            params = (campaign_id,)
        rows = self._db.execute(
            f"SELECT number, campaign_id, source, added_at FROM dnc WHERE {where}"
            " ORDER BY number, campaign_id IS NOT NULL, campaign_id",
            params,
        ).fetchall()
        return [
            DncEntry(row["number"], row["campaign_id"], row["source"], row["added_at"])
            for row in rows
        ]

    def dnc_contains(self, number: str, campaign_id: int | None = None) -> bool:
        """On the global list, or on this campaign's list when one is given."""
        _require_e164(number)
        return self._in_dnc(number, campaign_id)

    def _in_dnc(self, number: str, campaign_id: int | None) -> bool:
        query = "SELECT " + _IN_DNC.format(number="?", campaign="?")
        return bool(self._db.execute(query, (number, campaign_id)).fetchone()[0])


def _dnc_scope(campaign_id: int | None) -> str:
    return "global list" if campaign_id is None else f"list of campaign {campaign_id}"


def _lead(row: sqlite3.Row) -> Lead:
    return Lead(
        id=row["id"],
        campaign_id=row["campaign_id"],
        name=row["name"],
        phone=row["phone"],
        email=row["email"],
        secondary_phone=row["secondary_phone"],
        timezone=row["timezone"],
        attributes=json.loads(row["attributes"]),
        state=LeadState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_outcome=row["last_outcome"],
        last_attempt_at=row["last_attempt_at"],
        removed_at=row["removed_at"],
        next_on_secondary=bool(row["next_on_secondary"]),
    )


def _attempt(row: sqlite3.Row) -> Attempt:
    result = None
    if row["outcome"] is not None:
        result = AttemptOutcome(
            outcome=CallOutcome(row["outcome"]),
            sip_code=row["sip_code"],
            reason=row["reason"] or "",
            answered_by=AnsweredBy(row["answered_by"]) if row["answered_by"] else None,
            variables=json.loads(row["variables"] or "{}"),
            duration_s=row["duration_s"],
        )
    return Attempt(
        id=row["id"],
        lead_id=row["lead_id"],
        campaign_id=row["campaign_id"],
        number=row["number"],
        state=AttemptState(row["state"]),
        started_at=row["started_at"],
        result=result,
        finished_at=row["finished_at"],
        agent_id=row["agent_id"],
        disposition=row["disposition"],
        notes=row["notes"],
    )
