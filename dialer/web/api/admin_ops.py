"""Users, API tokens and the audit log over the API: the admin's (as `dialer user|token|audit`).

    GET    /api/users                   POST /api/users {username, password, role}
    PATCH  /api/users/{id}              role, disabled, password
    DELETE /api/users/{id}              removed (their tokens are revoked)
    GET    /api/tokens?user_id=N        POST /api/tokens {user_id, name, expires_days?}
    DELETE /api/tokens/{id}             revoked
    GET    /api/audit                   who did what, when, before and after (newest first)
    GET    /api/audit.csv               the same, as a file

A token's secret is shown once, in the answer to its creation; no answer and
no audit entry ever holds a password or a token's secret.
"""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

from aiohttp import web

from dialer.commands.audit import entry_view, write_audit_csv
from dialer.commands.token import view as token_view
from dialer.commands.user import describe as user_view
from dialer.store.repository import AuditEntry, Repository
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.operation import ApiCall, Changed, Operation, Param, Role

MAX_EXPORT = 1_000_000


async def list_users(call: ApiCall) -> dict[str, Any]:
    users = await call.read(lambda s: s.list_users())
    return {"users": [user_view(u) for u in users], "total": len(users)}


async def add_user(call: ApiCall) -> dict[str, Any]:
    body = call.body

    def add(store: Repository) -> Changed[dict[str, Any]]:
        user = store.add_user(body["username"], body["password"], body["role"], now=time.time())
        return Changed(user_view(user), after=user.audit_fields(), target=f"user:{user.username}")

    return await call.change("user.add", "user", add)


async def edit_user(call: ApiCall) -> dict[str, Any]:
    user_id, body = call.path["user_id"], call.body
    if user_id == call.user.id and ("role" in body or body.get("disabled")):
        raise ApiError(409, "admins cannot demote or disable themselves: ask another admin")

    def edit(store: Repository) -> Changed[dict[str, Any]]:
        before, now = store.get_user(user_id), time.time()
        user = store.update_user(user_id, now=now, role=body.get("role"),
                                 disabled=body.get("disabled"))  # fmt: skip
        if "password" in body:
            user = store.set_user_password(user_id, body["password"], now=now)
        after = user.audit_fields() | {"password_changed": "password" in body}
        return Changed(user_view(user), before=before.audit_fields(), after=after,
                       target=f"user:{user.username}")  # fmt: skip

    return await call.change("user.edit", f"user:{user_id}", edit)


async def remove_user(call: ApiCall) -> dict[str, Any]:
    user_id = call.path["user_id"]
    if user_id == call.user.id:
        raise ApiError(409, "admins cannot remove themselves: ask another admin")

    def remove(store: Repository) -> Changed[dict[str, Any]]:
        before = store.get_user(user_id)
        store.remove_user(user_id, now=time.time())
        return Changed({"removed": user_id}, before=before.audit_fields(),
                       target=f"user:{before.username}")  # fmt: skip

    return await call.change("user.remove", f"user:{user_id}", remove)


async def list_tokens(call: ApiCall) -> dict[str, Any]:
    user_id, now = call.query.get("user_id"), time.time()
    tokens = await call.read(lambda s: s.list_api_tokens(user_id))
    return {"tokens": [token_view(t, now) for t in tokens], "total": len(tokens)}


async def create_token(call: ApiCall) -> dict[str, Any]:
    body = call.body
    days = body.get("expires_days")

    def create(store: Repository) -> Changed[dict[str, Any]]:
        now = time.time()
        expires = now + days * 86400 if days else None
        token, secret = store.create_api_token(body["user_id"], body["name"], now=now,
                                               expires_at=expires)  # fmt: skip
        shown = token_view(token, now) | {"secret": secret}  # once: it is not kept
        return Changed(shown, after=token.audit_fields(), target=f"token:{token.id}")

    return await call.change("token.create", "token", create)


async def revoke_token(call: ApiCall) -> dict[str, Any]:
    token_id = call.path["token_id"]

    def revoke(store: Repository) -> Changed[dict[str, Any]]:
        before = store.get_api_token(token_id)
        token = store.revoke_api_token(token_id, now=time.time())
        return Changed(token_view(token, time.time()), before=before.audit_fields(),
                       after=token.audit_fields())  # fmt: skip

    return await call.change("token.revoke", f"token:{token_id}", revoke)


async def list_audit(call: ApiCall) -> dict[str, Any]:
    entries = await _audit(call, call.query["limit"], call.query["offset"])
    return {"entries": [entry_view(e) for e in entries], "count": len(entries)}


async def export_audit(call: ApiCall) -> web.Response:
    entries = await _audit(call, MAX_EXPORT, 0)
    out = io.StringIO()
    write_audit_csv(reversed(entries), out)  # oldest first, as a log reads
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


async def _audit(call: ApiCall, limit: int, offset: int) -> list[AuditEntry]:
    query = call.query
    since, until = _instant(query, "since"), _instant(query, "until")
    actor, action, target = query.get("actor"), query.get("action"), query.get("target")
    return await call.read(
        lambda s: s.list_audit(since=since, until=until, actor=actor, action=action,
                               target=target, limit=limit, offset=offset)
    )  # fmt: skip


def _instant(query: dict[str, Any], key: str) -> float | None:
    text = query.get(key)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ApiError(400, "the query is not valid",
                       [Detail(f"query.{key}", "must be an ISO 8601 time")]) from None  # fmt: skip


_PASSWORD = {"type": "string", "minLength": 8, "maxLength": 1024, "writeOnly": True}
_ROLE = {"enum": ["admin", "manager", "agent"]}
_USER = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "role": _ROLE,
                   "disabled": {"type": "boolean"}},
    "required": ["id", "username", "role", "disabled"],
}  # fmt: skip
_ADD_USER = {
    "type": "object",
    "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 64},
                   "password": _PASSWORD, "role": _ROLE},
    "required": ["username", "password", "role"],
    "additionalProperties": False,
}  # fmt: skip
_EDIT_USER = {
    "type": "object",
    "properties": {"role": _ROLE, "disabled": {"type": "boolean"}, "password": _PASSWORD},
    "minProperties": 1,
    "additionalProperties": False,
}
_TOKEN = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "user_id": {"type": "integer"},
                   "name": {"type": "string"}, "prefix": {"type": "string"},
                   "status": {"enum": ["active", "revoked", "expired"]},
                   "secret": {"type": "string"}},
    "required": ["id", "user_id", "name", "prefix", "status"],
}  # fmt: skip
_CREATE_TOKEN = {
    "type": "object",
    "properties": {"user_id": schemas.ID,
                   "name": {"type": "string", "minLength": 1, "maxLength": 100},
                   "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650}},
    "required": ["user_id", "name"],
    "additionalProperties": False,
}  # fmt: skip
_ENTRY = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "at": schemas.TIME, "actor": {"type": "string"},
                   "action": {"type": "string"}, "target": {"type": "string"},
                   "before": {"type": ["object", "null"]}, "after": {"type": ["object", "null"]}},
    "required": ["id", "at", "actor", "action", "target", "before", "after"],
}  # fmt: skip
_FILTERS = (
    Param("since", {"type": "string", "format": "date-time"}, "ISO 8601"),
    Param("until", {"type": "string", "format": "date-time"}, "ISO 8601"),
    Param("actor", {"type": "string", "maxLength": 64}),
    Param("action", {"type": "string", "maxLength": 64}, "such as campaign.start"),
    Param("target", {"type": "string", "maxLength": 200}, "such as campaign:3"),
)
_REMOVED = {"type": "object", "properties": {"removed": {"type": "integer"}}}
_ADMIN = Role.ADMIN

OPERATIONS = [
    Operation("GET", "/api/users", list_users, "List users", "users", role=_ADMIN,
              response=schemas.page_of("users", _USER)),
    Operation("POST", "/api/users", add_user, "Add a user", "users", role=_ADMIN,
              body=_ADD_USER, response=_USER, status=201),
    Operation("PATCH", "/api/users/{user_id}", edit_user, "Change a user's role, status or"
              " password", "users", role=_ADMIN, body=_EDIT_USER, response=_USER),
    Operation("DELETE", "/api/users/{user_id}", remove_user, "Remove a user", "users",
              role=_ADMIN, response=_REMOVED),
    Operation("GET", "/api/tokens", list_tokens, "List API tokens", "users", role=_ADMIN,
              query=(Param("user_id", schemas.ID),),
              response=schemas.page_of("tokens", _TOKEN)),
    Operation("POST", "/api/tokens", create_token, "Create an API token (its secret is shown"
              " once)", "users", role=_ADMIN, body=_CREATE_TOKEN, response=_TOKEN, status=201),
    Operation("DELETE", "/api/tokens/{token_id}", revoke_token, "Revoke an API token", "users",
              role=_ADMIN, response=_TOKEN),
    Operation("GET", "/api/audit", list_audit, "The audit log, newest first", "audit",
              role=_ADMIN, query=(*_FILTERS, Param("limit", schemas.LIMIT),
                                  Param("offset", schemas.OFFSET)),
              response={"type": "object", "properties": {
                  "entries": {"type": "array", "items": _ENTRY}, "count": schemas.COUNT},
                  "required": ["entries", "count"]}),
    Operation("GET", "/api/audit.csv", export_audit, "The audit log as CSV", "audit",
              role=_ADMIN, query=_FILTERS, produces="text/csv"),
]  # fmt: skip
