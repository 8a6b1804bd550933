"""What the web app's handlers share, as typed application keys."""

from __future__ import annotations

from aiohttp import web

from actors.agent_pool import LiveAgentPool
from dialer.agents.browser import BrowserConsoles
from dialer.config import WebSettings
from dialer.store.worker import StoreWorker
from dialer.web.login_limit import LoginLimiter
from dialer.web.sessions import AgentSessions

STORE = web.AppKey("store", StoreWorker)
AGENTS = web.AppKey("agents", LiveAgentPool)
SETTINGS = web.AppKey("settings", WebSettings)
CONSOLES = web.AppKey("consoles", BrowserConsoles)
SESSIONS = web.AppKey("sessions", AgentSessions)
LOGINS = web.AppKey("logins", LoginLimiter)
