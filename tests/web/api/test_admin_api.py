"""Users, tokens, agents and the audit log over the API: what admins do, and what stays secret."""

from __future__ import annotations

import csv
import io

from tests.web.api.harness import PASSWORD, Api
from tests.web.api.test_campaigns_api import create


async def test_an_admin_adds_a_user_gives_them_a_token_and_revokes_it(api: Api) -> None:
    admin = api.auth("admin")
    answer = await api.client.post(
        "/api/users", json={"username": "carol", "password": "another.long.one", "role": "manager"},
        headers=admin,
    )  # fmt: skip
    assert answer.status == 201, await answer.text()
    carol = await answer.json()
    answer = await api.client.post(
        "/api/tokens", json={"user_id": carol["id"], "name": "crm"}, headers=admin
    )
    token = await answer.json()
    assert token["secret"].startswith("dlr_") and token["status"] == "active"
    carols = {"Authorization": f"Bearer {token['secret']}"}
    assert (await api.client.get("/api/campaigns", headers=carols)).status == 200
    assert (await api.client.get("/api/users", headers=carols)).status == 403  # a manager
    answer = await api.client.get("/api/tokens", params={"user_id": carol["id"]}, headers=admin)
    (listed,) = (await answer.json())["tokens"]
    assert "secret" not in listed and listed["prefix"] == token["secret"][:8]
    assert (await api.client.delete(f"/api/tokens/{token['id']}", headers=admin)).status == 200
    assert (await api.client.get("/api/campaigns", headers=carols)).status == 401
    entries = await api.store.run(lambda s: s.list_audit())
    assert [e.action for e in entries] == ["token.revoke", "token.create", "user.add"]
    logged = repr([(e.before, e.after) for e in entries])
    assert "another.long.one" not in logged and token["secret"] not in logged


async def test_admins_cannot_lock_themselves_out_and_a_role_change_applies_at_once(
    api: Api,
) -> None:
    admin = api.auth("admin")
    me = await api.store.run(lambda s: s.find_user("admin"))
    manager = await api.store.run(lambda s: s.find_user("manager"))
    assert me is not None and manager is not None
    answer = await api.client.patch(f"/api/users/{me.id}", json={"role": "manager"},
                                    headers=admin)  # fmt: skip
    assert answer.status == 409
    assert (await api.client.delete(f"/api/users/{me.id}", headers=admin)).status == 409
    answer = await api.client.patch(
        f"/api/users/{manager.id}", json={"role": "agent"}, headers=admin
    )
    assert (await answer.json())["role"] == "agent"
    assert (await api.client.get("/api/campaigns", headers=api.auth("manager"))).status == 403


async def test_agents_are_managed_and_their_passwords_never_shown(api: Api) -> None:
    manager = api.auth("manager")
    campaign = (await create(api))["campaign"]
    answer = await api.client.post(
        "/api/agents",
        json={"name": "Ann", "extension": "1001", "password": PASSWORD, "campaigns": [campaign]},
        headers=manager,
    )
    assert answer.status == 201, await answer.text()
    agent = await answer.json()
    assert PASSWORD not in await answer.text()
    answer = await api.client.post(
        "/api/agents", json={"name": "B", "extension": "1001", "password": PASSWORD},
        headers=manager,
    )  # fmt: skip
    assert answer.status == 409  # the extension is taken
    answer = await api.client.patch(f"/api/agents/{agent['id']}", json={"password": "short"},
                                    headers=manager)  # fmt: skip
    assert answer.status == 400  # the schema's minimum length
    answer = await api.client.patch(
        f"/api/agents/{agent['id']}", json={"campaigns": [], "password": "a.new.password"},
        headers=manager,
    )  # fmt: skip
    assert (await answer.json())["campaigns"] == []
    login = await api.store.run(lambda s: s.check_agent_login("1001", "a.new.password"))
    assert login is not None
    assert (await api.client.delete(f"/api/agents/{agent['id']}", headers=manager)).status == 200
    answer = await api.client.get("/api/agents", headers=manager)
    assert (await answer.json())["total"] == 0


async def test_the_audit_log_is_filtered_and_exported(api: Api) -> None:
    manager, admin = api.auth("manager"), api.auth("admin")
    for name in ("one", "two"):
        await api.client.post("/api/campaigns", json={"name": name}, headers=manager)
    await api.client.post("/api/dnc", json={"number": "+14155550100"}, headers=manager)
    answer = await api.client.get("/api/audit", params={"action": "campaign.create"},
                                  headers=admin)  # fmt: skip
    entries = (await answer.json())["entries"]
    assert [e["after"]["name"] for e in entries] == ["two", "one"]
    assert {e["actor"] for e in entries} == {"manager"}
    answer = await api.client.get("/api/audit.csv", headers=admin)
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [r["action"] for r in rows] == ["campaign.create", "campaign.create", "dnc.add"]
    assert rows[0]["source"] == "127.0.0.1"
    answer = await api.client.get("/api/audit", params={"since": "yesterday"}, headers=admin)
    assert answer.status == 400
