"""Campaigns over the API, on a real store: validation, state rules, and the audit log."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from dialer.campaign.model import AttemptOutcome, CallOutcome, LeadEvent
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Repository
from dialer.web.api import campaign_ops
from dialer.web.state import LEDGER_NEWS
from tests.web.api.harness import Api

SETTINGS = {"max_concurrent": 3, "recipient_hours": None}
BUSY = AttemptOutcome(CallOutcome.BUSY, 486, "Busy Here")
NO_ANSWER = AttemptOutcome(CallOutcome.NO_ANSWER, 480, "no answer before ring timeout")
ANSWERED = AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished", duration_s=9.0)


async def create(api: Api, name: str = "Spring", **extra: object) -> dict[str, object]:
    answer = await api.client.post(
        "/api/campaigns", json={"name": name, **extra}, headers=api.auth("manager")
    )
    assert answer.status == 201, await answer.text()
    return dict(await answer.json())


async def test_a_campaign_is_created_listed_edited_and_its_changes_audited(api: Api) -> None:
    created = await create(api, description="first", settings=SETTINGS)
    campaign = created["campaign"]
    assert created["state"] == "draft"
    assert created["settings"]["max_concurrent"] == 3  # type: ignore[index]
    await create(api, "Autumn")
    answer = await api.client.get(
        "/api/campaigns", params={"q": "spr", "sort": "name"}, headers=api.auth("manager")
    )
    listed = await answer.json()
    assert listed["total"] == 1 and listed["campaigns"][0]["campaign"] == campaign
    assert listed["campaigns"][0]["progress"]["total"] == 0
    answer = await api.client.patch(
        f"/api/campaigns/{campaign}",
        json={"settings": {"max_concurrent": 7}},
        headers=api.auth("manager"),
    )
    assert answer.status == 200, await answer.text()
    edited = await answer.json()
    assert edited["settings"]["max_concurrent"] == 7
    assert edited["settings"]["recipient_hours"] is None  # merged over, not replaced
    entries = await api.store.run(lambda s: s.list_audit(target=f"campaign:{campaign}"))
    assert [e.action for e in entries] == ["campaign.edit", "campaign.create"]  # newest first
    edit = entries[0]
    assert (edit.actor, edit.role) == ("manager", "manager")
    assert edit.before is not None and edit.after is not None
    assert edit.before["settings"]["max_concurrent"] == 3  # type: ignore[index]
    assert edit.after["settings"]["max_concurrent"] == 7  # type: ignore[index]


async def test_bad_bodies_say_where_they_are_wrong(api: Api) -> None:
    manager = api.auth("manager")
    answer = await api.client.post("/api/campaigns", json={"nme": "x"}, headers=manager)
    assert answer.status == 400
    details = (await answer.json())["error"]["details"]
    assert {d["at"] for d in details} == {"body"}
    assert any("'name' is a required property" in d["message"] for d in details)
    answer = await api.client.post(
        "/api/campaigns", json={"name": "x", "settings": {"window": {"start": "9am"}}},
        headers=manager,
    )  # fmt: skip
    assert answer.status == 422
    (detail,) = (await answer.json())["error"]["details"]
    assert detail["at"].startswith("settings.window")
    answer = await api.client.post(
        "/api/campaigns", data=b"{not json", headers={**manager, "Content-Type": "application/json"}
    )
    assert answer.status == 400 and "not JSON" in (await answer.json())["error"]["message"]
    answer = await api.client.get("/api/campaigns", params={"limit": "0"}, headers=manager)
    assert answer.status == 400
    assert (await answer.json())["error"]["details"][0]["at"] == "query.limit"
    answer = await api.client.get("/api/campaigns/abc", headers=manager)
    assert answer.status == 400
    answer = await api.client.get("/api/campaigns/999", headers=manager)
    assert answer.status == 404 and "error" in await answer.json()
    answer = await api.client.get("/api/nowhere", headers=manager)
    assert answer.status == 404 and "error" in await answer.json()
    answer = await api.client.put("/api/campaigns", headers=manager)
    assert answer.status == 405 and "error" in await answer.json()
    assert await api.store.run(lambda s: s.list_campaigns()) == []  # nothing half-made


async def test_state_rules_hold_and_stopping_says_how_many_contacts_were_left(api: Api) -> None:
    manager = api.auth("manager")
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    answer = await api.client.post(f"/api/campaigns/{campaign}/pause", headers=manager)
    assert answer.status == 409  # a draft cannot be paused
    answer = await api.client.post(f"/api/campaigns/{campaign}/start", headers=manager)
    assert answer.status == 200 and (await answer.json())["state"] == "running"
    answer = await api.client.patch(
        f"/api/campaigns/{campaign}", json={"settings": {"max_concurrent": 1}}, headers=manager
    )
    assert answer.status == 409  # settings are the draft's only
    answer = await api.client.delete(f"/api/campaigns/{campaign}", headers=manager)
    assert answer.status == 409  # running
    answer = await api.client.post(f"/api/campaigns/{campaign}/stop", headers=manager)
    stopped = await answer.json()
    assert (stopped["state"], stopped["uncalled"]) == ("stopped", 0)
    answer = await api.client.delete(f"/api/campaigns/{campaign}", headers=manager)
    assert answer.status == 200
    answer = await api.client.get(f"/api/campaigns/{campaign}", headers=manager)
    assert answer.status == 404
    actions = [e.action for e in await api.store.run(lambda s: s.list_audit())]
    # Refusals change nothing and leave no entry; every change left one.
    assert actions == ["campaign.delete", "campaign.stop", "campaign.start", "campaign.create"]


async def test_a_browser_session_needs_its_csrf_token_to_change_anything(api: Api) -> None:
    csrf = await api.login("manager")
    answer = await api.client.get("/api/campaigns")
    assert answer.status == 200  # reading needs only the cookie
    answer = await api.client.post("/api/campaigns", json={"name": "x"})
    assert answer.status == 403
    answer = await api.client.post(
        "/api/campaigns", json={"name": "x"},
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )  # fmt: skip
    assert answer.status == 403
    answer = await api.client.post(
        "/api/campaigns", json={"name": "x"}, headers={"X-CSRF-Token": csrf, "Origin": api.origin}
    )
    assert answer.status == 201
    assert len(await api.store.run(lambda s: s.list_campaigns())) == 1
    answer = await api.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert answer.status == 200
    answer = await api.client.get("/api/campaigns")
    assert answer.status == 401


async def test_failed_logins_lock_out_the_address_whatever_the_password(api: Api) -> None:
    for _ in range(3):
        answer = await api.client.post(
            "/api/session", json={"username": "manager", "password": "wrong password"}
        )
        assert answer.status == 401
        assert (await answer.json())["error"]["message"] == "wrong username or password"
    for username in ("manager", "admin"):
        answer = await api.client.post(
            "/api/session", json={"username": username, "password": "correct.horse.battery"}
        )
        assert answer.status == 429  # the right password too, from this address, for a while
    assert await api.store.run(lambda s: s.list_audit(action="session.login")) == []


async def test_logins_are_audited_and_a_disabled_user_is_out_at_once(api: Api) -> None:
    await api.login("admin")
    admin = await api.store.run(lambda s: s.find_user("admin"))
    assert admin is not None
    answer = await api.client.get("/api/session")
    assert (await answer.json())["user"]["username"] == "admin"
    await api.store.run(lambda s: s.update_user(admin.id, now=0.0, disabled=True))
    answer = await api.client.get("/api/session")
    assert answer.status == 401
    answer = await api.client.get("/api/campaigns", headers=api.auth("admin"))
    assert answer.status == 401  # the token too
    logins = await api.store.run(lambda s: s.list_audit(action="session.login"))
    assert [(e.actor, e.target) for e in logins] == [("admin", "user:admin")]


async def test_the_live_stream_sends_the_figures_and_ends_when_the_server_stops(api: Api) -> None:
    manager = api.auth("manager")
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    await api.client.post(f"/api/campaigns/{campaign}/start", headers=manager)
    answer = await api.client.get(f"/api/campaigns/{campaign}/live", headers=manager)
    assert answer.content_type == "text/event-stream"
    assert await answer.content.readline() == b"event: campaign\n"
    figures = json.loads((await answer.content.readline()).removeprefix(b"data: "))
    assert (figures["state"], figures["progress"]["total"], figures["outcomes"]) == (
        "running", 0, {}
    )  # fmt: skip
    # Running, so the stream would go on; the server's stop ends it (else: 60 s, and fail).
    await asyncio.wait_for(api.client.server.close(), 10)


async def test_the_live_stream_sends_at_once_when_the_ledger_changes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaign_ops, "LIVE_INTERVAL_S", 3600.0)  # no tick within the test
    manager = api.auth("manager")
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    now = time.time()

    def call_ended(store: Repository) -> None:
        store.import_contacts(campaign, [ContactRecord(2, "C", "+14155550100", None)], now=now)
        (lead,) = store.list_leads(campaign)
        assert lead.phone is not None
        attempt = store.begin_attempt(lead.id, lead.phone, now)
        store.finish_attempt(attempt, BUSY, now, then=LeadEvent.EXHAUST)

    answer = await api.client.get(f"/api/campaigns/{campaign}/live", headers=manager)
    await answer.content.readline()
    first = json.loads((await answer.content.readline()).removeprefix(b"data: "))
    await answer.content.readline()  # the blank line that ends the event
    assert first["outcomes"] == {}
    await api.store.run(call_ended)
    api.client.server.app[LEDGER_NEWS].changed(campaign)  # as the campaign actor says it
    async with asyncio.timeout(10):
        assert await answer.content.readline() == b"event: campaign\n"
        second = json.loads((await answer.content.readline()).removeprefix(b"data: "))
    assert second["outcomes"] == {"busy": 1}
    answer.close()


async def test_the_live_figures_chart_the_calls_ended_over_time(api: Api) -> None:
    manager = api.auth("manager")
    campaign = (await create(api, settings=SETTINGS))["campaign"]
    now = time.time()
    ended = [(now - 100, BUSY, LeadEvent.EXHAUST), (now - 41, ANSWERED, LeadEvent.COMPLETE),
             (now - 40, NO_ANSWER, LeadEvent.EXHAUST)]  # fmt: skip

    def seed(store: Repository) -> None:
        records = [ContactRecord(i + 2, f"C{i}", f"+1415555010{i}", None) for i in range(3)]
        store.import_contacts(campaign, records, now=now - 200)
        for lead, (at, result, then) in zip(store.list_leads(campaign), ended, strict=True):
            assert lead.phone is not None
            store.finish_attempt(store.begin_attempt(lead.id, lead.phone, at - 5), result, at,
                                 then=then)  # fmt: skip

    await api.store.run(seed)
    answer = await api.client.get(f"/api/campaigns/{campaign}/live", headers=manager)
    await answer.content.readline()
    chart = json.loads((await answer.content.readline()).removeprefix(b"data: "))["timeline"]
    assert chart["slot_s"] == 5  # 100 s: 5 s slots keep it under 60 bars
    slots = chart["slots"]
    assert slots[0]["at"] == (now - 100) // 5 * 5 and slots[0]["calls"] == {"busy": 1}
    assert slots[-1]["at"] == now // 5 * 5 or slots[-1]["at"] == now // 5 * 5 + 5
    assert [slot["at"] - slots[0]["at"] for slot in slots] == [5 * i for i in range(len(slots))]
    calls: dict[str, int] = {}
    for slot in slots:
        for kind, count in slot["calls"].items():
            calls[kind] = calls.get(kind, 0) + count
    assert calls == {"busy": 1, "answered": 1, "no_answer": 1}
    answer.close()


async def test_tags_find_campaigns_and_change_in_any_state(api: Api) -> None:
    manager = api.auth("manager")
    spring = (await create(api, "Spring", tags=[" renewals ", "Q1", "renewals"]))["campaign"]
    await create(api, "Autumn", tags=["q1"])
    await create(api, "Winter")

    async def names(**params: str) -> list[str]:
        answer = await api.client.get("/api/campaigns", params=params, headers=manager)
        assert answer.status == 200, await answer.text()
        return sorted(c["name"] for c in (await answer.json())["campaigns"])

    assert await names(tag="Q1") == ["Autumn", "Spring"]  # case aside
    assert await names(tag="renewals") == ["Spring"]
    assert await names(channel="voice") == ["Autumn", "Spring", "Winter"]
    answer = await api.client.get("/api/campaigns", params={"channel": "sms"}, headers=manager)
    assert answer.status == 400  # no such channel here, said so
    shown = await (await api.client.get(f"/api/campaigns/{spring}", headers=manager)).json()
    assert (shown["tags"], shown["channel"]) == (["renewals", "Q1"], "voice")  # trimmed, once
    await api.client.post(f"/api/campaigns/{spring}/start", headers=manager)
    answer = await api.client.patch(
        f"/api/campaigns/{spring}", json={"tags": ["done"]}, headers=manager
    )
    assert answer.status == 200, await answer.text()  # labels, not settings: any state
    assert (await answer.json())["tags"] == ["done"]
    assert await names(tag="renewals") == []
    for bad in (["a,b"], [""], ["x" * 41], [f"t{i}" for i in range(21)]):
        answer = await api.client.patch(
            f"/api/campaigns/{spring}", json={"tags": bad}, headers=manager
        )
        assert answer.status == 400, bad
    (edit, *_) = await api.store.run(lambda s: s.list_audit(target=f"campaign:{spring}"))
    assert edit.action == "campaign.edit" and edit.after is not None
    assert edit.after["tags"] == ["done"]
