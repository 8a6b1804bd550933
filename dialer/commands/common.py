"""What every store-backed command shares: the `--db` and `--json` options, and the store."""

from __future__ import annotations

import argparse
from contextlib import closing
from pathlib import Path

from dialer.store.sqlite import SqliteStore

DEFAULT_DB = "var/dialer.db"


def add_common_arguments(parser: argparse.ArgumentParser, *, data: bool = True) -> None:
    """`--db` for every command; `--json` for those whose output is data."""
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database (default {DEFAULT_DB})")
    if data:
        parser.add_argument("--json", action="store_true", help="print one JSON object")


def open_store(path: str) -> closing[SqliteStore]:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return closing(SqliteStore(Path(path)))
