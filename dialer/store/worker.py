"""The store on a thread of its own.

SQLite wants one connection per thread, and with `synchronous=FULL` a commit
waits for fsync: done on the event loop, that would stall the media clock of
every call. So one worker thread owns the store (any `Repository`: the engine
sees nothing else), and the asyncio side awaits each operation
(`await worker.run(lambda s: s.begin_attempt(...))`). One thread also means the
store's writes are serialised in the order they were asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dialer.store.repository import Repository

T = TypeVar("T")


class StoreWorker:
    def __init__(self, open_store: Callable[[], Repository]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._store = self._executor.submit(open_store).result()

    async def run(self, operation: Callable[[Repository], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, operation, self._store)

    def close(self) -> None:
        self._executor.submit(self._store.close).result()
        self._executor.shutdown(wait=True)
