"""What store-backed commands share: the `--db`, `--json` and `--region` options, and the store."""

from __future__ import annotations

import argparse
from contextlib import closing
from pathlib import Path

from dialer.contacts.phone import check_region
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


def add_region_argument(parser: argparse.ArgumentParser) -> None:
    """`--region XX` for commands that read phone numbers; an unknown one is a usage error."""
    parser.add_argument(
        "--region",
        type=_region,
        help="ISO 3166 region for national numbers (default: contacts.default_region)",
    )


def _region(text: str) -> str:
    try:
        return check_region(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown region {text!r}: use an ISO 3166 code such as US, GB or FR"
        ) from None
