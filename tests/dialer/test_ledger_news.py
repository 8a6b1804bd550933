"""Ledger news: each listener of a campaign hears its changes, and only its own."""

from __future__ import annotations

from dialer.ledger_news import LedgerNews


async def test_a_change_wakes_the_campaigns_listeners_and_no_others() -> None:
    news = LedgerNews()
    with news.listen(1) as first, news.listen(1) as second, news.listen(2) as other:
        news.changed(1)
        assert first.is_set() and second.is_set() and not other.is_set()
    news.changed(1)  # nobody listens any more: nothing to wake, nothing kept
    assert news._listeners == {}


async def test_a_listener_gone_hears_nothing_more() -> None:
    news = LedgerNews()
    with news.listen(1) as gone:
        pass
    with news.listen(1) as staying:
        news.changed(1)
    assert staying.is_set() and not gone.is_set()
