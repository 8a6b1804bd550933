"""`dialer dnc ...`: the do-not-call lists, global and per campaign.

    dialer dnc add NUMBER... [--campaign ID] [--region US] [--config FILE] [--db FILE] [--json]
    dialer dnc remove NUMBER... [--campaign ID] [--region US] [--config FILE] [--db FILE] [--json]
    dialer dnc list [--campaign ID] [--db FILE] [--json]
    dialer dnc import FILE [--campaign ID] [--region US] [--config FILE] [--db FILE] [--json]

Without `--campaign` a command acts on the global list, which every campaign
obeys; with it, on that campaign's own list (`list --campaign` shows both, as
both apply to it). Numbers are normalised to E.164 as contact lists are, so
"(415) 555-0100" and "+14155550100" are one entry. The dialer checks the lists
when it dials, so a number added mid-campaign is never called afterwards; a
number removed does not revive a lead already blocked (`dialer contacts reset`).

`add` and `remove` handle each number on its own (adding an entry that is
there, or removing one that is not, is not an error) and exit 1 if any number
was refused. `import` reads one number per line, or a CSV with a `phone`
column (see `dialer.contacts.dnc_import`); bad lines are reported on stderr by
line and the valid numbers are added in one transaction. A file refused whole
(empty, binary, not UTF-8, a header without `phone`, no valid number) adds
nothing and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dialer.campaign.export import iso_utc
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, add_region_argument, open_store
from dialer.commands.output import EXIT_FAILED, EXIT_OK, emit
from dialer.config import Config
from dialer.contacts.phone import PhoneError, normalize_phone
from dialer.store.repository import StoreError
from dialer.store.sqlite import SqliteStore

CLI_SOURCE = "cli"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dnc = commands.add_parser("dnc", help="do-not-call lists (global and per campaign)")
    actions = dnc.add_subparsers(dest="dnc_command", required=True)
    add = actions.add_parser("add", help="put numbers on a do-not-call list")
    add.add_argument("numbers", nargs="+", metavar="NUMBER")
    remove = actions.add_parser("remove", help="take numbers off a do-not-call list")
    remove.add_argument("numbers", nargs="+", metavar="NUMBER")
    listing = actions.add_parser("list", help="the global list, or what applies to a campaign")
    load = actions.add_parser("import", help="add every number of a file, in one transaction")
    load.add_argument("file", help="one number per line, or a CSV with a 'phone' column")
    for parser in (add, remove, listing, load):
        parser.add_argument(
            "--campaign", type=int, help="that campaign's own list (default: the global list)"
        )
        add_common_arguments(parser)
    for parser in (add, remove, load):
        add_region_argument(parser)
        parser.add_argument("--config", help="config.toml (default: embedded defaults)")


def dnc_command(args: argparse.Namespace, config: Config) -> int:
    try:
        with open_store(args.db) as store:
            if args.campaign is not None:
                store.get_campaign(args.campaign)  # an unknown campaign is refused up front
            if args.dnc_command == "list":
                return _list(store, args)
            if args.dnc_command == "import":
                return _import(store, args, config)
            return _add_or_remove(store, args, config)
    except StoreError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _scope(campaign_id: int | None) -> str:
    return "global" if campaign_id is None else f"campaign {campaign_id}"


def _add_or_remove(store: SqliteStore, args: argparse.Namespace, config: Config) -> int:
    region = args.region or config.contacts.default_region
    now, refused = time.time(), False
    rows: list[dict[str, object]] = []
    for given in args.numbers:
        try:
            number = normalize_phone(given, region)
        except PhoneError as exc:
            print(f"dialer: {given!r} refused: {exc.reason}", file=sys.stderr)
            rows.append({"input": given, "number": None, "result": f"refused: {exc.reason}"})
            refused = True
            continue
        entry = {"number": number, "campaign_id": args.campaign}
        with store.transaction():
            if args.dnc_command == "add":
                new = store.add_dnc(number, now=now, campaign_id=args.campaign, source=CLI_SOURCE)
                result = "added" if new else "already listed"
                changes = {"after": entry} if new else {}
            else:
                gone = store.remove_dnc(number, campaign_id=args.campaign)
                result = "removed" if gone else "not listed"
                changes = {"before": entry} if gone else {}
                if args.campaign is not None and store.dnc_contains(number, args.campaign):
                    result += " (still on the global list)"
            record_cli_audit(store, f"dnc.{args.dnc_command}", f"dnc:{number}", now=now,
                             **changes)  # fmt: skip
        rows.append({"input": given, "number": number, "result": result})
    emit({"list": _scope(args.campaign), "numbers": rows}, as_json=args.json)
    return EXIT_FAILED if refused else EXIT_OK


def _list(store: SqliteStore, args: argparse.Namespace) -> int:
    entries = [
        {
            "number": entry.number,
            "campaign": entry.campaign_id,  # None: the global list
            "source": entry.source,
            "added_at": iso_utc(entry.added_at),
        }
        for entry in store.list_dnc(args.campaign)
    ]
    return emit({"list": _scope(args.campaign), "entries": entries}, as_json=args.json)


def _import(store: SqliteStore, args: argparse.Namespace, config: Config) -> int:
    from dialer.contacts.dnc_import import DncImportError, parse_dnc

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"dialer: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    try:
        result = parse_dnc(data, default_region=args.region or config.contacts.default_region)
    except DncImportError as exc:
        print(f"dialer: {args.file} refused, nothing imported: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    print(result.report(), file=sys.stderr)
    if not result.numbers:
        print(f"dialer: {args.file} refused, nothing imported: no valid number", file=sys.stderr)
        return EXIT_FAILED
    now = time.time()
    with store.transaction():
        added = store.import_dnc(
            result.numbers, now=now, campaign_id=args.campaign,
            source=f"import:{Path(args.file).name}",
        )  # fmt: skip
        summary = {"file": Path(args.file).name, "campaign_id": args.campaign,
                   "numbers": len(result.numbers), "new_numbers": added}  # fmt: skip
        record_cli_audit(store, "dnc.import", f"dnc:{_scope(args.campaign)}", now=now,
                         after=summary)  # fmt: skip
    return emit(
        {"list": _scope(args.campaign), **result.to_dict(), "new_numbers": added},
        as_json=args.json,
    )
