"""`dialer contacts ...`: contact lists loaded into a campaign, and a manager's lead actions.

    dialer contacts import CAMPAIGN FILE.csv [--region US] [--config FILE] [--db FILE] [--json]
    dialer contacts list CAMPAIGN [--state STATE] [--db FILE] [--json]
    dialer contacts reset|complete|remove LEAD... [--db FILE] [--json]

The import report (per-row errors with their line) goes to stderr, the summary
to stdout. A file refused whole (empty, binary, wrong header, too many rows)
imports nothing and exits 1.

The lead actions handle each id on its own: one refused (unknown lead, a state
the lead table has no such transition from, a call in progress) does not stop
the others; every id is reported, and the exit status is 1 if any was refused,
with the reasons on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialer import campaigns
from dialer.campaign.model import LEAD_TRANSITIONS, IllegalTransition, LeadEvent, LeadState
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, add_region_argument, open_store
from dialer.commands.output import EXIT_FAILED, EXIT_OK, emit
from dialer.config import Config
from dialer.store.repository import AttemptInFlight, StoreError
from dialer.store.sqlite import SqliteStore


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contacts = commands.add_parser("contacts", help="contact lists and their leads")
    actions = contacts.add_subparsers(dest="contacts_command", required=True)
    load = actions.add_parser("import", help="import a CSV into a campaign")
    load.add_argument("campaign", type=int)
    load.add_argument("file")
    add_region_argument(load)
    load.add_argument("--config", help="config.toml (default: embedded defaults)")

    listing = actions.add_parser("list", help="a campaign's leads")
    listing.add_argument("campaign", type=int)
    listing.add_argument("--state", choices=[str(state) for state in LeadState])

    parsers = [load, listing]
    for name, action in _LEAD_ACTIONS.items():
        parser = actions.add_parser(name, help=action.summary)
        parser.add_argument("leads", type=int, nargs="+", metavar="LEAD")
        parsers.append(parser)
    for parser in parsers:
        add_common_arguments(parser)


def contacts_command(args: argparse.Namespace, config: Config) -> int:
    if args.contacts_command == "import":
        return _import(args, config)
    if args.contacts_command == "list":
        return _list(args)
    return _lead_action(args, _LEAD_ACTIONS[args.contacts_command])


def _import(args: argparse.Namespace, config: Config) -> int:
    from dialer.contacts.csv_import import ContactImportError, parse_contacts

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
        with open_store(args.db) as store, store.transaction():
            now = time.time()
            added = store.import_contacts(args.campaign, result.records, now=now)
            summary = {"file": Path(args.file).name, "total_rows": result.total_rows,
                       "imported": len(result.records), "rejected": len(result.errors),
                       "new_leads": added}  # fmt: skip
            record_cli_audit(store, "contacts.import", f"campaign:{args.campaign}", now=now,
                             after=summary)  # fmt: skip
    except StoreError as exc:
        print(f"dialer: nothing imported: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(result.report(), file=sys.stderr)
    return emit({**result.to_dict(), "new_leads": added}, as_json=args.json)


def _list(args: argparse.Namespace) -> int:
    try:
        with open_store(args.db) as store:
            leads = store.list_leads(args.campaign)
    except StoreError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.state:
        leads = [lead for lead in leads if lead.state == args.state]
    return emit(
        {"campaign": args.campaign, "leads": [campaigns.lead_view(lead) for lead in leads]},
        as_json=args.json,
    )


def _reset(store: SqliteStore, lead_id: int, now: float) -> str:
    return str(store.reset_lead(lead_id, now=now).state)


def _complete(store: SqliteStore, lead_id: int, now: float) -> str:
    return str(store.mark_completed(lead_id, now=now).state)


def _remove(store: SqliteStore, lead_id: int, now: float) -> str:
    store.remove_lead(lead_id, now=now)
    return "removed"  # as `campaign show` counts it; the lead keeps its state underneath


@dataclass(frozen=True)
class _LeadAction:
    summary: str
    event: LeadEvent | None  # the lead-table event it is; None: not a state change
    apply: Callable[[SqliteStore, int, float], str]  # returns what the lead is now


_LEAD_ACTIONS = {
    "reset": _LeadAction(
        "a final lead starts over: back to created, attempts from zero", LeadEvent.RESET, _reset
    ),
    "complete": _LeadAction(
        "mark leads completed: no more calls needed", LeadEvent.MARK_COMPLETED, _complete
    ),
    "remove": _LeadAction(
        "never dial these leads again (their attempts stay in the ledger)", None, _remove
    ),
}


def _lead_action(args: argparse.Namespace, action: _LeadAction) -> int:
    now = time.time()
    rows: list[dict[str, object]] = []
    try:
        store = open_store(args.db)
    except StoreError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    with store as opened:
        for lead_id in args.leads:
            try:
                with opened.transaction():
                    before = campaigns.lead_view(opened.get_lead(lead_id))
                    state = action.apply(opened, lead_id, now)
                    after = campaigns.lead_view(opened.get_lead(lead_id)) | {"now": state}
                    record_cli_audit(opened, f"lead.{args.contacts_command}", f"lead:{lead_id}",
                                     now=now, before=before, after=after)  # fmt: skip
                rows.append({"lead": lead_id, "ok": True, "state": state, "error": None})
            except (StoreError, IllegalTransition) as exc:
                reason = _refusal(exc, args.contacts_command, action.event)
                print(f"dialer: lead {lead_id}: {reason}", file=sys.stderr)
                rows.append({"lead": lead_id, "ok": False, "state": None, "error": reason})
    emit({"action": args.contacts_command, "leads": rows}, as_json=args.json)
    return EXIT_OK if all(row["ok"] for row in rows) else EXIT_FAILED


def _refusal(exc: Exception, verb: str, event: LeadEvent | None) -> str:
    """Why the action was refused, in a manager's words."""
    if isinstance(exc, IllegalTransition) and event is not None:
        allowed = ", ".join(state for state, moves in LEAD_TRANSITIONS.items() if event in moves)
        return f"cannot {verb} a lead that is {exc.state} (only one that is {allowed})"
    if isinstance(exc, AttemptInFlight):
        return f"cannot {verb} while a call to it is in progress: try again when it ends"
    return str(exc)
