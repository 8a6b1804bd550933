"""The agent tables of the SQLite store: agents, their state history, dispositions.

`AgentTables` is mixed into `SqliteStore` and uses its connection and its
`_write()` transactions (same threading rule). The slow hashing (scrypt) runs
before the write transaction opens, so a password change never holds the
database lock for a tenth of a second.

An agent is never deleted: removal sets `removed_at`, which frees the extension
for someone else while the history keeps pointing at the old row.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING

from dialer.agents.credentials import (
    CredentialError,
    HashedCredentials,
    make_credentials,
    verify_password,
    waste_password_check,
)
from dialer.agents.states import AgentState, AgentStateChange
from dialer.campaign.model import AttemptOutcome, AttemptState, LeadEvent, LeadState
from dialer.campaign.policy import RetryRules, after_attempt
from dialer.store.repository import (
    Agent,
    AgentExists,
    AgentSecrets,
    AgentStats,
    Attempt,
    DispositionRecorded,
    DispositionRefused,
    InvalidAgent,
    Lead,
    NotFound,
)

log = logging.getLogger("dialer.store.sqlite")

_AGENT_COLUMNS = "id, name, extension, campaigns, skills, realm, created_at, updated_at, removed_at"
_MAX_NAME, _MAX_DISPOSITION, _MAX_NOTES = 100, 64, 10_000
_REMOVED_REASON = "agent removed"


class AgentTables:
    """Agents in the store; see the module docstring. Mixed into `SqliteStore`."""

    _db: sqlite3.Connection

    if TYPE_CHECKING:  # provided by SqliteStore

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def get_attempt(self, attempt_id: int) -> Attempt: ...

        def get_lead(self, lead_id: int) -> Lead: ...

        def _require_campaign(self, campaign_id: int) -> None: ...

        def _move_lead(
            self, lead: Lead, event: LeadEvent, now: float, **columns: object
        ) -> LeadState: ...

    # -- agents ------------------------------------------------------------------------

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
    ) -> Agent:
        """A new agent. AgentExists when a live agent has the extension; InvalidAgent for
        a blank name, a bad extension or a password the policy refuses."""
        name, campaign_ids, skill_list = _name(name), _campaigns(campaigns), _skills(skills)
        credentials = _credentials(extension, realm, password)  # slow: before the lock
        with self._write() as db:
            self._require_campaigns(campaign_ids)
            try:
                cursor = db.execute(
                    "INSERT INTO agents (name, extension, password_hash, ha1_md5, ha1_sha256,"
                    " realm, campaigns, skills, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        extension,
                        credentials.password_hash,
                        credentials.ha1_md5,
                        credentials.ha1_sha256,
                        credentials.realm,
                        json.dumps(campaign_ids),
                        json.dumps(skill_list),
                        now,
                        now,
                    ),
                )
            except sqlite3.IntegrityError as error:
                if "agents.extension" in str(error):
                    raise AgentExists(extension) from None
                raise
        assert cursor.lastrowid is not None
        log.info("agent %d: added, extension %s", cursor.lastrowid, extension)
        return self.get_agent(cursor.lastrowid)

    def get_agent(self, agent_id: int) -> Agent:
        """Any agent, a removed one included (with its `removed_at`)."""
        row = self._db.execute(
            f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)
        ).fetchone()
        if row is None:
            raise NotFound("agent", agent_id)
        return _agent(row)

    def agent_by_extension(self, extension: str) -> Agent | None:
        """The live agent with this extension, if any."""
        row = self._db.execute(
            f"SELECT {_AGENT_COLUMNS} FROM agents WHERE extension = ? AND removed_at IS NULL",
            (extension,),
        ).fetchone()
        return None if row is None else _agent(row)

    def list_agents(self, *, include_removed: bool = False) -> list[Agent]:
        live = "" if include_removed else " WHERE removed_at IS NULL"
        rows = self._db.execute(f"SELECT {_AGENT_COLUMNS} FROM agents{live} ORDER BY id")
        return [_agent(row) for row in rows.fetchall()]

    def update_agent(
        self,
        agent_id: int,
        *,
        name: str | None = None,
        campaigns: Sequence[int] | None = None,
        skills: Sequence[str] | None = None,
        now: float,
    ) -> Agent:
        """Change what is given (None: unchanged; an empty `campaigns`: any campaign)."""
        changes: dict[str, object] = {}
        campaign_ids = None if campaigns is None else _campaigns(campaigns)
        if name is not None:
            changes["name"] = _name(name)
        if campaign_ids is not None:
            changes["campaigns"] = json.dumps(campaign_ids)
        if skills is not None:
            changes["skills"] = json.dumps(_skills(skills))
        with self._write() as db:
            self._live_agent(agent_id)
            self._require_campaigns(campaign_ids or ())
            if changes:
                assignments = "".join(f"{column} = ?, " for column in changes)  # names are ours
                db.execute(
                    f"UPDATE agents SET {assignments}updated_at = ? WHERE id = ?",
                    (*changes.values(), now, agent_id),
                )
                log.info("agent %d: edited %s", agent_id, ", ".join(sorted(changes)))
        return self.get_agent(agent_id)

    def set_agent_password(self, agent_id: int, password: str, realm: str, *, now: float) -> Agent:
        """A new password: new console hash and new HA1s, computed in `realm`."""
        extension = self._live_agent(agent_id).extension  # never changes: safe to read first
        credentials = _credentials(extension, realm, password)
        with self._write() as db:
            self._live_agent(agent_id)
            db.execute(
                "UPDATE agents SET password_hash = ?, ha1_md5 = ?, ha1_sha256 = ?, realm = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    credentials.password_hash,
                    credentials.ha1_md5,
                    credentials.ha1_sha256,
                    credentials.realm,
                    now,
                    agent_id,
                ),
            )
        log.info("agent %d: password set (realm %r)", agent_id, realm)
        return self.get_agent(agent_id)

    def remove_agent(self, agent_id: int, *, now: float) -> None:
        """The agent can no longer log in and their extension is free; their history stays.
        An agent last recorded in any state but logged_out is logged out now, so time
        after the removal never counts in their reports."""
        with self._write() as db:
            self._live_agent(agent_id)
            db.execute(
                "UPDATE agents SET removed_at = ?, updated_at = ? WHERE id = ?",
                (now, now, agent_id),
            )
            if self._state_before(agent_id) is not AgentState.LOGGED_OUT:
                self._insert_changes(
                    [AgentStateChange(agent_id, AgentState.LOGGED_OUT, now, _REMOVED_REASON)]
                )
        log.info("agent %d: removed", agent_id)

    def _live_agent(self, agent_id: int) -> Agent:
        agent = self.get_agent(agent_id)
        if agent.removed_at is not None:
            raise NotFound("agent", agent_id)
        return agent

    def _require_campaigns(self, campaign_ids: Iterable[int]) -> None:
        for campaign_id in campaign_ids:
            self._require_campaign(campaign_id)

    # -- secrets -----------------------------------------------------------------------

    def agent_secrets(self, extension: str) -> AgentSecrets | None:
        """What a registrar checks a REGISTER from this SIP username against (live agents
        only). HA1s from another realm than the registrar's are stale: treat as unknown."""
        row = self._db.execute(
            "SELECT id, extension, realm, ha1_md5, ha1_sha256 FROM agents"
            " WHERE extension = ? AND removed_at IS NULL",
            (extension,),
        ).fetchone()
        if row is None:
            return None
        return AgentSecrets(
            row["id"], row["extension"], row["realm"], row["ha1_md5"], row["ha1_sha256"]
        )

    def list_agent_secrets(self) -> list[AgentSecrets]:
        """Every live agent's secrets at once: what a registrar keeps in memory."""
        rows = self._db.execute(
            "SELECT id, extension, realm, ha1_md5, ha1_sha256 FROM agents"
            " WHERE removed_at IS NULL ORDER BY id"
        ).fetchall()
        return [
            AgentSecrets(r["id"], r["extension"], r["realm"], r["ha1_md5"], r["ha1_sha256"])
            for r in rows
        ]

    def check_agent_login(self, extension: str, password: str) -> Agent | None:
        """The live agent whose console password this is, else None. An unknown extension
        costs one scrypt like a wrong password, so timing does not reveal which exist."""
        row = self._db.execute(
            "SELECT id, password_hash FROM agents WHERE extension = ? AND removed_at IS NULL",
            (extension,),
        ).fetchone()
        if row is None:
            waste_password_check(password)
            return None
        if not verify_password(row["password_hash"], password):
            return None
        return self.get_agent(row["id"])

    # -- states ------------------------------------------------------------------------

    def record_agent_states(self, changes: Sequence[AgentStateChange]) -> None:
        """Append state changes (as `AgentPool.take_changes` hands them), in one
        transaction. NotFound, and nothing written, for an agent the store never had;
        removed agents are accepted (the pool logs them out after the fact)."""
        with self._write():
            for agent_id in sorted({change.agent_id for change in changes}):
                self.get_agent(agent_id)
            self._insert_changes(changes)

    def _insert_changes(self, changes: Iterable[AgentStateChange]) -> None:
        self._db.executemany(
            "INSERT INTO agent_state_changes (agent_id, state, reason, at) VALUES (?, ?, ?, ?)",
            [(c.agent_id, str(c.state), c.reason, c.at) for c in changes],
        )

    def agent_state_history(
        self, agent_id: int, *, since: float, until: float
    ) -> list[AgentStateChange]:
        """The agent's changes with `since <= at < until`, oldest first."""
        self.get_agent(agent_id)
        rows = self._db.execute(
            "SELECT agent_id, state, reason, at FROM agent_state_changes"
            " WHERE agent_id = ? AND at >= ? AND at < ? ORDER BY at, id",
            (agent_id, since, until),
        ).fetchall()
        return [
            AgentStateChange(row["agent_id"], AgentState(row["state"]), row["at"], row["reason"])
            for row in rows
        ]

    def _state_before(self, agent_id: int, moment: float | None = None) -> AgentState:
        """The state the agent was in just before `moment` (None: the latest recorded),
        logged out if none was ever recorded."""
        row = self._db.execute(
            "SELECT state FROM agent_state_changes WHERE agent_id = ? AND (? IS NULL OR at < ?)"
            " ORDER BY at DESC, id DESC LIMIT 1",
            (agent_id, moment, moment),
        ).fetchone()
        return AgentState.LOGGED_OUT if row is None else AgentState(row["state"])

    def hand_off_counts(self, campaign_id: int, since: float) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT count(*) AS live,"
            " coalesce(sum(json_extract(variables, '$.DialCallStatus') = 'abandoned'), 0) AS lost"
            " FROM attempts WHERE campaign_id = ? AND state = 'finished' AND finished_at >= ?"
            " AND json_extract(variables, '$.DialCallStatus') IN ('completed', 'abandoned')",
            (campaign_id, since),
        ).fetchone()
        return int(row["live"]), int(row["lost"])

    def agent_stats(self, agent_id: int, start: float, end: float) -> AgentStats:
        """Time in each state over [start, end) from the history (the last state before
        `start` carries in, the last one runs to `end`: pass `min(end of day, now)` for
        today), calls taken (entries into on_call: one already up at `start` is not
        counted), talk time, and the dispositions recorded for attempts ending then."""
        if end < start:
            raise ValueError(f"the interval ends ({end}) before it starts ({start})")
        seconds = dict.fromkeys(AgentState, 0.0)
        state, since, calls = self._state_before(agent_id, start), start, 0
        for change in self.agent_state_history(agent_id, since=start, until=end):
            seconds[state] += change.at - since
            calls += change.state is AgentState.ON_CALL and state is not AgentState.ON_CALL
            state, since = change.state, change.at
        seconds[state] += end - since
        (dispositions,) = self._db.execute(
            "SELECT count(*) FROM attempts WHERE agent_id = ? AND disposition IS NOT NULL"
            " AND finished_at >= ? AND finished_at < ?",
            (agent_id, start, end),
        ).fetchone()
        return AgentStats(
            agent_id=agent_id,
            start=start,
            end=end,
            calls=calls,
            talk_s=seconds[AgentState.ON_CALL],
            dispositions=dispositions,
            seconds_in=seconds,
            state_at_end=state,
        )

    def agent_paused_by_reason(self, agent_id: int, start: float, end: float) -> dict[str, float]:
        """Time paused over [start, end), by the pause's reason, clipped as `agent_stats`
        is (a pause begun before `start` carries in with its reason, the last one runs to
        `end`), so the values sum to its `seconds_in[paused]`. A pause that lasted no time
        (paused and ready at the same instant) is left out; a pause with no reason is ""."""
        if end < start:
            raise ValueError(f"the interval ends ({end}) before it starts ({start})")
        paused: dict[str, float] = {}
        (state, reason), since = self._status_before(agent_id, start), start
        for change in self.agent_state_history(agent_id, since=start, until=end):
            if state is AgentState.PAUSED and change.at > since:
                paused[reason] = paused.get(reason, 0.0) + change.at - since
            (state, reason), since = (change.state, change.reason), change.at
        if state is AgentState.PAUSED and end > since:
            paused[reason] = paused.get(reason, 0.0) + end - since
        return paused

    def _status_before(self, agent_id: int, moment: float) -> tuple[AgentState, str]:
        """The state the agent was in just before `moment`, and its reason."""
        row = self._db.execute(
            "SELECT state, reason FROM agent_state_changes WHERE agent_id = ? AND at < ?"
            " ORDER BY at DESC, id DESC LIMIT 1",
            (agent_id, moment),
        ).fetchone()
        if row is None:
            return AgentState.LOGGED_OUT, ""
        return AgentState(row["state"]), row["reason"]

    # -- dispositions ------------------------------------------------------------------

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
    ) -> DispositionRecorded:
        """The agent's word on a finished call: `disposition` and `notes` are kept on the
        attempt (again by the same agent: a correction, replacing them), `variables` merge
        into the attempt's variables (the agent's value wins over the flow's).

        With the campaign's `rules`, the attempt is judged again as `after_attempt` would
        with the merged variables: when that meets the goal, a lead waiting for a retry or
        out of attempts because of this very attempt (its latest) is completed now. A lead
        already dialled again, or final otherwise, keeps its state; the ledger still has
        the disposition. The attempt's outcome itself is never rewritten.
        """
        disposition, notes = _disposition(disposition), _notes(notes)
        added = _variables(variables)
        with self._write() as db:
            attempt = self.get_attempt(attempt_id)
            self.get_agent(agent_id)
            if attempt.state is not AttemptState.FINISHED or attempt.result is None:
                raise DispositionRefused(attempt_id, "the call is still in progress")
            if attempt.agent_id not in (None, agent_id):
                raise DispositionRefused(attempt_id, f"agent {attempt.agent_id} took this call")
            result = replace(attempt.result, variables={**attempt.result.variables, **added})
            db.execute(
                "UPDATE attempts SET agent_id = ?, disposition = ?, notes = ?, variables = ?"
                " WHERE id = ?",
                (agent_id, disposition, notes, json.dumps(dict(result.variables)), attempt_id),
            )
            lead = self.get_lead(attempt.lead_id)
            goal_reached = rules is not None and self._goal_met(lead, attempt, result, rules, now)
            if goal_reached:
                self._move_lead(
                    lead, LeadEvent.MARK_COMPLETED, now, next_attempt_at=None, next_on_secondary=0
                )
        log.info(
            "attempt %d: disposition %r by agent %d%s",
            attempt_id,
            disposition,
            agent_id,
            ": goal reached, lead completed" if goal_reached else "",
        )
        return DispositionRecorded(
            self.get_attempt(attempt_id), self.get_lead(attempt.lead_id).state, goal_reached
        )

    def _goal_met(
        self, lead: Lead, attempt: Attempt, result: AttemptOutcome, rules: RetryRules, now: float
    ) -> bool:
        if rules.goal_variable is None or lead.removed_at is not None:
            return False
        if lead.state not in (LeadState.RESCHEDULED, LeadState.MAX_RETRIES):
            return False
        (latest,) = self._db.execute(
            "SELECT max(id) FROM attempts WHERE lead_id = ?", (lead.id,)
        ).fetchone()
        if latest != attempt.id:
            return False
        return after_attempt(rules, lead.attempts, result, now).event is LeadEvent.COMPLETE


def _credentials(extension: str, realm: str, password: str) -> HashedCredentials:
    if not realm.strip():
        raise InvalidAgent("the digest realm (agents.realm) cannot be blank")
    try:
        return make_credentials(extension, realm, password)
    except CredentialError as exc:
        raise InvalidAgent(str(exc)) from None


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise InvalidAgent(f"an agent's name is 1 to {_MAX_NAME} printable characters")
    return name


def _campaigns(campaigns: Sequence[int]) -> list[int]:
    return sorted(set(campaigns))


def _skills(skills: Sequence[str]) -> list[str]:
    cleaned = [skill.strip() for skill in skills]
    if not all(skill and skill.isprintable() for skill in cleaned):
        raise InvalidAgent("a skill is a non-blank word, such as spanish or billing")
    return list(dict.fromkeys(cleaned))  # first-seen order, no repeats


def _disposition(disposition: str) -> str:
    disposition = disposition.strip()
    if not disposition or len(disposition) > _MAX_DISPOSITION:
        raise InvalidAgent(f"a disposition is 1 to {_MAX_DISPOSITION} characters")
    return disposition


def _notes(notes: str) -> str:
    if len(notes) > _MAX_NOTES:
        raise InvalidAgent(f"notes are at most {_MAX_NOTES} characters")
    return notes


def _variables(variables: Mapping[str, str]) -> dict[str, str]:
    if not all(
        isinstance(v, str) and isinstance(k, str) and k.strip() for k, v in variables.items()
    ):
        raise InvalidAgent("variables are names (not blank) with text values")
    return dict(variables)


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        extension=row["extension"],
        campaigns=tuple(json.loads(row["campaigns"])),
        skills=tuple(json.loads(row["skills"])),
        realm=row["realm"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        removed_at=row["removed_at"],
    )
