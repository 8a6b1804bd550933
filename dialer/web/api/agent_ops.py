"""Agents over the API: as `dialer agent ...` (their passwords are set, never shown).

    GET    /api/agents                 every agent (?all=true: removed ones too)
    POST   /api/agents                 name, extension, password, campaigns, skills
    GET    /api/agents/{id}
    PATCH  /api/agents/{id}            name, campaigns, skills, password
    DELETE /api/agents/{id}            removed: the history stays, the extension is freed

`serve` seats a new agent (and forgets a removed one) within a few seconds.
"""

from __future__ import annotations

import time
from typing import Any

from dialer.commands.agent import describe
from dialer.store.repository import Repository
from dialer.web.api import schemas
from dialer.web.api.operation import ApiCall, Changed, Operation, Param
from dialer.web.state import CONFIG


async def list_agents(call: ApiCall) -> dict[str, Any]:
    realm, everyone = call.request.app[CONFIG].agents.realm, call.query["all"]
    agents = await call.read(lambda s: s.list_agents(include_removed=everyone))
    return {"agents": [describe(a, realm) for a in agents], "total": len(agents)}


async def add_agent(call: ApiCall) -> dict[str, Any]:
    body, realm = call.body, call.request.app[CONFIG].agents.realm

    def add(store: Repository) -> Changed[dict[str, Any]]:
        agent = store.add_agent(
            body["name"], body["extension"], body["password"], realm,
            campaigns=body.get("campaigns", ()), skills=body.get("skills", ()), now=time.time(),
        )  # fmt: skip
        view = describe(agent, realm)
        return Changed(view, after=view, target=f"agent:{agent.id}")

    return await call.change("agent.add", "agent", add)


async def get_agent(call: ApiCall) -> dict[str, Any]:
    agent_id, realm = call.path["agent_id"], call.request.app[CONFIG].agents.realm
    return describe(await call.read(lambda s: s.get_agent(agent_id)), realm)


async def edit_agent(call: ApiCall) -> dict[str, Any]:
    agent_id, body = call.path["agent_id"], call.body
    realm = call.request.app[CONFIG].agents.realm

    def edit(store: Repository) -> Changed[dict[str, Any]]:
        before = describe(store.get_agent(agent_id), realm)
        now = time.time()
        agent = store.update_agent(
            agent_id, name=body.get("name"), campaigns=body.get("campaigns"),
            skills=body.get("skills"), now=now,
        )  # fmt: skip
        if "password" in body:
            agent = store.set_agent_password(agent_id, body["password"], realm, now=now)
        after = describe(agent, realm) | {"password_changed": "password" in body}
        return Changed(after, before=before, after=after)

    return await call.change("agent.edit", f"agent:{agent_id}", edit)


async def remove_agent(call: ApiCall) -> dict[str, Any]:
    agent_id, realm = call.path["agent_id"], call.request.app[CONFIG].agents.realm

    def remove(store: Repository) -> Changed[dict[str, Any]]:
        before = describe(store.get_agent(agent_id), realm)
        store.remove_agent(agent_id, now=time.time())
        return Changed({"removed": agent_id}, before=before)

    return await call.change("agent.remove", f"agent:{agent_id}", remove)


_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_EXTENSION = {"type": "string", "pattern": "^[0-9]{2,10}$"}
_PASSWORD = {"type": "string", "minLength": 8, "maxLength": 128, "writeOnly": True}
_CAMPAIGNS = {"type": "array", "items": schemas.ID, "maxItems": 1000,
              "description": "the campaigns they take calls of; empty: any"}  # fmt: skip
_SKILLS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64},
           "maxItems": 100}  # fmt: skip
_CHANGEABLE = {"name": _NAME, "password": _PASSWORD, "campaigns": _CAMPAIGNS, "skills": _SKILLS}
_ADD = {
    "type": "object",
    "properties": {**_CHANGEABLE, "extension": _EXTENSION},
    "required": ["name", "extension", "password"],
    "additionalProperties": False,
}
_EDIT = {"type": "object", "properties": _CHANGEABLE, "minProperties": 1,
         "additionalProperties": False}  # fmt: skip
_AGENT = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                   "extension": {"type": "string"}, "campaigns": {"type": "array"},
                   "skills": {"type": "array"}, "credentials": {"type": "string"}},
    "required": ["id", "name", "extension", "campaigns", "skills"],
}  # fmt: skip
_ONE = "/api/agents/{agent_id}"

OPERATIONS = [
    Operation("GET", "/api/agents", list_agents, "List agents", "agents",
              query=(Param("all", {"type": "boolean", "default": False}, "removed ones too"),),
              response={"type": "object", "properties": {
                  "agents": {"type": "array", "items": _AGENT}, "total": {"type": "integer"}},
                  "required": ["agents", "total"]}),
    Operation("POST", "/api/agents", add_agent, "Add an agent", "agents", body=_ADD,
              response=_AGENT, status=201),
    Operation("GET", _ONE, get_agent, "An agent", "agents", response=_AGENT),
    Operation("PATCH", _ONE, edit_agent, "Edit an agent, or set their password", "agents",
              body=_EDIT, response=_AGENT),
    Operation("DELETE", _ONE, remove_agent, "Remove an agent", "agents",
              response={"type": "object", "properties": {"removed": {"type": "integer"}}}),
]  # fmt: skip
