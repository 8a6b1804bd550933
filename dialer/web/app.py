"""The aiohttp application `dialer serve` runs: today the agent console.

`make_app` builds it from what it serves (the store worker, the live agent
pool, `[web]` settings); `start_web` runs it on `bind_host:port` and returns
the runner, which `serve` cleans up before the agents close. Every response
carries the security headers: a CSP that allows no inline script and no other
origin, no framing, no sniffing, and `no-store` on all but static files (the
console's pages show who is calling and what they said).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from actors.agent_pool import LiveAgentPool
from dialer.agents.browser import RECONNECT_GRACE_S, BrowserConsoles
from dialer.config import WebSettings
from dialer.store.worker import StoreWorker
from dialer.web import console
from dialer.web.login_limit import LoginLimiter
from dialer.web.sessions import AgentSessions
from dialer.web.state import AGENTS, CONSOLES, LOGINS, SESSIONS, SETTINGS, STORE

log = logging.getLogger("dialer.web")

MAX_REQUEST_BYTES = 64 * 1024  # a login form, a websocket upgrade: nothing big comes in

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a form POST says `Origin: null`.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def make_app(
    store: StoreWorker,
    agents: LiveAgentPool,
    settings: WebSettings,
    *,
    grace_s: float = RECONNECT_GRACE_S,
    logins: LoginLimiter | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[STORE] = store
    app[AGENTS] = agents
    app[SETTINGS] = settings
    app[SESSIONS] = AgentSessions(settings.session_ttl_s)
    app[LOGINS] = logins if logins is not None else LoginLimiter()
    app[CONSOLES] = BrowserConsoles(agents, store, grace_s=grace_s)
    app.on_response_prepare.append(_security_headers)
    app.cleanup_ctx.append(_consoles_closed)
    console.add_routes(app)
    return app


async def start_web(
    store: StoreWorker, agents: LiveAgentPool, settings: WebSettings
) -> web.AppRunner | None:
    """Serve the app on `[web]` bind_host:port; `await runner.cleanup()` stops it.

    None when the address cannot be bound, said loudly: the campaigns (and agents on
    SIP phones) still run, since the calls must not depend on the console."""
    runner = web.AppRunner(make_app(store, agents, settings))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.bind_host, settings.port).start()
    except OSError as exc:
        log.error("agent console not served: web.bind_host/port %s:%d: %s",
                  settings.bind_host, settings.port, exc.strerror or exc)  # fmt: skip
        await runner.cleanup()
        return None
    except BaseException:
        await runner.cleanup()
        raise
    log.info("agent console on http://%s:%d/agent", settings.bind_host, settings.port)
    return runner


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(console.STATIC_PREFIX):
        response.headers["Cache-Control"] = "no-store"


async def _consoles_closed(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CONSOLES].close()  # consoles log out; their pages are told
