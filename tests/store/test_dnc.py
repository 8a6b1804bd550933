"""The do-not-call lists in the SQLite store: global vs per campaign, idempotent add,
remove, list, and the one-transaction import."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.contacts.record import ContactRecord
from dialer.store.repository import DncEntry, InvalidNumber, NotFound, OnDoNotCallList
from dialer.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
ANN, BOB, CY = "+14155550100", "+14155550101", "+14155550102"


@pytest.fixture
def other(store: SqliteStore) -> int:
    return store.create_campaign("autumn", now=T0)


def numbers(entries: list[DncEntry]) -> list[tuple[str, int | None]]:
    return [(entry.number, entry.campaign_id) for entry in entries]


def test_list_the_global_list_or_what_applies_to_one_campaign(
    store: SqliteStore, campaign: int, other: int
) -> None:
    store.add_dnc(BOB, now=T0, campaign_id=campaign, source="callee asked")
    store.add_dnc(BOB, now=T0 + 1, source="cli")
    store.add_dnc(ANN, now=T0 + 2, campaign_id=other, source="cli")
    store.add_dnc(CY, now=T0 + 3, source="import:optouts.csv")
    assert store.list_dnc() == [
        DncEntry(BOB, None, "cli", T0 + 1),
        DncEntry(CY, None, "import:optouts.csv", T0 + 3),
    ]
    # by number, the global entry before the campaign's own
    assert numbers(store.list_dnc(campaign)) == [(BOB, None), (BOB, campaign), (CY, None)]
    assert numbers(store.list_dnc(campaign, include_global=False)) == [(BOB, campaign)]
    assert numbers(store.list_dnc(other, include_global=False)) == [(ANN, other)]
    with pytest.raises(NotFound):
        store.list_dnc(999)


def test_add_is_idempotent_and_keeps_the_first_source_and_time(
    store: SqliteStore, campaign: int
) -> None:
    assert store.add_dnc(ANN, now=T0, source="callee asked")
    assert not store.add_dnc(ANN, now=T0 + 5, source="cli")
    assert store.list_dnc() == [DncEntry(ANN, None, "callee asked", T0)]


def test_remove_takes_a_number_off_one_list_only(
    store: SqliteStore, campaign: int, other: int
) -> None:
    store.add_dnc(ANN, now=T0)
    store.add_dnc(ANN, now=T0, campaign_id=campaign)
    store.add_dnc(ANN, now=T0, campaign_id=other)
    assert store.remove_dnc(ANN, campaign_id=campaign)
    assert not store.remove_dnc(ANN, campaign_id=campaign)  # no longer there
    assert store.dnc_contains(ANN, campaign)  # the global entry still applies
    assert numbers(store.list_dnc(other, include_global=False)) == [(ANN, other)]
    assert store.remove_dnc(ANN)
    assert not store.dnc_contains(ANN, campaign)
    assert store.dnc_contains(ANN, other)
    assert not store.remove_dnc(BOB)


def test_remove_refuses_a_bad_number_and_an_unknown_campaign(store: SqliteStore) -> None:
    with pytest.raises(InvalidNumber):
        store.remove_dnc("4155550100")
    with pytest.raises(NotFound):
        store.remove_dnc(ANN, campaign_id=999)


def test_a_removed_number_can_be_dialled_again(store: SqliteStore, campaign: int) -> None:
    store.import_contacts(campaign, [ContactRecord(2, "Ann", ANN, None)], now=T0)
    (lead,) = store.list_leads(campaign)
    store.add_dnc(ANN, now=T0)
    with pytest.raises(OnDoNotCallList):
        store.begin_attempt(lead.id, ANN, T0)
    store.remove_dnc(ANN)
    assert store.begin_attempt(lead.id, ANN, T0) > 0


def test_import_adds_many_and_counts_only_the_new(store: SqliteStore, campaign: int) -> None:
    store.add_dnc(ANN, now=T0, campaign_id=campaign, source="cli")
    added = store.import_dnc(
        [ANN, BOB, CY, BOB], now=T0 + 1, campaign_id=campaign, source="import:a.csv"
    )
    assert added == 2
    assert store.list_dnc(campaign) == [
        DncEntry(ANN, campaign, "cli", T0),
        DncEntry(BOB, campaign, "import:a.csv", T0 + 1),
        DncEntry(CY, campaign, "import:a.csv", T0 + 1),
    ]
    assert store.list_dnc() == []  # a campaign's import leaves the global list alone
    assert store.import_dnc(iter([CY]), now=T0, source="import:b.csv") == 1  # any iterable


def test_import_is_one_transaction_a_bad_number_rolls_it_all_back(
    store: SqliteStore, campaign: int, tmp_path: Path
) -> None:
    store.add_dnc(ANN, now=T0)
    with pytest.raises(InvalidNumber):
        store.import_dnc([BOB, CY, "+0123", "+14155550103"], now=T0, source="import:bad.csv")
    assert numbers(store.list_dnc()) == [(ANN, None)]
    reopened = SqliteStore(tmp_path / "dialer.db")  # and nothing half-written on disk either
    try:
        assert numbers(reopened.list_dnc()) == [(ANN, None)]
    finally:
        reopened.close()


def test_import_into_an_unknown_campaign_writes_nothing(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        store.import_dnc([ANN], now=T0, campaign_id=999, source="cli")
    assert not store.dnc_contains(ANN)
