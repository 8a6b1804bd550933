"""`dialer campaign ...` and `dialer serve`: the campaign engine from the command line.

    dialer serve [--config FILE] [--db FILE]
    dialer campaign create NAME [--max-concurrent N] [--max-attempts N] [--retry-delay S]
                        [--play FILE] [--duration S] [--trunk NAME] [--db FILE]
    dialer campaign run CAMPAIGN [--db FILE] [--config FILE] [settings overrides as create]
    dialer campaign show CAMPAIGN [--db FILE]
    dialer campaign list | start|pause|resume|stop|duplicate CAMPAIGN
    dialer campaign export CAMPAIGN --out FILE [--attempts] [--db FILE]

Data commands print readable text, or one JSON object with `--json`; exit codes
are those of `dialer.commands.output`.

`run` is the long-running part: it reconciles attempts a crash left in flight
(counted as failed, never blindly redialled), starts or resumes the campaign
and dials until every lead is final. Killed at any point and run again, it
carries on without dialling any attempt twice.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from dialer.campaign.model import FINAL_CAMPAIGN_STATES, CampaignEvent, IllegalTransition
from dialer.campaign.progress import Progress
from dialer.campaign.settings import CampaignSettings, SettingsError
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config
from dialer.store.repository import Campaign
from dialer.store.sqlite import SqliteStore


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = commands.add_parser("campaign", help="create, run, show and export campaigns")
    actions = campaign.add_subparsers(dest="campaign_command", required=True)

    create = actions.add_parser("create", help="create a draft campaign; prints its id")
    create.add_argument("name")
    create.add_argument("--description", default="")
    _settings_arguments(create, defaults=CampaignSettings())

    run = actions.add_parser(
        "run", help="dial one campaign in this process until every lead is final"
    )
    run.add_argument("campaign", type=int)
    run.add_argument("--config", help="config.toml (default: embedded defaults)")
    _settings_arguments(run, defaults=None)  # given: overrides the stored setting

    show = actions.add_parser("show", help="lead counts per state")
    show.add_argument("campaign", type=int)
    show.add_argument(
        "--follow", action="store_true", help="live progress until the campaign is final"
    )

    listing = actions.add_parser("list", help="every campaign with its state")
    controls = []
    for name, text in (
        ("start", "a draft campaign starts (dialled by `dialer serve`)"),
        ("pause", "no new dials; calls in progress finish"),
        ("resume", "continue a paused campaign"),
        ("stop", "final: no new dials, ever"),
        ("duplicate", "copy the settings into a new draft"),
    ):
        control = actions.add_parser(name, help=text)
        control.add_argument("campaign", type=int)
        controls.append(control)

    export = actions.add_parser("export", help="results as CSV")
    export.add_argument("campaign", type=int)
    export.add_argument("--out", required=True)
    export.add_argument("--attempts", action="store_true", help="one row per attempt")

    serve = commands.add_parser("serve", help="the long-running service: dials running campaigns")
    serve.add_argument("--config", help="config.toml (default: embedded defaults)")

    for parser in (create, run, show, listing, export, *controls):
        add_common_arguments(parser)
    add_common_arguments(serve, data=False)


def campaign_command(args: argparse.Namespace, config: Config) -> int:
    from dialer.store.repository import StoreError

    try:
        if args.campaign_command == "run":
            from dialer.cli import run_async

            return run_async(_run(args, config))
        with open_store(args.db) as store:
            if args.campaign_command == "create":
                settings = _settings_from(args, CampaignSettings())
                campaign_id = store.create_campaign(
                    args.name,
                    now=time.time(),
                    description=args.description,
                    settings=settings.to_dict(),
                )
                return emit(
                    {"campaign": campaign_id, "state": "draft", **settings.to_dict()},
                    as_json=args.json,
                )
            if args.campaign_command == "list":
                return emit(
                    {"campaigns": [_summary(c) for c in store.list_campaigns()]}, as_json=args.json
                )
            if args.campaign_command == "duplicate":
                copy = store.duplicate_campaign(args.campaign, now=time.time())
                return emit(
                    {"campaign": copy, "state": "draft", "copied_from": args.campaign},
                    as_json=args.json,
                )
            if args.campaign_command in _CONTROLS:
                event = _CONTROLS[args.campaign_command]
                campaign = store.set_campaign_state(args.campaign, event, now=time.time())
                return emit(_summary(campaign), as_json=args.json)
            if args.campaign_command == "show" and args.follow:
                return _follow(store, args.campaign)
            if args.campaign_command == "show":
                return emit(
                    {"campaign": args.campaign, **store.campaign_counts(args.campaign)},
                    as_json=args.json,
                )
            if args.campaign_command == "export":
                return _export(store, args)
    except (StoreError, IllegalTransition, SettingsError) as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    raise AssertionError(args.campaign_command)


_CONTROLS = {
    "start": CampaignEvent.START,
    "pause": CampaignEvent.PAUSE,
    "resume": CampaignEvent.RESUME,
    "stop": CampaignEvent.STOP,
}


def _summary(campaign: Campaign) -> dict[str, object]:
    return {"campaign": campaign.id, "name": campaign.name, "state": str(campaign.state)}


async def _run(args: argparse.Namespace, config: Config) -> int:
    from dialer.campaign.model import CampaignState
    from dialer.runtime import Dialer
    from dialer.service import CampaignHost
    from dialer.store.worker import StoreWorker

    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    store = StoreWorker(lambda: SqliteStore(Path(args.db)))
    try:
        campaign = await store.run(lambda s: s.get_campaign(args.campaign))
        settings = _settings_from(args, CampaignSettings.from_dict(campaign.settings))
        config.trunk(settings.trunk)
        start = {
            CampaignState.DRAFT: CampaignEvent.START,
            CampaignState.SCHEDULED: CampaignEvent.START,
            CampaignState.PAUSED: CampaignEvent.RESUME,
        }.get(campaign.state)
        now = time.time()
        if start is not None:
            await store.run(lambda s: s.set_campaign_state(args.campaign, start, now=now))
        elif campaign.state is not CampaignState.RUNNING:
            print(f"dialer: campaign {args.campaign} is {campaign.state}", file=sys.stderr)
            return 1
        dialer = await Dialer.start(config)
        try:
            host = CampaignHost(config, dialer, store)
            try:
                await host.run(args.campaign, settings)
                result = await host.wait_finished(args.campaign)
            finally:
                await host.close()
        finally:
            await dialer.close()
        counts = await store.run(lambda s: s.campaign_counts(args.campaign))
    finally:
        store.close()
    return emit(
        {
            "campaign": args.campaign,
            "state": result.state,
            "peak_concurrent": result.peak_concurrent,
            "reconciled_at_start": result.reconciled,
            **counts,
        },
        as_json=args.json,
    )


def serve_command(args: argparse.Namespace, config: Config) -> int:
    from dialer.cli import run_async
    from dialer.service import serve

    return run_async(serve(config, Path(args.db)))


def _follow(store: SqliteStore, campaign_id: int, interval_s: float = 1.0) -> int:
    """Redraw one progress line until the campaign is completed, stopped or failed."""
    started, first_final = time.monotonic(), None
    while True:
        campaign = store.get_campaign(campaign_id)
        progress = Progress.of(store.campaign_counts(campaign_id))
        if first_final is None:
            first_final = progress.final
        elapsed = time.monotonic() - started
        rate = (progress.final - first_final) / elapsed if elapsed > 0 else 0.0
        print("\r" + progress.line(str(campaign.state), rate), end="", flush=True)
        if campaign.state in FINAL_CAMPAIGN_STATES:
            print()
            return 0
        time.sleep(interval_s)


def _settings_arguments(parser: argparse.ArgumentParser, defaults: CampaignSettings | None) -> None:
    def default(name: str) -> object:
        return getattr(defaults, name) if defaults is not None else None

    parser.add_argument("--trunk", default=default("trunk"))
    parser.add_argument("--max-concurrent", type=int, default=default("max_concurrent"))
    parser.add_argument("--max-attempts", type=int, default=default("max_attempts"))
    parser.add_argument(
        "--retry-delay", type=float, default=default("retry_delay_s"), help="seconds"
    )
    parser.add_argument("--play", default=default("prompt_file"), help="prompt played on answer")
    parser.add_argument(
        "--duration",
        type=float,
        default=default("max_duration_s"),
        help="hang up answered calls after N seconds",
    )
    parser.add_argument(
        "--any-hour",
        action="store_true",
        default=None if defaults is None else False,
        help="ignore recipients' local calling hours (lab trunks and tests only)",
    )


def _settings_from(args: argparse.Namespace, base: CampaignSettings) -> CampaignSettings:
    given = {
        "trunk": args.trunk,
        "max_concurrent": args.max_concurrent,
        "max_attempts": args.max_attempts,
        "retry_delay_s": args.retry_delay,
        "prompt_file": str(Path(args.play).resolve()) if args.play else None,
        "max_duration_s": args.duration,
        "any_hour": args.any_hour,
    }
    overrides = {key: value for key, value in given.items() if value is not None}
    return replace(base, **overrides)


def _export(store: SqliteStore, args: argparse.Namespace) -> int:
    from dialer.campaign.export import export_attempts_csv, export_leads_csv

    export = export_attempts_csv if args.attempts else export_leads_csv
    with open(args.out, "w", newline="", encoding="utf-8") as out:
        rows = export(store, args.campaign, out)
    return emit({"campaign": args.campaign, "rows": rows, "file": args.out}, as_json=args.json)
