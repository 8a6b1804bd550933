"""The store tests' shared fixtures: a fresh SQLite file, opened, and an empty campaign;
scrypt at a low cost, and a count of its runs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dialer.agents import credentials
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


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lower cost keeps the suite fast; the hash records it, so verification follows."""
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch, store: SqliteStore) -> list[bool]:
    """One entry per scrypt run: whether a store transaction was open at the time."""
    calls: list[bool] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: Any) -> bytes:
        calls.append(store._db.in_transaction)
        return real(password, **kwargs)

    monkeypatch.setattr(credentials.hashlib, "scrypt", counting)
    return calls
