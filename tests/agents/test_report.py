"""The activity report's figures from hand-made stats: logged-in time, occupancy, mean talk
and contacts per hour to the second, whose rows a report has (removed agents only when
active), the period's bounds in a zone, the team's totals, and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.agents.report import (
    MAX_DAYS,
    REPORT_COLUMNS,
    ActivityFigures,
    PeriodError,
    period_bounds,
    report_rows,
    write_report_csv,
)
from dialer.agents.states import AgentState
from dialer.store.repository import Agent, AgentStats

S = AgentState
T0 = 1_800_000_000.0
NOW = 1_900_000_000.0


def agent(agent_id: int, name: str, removed_at: float | None = None) -> Agent:
    return Agent(agent_id, name, f"10{agent_id:02d}", (), (), "dialer.example", T0, T0, removed_at)


def stats(calls: int = 0, dispositions: int = 0, **seconds: float) -> AgentStats:
    """Stats over a day: the seconds given by state, the rest of the day logged out."""
    seconds_in = {state: float(seconds.get(str(state), 0.0)) for state in AgentState}
    seconds_in[S.LOGGED_OUT] = 86_400 - sum(seconds_in.values())
    return AgentStats(1, T0, T0 + 86_400, calls, seconds_in[S.ON_CALL], dispositions,
                      seconds_in, S.LOGGED_OUT)  # fmt: skip


# Ann's day: 2 h ready, 1 min reserved, 1 h on 12 calls, 10 min wrap-up, 49 min paused
# (30 lunch, 19 training): 4 h logged in, of which 1 h 11 min busy.
ANN = ActivityFigures.of(
    stats(12, 10, ready=7200, reserved=60, on_call=3600, wrap_up=600, paused=2940),
    {"training": 1140.0, "lunch": 1800.0},
)


def test_the_figures_of_a_day() -> None:
    assert ANN.logged_in_s == 14_400
    assert ANN.busy_s == 60 + 3600 + 600
    assert ANN.occupancy == pytest.approx(4260 / 14_400)
    assert ANN.mean_talk_s == 300
    assert ANN.contacts_per_hour == 3.0  # 12 calls in 4 logged-in hours
    assert ANN.active
    assert ANN.to_dict() == {
        "logged_in_s": 14_400.0, "ready_s": 7200.0, "reserved_s": 60.0, "on_call_s": 3600.0,
        "wrap_up_s": 600.0, "paused_s": 2940.0,
        "paused_by_reason": {"lunch": 1800.0, "training": 1140.0},  # by name
        "calls": 12, "talk_s": 3600.0, "dispositions": 10, "mean_talk_s": 300.0,
        "occupancy": 0.2958, "contacts_per_hour": 3.0,
    }  # fmt: skip


def test_an_agent_never_logged_in_has_no_ratios() -> None:
    idle = ActivityFigures.of(stats(), {})
    assert (idle.occupancy, idle.mean_talk_s, idle.contacts_per_hour) == (None, None, None)
    assert not idle.active and idle.to_dict() == ActivityFigures.idle().to_dict()
    # Paused all along: logged in, no call taken: occupancy 0, not None.
    away = ActivityFigures.of(stats(paused=600), {"lunch": 600.0})
    assert (away.occupancy, away.mean_talk_s, away.contacts_per_hour) == (0.0, None, 0.0)
    # A call already up when the period began: talk, but no call taken in it.
    carried = ActivityFigures.of(stats(on_call=90), {})
    assert (carried.talk_s, carried.calls, carried.mean_talk_s, carried.occupancy) == (
        90.0, 0, None, 1.0
    )  # fmt: skip


def test_a_removed_agent_has_a_row_only_when_active() -> None:
    ann, bob, cy, dee = agent(1, "Ann"), agent(2, "Bob"), agent(3, "Cy", T0), agent(4, "Dee", T0)
    idle = ActivityFigures.of(stats(), {})
    gone_but_busy = ActivityFigures.of(stats(dispositions=1), {})  # a disposition, no login
    figures = {1: ANN, 2: idle, 3: idle, 4: gone_but_busy}
    rows = report_rows([dee, cy, bob, ann], figures)
    assert [row.agent_id for row in rows] == [1, 2, 4]  # by id; Bob is live, so he is listed
    assert rows[2].to_dict()["removed_at"] == "2027-01-15T08:00:00Z"
    assert rows[0].to_dict() | {"paused_by_reason": None} == {
        "id": 1, "name": "Ann", "extension": "1001", "removed_at": None,
    } | ANN.to_dict() | {"paused_by_reason": None}  # fmt: skip
    assert report_rows([ann], {}) == []  # no figures, no row


def test_the_teams_totals_are_sums_and_its_ratios_the_teams() -> None:
    bob = ActivityFigures.of(stats(4, 4, ready=3600, on_call=1200, paused=60), {"lunch": 60.0})
    team = ActivityFigures.combined([ANN, bob])
    assert (team.calls, team.dispositions, team.talk_s) == (16, 14, 4800.0)
    assert team.logged_in_s == 14_400 + 4860
    assert team.paused_by_reason == {"lunch": 1860.0, "training": 1140.0}
    assert team.occupancy == pytest.approx((4260 + 1200) / (14_400 + 4860))
    assert team.mean_talk_s == 300.0
    assert ActivityFigures.combined([]) == ActivityFigures.idle()


def test_a_period_is_whole_days_in_its_zone_up_to_now() -> None:
    paris = ZoneInfo("Europe/Paris")
    start, end = period_bounds(date(2027, 3, 27), date(2027, 3, 28), paris, NOW)
    # March 28 2027 is Paris's spring forward: 47 hours, midnight to midnight.
    assert datetime.fromtimestamp(start, UTC) == datetime(2027, 3, 26, 23, 0, tzinfo=UTC)
    assert datetime.fromtimestamp(end, UTC) == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)
    assert end - start == 47 * 3600
    # Today's period ends now; one to come is empty.
    today = datetime.fromtimestamp(NOW, UTC).date()
    assert period_bounds(today, today, ZoneInfo("UTC"), NOW)[1] == NOW
    later = period_bounds(date(2040, 1, 1), date(2040, 1, 2), ZoneInfo("UTC"), NOW)
    assert later[0] == later[1]


def test_a_period_backwards_or_too_long_is_refused() -> None:
    utc = ZoneInfo("UTC")
    with pytest.raises(PeriodError, match="must not be before from") as refused:
        period_bounds(date(2027, 3, 2), date(2027, 3, 1), utc, NOW)
    assert refused.value.where == "query.to"
    longest = period_bounds(date(2028, 1, 1), date(2028, 12, 31), utc, NOW)  # a leap year
    assert longest[1] - longest[0] == MAX_DAYS * 86_400
    with pytest.raises(PeriodError, match=f"at most {MAX_DAYS} days"):
        period_bounds(date(2027, 1, 1), date(2028, 1, 2), utc, NOW)  # 367 days


def test_the_csv_has_a_column_per_pause_reason_and_guards_formulas() -> None:
    bob = ActivityFigures.of(stats(ready=60, paused=30), {"=HYPERLINK(1)": 20.0, "": 10.0})
    rows = report_rows([agent(1, "Ann"), agent(2, "@Bob", T0)], {1: ANN, 2: bob})
    out = io.StringIO(newline="")
    assert write_report_csv(rows, out) == 2
    assert out.getvalue().count("\r\n") == 3
    header, ann, bob_row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == [*REPORT_COLUMNS, "paused_s (no reason)", "paused_s (=HYPERLINK(1))",
                      "paused_s (lunch)", "paused_s (training)"]  # fmt: skip
    assert dict(zip(header, ann, strict=True)) == {
        "agent_id": "1", "name": "Ann", "extension": "1001", "removed_at": "",
        "logged_in_s": "14400.0", "ready_s": "7200.0", "reserved_s": "60.0",
        "on_call_s": "3600.0", "wrap_up_s": "600.0", "paused_s": "2940.0", "calls": "12",
        "dispositions": "10", "mean_talk_s": "300.0", "occupancy": "0.2958",
        "contacts_per_hour": "3.0", "paused_s (no reason)": "0.0",
        "paused_s (=HYPERLINK(1))": "0.0", "paused_s (lunch)": "1800.0",
        "paused_s (training)": "1140.0",
    }  # fmt: skip
    assert bob_row[:4] == ["2", "'@Bob", "1002", "2027-01-15T08:00:00Z"]
    assert bob_row[REPORT_COLUMNS.index("mean_talk_s")] == ""  # no call: empty, not 0
    assert bob_row[-4:] == ["10.0", "20.0", "0.0", "0.0"]


def test_an_empty_report_is_its_header() -> None:
    out = io.StringIO(newline="")
    assert write_report_csv([], out) == 0
    assert out.getvalue() == ",".join(REPORT_COLUMNS) + "\r\n"
