"""`dialer campaign ...` and `dialer serve`: the campaign engine from the command line.

    dialer serve [--config FILE] [--db FILE]
    dialer campaign create NAME [--description TEXT] [--tags A,B] [settings options]
    dialer campaign edit CAMPAIGN [--name NAME] [--description TEXT] [--tags A,B] [settings]
    dialer campaign list | show CAMPAIGN [--follow]
    dialer campaign start|pause|resume|stop|duplicate|delete CAMPAIGN
    dialer campaign run CAMPAIGN [--config FILE] [settings options, for this run]
    dialer campaign export CAMPAIGN --out FILE [--attempts]

The settings options are listed in `dialer.commands.settings_options`. A draft
is fully editable; once started, only its name, description and tags change.
`start` follows the campaign's schedule: it dials at once (`serve` picks it up
within a second), or waits as `scheduled` for its first run.

`run` dials one run of a campaign in this process instead of `serve`: it
reconciles attempts a crash left in flight (counted as failed, never blindly
redialled), starts or resumes the campaign and returns when the run is over
(every lead final), or the campaign was paused, stopped or failed. Killed at
any point and run again, it carries on without dialling any attempt twice.

Data commands print readable text, or one JSON object with `--json`; exit codes
are those of `dialer.commands.output`.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer import campaigns
from dialer.campaign.model import (
    FINAL_CAMPAIGN_STATES,
    CampaignEvent,
    CampaignState,
    IllegalTransition,
    NotEditable,
    clean_tags,
)
from dialer.campaign.settings import CampaignSettings, SettingsError
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.commands.settings_options import add_settings_options, apply_settings_options
from dialer.config import Config
from dialer.store.repository import Repository, StoreError
from dialer.store.sqlite import SqliteStore

_REFUSALS = (StoreError, IllegalTransition, NotEditable, SettingsError)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = commands.add_parser("campaign", help="create, run, show and export campaigns")
    actions = campaign.add_subparsers(dest="campaign_command", required=True)

    create = actions.add_parser("create", help="create a draft campaign; prints its id")
    create.add_argument("name")
    create.add_argument("--description", default="")
    create.add_argument("--tags", help="labels to find it by, comma-separated")
    add_settings_options(create)

    edit = actions.add_parser("edit", help="change a draft; rename a started campaign")
    edit.add_argument("campaign", type=int)
    edit.add_argument("--name")
    edit.add_argument("--description")
    edit.add_argument("--tags", help="its labels, comma-separated (replaces them; '' clears)")
    add_settings_options(edit)

    run = actions.add_parser("run", help="dial one run of a campaign in this process")
    run.add_argument("campaign", type=int)
    run.add_argument("--config", help="config.toml (default: embedded defaults)")
    add_settings_options(run)

    show = actions.add_parser("show", help="a campaign's settings and progress")
    show.add_argument("campaign", type=int)
    show.add_argument(
        "--follow", action="store_true", help="live progress until the campaign is final"
    )

    listing = actions.add_parser("list", help="every campaign with its state")
    controls = []
    for name, text in (
        ("start", "start a draft: at once, or at its schedule's first run"),
        ("pause", "no new dials; calls in progress finish"),
        ("resume", "continue a paused campaign"),
        ("stop", "final: no new dials, ever"),
        ("duplicate", "copy the settings into a new draft"),
        ("delete", "a draft or a final campaign, with its contacts and results (audited)"),
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

    for parser in (create, edit, run, show, listing, export, *controls):
        add_common_arguments(parser)
    add_common_arguments(serve, data=False)


def campaign_command(args: argparse.Namespace, config: Config) -> int:
    command = args.campaign_command
    try:
        if command == "run":
            from dialer.cli import run_async

            return run_async(_run(args, config))
        with open_store(args.db) as store:
            if command == "show" and args.follow:
                return _follow(store, args.campaign)
            return emit(_store_command(store, args, config), as_json=args.json)
    except _REFUSALS as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _tags(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    try:
        return clean_tags(part for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError("tags", str(exc)) from None


def _store_command(store: Repository, args: argparse.Namespace, config: Config) -> dict[str, Any]:
    command, now = args.campaign_command, time.time()
    if command == "create":
        settings = _settings(args, CampaignSettings())
        campaigns.check_flow(settings, config)
        with store.transaction():
            campaign_id = store.create_campaign(
                args.name, now=now, description=args.description, settings=settings.to_dict(),
                tags=_tags(args.tags) or (),
            )  # fmt: skip
            created = campaigns.describe(store.get_campaign(campaign_id))
            record_cli_audit(store, "campaign.create", _target(campaign_id), now=now, after=created)
        return created
    if command == "edit":
        campaign = store.get_campaign(args.campaign)
        stored = CampaignSettings.from_dict(campaign.settings)
        settings = _settings(args, stored)
        if (settings.flow, settings.answering) != (stored.flow, stored.answering):
            campaigns.check_flow(settings, config)
        with store.transaction():
            edited = campaigns.describe(
                store.update_campaign(
                    args.campaign,
                    now=now,
                    name=args.name,
                    description=args.description,
                    settings=settings.to_dict() if settings != stored else None,
                    tags=_tags(args.tags),
                )
            )
            before = campaigns.describe(campaign)
            record_cli_audit(store, "campaign.edit", _target(args.campaign), now=now,
                             before=before, after=edited)  # fmt: skip
        return edited
    if command == "list":
        return {"campaigns": [campaigns.summary(c) for c in store.list_campaigns()]}
    if command == "show":
        campaign = store.get_campaign(args.campaign)
        progress = campaigns.progress(store, campaign.id)
        return campaigns.describe(campaign) | {
            "progress": progress.to_dict(now),
            "abandonment": campaigns.abandonment(store, campaign, now),
        }
    if command == "duplicate":
        with store.transaction():
            copy = store.duplicate_campaign(args.campaign, now=now)
            created = campaigns.describe(store.get_campaign(copy))
            record_cli_audit(store, "campaign.duplicate", _target(copy), now=now, after=created)
        return campaigns.summary(store.get_campaign(copy)) | {"copied_from": args.campaign}
    if command == "delete":
        with store.transaction():
            before = campaigns.describe(store.get_campaign(args.campaign))
            store.delete_campaign(args.campaign, now=now)
            record_cli_audit(store, "campaign.delete", _target(args.campaign), now=now,
                             before=before)  # fmt: skip
        return {"campaign": args.campaign, "deleted": True}
    if command == "start" or command in campaigns.CONTROLS:
        with store.transaction():
            before = campaigns.summary(store.get_campaign(args.campaign))
            if command == "start":
                changed = campaigns.start(store, args.campaign, now, config)
            else:
                event = campaigns.CONTROLS[command]
                changed = store.set_campaign_state(args.campaign, event, now=now)
            after = campaigns.summary(changed)
            record_cli_audit(store, f"campaign.{command}", _target(args.campaign), now=now,
                             before=before, after=after)  # fmt: skip
        return after
    if command == "export":
        return _export(store, args)
    raise AssertionError(command)


def _target(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"  # as the API's audit entries name it


def _settings(args: argparse.Namespace, base: CampaignSettings) -> CampaignSettings:
    return apply_settings_options(args, base, today=datetime.now(UTC).date())


async def _run(args: argparse.Namespace, config: Config) -> int:
    from dialer.runtime import Dialer
    from dialer.service import CampaignHost, set_campaign_state
    from dialer.store.worker import StoreWorker

    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    store = StoreWorker(lambda: SqliteStore(Path(args.db)))
    try:
        campaign = await store.run(lambda s: s.get_campaign(args.campaign))
        settings = _settings(args, CampaignSettings.from_dict(campaign.settings))
        config.trunk(settings.trunk)
        event = {
            CampaignState.DRAFT: CampaignEvent.START,
            CampaignState.SCHEDULED: CampaignEvent.START,
            CampaignState.PAUSED: CampaignEvent.RESUME,
        }.get(campaign.state)
        if event is not None:
            await set_campaign_state(store, args.campaign, event, now=time.time())
        elif campaign.state is not CampaignState.RUNNING:
            print(f"dialer: campaign {args.campaign} is {campaign.state}", file=sys.stderr)
            return EXIT_FAILED
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
    emit(
        {
            "campaign": args.campaign,
            "state": result.state,
            "peak_concurrent": result.peak_concurrent,
            "reconciled_at_start": result.reconciled,
            **counts,
        },
        as_json=args.json,
    )
    return EXIT_FAILED if result.state == "failed" else 0


def serve_command(args: argparse.Namespace, config: Config) -> int:
    from dialer.cli import run_async
    from dialer.service import serve

    return run_async(serve(config, Path(args.db)))


def _follow(store: Repository, campaign_id: int, interval_s: float = 1.0) -> int:
    """Redraw one progress line until the campaign is completed, stopped or failed."""
    started, first_final = time.monotonic(), None
    while True:
        campaign = store.get_campaign(campaign_id)
        progress = campaigns.progress(store, campaign_id)
        if first_final is None:
            first_final = progress.final
        elapsed = time.monotonic() - started
        rate = (progress.final - first_final) / elapsed if elapsed > 0 else 0.0
        line = progress.line(str(campaign.state), rate, now=time.time())
        print("\r" + line, end="", flush=True)
        if campaign.state in FINAL_CAMPAIGN_STATES:
            print()
            if campaign.failure_reason:
                print(f"failed: {campaign.failure_reason}")
            return 0
        time.sleep(interval_s)


def _export(store: Repository, args: argparse.Namespace) -> dict[str, Any]:
    from dialer.campaign.export import export_attempts_csv, export_leads_csv

    export = export_attempts_csv if args.attempts else export_leads_csv
    with open(args.out, "w", newline="", encoding="utf-8") as out:
        rows = export(store, args.campaign, out)
    return {"campaign": args.campaign, "rows": rows, "file": args.out}
