"""The aiohttp application `dialer serve` runs: the agent console and the API.

`make_app` builds it from what it serves (the store worker, the live agent
pool, the configuration: `[web]` and what starting a campaign checks);
`start_web` runs it on `bind_host:port` and returns
the runner, which `serve` cleans up before the agents close. Every response
carries the security headers: a CSP that allows no inline script and no other
origin, no framing, no sniffing, and `no-store` on all but static files (the
console's pages show who is calling and what they said).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from actors.agent_pool import LiveAgentPool
from dialer.agents.browser import RECONNECT_GRACE_S, BrowserConsoles
from dialer.config import Config
from dialer.ledger_news import LedgerNews
from dialer.metrics import DialerMetrics
from dialer.store.repository import User
from dialer.store.worker import StoreWorker
from dialer.web import console, dashboard
from dialer.web.api import add_api
from dialer.web.api.errors import errors_as_json
from dialer.web.login_limit import LoginLimiter
from dialer.web.sessions import AgentSessions, Sessions
from dialer.web.state import (
    AGENTS,
    CONFIG,
    CONSOLES,
    LEDGER_NEWS,
    LOGINS,
    METRICS,
    SESSIONS,
    SETTINGS,
    STOPPING,
    STORE,
    USER_LOGINS,
    USER_SESSIONS,
)

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
    config: Config,
    *,
    grace_s: float = RECONNECT_GRACE_S,
    logins: LoginLimiter | None = None,
    metrics: DialerMetrics | None = None,
    news: LedgerNews | None = None,
) -> web.Application:
    """`metrics`: the dialer's (a fresh registry when the app runs without one, in tests);
    `news`: the campaign host's (none: live pages refresh on their tick only)."""
    settings = config.web
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[errors_as_json])
    app[STORE] = store
    app[AGENTS] = agents
    app[SETTINGS] = settings
    app[CONFIG] = config
    app[SESSIONS] = AgentSessions(settings.session_ttl_s)
    app[LOGINS] = logins if logins is not None else LoginLimiter()
    app[USER_SESSIONS] = Sessions[User](settings.session_ttl_s)
    app[USER_LOGINS] = LoginLimiter(max_failures=logins.max_failures) if logins else LoginLimiter()
    app[CONSOLES] = BrowserConsoles(agents, store, grace_s=grace_s)
    app[METRICS] = metrics if metrics is not None else DialerMetrics()
    app[METRICS].gauge("dialer_agents", "Agents by state", "state", lambda: _agent_counts(agents))
    app.on_response_prepare.append(_security_headers)
    app[STOPPING] = asyncio.Event()
    app[LEDGER_NEWS] = news if news is not None else LedgerNews()
    app.on_shutdown.append(_consoles_closed)
    console.add_routes(app)
    dashboard.add_routes(app)
    add_api(app)
    return app


async def start_web(
    store: StoreWorker,
    agents: LiveAgentPool,
    config: Config,
    metrics: DialerMetrics,
    news: LedgerNews,
) -> web.AppRunner | None:
    """Serve the app on `[web]` bind_host:port; `await runner.cleanup()` stops it.

    None when the address cannot be bound, said loudly: the campaigns (and agents on
    SIP phones) still run, since the calls must not depend on the web."""
    settings = config.web
    runner = web.AppRunner(make_app(store, agents, config, metrics=metrics, news=news))
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
    log.info("dashboard on http://%s:%d/dashboard, agent console on /agent, API on /api",
             settings.bind_host, settings.port)  # fmt: skip
    return runner


def _agent_counts(agents: LiveAgentPool) -> dict[str, float]:
    return {str(state): count for state, count in agents.pool.counts().items()}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith((console.STATIC_PREFIX, dashboard.STATIC_PREFIX)):
        response.headers["Cache-Control"] = "no-store"


async def _consoles_closed(app: web.Application) -> None:
    """On shutdown, before the server waits for its handlers: the consoles log out and
    close their WebSockets, and the dashboards' live streams end; either would else hold
    the shutdown up until its timeout."""
    app[STOPPING].set()
    await app[CONSOLES].close()
