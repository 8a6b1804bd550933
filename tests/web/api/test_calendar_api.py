"""The calendar over the API: scheduled and recurring campaigns' runs over a range of days."""

from __future__ import annotations

import time
from typing import Any

from dialer.campaign.model import CampaignEvent
from dialer.store.repository import Repository
from tests.web.api.harness import Api

WEEKLY = {"kind": "weekly", "days": ["Mon", "Thu"], "at": "09:30", "zone": "America/New_York",
          "starts": "2026-03-01", "ends_on": "2026-03-31"}  # fmt: skip
AT = {"kind": "at", "at": "2026-03-10T18:00", "zone": "Europe/Paris"}


async def campaign(
    api: Api, name: str, schedule: dict[str, Any], event: CampaignEvent | None
) -> int:
    def make(store: Repository) -> int:
        now = time.time()
        made = store.create_campaign(name, now=now, settings={"schedule": schedule})
        if event is CampaignEvent.SCHEDULE:
            store.set_campaign_state(made, event, now=now, next_run_at=now + 3600)
        elif event is not None:
            store.set_campaign_state(made, event, now=now)
        return made

    return await api.store.run(make)


async def calendar(api: Api, **query: str) -> Any:
    answer = await api.client.get("/api/calendar", params=query, headers=api.auth("manager"))
    return answer.status, await answer.json()


async def test_runs_of_campaigns_that_may_still_dial_are_listed_on_the_viewers_days(
    api: Api,
) -> None:
    weekly = await campaign(api, "Weekly", WEEKLY, CampaignEvent.SCHEDULE)
    once = await campaign(api, "Once", AT, CampaignEvent.SCHEDULE)
    await campaign(api, "Draft", WEEKLY, None)  # not scheduled: not on the calendar
    await campaign(api, "Now", {"kind": "now"}, CampaignEvent.START)  # no time of its own
    stopped = await campaign(api, "Stopped", WEEKLY, CampaignEvent.SCHEDULE)
    await api.store.run(lambda s: s.set_campaign_state(stopped, CampaignEvent.STOP, now=0))

    status, shown = await calendar(api, **{"from": "2026-03-02", "to": "2026-03-12",
                                           "zone": "America/New_York"})  # fmt: skip
    assert status == 200, shown
    assert (shown["from"], shown["to"], shown["zone"]) == ("2026-03-02", "2026-03-12",
                                                          "America/New_York")  # fmt: skip
    rows = [(o["campaign"], o["date"], o["time"], o["at"]) for o in shown["occurrences"]]
    assert rows == [
        (weekly, "2026-03-02", "09:30", "2026-03-02T14:30:00Z"),  # EST
        (weekly, "2026-03-05", "09:30", "2026-03-05T14:30:00Z"),
        (weekly, "2026-03-09", "09:30", "2026-03-09T13:30:00Z"),  # EDT from Mar 8
        (once, "2026-03-10", "13:00", "2026-03-10T17:00:00Z"),  # 18:00 in Paris (CET)
        (weekly, "2026-03-12", "09:30", "2026-03-12T13:30:00Z"),  # `to` is a whole day
    ]
    first = shown["occurrences"][0]
    assert first | {"campaign": 0} == {
        "campaign": 0, "name": "Weekly", "state": "scheduled", "kind": "weekly",
        "at": "2026-03-02T14:30:00Z", "local": "2026-03-02T09:30-05:00",
        "zone": "America/New_York", "date": "2026-03-02", "time": "09:30",
    }  # fmt: skip
    paris = next(o for o in shown["occurrences"] if o["campaign"] == once)
    assert (paris["local"], paris["zone"]) == ("2026-03-10T18:00+01:00", "Europe/Paris")


async def test_the_viewers_zone_decides_the_day_and_defaults_to_utc(api: Api) -> None:
    late = {**WEEKLY, "at": "22:00"}  # Monday 22:00 in New York is Tuesday in UTC
    weekly = await campaign(api, "Late", late, CampaignEvent.SCHEDULE)
    status, shown = await calendar(api, **{"from": "2026-03-02", "to": "2026-03-03"})
    assert status == 200 and shown["zone"] == "UTC"
    assert [(o["campaign"], o["date"], o["time"]) for o in shown["occurrences"]] == [
        (weekly, "2026-03-03", "03:00")
    ]


async def test_a_paused_or_running_recurring_campaign_shows_its_runs(api: Api) -> None:
    weekly = await campaign(api, "Weekly", WEEKLY, CampaignEvent.START)
    await api.store.run(lambda s: s.set_campaign_state(weekly, CampaignEvent.PAUSE, now=0))
    status, shown = await calendar(api, **{"from": "2026-03-30", "to": "2026-04-06"})
    assert status == 200
    assert [(o["date"], o["state"]) for o in shown["occurrences"]] == [("2026-03-30", "paused")]


async def test_bad_ranges_and_zones_say_what_is_wrong(api: Api) -> None:
    cases = [
        ({"from": "2026-03-10", "to": "2026-03-09"}, "query.to"),
        ({"from": "2026-01-01", "to": "2026-03-04"}, "query.to"),  # 63 days
        ({"from": "2026-02-30", "to": "2026-03-04"}, "query.from"),
        ({"from": "March 1", "to": "2026-03-04"}, "query.from"),
        ({"from": "2026-03-01", "to": "2026-03-04", "zone": "Mars/Olympus"}, "query.zone"),
        ({"to": "2026-03-04"}, "query.from"),
    ]
    for query, where in cases:
        status, shown = await calendar(api, **query)
        assert status == 400, (query, shown)
        assert [d["at"] for d in shown["error"]["details"]] == [where], query
    status, _ = await calendar(api, **{"from": "2026-01-01", "to": "2026-03-03"})  # 62 days
    assert status == 200
