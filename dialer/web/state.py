"""What the web app's handlers share, as typed application keys."""

from __future__ import annotations

import asyncio

from aiohttp import web

from actors.agent_pool import LiveAgentPool
from dialer.agents.browser import BrowserConsoles
from dialer.config import Config, WebSettings
from dialer.ledger_news import LedgerNews
from dialer.metrics import DialerMetrics
from dialer.store.repository import User
from dialer.store.worker import StoreWorker
from dialer.web.login_limit import LoginLimiter
from dialer.web.sessions import AgentSessions, Sessions

STORE = web.AppKey("store", StoreWorker)
AGENTS = web.AppKey("agents", LiveAgentPool)
SETTINGS = web.AppKey("settings", WebSettings)
CONFIG = web.AppKey("config", Config)
CONSOLES = web.AppKey("consoles", BrowserConsoles)
SESSIONS = web.AppKey("sessions", AgentSessions)
LOGINS = web.AppKey("logins", LoginLimiter)
USER_SESSIONS = web.AppKey("user_sessions", Sessions[User])
USER_LOGINS = web.AppKey("user_logins", LoginLimiter)
METRICS = web.AppKey("metrics", DialerMetrics)
LEDGER_NEWS = web.AppKey("ledger_news", LedgerNews)  # wakes the campaigns' live pages
STOPPING = web.AppKey("stopping", asyncio.Event)  # set on shutdown: long answers end
