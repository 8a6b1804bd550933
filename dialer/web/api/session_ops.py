"""Logging in and out of the dashboard and the API from a browser.

    POST   /api/session   {"username", "password"} -> the session cookie and its CSRF token
    GET    /api/session   who is logged in, and the CSRF token (a reloaded page asks)
    DELETE /api/session   log out

Failed logins are limited per source address and per username (the console's
`LoginLimiter`); a wrong password, an unknown user and a disabled one get the
same answer. Logins and logouts are in the audit log.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from aiohttp import web

from dialer.store.repository import User
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError
from dialer.web.api.operation import ApiCall, Changed, Operation, Role
from dialer.web.api.principal import SESSION_COOKIE, Caller
from dialer.web.state import SETTINGS, STORE, USER_LOGINS, USER_SESSIONS

log = logging.getLogger("dialer.web.api")

WRONG_LOGIN = "wrong username or password"


async def log_in(call: ApiCall) -> web.Response:
    username, password = call.body["username"].strip(), call.body["password"]
    request = call.request
    source = request.remote or "unknown"
    limiter = request.app[USER_LOGINS]
    wait_s = limiter.try_login(source, username)
    if wait_s > 0:
        log.warning("login for %r from %s refused: too many failures", username, source)
        minutes = max(1, math.ceil(wait_s / 60))
        raise ApiError(429, f"too many failed logins: try again in {minutes} min")
    user = await request.app[STORE].run(lambda s: s.check_user_login(username, password))
    if user is None:
        log.info("login failed for %r from %s", username, source)
        raise ApiError(401, WRONG_LOGIN)
    limiter.succeeded(source, username)
    sessions = request.app[USER_SESSIONS]
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        sessions.drop(old)  # a fresh token at every login (no session fixation)
    session = sessions.create(user)
    logged_in = ApiCall(request, Caller(user, session))
    await logged_in.change("session.login", f"user:{user.username}",
                           lambda s: Changed(None, after={"source": source}))  # fmt: skip
    log.info("%s %s logged in from %s", user.role, user.username, source)
    response = web.json_response({"user": user_view(user), "csrf": session.csrf})
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(request.app[SETTINGS].session_ttl_s),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def who_am_i(call: ApiCall) -> dict[str, Any]:
    caller = call.caller
    assert caller is not None
    csrf = caller.session.csrf if caller.session is not None else None
    return {"user": user_view(caller.user), "csrf": csrf}


async def log_out(call: ApiCall) -> web.Response:
    caller = call.caller
    assert caller is not None
    if caller.session is not None:
        call.request.app[USER_SESSIONS].drop(caller.session.token)
    await call.change("session.logout", f"user:{call.user.username}", lambda s: Changed(None))
    response = web.json_response({"logged_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role}


_LOGIN = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
    "required": ["username", "password"],
    "additionalProperties": False,
}
_SESSION = {
    "type": "object",
    "properties": {"user": schemas.USER_BRIEF, "csrf": {"type": ["string", "null"]}},
    "required": ["user", "csrf"],
}

OPERATIONS = [
    Operation("POST", "/api/session", log_in, "Log in (sets the session cookie)", "session",
              role=None, body=_LOGIN, response=_SESSION, refusals=(401, 429)),
    Operation("GET", "/api/session", who_am_i, "Who is logged in, and the CSRF token", "session",
              role=Role.AGENT, response=_SESSION),
    Operation("DELETE", "/api/session", log_out, "Log out", "session", role=Role.AGENT,
              response={"type": "object", "properties": {"logged_out": {"type": "boolean"}}}),
]  # fmt: skip
