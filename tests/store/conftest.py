"""The store tests' shared fixtures: a fresh SQLite file, opened, and an empty campaign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.store.sqlite import SqliteStore

CREATED_AT = 1_800_000_000.0  # the T0 the store tests count from


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "dialer.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


@pytest.fixture
def campaign(store: SqliteStore) -> int:
    return store.create_campaign("spring", now=CREATED_AT)
