"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied in order, once each.

The database records what it has in `schema_version`. Every pending file runs
inside the caller's one write transaction, so a failed migration leaves the
schema as it was; a database newer than this code is refused, never guessed at.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from dialer.store.repository import SchemaError

log = logging.getLogger("dialer.store.sqlite")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_NOW_SQL = "(julianday('now') - 2440587.5) * 86400.0"  # Unix seconds, for bookkeeping only


def migrations(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str]]:
    """(version, sql) for every migration file, checked to be numbered 1, 2, 3..."""
    found: list[tuple[int, str]] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise SchemaError(f"migration file name not NNNN_name.sql: {path.name}")
        found.append((int(match.group(1)), path.read_text(encoding="utf-8")))
    versions = [version for version, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    leftover = [ln for ln in pending.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise SchemaError(f"unterminated statement in migration: {leftover[0]!r}")


def migrate(db: sqlite3.Connection, available: list[tuple[int, str]]) -> int:
    """Apply the pending migrations (the caller holds the transaction); return the version."""
    newest = len(available)
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    current = db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
    if current > newest:
        raise SchemaError(
            f"database schema is version {current}, this code knows up to {newest}:"
            " refusing to open it (upgrade the dialer)"
        )
    for version, script in available[current:]:
        for statement in _statements(script):
            db.execute(statement)
        db.execute(
            f"INSERT INTO schema_version (version, applied_at) VALUES (?, {_NOW_SQL})",
            (version,),
        )
        log.info("schema migrated to version %d", version)
    return newest
