"""The wallboard and the agents' activity report over the API, on a real store with hand-made
state histories and the live pool driven by hand, its clock fixed: exact seconds, removed
agents, the CSV, and refusals (roles, bad periods, a bad zone)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialer.agents.pool import AgentSeat
from dialer.agents.states import AgentState, AgentStateChange
from dialer.agents.wallboard import local_midnight
from dialer.campaign.compliance import wall_time_instant
from dialer.campaign.model import LeadEvent
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Repository
from dialer.web.state import AGENTS
from tests.web.api.harness import PASSWORD, Api
from tests.web.api.test_stats_api import answered

S = AgentState
REALM = "dialer.example"
NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2027, 3, 2)  # a Tuesday, in New York
DAY_START = wall_time_instant(DAY, time(0), NEW_YORK).timestamp()
ROUTES = ("/api/agents/live", "/api/agents/report", "/api/agents/report.csv")
PERIOD = {"from": "2027-03-02", "to": "2027-03-02", "zone": "America/New_York"}


def moves(store: Repository, agent_id: int, base: float, *steps: tuple[float, S, str]) -> None:
    store.record_agent_states([AgentStateChange(agent_id, s, base + at, r) for at, s, r in steps])


def a_disposition(store: Repository, agent_id: int, finished_at: float) -> None:
    """A call the agent took, ended at `finished_at`, with their disposition."""
    campaign = store.create_campaign("Sales", now=finished_at - 600)
    store.import_contacts(campaign, [ContactRecord(2, "Ada", "+14155550100", None)],
                          now=finished_at - 600)  # fmt: skip
    (lead,) = store.list_leads(campaign)
    attempt = store.begin_attempt(lead.id, "+14155550100", finished_at - 400)
    store.finish_attempt(attempt, answered(300.0), finished_at, then=LeadEvent.COMPLETE)
    store.record_disposition(attempt, agent_id, "sale", "", {}, now=finished_at + 20)


# -- the wallboard --------------------------------------------------------------------


async def test_the_wallboard_has_each_agent_now_and_today(api: Api) -> None:
    midnight = local_midnight(DAY_START + 12 * 3600)  # the server's day, in its own zone
    now = midnight + 10 * 3600
    api.client.server.app[AGENTS].wall_clock = lambda: now

    def agents(store: Repository) -> list[int]:
        ann = store.add_agent("Ann Lee", "1001", PASSWORD, REALM, now=midnight - 86_400)
        bob = store.add_agent("Bob Ray", "1002", PASSWORD, REALM, now=midnight - 86_400)
        cy = store.add_agent("Cy Cole", "1003", PASSWORD, REALM, now=midnight - 86_400)
        gone = store.add_agent("Dee Gone", "1004", PASSWORD, REALM, now=midnight - 86_400)
        moves(store, ann.id, midnight,
              (-3600, S.PAUSED, "phone registered"),  # logged in yesterday: carried into today
              (-3600, S.READY, ""),
              (1000, S.RESERVED, ""), (1005, S.ON_CALL, ""), (1305, S.WRAP_UP, ""),
              (1325, S.READY, ""), (30_000, S.PAUSED, "lunch"))  # fmt: skip
        moves(store, bob.id, midnight, (34_000, S.PAUSED, "phone registered"),
              (34_000, S.READY, ""), (35_000, S.RESERVED, ""), (35_010, S.ON_CALL, ""))  # fmt: skip
        store.remove_agent(gone.id, now=midnight - 60)
        return [ann.id, bob.id, cy.id]

    ann, bob, cy = await api.store.run(agents)
    pool = api.client.server.app[AGENTS].pool
    pool.seat(AgentSeat(ann, "Ann Lee", "1001"))
    pool.seat(AgentSeat(bob, "Bob Ray", "1002"))
    pool.log_in(ann, midnight - 3600)
    pool.ready(ann, midnight - 3600)
    pool.pause(ann, midnight + 30_000, "lunch")
    pool.log_in(bob, midnight + 34_000)
    pool.ready(bob, midnight + 34_000)
    assert pool.reserve_agent(bob, midnight + 35_000, "a person answered")
    pool.connect(bob, midnight + 35_010)

    answer = await api.client.get("/api/agents/live", headers=api.auth("manager"))
    assert answer.status == 200, await answer.text()
    board = await answer.json()
    assert (board["at"], board["day_start"], board["total"]) == (now, midnight, 3)
    assert board["by_state"] == {"logged_out": 1, "ready": 0, "reserved": 0, "on_call": 1,
                                 "wrap_up": 0, "paused": 1}  # fmt: skip
    first, second, third = board["agents"]
    assert {k: first[k] for k in ("id", "name", "extension", "state", "reason", "since",
                                  "in_state_s")} == {
        "id": ann, "name": "Ann Lee", "extension": "1001", "state": "paused",
        "reason": "lunch", "since": midnight + 30_000, "in_state_s": 6000.0,
    }  # fmt: skip
    # Today from midnight: ready 1000 + (30000 - 1325), one call of 300 s, 20 s wrap-up,
    # lunch until now; logged in all day (36000 s), 325 s busy.
    assert first["today"] == {
        "logged_in_s": 36_000.0, "ready_s": 1000.0 + 28_675, "reserved_s": 5.0,
        "on_call_s": 300.0, "wrap_up_s": 20.0, "paused_s": 6000.0,
        "paused_by_reason": {"lunch": 6000.0}, "calls": 1, "talk_s": 300.0,
        "dispositions": 0, "mean_talk_s": 300.0, "occupancy": round(325 / 36_000, 4),
        "contacts_per_hour": 0.1,
    }  # fmt: skip
    assert (second["id"], second["state"], second["since"], second["in_state_s"]) == (
        bob, "on_call", midnight + 35_010, 990.0
    )  # fmt: skip
    assert (second["today"]["calls"], second["today"]["on_call_s"]) == (1, 990.0)
    assert second["today"]["occupancy"] == round(1000 / 2000, 4)
    # Cy is in the store but not seated: logged out, since unknown, nothing today.
    assert {k: third[k] for k in ("id", "state", "reason", "since", "in_state_s")} == {
        "id": cy, "state": "logged_out", "reason": "", "since": None, "in_state_s": None
    }  # fmt: skip
    assert third["today"]["logged_in_s"] == 0 and third["today"]["occupancy"] is None

    # The board follows the pool: Ann back from lunch.
    pool.ready(ann, now)
    board = await (await api.client.get("/api/agents/live", headers=api.auth("manager"))).json()
    assert (board["agents"][0]["state"], board["agents"][0]["in_state_s"]) == ("ready", 0.0)
    assert board["by_state"]["ready"] == 1 and board["by_state"]["paused"] == 0


async def test_an_empty_wallboard(api: Api) -> None:
    answer = await api.client.get("/api/agents/live", headers=api.auth("admin"))
    board = await answer.json()
    assert (board["agents"], board["total"], set(board["by_state"].values())) == ([], 0, {0})


# -- the report -----------------------------------------------------------------------


def the_period(store: Repository, day_start: float = DAY_START) -> dict[str, int]:
    """A day (March 2 in New York): Ann all day (a pause carried in from the night before,
    two calls, lunch, a disposition), Bob briefly (removed since), Cy removed before, idle
    Dee; and activity the day after, outside the period. The agents' ids, by name."""
    made = day_start - 30 * 86_400
    ids = {name: store.add_agent(name, f"10{i}", PASSWORD, REALM, now=made).id
           for i, name in enumerate(("Ann", "Bob", "Cy", "Dee"), start=10)}  # fmt: skip
    moves(store, ids["Ann"], day_start,
          (-1800, S.PAUSED, "meeting"),  # the period starts mid-pause
          (600, S.READY, ""),
          (1000, S.RESERVED, ""), (1010, S.ON_CALL, ""), (1310, S.WRAP_UP, ""),
          (1340, S.READY, ""),
          (3600, S.PAUSED, "lunch"), (5400, S.READY, ""),
          (6000, S.RESERVED, ""), (6002, S.ON_CALL, ""), (6102, S.WRAP_UP, ""),
          (6200, S.LOGGED_OUT, "phone unregistered"),
          (90_000, S.PAUSED, "phone registered"), (90_000, S.READY, ""))  # fmt: skip
    a_disposition(store, ids["Ann"], day_start + 1310)
    moves(store, ids["Bob"], day_start, (100, S.READY, ""), (700, S.LOGGED_OUT, ""))
    store.remove_agent(ids["Bob"], now=day_start + 3 * 86_400)
    store.remove_agent(ids["Cy"], now=day_start - 86_400)
    return ids


# Ann over the day: paused 600 (meeting) + 1800 (lunch); ready 400 + 2260 + 600; reserved
# 10 + 2; on call 300 + 100; wrap-up 30 + 98: 6200 s logged in, 540 s of it busy.
ANN = {
    "logged_in_s": 6200.0, "ready_s": 3260.0, "reserved_s": 12.0, "on_call_s": 400.0,
    "wrap_up_s": 128.0, "paused_s": 2400.0,
    "paused_by_reason": {"lunch": 1800.0, "meeting": 600.0}, "calls": 2, "talk_s": 400.0,
    "dispositions": 1, "mean_talk_s": 200.0, "occupancy": round(540 / 6200, 4),
    "contacts_per_hour": round(2 / (6200 / 3600), 2),
}  # fmt: skip


async def test_the_report_has_a_row_per_agent_active_or_live(api: Api) -> None:
    api.client.server.app[AGENTS].wall_clock = lambda: DAY_START + 100 * 86_400
    ids = await api.store.run(the_period)
    answer = await api.client.get("/api/agents/report", params=PERIOD,
                                  headers=api.auth("manager"))  # fmt: skip
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    assert {k: report[k] for k in ("from", "to", "zone", "start", "end", "total")} == {
        "from": "2027-03-02", "to": "2027-03-02", "zone": "America/New_York",
        "start": "2027-03-02T05:00:00Z", "end": "2027-03-03T05:00:00Z", "total": 3,
    }  # fmt: skip
    ann, bob, dee = report["agents"]  # Cy: removed, and nothing in the period
    assert ann == {"id": ids["Ann"], "name": "Ann", "extension": "1010", "removed_at": None,
                   **ANN}  # fmt: skip
    assert (bob["id"], bob["removed_at"], bob["logged_in_s"], bob["ready_s"]) == (
        ids["Bob"], "2027-03-05T05:00:00Z", 600.0, 600.0
    )  # fmt: skip
    assert (bob["occupancy"], bob["mean_talk_s"], bob["contacts_per_hour"]) == (0.0, None, 0.0)
    assert (dee["id"], dee["logged_in_s"], dee["occupancy"]) == (ids["Dee"], 0.0, None)
    totals = report["totals"]
    assert (totals["logged_in_s"], totals["calls"], totals["dispositions"]) == (6800.0, 2, 1)
    assert totals["occupancy"] == round(540 / 6800, 4)

    # Two days: the day after adds Ann's login at 90000 s, ready until the period's end.
    two_days = PERIOD | {"to": "2027-03-03"}
    report = await (await api.client.get("/api/agents/report", params=two_days,
                                         headers=api.auth("manager"))).json()  # fmt: skip
    assert report["agents"][0]["ready_s"] == 3260 + (2 * 86_400 - 90_000)


async def test_a_report_that_reaches_now_stops_there(api: Api) -> None:
    api.client.server.app[AGENTS].wall_clock = lambda: DAY_START + 3000
    await api.store.run(the_period)
    report = await (await api.client.get("/api/agents/report", params=PERIOD,
                                         headers=api.auth("manager"))).json()  # fmt: skip
    assert report["end"] == "2027-03-02T05:50:00Z"
    ann = report["agents"][0]
    assert (ann["logged_in_s"], ann["paused_by_reason"], ann["calls"]) == (
        3000.0, {"meeting": 600.0}, 1
    )  # fmt: skip


async def test_the_report_as_csv(api: Api) -> None:
    api.client.server.app[AGENTS].wall_clock = lambda: DAY_START + 100 * 86_400
    ids = await api.store.run(the_period)
    await api.store.run(lambda s: s.update_agent(ids["Dee"], name="=1+1", now=DAY_START))
    answer = await api.client.get("/api/agents/report.csv", params=PERIOD,
                                  headers=api.auth("manager"))  # fmt: skip
    assert answer.status == 200, await answer.text()
    assert answer.content_type == "text/csv" and answer.charset == "utf-8"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="agents-2027-03-02-to-2027-03-02.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [row["agent_id"] for row in rows] == [str(ids[n]) for n in ("Ann", "Bob", "Dee")]
    ann = rows[0]
    assert {k: ann[k] for k in ("name", "logged_in_s", "ready_s", "reserved_s", "on_call_s",
                                "wrap_up_s", "paused_s", "paused_s (lunch)",
                                "paused_s (meeting)", "calls", "dispositions", "mean_talk_s",
                                "occupancy", "contacts_per_hour")} == {
        "name": "Ann", "logged_in_s": "6200.0", "ready_s": "3260.0", "reserved_s": "12.0",
        "on_call_s": "400.0", "wrap_up_s": "128.0", "paused_s": "2400.0",
        "paused_s (lunch)": "1800.0", "paused_s (meeting)": "600.0", "calls": "2",
        "dispositions": "1", "mean_talk_s": "200.0", "occupancy": "0.0871",
        "contacts_per_hour": "1.16",
    }  # fmt: skip
    assert rows[1]["removed_at"] == "2027-03-05T05:00:00Z" and rows[1]["mean_talk_s"] == ""
    assert rows[2]["name"] == "'=1+1"  # a formula made inert


# -- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
async def test_only_managers_and_admins_read_them(api: Api, route: str) -> None:
    params = PERIOD if "report" in route else {}
    for role, status in ((None, 401), ("agent", 403), ("manager", 200), ("admin", 200)):
        answer = await api.client.get(route, params=params, headers=api.auth(role))
        assert answer.status == status, (role, await answer.text())


@pytest.mark.parametrize(
    ("params", "at", "message"),
    [
        ({"from": "2027-03-02", "to": "2027-03-01"}, "query.to", "must not be before from"),
        ({"from": "2027-01-01", "to": "2028-01-02"}, "query.to", "at most 366 days"),
        ({"from": "2027-02-30", "to": "2027-03-01"}, "query.from", "must be a date"),
        ({"from": "2027-03-01", "to": "2027-3-1"}, "query.to", "does not match"),
        ({"from": "2027-03-01", "to": "2027-03-02", "zone": "Mars/Olympus"}, "query.zone",
         "unknown time zone"),
        ({"from": "2027-03-01", "to": "2027-03-02", "zone": "../../etc/passwd"}, "query.zone",
         "unknown time zone"),
        ({"to": "2027-03-02"}, "query.from", "is required"),
        ({"from": "2027-03-01", "to": "2027-03-02", "agent": "1"}, "query.agent",
         "is not a parameter"),
    ],
)  # fmt: skip
async def test_a_bad_period_or_zone_is_refused_with_the_reason(
    api: Api, params: dict[str, str], at: str, message: str
) -> None:
    for route in ROUTES[1:]:
        answer = await api.client.get(route, params=params, headers=api.auth("manager"))
        assert answer.status == 400
        (detail,) = (await answer.json())["error"]["details"]
        assert detail["at"] == at and message in detail["message"], detail


async def test_a_year_is_allowed(api: Api) -> None:
    year = {"from": "2028-01-01", "to": "2028-12-31"}  # 366 days
    answer = await api.client.get("/api/agents/report", params=year, headers=api.auth("admin"))
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["zone"] == "UTC"


async def test_the_wallboard_is_not_an_agent_id(api: Api) -> None:
    agent = await api.store.run(lambda s: s.add_agent("Ann", "1001", PASSWORD, REALM, now=0))
    answer = await api.client.get(f"/api/agents/{agent.id}", headers=api.auth("manager"))
    assert (await answer.json())["name"] == "Ann"
    for method in ("PATCH", "DELETE", "POST"):  # PATCH and DELETE exist on /api/agents/{id}
        for route in ROUTES:
            answer = await api.client.request(method, route, headers=api.auth("manager"))
            assert (answer.status, answer.headers.get("Allow")) == (405, "GET"), (method, route)
    answer = await api.client.get("/api/agents/wallboard", headers=api.auth("manager"))
    assert answer.status == 400  # still what it was: not an agent id


def test_the_day_constants_agree() -> None:
    assert datetime.fromtimestamp(DAY_START, NEW_YORK).isoformat() == "2027-03-02T00:00:00-05:00"
