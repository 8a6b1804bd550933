"""What the API's tests share: the app on a real store, a user of each role, their tokens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from actors.agent_pool import LiveAgentPool
from dialer.agents.pool import AgentPool
from dialer.config import Config, FlowSettings
from dialer.metrics import DialerMetrics
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from dialer.web.login_limit import LoginLimiter

PASSWORD = "correct.horse.battery"
ROLES = ("admin", "manager", "agent")
Client = TestClient[Any, Any]


@dataclass
class Api:
    client: Client
    store: StoreWorker
    tokens: dict[str, str]  # by role

    def auth(self, role: str | None) -> dict[str, str]:
        """The headers of a machine with `role`'s token (none: no login)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.client.server.port}"

    async def login(self, username: str, password: str = PASSWORD) -> str:
        """A browser session (the client keeps the cookie); its CSRF token."""
        answer = await self.client.post(
            "/api/session", json={"username": username, "password": password}
        )
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["csrf"])


async def open_api(
    folder: Path, config: Config | None = None, metrics: DialerMetrics | None = None
) -> AsyncIterator[Api]:
    """The app as `serve` builds it, a user and a token for each role; `config`: the
    default one with the library in `folder`."""
    store = StoreWorker(lambda: SqliteStore(folder / "dialer.db"))
    tokens = {}
    for role in ROLES:
        user = await store.run(lambda s, r=role: s.add_user(r, PASSWORD, r, now=time.time()))
        _, tokens[role] = await store.run(
            lambda s, u=user: s.create_api_token(u.id, "tests", now=time.time())
        )
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    if config is None:
        config = Config(flows=FlowSettings(library_dir=str(folder / "library")))
    app = make_app(store, live, config, logins=LoginLimiter(max_failures=3), metrics=metrics)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Api(client, store, tokens)
    await live.close()
    store.close()
