"""News that a campaign's ledger changed, for whoever shows it live.

The campaign actor says so after each attempt it begins or records; the dashboard's live
stream waits on it as well as on its refresh tick, so a call that ended shows within a
fraction of a second rather than at the next tick. In process only: campaigns dialled by
another process (`dialer campaign run`) are seen at the tick.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class LedgerNews:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = {}

    def changed(self, campaign_id: int) -> None:
        for event in self._listeners.get(campaign_id, ()):
            event.set()

    @contextlib.contextmanager
    def listen(self, campaign_id: int) -> Iterator[asyncio.Event]:
        """An event set at each change of the campaign's ledger (the listener clears it)."""
        event = asyncio.Event()
        listeners = self._listeners.setdefault(campaign_id, set())
        listeners.add(event)
        try:
            yield event
        finally:
            listeners.discard(event)
            if not listeners:
                del self._listeners[campaign_id]
