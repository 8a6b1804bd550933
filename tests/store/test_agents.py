"""Agents in the SQLite store: records and their unique live extensions, soft removal,
credentials (scrypt login, SIP HA1s, a realm change), the state history and the
figures read from it, dispositions on finished attempts (variables merged, the goal
judged again), and the migration of a version 3 database that has data."""

from __future__ import annotations

import hashlib
import inspect
import shutil
import sqlite3
from pathlib import Path

import pytest

from dialer.agents.states import AgentState, AgentStateChange
from dialer.campaign.model import AttemptOutcome, CallOutcome, LeadEvent, LeadState
from dialer.campaign.policy import RetryRules, after_attempt
from dialer.contacts.record import ContactRecord
from dialer.store.migrate import MIGRATIONS_DIR
from dialer.store.repository import (
    Agent,
    AgentExists,
    DispositionRefused,
    InvalidAgent,
    NotFound,
    Repository,
)
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
REALM = "dialer.example"
PASSWORD = "Circle Of Life"
GOAL = RetryRules(max_attempts=3, retry_delay_s=600.0, goal_variable="confirmed")
ANSWERED = AttemptOutcome(CallOutcome.COMPLETED, 200, "bridged", variables={"Digits": "1"})
S = AgentState


@pytest.fixture
def ann(store: SqliteStore) -> Agent:
    return store.add_agent("Ann Lee", "1001", PASSWORD, REALM, skills=["spanish"], now=T0)


def lead_in(store: SqliteStore, campaign: int, phone: str = "+14155550100") -> int:
    store.import_contacts(campaign, [ContactRecord(2, "Ada", phone, None)], now=T0)
    return next(lead.id for lead in store.list_leads(campaign) if lead.phone == phone)


def answered_without_goal(store: SqliteStore, lead: int, at: float = T0) -> int:
    """An answered call whose flow did not set the goal: rescheduled, as the engine does."""
    attempt = store.begin_attempt(lead, "+14155550100", at)
    step = after_attempt(GOAL, store.get_lead(lead).attempts + 1, ANSWERED, at + 60)
    store.finish_attempt(
        attempt, ANSWERED, at + 60, then=step.event, next_attempt_at=step.next_attempt_at
    )
    return attempt


# -- records --------------------------------------------------------------------------


def test_the_store_has_every_method_of_the_protocol_with_its_parameters() -> None:
    declared = {
        name: member
        for name, member in vars(Repository).items()
        if callable(member) and not name.startswith("_")
    }
    assert {"add_agent", "record_disposition", "agent_stats"} <= set(declared)
    for name, member in declared.items():
        wanted = list(inspect.signature(member).parameters)
        assert list(inspect.signature(getattr(SqliteStore, name)).parameters) == wanted, name


def test_an_agent_round_trips(store: SqliteStore, campaign: int) -> None:
    other = store.create_campaign("autumn", now=T0)
    added = store.add_agent(
        "  Ann Lee ",
        "1001",
        PASSWORD,
        REALM,
        campaigns=[other, campaign, other],
        skills=["spanish", "billing", "spanish"],
        now=T0,
    )
    assert added == Agent(
        id=added.id,
        name="Ann Lee",
        extension="1001",
        campaigns=(campaign, other),
        skills=("spanish", "billing"),
        realm=REALM,
        created_at=T0,
        updated_at=T0,
        removed_at=None,
    )
    assert store.get_agent(added.id) == added
    assert store.agent_by_extension("1001") == added
    assert store.agent_by_extension("1002") is None
    assert store.list_agents() == [added]


def test_an_unknown_campaign_is_refused_and_nothing_is_added(store: SqliteStore) -> None:
    with pytest.raises(NotFound, match="campaign 99"):
        store.add_agent("Ann", "1001", PASSWORD, REALM, campaigns=[99], now=T0)
    assert store.list_agents() == []


@pytest.mark.parametrize(
    ("name", "extension", "password", "realm", "reason"),
    [
        ("", "1001", PASSWORD, REALM, "name"),
        ("   ", "1001", PASSWORD, REALM, "name"),
        ("An\nn", "1001", PASSWORD, REALM, "name"),
        ("Ann", "1", PASSWORD, REALM, "2 to 10 digits"),
        ("Ann", "10x1", PASSWORD, REALM, "2 to 10 digits"),
        ("Ann", "1001", "short", REALM, "at least 8 characters"),
        ("Ann", "1001", PASSWORD, " ", "realm"),
    ],
)
def test_bad_fields_are_refused_with_the_reason(
    store: SqliteStore, name: str, extension: str, password: str, realm: str, reason: str
) -> None:
    with pytest.raises(InvalidAgent, match=reason):
        store.add_agent(name, extension, password, realm, now=T0)
    assert store.list_agents() == []


def test_the_database_itself_refuses_a_bad_extension(store: SqliteStore, ann: Agent) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        store._db.execute("UPDATE agents SET extension = '10a1' WHERE id = ?", (ann.id,))


def test_a_live_extension_is_unique(store: SqliteStore, ann: Agent) -> None:
    with pytest.raises(AgentExists, match="1001"):
        store.add_agent("Bob", "1001", "another password", REALM, now=T0)
    assert store.list_agents() == [ann]


def test_removal_keeps_the_agent_and_frees_the_extension(store: SqliteStore, ann: Agent) -> None:
    store.remove_agent(ann.id, now=T0 + 10)
    gone = store.get_agent(ann.id)
    assert gone.removed_at == T0 + 10 and gone.name == "Ann Lee"
    assert store.list_agents() == []
    assert store.list_agents(include_removed=True) == [gone]
    assert store.agent_by_extension("1001") is None
    assert store.agent_secrets("1001") is None
    assert store.check_agent_login("1001", PASSWORD) is None
    bob = store.add_agent("Bob", "1001", "another password", REALM, now=T0 + 20)
    assert bob.id != ann.id and store.agent_by_extension("1001") == bob
    for change in (
        lambda: store.remove_agent(ann.id, now=T0),
        lambda: store.update_agent(ann.id, name="Ann", now=T0),
        lambda: store.set_agent_password(ann.id, PASSWORD, REALM, now=T0),
    ):
        with pytest.raises(NotFound):
            change()


def test_removal_logs_out_an_agent_who_was_not(store: SqliteStore, ann: Agent) -> None:
    bob = store.add_agent("Bob", "1002", PASSWORD, REALM, now=T0)
    store.record_agent_states(
        [
            AgentStateChange(ann.id, S.PAUSED, T0 + 1),
            AgentStateChange(ann.id, S.READY, T0 + 2),
            AgentStateChange(bob.id, S.PAUSED, T0 + 1),
            AgentStateChange(bob.id, S.LOGGED_OUT, T0 + 2),
        ]
    )
    store.remove_agent(ann.id, now=T0 + 50)
    store.remove_agent(bob.id, now=T0 + 50)
    history = store.agent_state_history(ann.id, since=T0, until=T0 + 100)
    assert history[-1] == AgentStateChange(ann.id, S.LOGGED_OUT, T0 + 50, "agent removed")
    assert len(store.agent_state_history(bob.id, since=T0, until=T0 + 100)) == 2  # nothing added


def test_update_changes_only_what_is_given(store: SqliteStore, campaign: int, ann: Agent) -> None:
    renamed = store.update_agent(ann.id, name="Ann Smith", now=T0 + 5)
    assert (renamed.name, renamed.skills, renamed.updated_at) == ("Ann Smith", ("spanish",), T0 + 5)
    limited = store.update_agent(ann.id, campaigns=[campaign], skills=[], now=T0 + 6)
    assert (limited.name, limited.campaigns, limited.skills) == ("Ann Smith", (campaign,), ())
    assert store.update_agent(ann.id, campaigns=(), now=T0 + 7).campaigns == ()  # any campaign
    with pytest.raises(NotFound, match="campaign 99"):
        store.update_agent(ann.id, name="Nope", campaigns=[99], now=T0 + 8)
    assert store.get_agent(ann.id).name == "Ann Smith"  # the transaction held it all
    with pytest.raises(InvalidAgent):
        store.update_agent(ann.id, skills=[" "], now=T0 + 9)
    with pytest.raises(NotFound):
        store.update_agent(999, name="x", now=T0)


# -- credentials ----------------------------------------------------------------------


def test_secrets_are_the_ha1s_and_stay_out_of_reprs(store: SqliteStore, ann: Agent) -> None:
    secrets = store.agent_secrets("1001")
    assert secrets is not None
    text = f"1001:{REALM}:{PASSWORD}".encode()
    assert (secrets.agent_id, secrets.username, secrets.realm) == (ann.id, "1001", REALM)
    assert secrets.ha1_md5 == hashlib.md5(text).hexdigest()
    assert secrets.ha1_sha256 == hashlib.sha256(text).hexdigest()
    assert secrets.ha1("MD5") == secrets.ha1("md5-sess") == secrets.ha1_md5
    assert secrets.ha1("SHA-256-sess") == secrets.ha1_sha256
    with pytest.raises(ValueError, match="SHA-512"):
        secrets.ha1("SHA-512")
    stored_hash = store._db.execute("SELECT password_hash FROM agents").fetchone()[0]
    shown = repr(secrets) + repr(ann) + str(store.get_agent(ann.id))
    for secret in (secrets.ha1_md5, secrets.ha1_sha256, stored_hash, PASSWORD):
        assert secret not in shown
    assert store.agent_secrets("1002") is None


def test_no_password_is_stored_and_no_secret_is_logged(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    store = SqliteStore(db_path)
    agent = store.add_agent("Ann", "1001", PASSWORD, REALM, now=T0)
    store.set_agent_password(agent.id, "a new password", REALM, now=T0)
    store.check_agent_login("1001", "a wrong password")
    secrets = store.agent_secrets("1001")
    store.close()
    assert secrets is not None
    assert PASSWORD.encode() not in db_path.read_bytes()
    logged = caplog.text
    assert "agent 1" in logged
    for secret in (PASSWORD, "a new password", "a wrong password", secrets.ha1_md5, "scrypt$"):
        assert secret not in logged


def test_login_checks_the_console_password(store: SqliteStore, ann: Agent) -> None:
    assert store.check_agent_login("1001", PASSWORD) == ann
    assert store.check_agent_login("1001", PASSWORD.lower()) is None
    assert store.check_agent_login("1001", "") is None


def test_an_unknown_extension_costs_a_hash_like_a_wrong_password(
    store: SqliteStore, ann: Agent, scrypt_calls: list[bool]
) -> None:
    assert store.check_agent_login("1001", "wrong password") is None
    assert len(scrypt_calls) == 1
    for unknown in ("1002", "not an extension", ""):
        assert store.check_agent_login(unknown, "wrong password") is None
    assert len(scrypt_calls) == 4  # one each, as for the known extension


def test_hashing_happens_outside_the_write_transaction(
    store: SqliteStore, scrypt_calls: list[bool]
) -> None:
    agent = store.add_agent("Ann", "1001", PASSWORD, REALM, now=T0)
    store.set_agent_password(agent.id, "a new password", REALM, now=T0)
    store.check_agent_login("1001", "a new password")
    assert scrypt_calls == [False, False, False]


def test_a_new_password_replaces_both_kinds_of_secret(store: SqliteStore, ann: Agent) -> None:
    before = store.agent_secrets("1001")
    changed = store.set_agent_password(ann.id, "a new password", REALM, now=T0 + 5)
    after = store.agent_secrets("1001")
    assert before is not None and after is not None
    assert changed.updated_at == T0 + 5
    assert after.ha1_md5 == hashlib.md5(f"1001:{REALM}:a new password".encode()).hexdigest()
    assert after.ha1_sha256 != before.ha1_sha256
    assert store.check_agent_login("1001", PASSWORD) is None
    assert store.check_agent_login("1001", "a new password") == changed
    with pytest.raises(InvalidAgent, match="at least 8"):
        store.set_agent_password(ann.id, "short", REALM, now=T0 + 6)
    assert store.check_agent_login("1001", "a new password") is not None


def test_a_realm_change_makes_the_credentials_stale_until_a_reset(
    store: SqliteStore, ann: Agent
) -> None:
    assert not ann.credentials_stale(REALM)
    assert ann.credentials_stale("sip.example")  # the config's realm changed
    reset = store.set_agent_password(ann.id, PASSWORD, "sip.example", now=T0 + 5)
    assert not reset.credentials_stale("sip.example")
    secrets = store.agent_secrets("1001")
    assert secrets is not None and secrets.realm == "sip.example"
    assert secrets.ha1_md5 == hashlib.md5(f"1001:sip.example:{PASSWORD}".encode()).hexdigest()


# -- states ---------------------------------------------------------------------------


def test_state_history_round_trips_in_order_within_bounds(store: SqliteStore, ann: Agent) -> None:
    changes = [
        AgentStateChange(ann.id, S.PAUSED, T0 + 10),
        AgentStateChange(ann.id, S.READY, T0 + 20),
        AgentStateChange(ann.id, S.PAUSED, T0 + 20, "lunch"),  # same instant: kept in order
        AgentStateChange(ann.id, S.LOGGED_OUT, T0 + 90, "registration expired"),
    ]
    store.record_agent_states(changes[3:])
    store.record_agent_states(changes[:3])  # arrives late: ordered by time all the same
    history = store.agent_state_history(ann.id, since=T0, until=T0 + 100)
    assert [(c.state, c.at) for c in history] == [(c.state, c.at) for c in changes]
    assert history[3] == changes[3] and isinstance(history[0].state, AgentState)
    assert store.agent_state_history(ann.id, since=T0 + 20, until=T0 + 90) == [
        AgentStateChange(ann.id, S.READY, T0 + 20),
        AgentStateChange(ann.id, S.PAUSED, T0 + 20, "lunch"),
    ]  # since inclusive, until exclusive
    with pytest.raises(NotFound):
        store.agent_state_history(999, since=T0, until=T0 + 1)


def test_states_for_an_unknown_agent_write_nothing(store: SqliteStore, ann: Agent) -> None:
    with pytest.raises(NotFound, match="agent 999"):
        store.record_agent_states(
            [AgentStateChange(ann.id, S.PAUSED, T0), AgentStateChange(999, S.PAUSED, T0)]
        )
    assert store.agent_state_history(ann.id, since=0, until=T0 + 1) == []


def test_stats_from_the_history(store: SqliteStore, campaign: int, ann: Agent) -> None:
    day = T0 + 86_400
    store.record_agent_states(
        [
            AgentStateChange(ann.id, S.PAUSED, day - 600),  # logged in before the day began
            AgentStateChange(ann.id, S.READY, day - 300),
            AgentStateChange(ann.id, S.RESERVED, day + 100),
            AgentStateChange(ann.id, S.ON_CALL, day + 105),
            AgentStateChange(ann.id, S.WRAP_UP, day + 165),
            AgentStateChange(ann.id, S.READY, day + 175, "wrap-up over"),
            AgentStateChange(ann.id, S.RESERVED, day + 200),
            AgentStateChange(ann.id, S.ON_CALL, day + 202),
            AgentStateChange(ann.id, S.ON_CALL, day + 300),  # recorded twice: one call
            AgentStateChange(ann.id, S.PAUSED, day + 1000, "lunch"),  # after the interval
        ]
    )
    stats = store.agent_stats(ann.id, day, day + 500)
    assert (stats.calls, stats.talk_s) == (2, 60 + 298)
    assert stats.seconds_in == {
        S.LOGGED_OUT: 0.0,
        S.READY: 100 + 25,  # carried in from before the day
        S.RESERVED: 5 + 2,
        S.ON_CALL: 60 + 298,  # the second call still up at the end
        S.WRAP_UP: 10,
        S.PAUSED: 0.0,
    }
    assert sum(stats.seconds_in.values()) == 500
    assert stats.state_at_end is S.ON_CALL
    assert (stats.start, stats.end, stats.agent_id, stats.dispositions) == (
        day,
        day + 500,
        ann.id,
        0,
    )
    mid_call = store.agent_stats(ann.id, day + 110, day + 120)
    assert (mid_call.calls, mid_call.talk_s) == (0, 10)  # began before the interval


def test_stats_of_an_agent_never_seen_and_of_a_bad_interval(store: SqliteStore, ann: Agent) -> None:
    stats = store.agent_stats(ann.id, T0, T0 + 60)
    assert stats.seconds_in[S.LOGGED_OUT] == 60 and stats.calls == 0
    with pytest.raises(ValueError, match="before it starts"):
        store.agent_stats(ann.id, T0, T0 - 1)
    with pytest.raises(NotFound):
        store.agent_stats(999, T0, T0 + 1)


# -- dispositions ---------------------------------------------------------------------


def test_a_disposition_only_for_a_finished_attempt(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    attempt = store.begin_attempt(lead_in(store, campaign), "+14155550100", T0)
    with pytest.raises(DispositionRefused, match="still in progress"):
        store.record_disposition(attempt, ann.id, "sale", "", {}, now=T0 + 5)
    assert store.get_attempt(attempt).disposition is None
    with pytest.raises(NotFound):
        store.record_disposition(999, ann.id, "sale", "", {}, now=T0)
    with pytest.raises(NotFound):
        store.record_disposition(attempt, 999, "sale", "", {}, now=T0)


def test_a_disposition_merges_its_variables_into_the_attempt(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    lead = lead_in(store, campaign)
    attempt = answered_without_goal(store, lead)
    recorded = store.record_disposition(
        attempt, ann.id, " callback ", "wants Tuesday", {"Digits": "2", "slot": "tue"}, now=T0 + 90
    )
    assert recorded.attempt == store.get_attempt(attempt)
    assert (recorded.attempt.agent_id, recorded.attempt.disposition) == (ann.id, "callback")
    assert recorded.attempt.notes == "wants Tuesday"
    assert recorded.attempt.result is not None
    assert recorded.attempt.result.variables == {"Digits": "2", "slot": "tue"}  # agent wins
    assert recorded.attempt.result.outcome is CallOutcome.COMPLETED  # the outcome stays
    assert (recorded.lead_state, recorded.goal_reached) == (LeadState.RESCHEDULED, False)
    assert store.list_attempts(campaign)[0].disposition == "callback"


def test_a_correction_by_the_same_agent_and_a_refusal_for_another(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    bob = store.add_agent("Bob", "1002", PASSWORD, REALM, now=T0)
    attempt = answered_without_goal(store, lead_in(store, campaign))
    store.record_disposition(attempt, ann.id, "callback", "x", {"slot": "tue"}, now=T0 + 90)
    again = store.record_disposition(attempt, ann.id, "sale", "y", {"plan": "gold"}, now=T0 + 95)
    assert (again.attempt.disposition, again.attempt.notes) == ("sale", "y")
    assert again.attempt.result is not None
    assert again.attempt.result.variables == {"Digits": "1", "slot": "tue", "plan": "gold"}
    with pytest.raises(DispositionRefused, match=f"agent {ann.id} took this call"):
        store.record_disposition(attempt, bob.id, "no sale", "", {}, now=T0 + 99)
    assert store.get_attempt(attempt).disposition == "sale"


@pytest.mark.parametrize(
    ("disposition", "notes", "variables"),
    [("", "", {}), ("x" * 65, "", {}), ("sale", "n" * 10_001, {}), ("sale", "", {" ": "v"})],
)
def test_bad_dispositions_are_refused(
    store: SqliteStore,
    campaign: int,
    ann: Agent,
    disposition: str,
    notes: str,
    variables: dict[str, str],
) -> None:
    attempt = answered_without_goal(store, lead_in(store, campaign))
    with pytest.raises(InvalidAgent):
        store.record_disposition(attempt, ann.id, disposition, notes, variables, now=T0 + 90)
    assert store.get_attempt(attempt).disposition is None


def test_a_disposition_that_meets_the_goal_completes_the_lead(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    lead = lead_in(store, campaign)
    attempt = answered_without_goal(store, lead)
    assert store.get_lead(lead).state is LeadState.RESCHEDULED
    recorded = store.record_disposition(
        attempt, ann.id, "sale", "", {"confirmed": "true"}, now=T0 + 90, rules=GOAL
    )
    assert (recorded.lead_state, recorded.goal_reached) == (LeadState.COMPLETED, True)
    completed = store.get_lead(lead)
    assert (completed.state, completed.next_attempt_at, completed.attempts) == (
        LeadState.COMPLETED,
        None,
        1,
    )
    assert store.due_leads(campaign, T0 + 10**6, 10) == []


def test_the_goal_is_judged_only_when_asked_and_only_when_met(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    lead = lead_in(store, campaign)
    attempt = answered_without_goal(store, lead)
    unjudged = store.record_disposition(attempt, ann.id, "sale", "", {"confirmed": "true"}, now=T0)
    assert (unjudged.lead_state, unjudged.goal_reached) == (LeadState.RESCHEDULED, False)
    missed = store.record_disposition(
        attempt, ann.id, "no", "", {"confirmed": "no"}, now=T0, rules=GOAL
    )
    assert (missed.lead_state, missed.goal_reached) == (LeadState.RESCHEDULED, False)
    without_goal = RetryRules(max_attempts=3)
    other = store.record_disposition(
        attempt, ann.id, "x", "", {"confirmed": "true"}, now=T0, rules=without_goal
    )
    assert other.lead_state is LeadState.RESCHEDULED  # no goal: nothing to meet


def test_the_goal_completes_a_lead_out_of_attempts_by_that_attempt(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    lead = lead_in(store, campaign)
    last = RetryRules(max_attempts=1, goal_variable="confirmed")
    attempt = store.begin_attempt(lead, "+14155550100", T0)
    store.finish_attempt(attempt, ANSWERED, T0 + 60, then=LeadEvent.EXHAUST)
    recorded = store.record_disposition(
        attempt, ann.id, "sale", "", {"confirmed": "true"}, now=T0 + 90, rules=last
    )
    assert (recorded.lead_state, recorded.goal_reached) == (LeadState.COMPLETED, True)


def test_a_lead_dialled_again_since_keeps_its_state(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    lead = lead_in(store, campaign)
    first = answered_without_goal(store, lead)
    second = store.begin_attempt(lead, "+14155550100", T0 + 700)  # the retry is up
    recorded = store.record_disposition(
        first, ann.id, "sale", "", {"confirmed": "true"}, now=T0 + 710, rules=GOAL
    )
    assert (recorded.lead_state, recorded.goal_reached) == (LeadState.PROCESSING, False)
    store.finish_attempt(
        second, AttemptOutcome(CallOutcome.BUSY), T0 + 720, then=LeadEvent.RESCHEDULE
    )
    late = store.record_disposition(
        first, ann.id, "sale", "", {"confirmed": "true"}, now=T0 + 730, rules=GOAL
    )
    assert (late.lead_state, late.goal_reached) == (LeadState.RESCHEDULED, False)  # not latest


def test_dispositions_count_in_the_agent_s_figures(
    store: SqliteStore, campaign: int, ann: Agent
) -> None:
    attempt = answered_without_goal(store, lead_in(store, campaign))  # finished at T0 + 60
    store.record_disposition(attempt, ann.id, "sale", "", {}, now=T0 + 90)
    assert store.agent_stats(ann.id, T0, T0 + 61).dispositions == 1
    assert store.agent_stats(ann.id, T0 + 61, T0 + 100).dispositions == 0


# -- migration ------------------------------------------------------------------------


def test_a_version_3_database_with_data_migrates_to_4(db_path: Path, tmp_path: Path) -> None:
    old = tmp_path / "v3"
    old.mkdir()
    for script in sorted(MIGRATIONS_DIR.glob("000[123]_*.sql")):
        shutil.copy(script, old / script.name)
    SqliteStore(db_path, migrations_dir=old).close()
    with sqlite3.connect(db_path, isolation_level=None) as v3:  # data as version 3 wrote it
        assert v3.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 3
        v3.execute(
            "INSERT INTO campaigns (id, name, created_at, updated_at) VALUES (1, 'spring', ?, ?)",
            (T0, T0),
        )
        v3.execute(
            "INSERT INTO leads (id, campaign_id, name, phone, state, attempts, next_attempt_at,"
            " created_at, updated_at) VALUES (1, 1, 'Ada', '+14155550100', 'rescheduled', 1,"
            " ?, ?, ?)",
            (T0 + 660, T0, T0),
        )
        v3.execute(
            "INSERT INTO attempts (id, lead_id, campaign_id, number, state, started_at, outcome,"
            " sip_code, reason, variables, duration_s, finished_at) VALUES (1, 1, 1,"
            " '+14155550100', 'finished', ?, 'completed', 200, 'bridged', '{\"Digits\": \"1\"}',"
            " 55.0, ?)",
            (T0, T0 + 60),
        )
    campaign, lead, attempt = 1, 1, 1

    after = SqliteStore(db_path)
    assert after.schema_version == len(list(MIGRATIONS_DIR.glob("*.sql")))  # 4 and later ones
    migrated = after.get_attempt(attempt)
    assert migrated.result == AttemptOutcome(
        CallOutcome.COMPLETED, 200, "bridged", variables={"Digits": "1"}, duration_s=55.0
    )
    assert (migrated.campaign_id, migrated.started_at, migrated.finished_at) == (
        campaign,
        T0,
        T0 + 60,
    )
    assert (migrated.agent_id, migrated.disposition, migrated.notes) == (None, None, None)
    assert after.get_lead(lead).state is LeadState.RESCHEDULED
    agent = after.add_agent("Ann", "1001", PASSWORD, REALM, now=T0)
    recorded = after.record_disposition(
        attempt, agent.id, "sale", "", {"confirmed": "true"}, now=T0 + 90, rules=GOAL
    )
    assert recorded.goal_reached
    indexes = {
        row[0] for row in after._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {"agents_live_extension", "agent_state_changes_by_agent", "attempts_by_agent"} <= indexes
    after.close()


def test_hand_off_counts_are_the_abandonment_meter(store: SqliteStore, campaign: int) -> None:
    statuses = ["completed", "abandoned", "completed", None]  # None: never handed to agents
    for i, status in enumerate(statuses):
        phone = f"+1415555020{i}"
        lead = lead_in(store, campaign, phone)
        attempt = store.begin_attempt(lead, phone, T0 + i)
        variables = {"DialCallStatus": status} if status else {}
        outcome = AttemptOutcome(CallOutcome.COMPLETED, 200, "", variables=variables)
        store.finish_attempt(attempt, outcome, T0 + 100 * i, then=LeadEvent.COMPLETE)
    assert store.hand_off_counts(campaign, since=T0) == (3, 1)
    assert store.hand_off_counts(campaign, since=T0 + 150) == (1, 0)  # the older two are out
    assert store.hand_off_counts(campaign + 1, since=T0) == (0, 0)
