"""`dialer flow check FLOW`: a TwiML flow validated as a campaign would validate it.

    dialer flow check FLOW.xml|URL [--campaign ID] [--config FILE] [--db FILE] [--json]

Every document the flow can lead to is parsed; each problem is printed on stderr
with its file and line, and the exit status is 1. A good flow prints its
documents and the `{{placeholders}}` contacts must have values for; with
`--campaign`, also the contacts of that campaign that lack one.
"""

from __future__ import annotations

import argparse
import sys

from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config
from dialer.flow.document import FlowError
from dialer.flow.validation import load_campaign_flow, missing_values
from dialer.store.repository import StoreError
from tts.engines import Engines


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flow = commands.add_parser("flow", help="call flows (TwiML)")
    actions = flow.add_subparsers(dest="flow_command", required=True)
    check = actions.add_parser("check", help="validate a flow and what it can lead to")
    check.add_argument("flow", help="a flow file, or a webhook URL")
    check.add_argument("--campaign", type=int, help="also check this campaign's contacts")
    check.add_argument("--config", help="config.toml (default: embedded defaults)")
    add_common_arguments(check)


def flow_command(args: argparse.Namespace, config: Config) -> int:
    engines = Engines(config.tts)
    try:
        flow = load_campaign_flow(args.flow, engines.check_voice)
    except FlowError as exc:
        print(f"dialer: {exc.source} refused:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engines.close()
    report: dict[str, object] = {
        "flow": str(flow.location),
        "webhook": flow.is_webhook,
        "documents": sorted(flow.documents),
        "placeholders": sorted(flow.placeholders),
    }
    if args.campaign is not None:
        try:
            with open_store(args.db) as store:
                leads = store.list_leads(args.campaign)
        except StoreError as exc:
            print(f"dialer: {exc}", file=sys.stderr)
            return EXIT_FAILED
        values = ((lead.id, lead.template_values()) for lead in leads)
        lacking = missing_values(values, flow.placeholders)
        report["contacts_lacking_values"] = [
            {"lead": lead, "missing": ", ".join(names)} for lead, names in lacking
        ]
    return emit(report, as_json=args.json)
