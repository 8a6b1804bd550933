"""`dialer contacts ...`: contact lists loaded into a campaign.

    dialer contacts import CAMPAIGN FILE.csv [--region US] [--db FILE] [--json]

The import report (per-row errors with their line) goes to stderr, the summary
to stdout. A file refused whole (empty, binary, wrong header, too many rows)
imports nothing and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contacts = commands.add_parser("contacts", help="contact lists")
    actions = contacts.add_subparsers(dest="contacts_command", required=True)
    load = actions.add_parser("import", help="import a CSV into a campaign")
    load.add_argument("campaign", type=int)
    load.add_argument("file")
    load.add_argument(
        "--region", help="region for national numbers (default: contacts.default_region)"
    )
    add_common_arguments(load)


def contacts_command(args: argparse.Namespace, config: Config) -> int:
    return _import(args, config)


def _import(args: argparse.Namespace, config: Config) -> int:
    from dialer.contacts.csv_import import ContactImportError, parse_contacts
    from dialer.store.repository import StoreError

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"dialer: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    region = args.region or config.contacts.default_region
    try:
        result = parse_contacts(data, default_region=region, max_rows=config.contacts.max_rows)
    except ContactImportError as exc:
        print(f"dialer: {args.file} refused, nothing imported: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with open_store(args.db) as store:
            added = store.import_contacts(args.campaign, result.records, now=time.time())
    except StoreError as exc:
        print(f"dialer: nothing imported: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(result.report(), file=sys.stderr)
    return emit({**result.to_dict(), "new_leads": added}, as_json=args.json)
