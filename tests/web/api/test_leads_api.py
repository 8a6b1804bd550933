"""Contacts, leads, exports and do-not-call entries over the API, on a real store."""

from __future__ import annotations

import csv
import io

import aiohttp

from tests.web.api.harness import Api
from tests.web.api.test_campaigns_api import SETTINGS, create

CSV = (
    "customerName,phone,email,plan\n"
    "Jane Doe,+14155550100,jane@example.com,gold\n"
    "No Number,,,silver\n"
    "John Roe,(415) 555-0101,,bronze\n"
)


async def upload(api: Api, campaign: object, data: str) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", data.encode(), filename="contacts.csv", content_type="text/csv")
    return await api.client.post(
        f"/api/campaigns/{campaign}/contacts", data=form, headers=api.auth("manager")
    )


async def test_an_upload_reports_each_rejected_row_and_imports_the_rest(api: Api) -> None:
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    answer = await upload(api, campaign, CSV)
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    assert (report["total_rows"], report["imported"], report["new_leads"]) == (3, 2, 2)
    assert [e["line"] for e in report["errors"]] == [3]
    answer = await api.client.get(
        f"/api/campaigns/{campaign}/leads", params={"limit": "1"}, headers=api.auth("manager")
    )
    listed = await answer.json()
    assert listed["total"] == 2 and len(listed["leads"]) == 1
    assert listed["leads"][0]["phone"] == "+14155550100"
    answer = await upload(api, campaign, "name\nx\n")  # no mandatory columns: refused whole
    assert answer.status == 422
    assert (await answer.json())["error"]["details"][0]["at"] == "form.file"
    (entry,) = await api.store.run(lambda s: s.list_audit(action="contacts.import"))
    assert entry.after == {"total_rows": 3, "imported": 2, "merged_duplicates": 0,
                           "rejected": 1, "new_leads": 2}  # fmt: skip


async def test_the_event_trigger_follows_its_repeat_rule(api: Api) -> None:
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    manager = api.auth("manager")
    url = f"/api/campaigns/{campaign}/leads"
    contact = {"customerName": "Jane Doe", "phone": "415 555 0100", "plan": "gold"}
    answer = await api.client.post(url, json={"contact": contact}, headers=manager)
    first = await answer.json()
    assert first["outcome"] == "added" and first["lead"]["phone"] == "+14155550100"
    lead = first["lead"]["id"]
    answer = await api.client.post(url, json={"contact": contact, "repeat": "always"},
                                   headers=manager)  # fmt: skip
    assert (await answer.json())["outcome"] == "unchanged"  # still waiting for its call
    await api.client.post(f"/api/leads/{lead}/complete", headers=manager)
    answer = await api.client.post(url, json={"contact": contact}, headers=manager)
    assert (await answer.json())["outcome"] == "unchanged"  # once: never again
    answer = await api.client.post(
        url, json={"contact": contact, "repeat": "always"}, headers=manager
    )
    again = await answer.json()
    assert again["outcome"] == "called_again" and again["lead"]["state"] == "created"
    answer = await api.client.post(
        url, json={"contact": {"customerName": "X", "phone": "12"}}, headers=manager
    )
    assert answer.status == 422
    answer = await api.client.post(url, json={"contact": contact, "repeat": "interval"},
                                   headers=manager)  # fmt: skip
    assert answer.status == 400  # interval_s is needed
    leads = await api.store.run(lambda s: s.list_leads(campaign))  # type: ignore[arg-type]
    assert len(leads) == 1 and leads[0].attributes["plan"] == "gold"
    # Every trigger is in the audit log; the two that changed something say how.
    entries = await api.store.run(lambda s: s.list_audit(action="lead.trigger"))
    outcomes = [e.after["outcome"] if e.after else None for e in reversed(entries)]
    assert outcomes == ["added", None, None, "called_again"]


async def test_results_come_back_as_csv(api: Api) -> None:
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    await upload(api, campaign, CSV)
    answer = await api.client.get(
        f"/api/campaigns/{campaign}/results.csv", headers=api.auth("manager")
    )
    assert answer.status == 200 and answer.content_type == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [(r["customerName"], r["plan"]) for r in rows] == [
        ("Jane Doe", "gold"), ("John Roe", "bronze")
    ]  # fmt: skip


async def test_do_not_call_entries_are_added_listed_and_removed(api: Api) -> None:
    manager = api.auth("manager")
    answer = await api.client.post("/api/dnc", json={"number": "(415) 555-0100"},
                                   headers=manager)  # fmt: skip
    assert (await answer.json()) == {"number": "+14155550100", "campaign_id": None, "added": True}
    answer = await api.client.get("/api/dnc", headers=manager)
    (entry,) = (await answer.json())["entries"]
    assert entry["number"] == "+14155550100" and entry["source"] == "api: manager"
    answer = await api.client.post("/api/dnc", json={"number": "banana"}, headers=manager)
    assert answer.status == 422
    answer = await api.client.delete("/api/dnc/+14155550100", headers=manager)
    assert (await answer.json())["removed"] is True
    assert await api.store.run(lambda s: s.list_dnc()) == []
