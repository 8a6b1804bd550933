"""schemathesis against our own OpenAPI document: generated requests, good and bad, to the
real server; no 5xx, and every answer as documented (status, content type, schema).

The server runs in a thread of its own (schemathesis' calls are synchronous), on a real
store with an admin whose token is minted afresh for every case: a generated DELETE of
that token must not lock the rest of the run out.

One check is left out: `positive_data_acceptance` wants every schema-valid request
accepted, but a schema cannot say everything the settings codec checks (a real time
zone, a window that ends after it starts, a trunk that exists); those come back as a
documented 422 naming the setting."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from actors.agent_pool import LiveAgentPool
from dialer.agents import credentials
from dialer.agents.pool import AgentPool
from dialer.config import Config
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.api import operations
from dialer.web.api.openapi import document
from dialer.web.app import make_app

# The live stream is left out: it answers until its campaign ends, which a generated
# campaign never does (tests/e2e/test_dashboard.py reads it in a real browser).
schema = schemathesis.openapi.from_dict(document(operations())).exclude(
    operation_id="live_campaign"
)


class Server:
    """The app on loopback, its loop in a thread; `token()` mints an admin token there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url, self.store, self.runner, self.live, self.admin_id = self.call(self._start())

    def call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)

    async def _start(self) -> tuple[str, StoreWorker, web.AppRunner, LiveAgentPool, int]:
        store = StoreWorker(lambda: SqliteStore(self.folder / "dialer.db"))
        admin = await store.run(lambda s: s.add_user("admin", "a.long.password", "admin", now=0))
        live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
        runner = web.AppRunner(make_app(store, live, Config()))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}", store, runner, live, admin.id

    def token(self) -> str:
        async def mint() -> str:
            _, secret = await self.store.run(
                lambda s: s.create_api_token(self.admin_id, "schemathesis", now=time.time())
            )
            return str(secret)

        return str(self.call(mint()))

    def close(self) -> None:
        async def stop() -> None:
            await self.runner.cleanup()
            await self.live.close()
            self.store.close()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials.SCRYPT_N, old = 2**8, credentials.SCRYPT_N
    running = Server(tmp_path_factory.mktemp("schemathesis"))
    try:
        yield running
    finally:
        running.close()
        credentials.SCRYPT_N = old


@schema.parametrize()
# Derandomized: the same cases every run, so CI is repeatable (run it with
# derandomize=False locally to explore further; each bug it found is fixed and kept here).
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_document_says(case: Any, server: Server) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.token()}"},
        excluded_checks=[positive_data_acceptance],
    )
