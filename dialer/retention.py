"""Data retention: contact data purged `[retention] contact_days` after a campaign's creation.

`serve` runs `purge_expired_contacts` at start and every `CHECK_S`. A campaign
still dialling (or paused, or scheduled) waits until it ends; each purge is one
transaction with its audit entry, by the actor `retention`.
"""

from __future__ import annotations

from collections.abc import Callable

from dialer.config import RetentionSettings
from dialer.store.repository import Repository
from dialer.store.worker import StoreWorker

CHECK_S = 3600.0
ACTOR = "retention"  # reserved: no user can take the name
DAY_S = 86_400.0


async def purge_expired_contacts(
    store: StoreWorker, settings: RetentionSettings, now: float
) -> list[int]:
    """Purge every campaign due; the ids purged."""
    if settings.contact_days <= 0:
        return []
    created_before = now - settings.contact_days * DAY_S
    due = await store.run(lambda s: s.campaigns_to_purge(created_before))
    for campaign_id in due:
        await store.run(_purger(campaign_id, settings.contact_days, now))
    return due


def _purger(campaign_id: int, days: int, now: float) -> Callable[[Repository], None]:
    return lambda store: _purge(store, campaign_id, days, now)


def _purge(store: Repository, campaign_id: int, days: int, now: float) -> None:
    with store.transaction():
        leads = store.purge_contact_data(campaign_id, now=now)
        store.record_audit(
            at=now, actor=ACTOR, role="", action="campaign.purge_contacts",
            target=f"campaign:{campaign_id}", source=ACTOR,
            after={"leads": leads, "contact_days": days},
        )  # fmt: skip
