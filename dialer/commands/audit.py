"""`dialer audit ...`: who changed what, and how the command line writes it down.

    dialer audit list [--since ISO] [--until ISO] [--actor A] [--action X] [--target T]
                      [--limit N] [--db FILE] [--json]
    dialer audit export --out FILE.csv [the same filters but --limit] [--db FILE] [--json]

`list` shows the newest entries first (100 unless `--limit`). `export` writes
every matching entry, oldest first, as CSV with the columns at (ISO 8601 UTC),
actor, role, action, target, before, after (JSON) and source. Times given
without a zone are UTC, as every time the CLI shows; `--until` is exclusive.
Filters match exactly: `--action user.add`, `--target campaign:3`.

Every command that changes something records its entry (actor and source
"cli", role "") in the transaction of the change, with `record_cli_audit`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from dialer.campaign.export import guard_formula, iso_utc
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config
from dialer.store.repository import AuditEntry, Repository, StoreError

CLI_ACTOR = CLI_SOURCE = "cli"
EXPORT_COLUMNS = ("at", "actor", "role", "action", "target", "before", "after", "source")
_LIST_LIMIT = 100


def record_cli_audit(
    store: Repository,
    action: str,
    target: str,
    *,
    now: float,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
) -> AuditEntry:
    """The command line's entry; call it inside the `transaction()` of the change."""
    return store.record_audit(
        at=now,
        actor=CLI_ACTOR,
        role="",
        action=action,
        target=target,
        source=CLI_SOURCE,
        before=before,
        after=after,
    )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the audit log: who changed what, when")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    listing = actions.add_parser("list", help="the newest entries first")
    listing.add_argument("--limit", type=_count, default=_LIST_LIMIT, help="default 100")
    export = actions.add_parser("export", help="every matching entry as CSV, oldest first")
    export.add_argument("--out", required=True, help="the CSV file to write")
    for parser in (listing, export):
        parser.add_argument("--since", type=_instant, help="from this time (ISO 8601; UTC)")
        parser.add_argument("--until", type=_instant, help="before this time (ISO 8601; UTC)")
        parser.add_argument("--actor", help="a username, or cli")
        parser.add_argument("--action", help="such as user.add or campaign.start")
        parser.add_argument("--target", help="such as user:alice or campaign:3")
        add_common_arguments(parser)


def audit_command(args: argparse.Namespace, config: Config) -> int:
    filters = {
        "since": args.since,
        "until": args.until,
        "actor": args.actor,
        "action": args.action,
        "target": args.target,
    }
    try:
        with open_store(args.db) as store:
            if args.audit_command == "list":
                entries = store.list_audit(**filters, limit=args.limit)
                shown = [entry_view(entry) for entry in entries]
                return emit({"entries": shown}, as_json=args.json)
            entries = store.list_audit(**filters, limit=None)
    except StoreError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            rows = write_audit_csv(reversed(entries), out)
    except OSError as exc:
        print(f"dialer: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return emit({"file": args.out, "rows": rows}, as_json=args.json)


def write_audit_csv(entries: Iterable[AuditEntry], out: TextIO) -> int:
    """The entries as CSV rows under EXPORT_COLUMNS; return how many were written.
    Text cells that a spreadsheet would take for a formula are made inert."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    for entry in entries:
        cells = (entry.actor, entry.role, entry.action, entry.target)
        changes = (_json_cell(entry.before), _json_cell(entry.after), entry.source)
        writer.writerow([iso_utc(entry.at), *(guard_formula(c) for c in (*cells, *changes))])
        written += 1
    return written


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the CLI and the API show it (times as ISO 8601 UTC)."""
    return {
        "id": entry.id,
        "at": iso_utc(entry.at),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "source": entry.source,
        "before": None if entry.before is None else dict(entry.before),
        "after": None if entry.after is None else dict(entry.after),
    }


def _json_cell(value: Mapping[str, object] | None) -> str:
    return "" if value is None else json.dumps(dict(value), sort_keys=True)


def _instant(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (such as 2027-01-15 or 2027-01-15T08:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number (got {text!r})")
    return int(text)
