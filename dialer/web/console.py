"""The agent console's routes: its pages, login and logout, and the page's WebSocket.

    GET  /agent          the login page, or the console once logged in
    POST /agent/login    extension + password -> the session cookie (rate limited)
    POST /agent/logout   with the session's CSRF token
    POST /agent/mode     browser or desk_phone, with the session's CSRF token
    GET  /agent/session  200 while the session lasts, else 401 (a reconnecting page asks)
    GET  /agent/ws       the console's messages, JSON both ways (`BrowserConsole.handle`)

Security: the session is a random token in an `HttpOnly; SameSite=Strict`
cookie; every state-changing request must come from this origin (its `Origin`,
or `Referer`, names us: a form or a WebSocket opened by another site is
refused), logout also carries the session's CSRF token, and the WebSocket
checks the session and the Origin before it upgrades. A wrong password and an
unknown extension get the same answer in the same time (the store equalises
the hashing). Passwords and tokens are never logged.

Modes: `browser` (the console takes the calls, audio over WebRTC) or `desk_phone`
(the agent's SIP phone takes them, the console shows them: `dialer.agents.desk_phone`).
The choice, on the login page or on the console, is remembered per browser in a
cookie of its own (not a secret: it only says where the audio goes), read when the
WebSocket opens; changing it needs the same origin and CSRF token as logout.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path

from aiohttp import WSMsgType, web

from dialer.agents.browser import BrowserConsole, ConsoleError
from dialer.agents.states import AgentState
from dialer.web.origin import same_origin
from dialer.web.sessions import AgentSession
from dialer.web.state import AGENTS, CONSOLES, LOGINS, SESSIONS, SETTINGS, STORE

log = logging.getLogger("dialer.web")

STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/agent/static/"
COOKIE = "dialer_agent"
MODE_COOKIE = "dialer_agent_mode"
BROWSER, DESK_PHONE = "browser", "desk_phone"
MODE_KEPT_S = 365 * 86400
COOKIE_PATH = "/agent"
HEARTBEAT_S = 10.0  # a network that went away is noticed within about this
MAX_MESSAGE_BYTES = 256 * 1024  # an SDP offer is a few KB
MAX_EXTENSION, MAX_PASSWORD = 64, 1024
WRONG_LOGIN = "Wrong extension or password."
KICKED = 4001  # close code: this page must not reconnect (logged out, opened elsewhere)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/agent", page)
    app.router.add_post("/agent/login", login)
    app.router.add_post("/agent/logout", logout)
    app.router.add_post("/agent/mode", set_mode)
    app.router.add_get("/agent/session", session_status)
    app.router.add_get("/agent/ws", websocket)
    app.router.add_static(STATIC_PREFIX, STATIC, name="agent-static")


# -- pages -------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    session = _session(request)
    mode = _mode(request)
    if session is None:
        return _login_page(mode=mode)
    agent = session.subject
    desk = mode == DESK_PHONE
    return _render(
        "console.html",
        csrf=session.csrf,
        name=agent.name,
        extension=agent.extension,
        mode=mode,
        other_mode=BROWSER if desk else DESK_PHONE,
        switch_label="Take calls in this browser" if desk else "Take calls on my desk phone",
    )


def _login_page(error: str = "", status: int = 200, mode: str = BROWSER) -> web.Response:
    desk = mode == DESK_PHONE
    return _render(
        "login.html",
        status=status,
        error=error,
        hidden="" if error else "hidden",
        browser_checked="" if desk else "checked",
        desk_checked="checked" if desk else "",
    )


def _render(template: str, *, status: int = 200, **values: str) -> web.Response:
    """A static page with `{{name}}` placeholders filled in, escaped."""
    text = (STATIC / template).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return web.Response(text=text, status=status, content_type="text/html")


# -- login and logout --------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    extension, password = form.get("extension"), form.get("password")
    chosen = form.get("mode")
    ok = isinstance(chosen, str) and chosen in (BROWSER, DESK_PHONE)
    mode = chosen if ok and isinstance(chosen, str) else _mode(request)
    if not isinstance(extension, str) or not isinstance(password, str):
        return _login_page(WRONG_LOGIN, 401, mode)
    extension = extension.strip()[:MAX_EXTENSION]
    if len(password) > MAX_PASSWORD:
        return _login_page(WRONG_LOGIN, 401, mode)
    source = request.remote or "unknown"
    limiter = request.app[LOGINS]
    wait_s = limiter.try_login(source, extension)
    if wait_s > 0:
        log.warning("console login for extension %r from %s refused: too many failures",
                    extension, source)  # fmt: skip
        minutes = max(1, math.ceil(wait_s / 60))
        return _login_page(f"Too many failed logins. Try again in {minutes} min.", 429, mode)
    agent = await request.app[STORE].run(lambda s: s.check_agent_login(extension, password))
    if agent is None:
        log.info("console login failed for extension %r from %s", extension, source)
        return _login_page(WRONG_LOGIN, 401, mode)
    limiter.succeeded(source, extension)
    if agent.id not in request.app[AGENTS].pool.seats:
        return _login_page(
            "This agent is not seated in this dialer yet; try again shortly.", 503, mode
        )
    sessions = request.app[SESSIONS]
    old = request.cookies.get(COOKIE)
    if old:
        sessions.drop(old)  # a fresh token at every login (no session fixation)
    session = sessions.create(agent)
    log.info("agent %s logged in to the console from %s", agent.extension, source)
    response = web.Response(status=303, headers={"Location": "/agent"})
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(request.app[SETTINGS].session_ttl_s),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    _remember_mode(request, response, mode)
    return response


async def set_mode(request: web.Request) -> web.Response:
    """The console's switch between browser and desk-phone mode: remembered, then the page
    loads again (its WebSocket reconnects in the new mode)."""
    session = _session(request)
    form = await request.post()
    csrf, mode = form.get("csrf"), form.get("mode")
    if (
        session is None
        or not same_origin(request)
        or not isinstance(csrf, str)
        or not session.csrf_matches(csrf)
    ):
        raise web.HTTPForbidden(text="mode change refused")
    if mode not in (BROWSER, DESK_PHONE):
        raise web.HTTPBadRequest(text=f"the modes are {BROWSER} and {DESK_PHONE}")
    state = request.app[AGENTS].pool.state(session.subject.id)
    if state in (AgentState.RESERVED, AgentState.ON_CALL):
        raise web.HTTPConflict(text="not during a call: change the mode after it")
    response = web.Response(status=303, headers={"Location": "/agent"})
    _remember_mode(request, response, str(mode))
    return response


def _remember_mode(request: web.Request, response: web.Response, mode: str) -> None:
    response.set_cookie(
        MODE_COOKIE,
        mode,
        max_age=MODE_KEPT_S,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


async def logout(request: web.Request) -> web.Response:
    session = _session(request)
    form = await request.post()
    csrf = form.get("csrf")
    if (
        session is None
        or not same_origin(request)
        or not isinstance(csrf, str)
        or not session.csrf_matches(csrf)
    ):
        raise web.HTTPForbidden(text="logout refused")
    request.app[SESSIONS].drop(session.token)
    await request.app[CONSOLES].log_out(session.subject.id, "logged out")
    log.info("agent %s logged out of the console", session.subject.extension)
    response = web.Response(status=303, headers={"Location": "/agent"})
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


async def session_status(request: web.Request) -> web.Response:
    if _session(request) is None:
        return web.json_response({"session": False}, status=401)
    return web.json_response({"session": True})


# -- the console's connection ------------------------------------------------------------


async def websocket(request: web.Request) -> web.WebSocketResponse:
    session = _session(request)
    if session is None:
        raise web.HTTPForbidden(text="log in first")
    if not same_origin(request, allow_referer=False):
        raise web.HTTPForbidden(text="cross-site WebSocket refused")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    link = WebSocketLink(ws)
    consoles = request.app[CONSOLES]
    console = consoles.attach(session.subject, link, desk_phone=_mode(request) == DESK_PHONE)
    link.send(console.hello())
    requests: set[asyncio.Task[None]] = set()
    try:
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                link.send({"type": "error", "message": "messages are JSON objects"})
                continue
            task = asyncio.ensure_future(_serve(console, message, link))
            requests.add(task)
            task.add_done_callback(requests.discard)
    finally:
        consoles.detach(console, link)
        for task in list(requests):
            task.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
        await link.finish()
    return ws


async def _serve(
    console: BrowserConsole, message: Mapping[str, object], link: WebSocketLink
) -> None:
    kind = message.get("type")
    try:
        reply = await console.handle(message)
    except ConsoleError as exc:
        reply = {"type": "error", "request": kind, "message": str(exc)}
    except Exception:
        log.exception("agent %s: console request %r failed", console.agent.extension, kind)
        reply = {"type": "error", "request": kind, "message": "internal error"}
    if reply is not None:
        link.send(reply)


class WebSocketLink:
    """A `ConsoleLink` over an aiohttp WebSocket: one writer task sends, in order."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._queue: asyncio.Queue[tuple[Mapping[str, object] | None, str]] = asyncio.Queue()
        self._writer = asyncio.ensure_future(self._write())

    def send(self, message: Mapping[str, object]) -> None:
        self._queue.put_nowait((message, ""))

    def close(self, reason: str) -> None:
        self._queue.put_nowait(({"type": "bye", "reason": reason}, ""))
        self._queue.put_nowait((None, reason))

    async def _write(self) -> None:
        while True:
            message, reason = await self._queue.get()
            if message is None:
                await self.ws.close(code=KICKED, message=reason.encode()[:120])
                return
            try:
                await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):  # the page is gone: the reader notices
                return

    async def finish(self) -> None:
        """After the reader ended: stop writing and make sure the socket is closed."""
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        await self.ws.close()


# -- checks ------------------------------------------------------------------------------


def _session(request: web.Request) -> AgentSession | None:
    return request.app[SESSIONS].get(request.cookies.get(COOKIE))


def _mode(request: web.Request) -> str:
    """The mode this browser chose (browser mode until it chose)."""
    return DESK_PHONE if request.cookies.get(MODE_COOKIE) == DESK_PHONE else BROWSER
