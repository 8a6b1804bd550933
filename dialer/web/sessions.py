"""Browser sessions: random tokens in memory, each with its CSRF token and expiry.

A session is what the `HttpOnly; SameSite=Strict` cookie names: 32 random bytes,
never logged. Sessions live in this process only, so a restart logs every
browser out (they log in again); nothing about them is written anywhere. The
agent console's sessions hold an `Agent`, the dashboard's a `User`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from dialer.store.repository import Agent

Subject = TypeVar("Subject")


@dataclass(frozen=True)
class Session(Generic[Subject]):
    token: str = field(repr=False)
    csrf: str = field(repr=False)  # echoed by the page's forms and requests
    subject: Subject
    expires_at: float  # monotonic clock

    def csrf_matches(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


class Sessions(Generic[Subject]):
    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._sessions: dict[str, Session[Subject]] = {}

    def create(self, subject: Subject) -> Session[Subject]:
        self._prune()
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), subject, self.clock() + self.ttl_s
        )
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session[Subject] | None:
        if not token:
            return None
        session = self._sessions.get(token)
        if session is not None and session.expires_at <= self.clock():
            del self._sessions[token]
            return None
        return session

    def drop(self, token: str) -> None:
        self._sessions.pop(token, None)

    def _prune(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]


AgentSession = Session[Agent]
AgentSessions = Sessions[Agent]
