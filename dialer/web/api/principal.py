"""Who is calling the API: a machine with an API token, or a browser with a session.

A token comes as `Authorization: Bearer dlr_...` and is checked against its
hash in the store; it needs no CSRF token (a browser never sends it by itself).
A session is the `dialer_session` cookie the login sets (HttpOnly,
SameSite=Strict), and every request that changes something must also carry
its CSRF token in `X-CSRF-Token` and, if the browser says where it comes from,
come from this origin. Each request reads the user afresh, so disabling a
user, removing them or changing their role takes effect at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from dialer.store.repository import NotFound, User
from dialer.web.api.errors import ApiError
from dialer.web.sessions import Session
from dialer.web.state import STORE, USER_SESSIONS

SESSION_COOKIE = "dialer_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Caller:
    user: User
    session: Session[User] | None = None  # None: an API token

    def check_csrf(self, request: web.Request) -> None:
        assert self.session is not None
        presented = request.headers.get(CSRF_HEADER, "")
        origin = request.headers.get("Origin")
        if not self.session.csrf_matches(presented) or (
            origin is not None and origin != f"{request.scheme}://{request.host}"
        ):
            raise ApiError(403, f"send the session's CSRF token in {CSRF_HEADER}, from this site")


async def authenticate(request: web.Request) -> Caller | None:
    """The caller, or None if nobody is logged in; ApiError(401) for a bad token."""
    header = request.headers.get("Authorization")
    store = request.app[STORE]
    if header is not None:
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret or len(secret) > 200:
            raise ApiError(401, "the Authorization header must be: Bearer <API token>")
        now = time.time()
        user = await store.run(lambda s: s.check_api_token(secret, now=now))
        if user is None:
            raise ApiError(401, "the API token is wrong, revoked or expired")
        return Caller(user)
    sessions = request.app[USER_SESSIONS]
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    user_id = session.subject.id
    try:
        user = await store.run(lambda s: s.get_user(user_id))
    except NotFound:
        user = None
    if user is None or user.disabled or user.removed_at is not None:
        sessions.drop(session.token)
        return None
    return Caller(user, session)
