"""The `dialer` command line.

    dialer call SIP_URI|NUMBER [--config FILE] [--trunk NAME] [--play FILE]
                [--flow FILE|URL [--value NAME=VALUE ...]]
                [--record FILE] [--timeout SECONDS] [--duration SECONDS] [--json]
    dialer demo [--keep DIR]
    dialer config check [--config FILE]
    dialer serve [--config FILE] [--db FILE]
    dialer campaign create|edit|list|show|start|pause|resume|stop|duplicate|run|export ...
    dialer contacts import|list|reset|complete|remove ...
    dialer dnc add|remove|list|import ...
    dialer agent add|list|show|edit|password|remove ...
    dialer user add|list|show|edit|password|remove ...
    dialer token create|list|revoke ...
    dialer audit list|export ...
    dialer flow check FLOW [--campaign ID]
    dialer tts say|voices ...
    dialer amd FILE... [--json]

The subcommands live in `dialer.commands`, one module a resource. Exit status:
0 when the command did its job (for `call`: the call was placed and its outcome
is known, even busy); 1 when it could not (a socket that will not bind, an
unreadable prompt, an unknown campaign, a refused change); 2 for a wrong
command line or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dialer.commands import agent as agent_commands
from dialer.commands import amd as amd_commands
from dialer.commands import audit as audit_commands
from dialer.commands import campaign as campaign_commands
from dialer.commands import contacts as contact_commands
from dialer.commands import dnc as dnc_commands
from dialer.commands import flow as flow_commands
from dialer.commands import token as token_commands
from dialer.commands import tts as tts_commands
from dialer.commands import user as user_commands
from dialer.config import Config, ConfigError, load_config

if TYPE_CHECKING:  # the call stack is imported only by the commands that call
    from dialer.calling import CallRequest

log = logging.getLogger("dialer")
T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        config = load_config(Path(args.config) if getattr(args, "config", None) else None)
    except ConfigError as exc:
        print(f"dialer: configuration refused: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config, verbose=getattr(args, "verbose", False))
    handler = {
        "call": _call,
        "demo": _demo,
        "config": _config_check,
        "agent": agent_commands.agent_command,
        "amd": amd_commands.amd_command,
        "audit": audit_commands.audit_command,
        "campaign": campaign_commands.campaign_command,
        "contacts": contact_commands.contacts_command,
        "dnc": dnc_commands.dnc_command,
        "flow": flow_commands.flow_command,
        "serve": campaign_commands.serve_command,
        "token": token_commands.token_command,
        "tts": tts_commands.tts_command,
        "user": user_commands.user_command,
    }[args.command]
    try:
        return handler(args, config)
    except ConfigError as exc:
        print(f"dialer: configuration refused: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialer", description="Outbound campaign dialer.")
    commands = parser.add_subparsers(dest="command")

    call = commands.add_parser("call", help="place one call and print its outcome")
    call.add_argument("target", help="a SIP URI (sip:user@host[:port]) or a number")
    call.add_argument("--config", help="config.toml (default: embedded defaults)")
    call.add_argument("--trunk", default="default", help="trunk to call through")
    call.add_argument("--play", help="WAV/MP3 (any rate) or raw .ulaw file to play on answer")
    call.add_argument("--flow", help="a TwiML flow to run on answer: a file, or a webhook URL")
    call.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the flow's {{placeholders}} (repeatable), e.g. customerName=Jane",
    )
    call.add_argument("--record", help="write what the far end says to this WAV file")
    call.add_argument("--timeout", type=_positive, help="ring timeout in seconds (then CANCEL)")
    call.add_argument("--duration", type=_positive, help="hang up after this many seconds")
    call.add_argument("--json", action="store_true", help="print JSON only (the default output)")
    call.add_argument("-v", "--verbose", action="store_true", help="log SIP decisions")

    demo = commands.add_parser("demo", help="call a local SIPp echo callee and report")
    demo.add_argument("--keep", help="keep the demo's files (prompt, recording) in this folder")
    demo.add_argument("-v", "--verbose", action="store_true")

    campaign_commands.add_commands(commands)
    amd_commands.add_commands(commands)
    contact_commands.add_commands(commands)
    dnc_commands.add_commands(commands)
    agent_commands.add_commands(commands)
    user_commands.add_commands(commands)
    token_commands.add_commands(commands)
    audit_commands.add_commands(commands)
    flow_commands.add_commands(commands)
    tts_commands.add_commands(commands)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate a config file and print it")
    check.add_argument("--config", help="config.toml to check")
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _setup_logging(config: Config, *, verbose: bool) -> None:
    level = logging.DEBUG if verbose else getattr(logging, config.log.level.upper())
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _call(args: argparse.Namespace, config: Config) -> int:
    from dialer.calling import CallRequest
    from dialer.flow.document import FlowError
    from media.audiofile import AudioFileError, load_ulaw

    config.trunk(args.trunk)  # refuse an unknown trunk before binding anything
    prompt = None
    if args.play:
        try:
            prompt = load_ulaw(Path(args.play))
        except AudioFileError as exc:
            print(f"dialer: cannot play {args.play}: {exc}", file=sys.stderr)
            return 1
    values = dict(value.partition("=")[::2] for value in args.value)
    request = CallRequest(
        target=args.target,
        trunk=args.trunk,
        prompt=prompt,
        record_to=Path(args.record) if args.record else None,
        ring_timeout_s=args.timeout,
        max_duration_s=args.duration,
    )
    try:
        report = run_async(_one_call(config, request, args.flow, values))
    except OSError as exc:
        print(f"dialer: cannot place the call: {exc}", file=sys.stderr)
        return 1
    except FlowError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, sort_keys=True))
    return 0


async def _one_call(
    config: Config, request: CallRequest, flow: str | None, values: dict[str, str]
) -> dict[str, object]:
    from dataclasses import replace

    from dialer.calling import place_call
    from dialer.flow.runner import FlowRequest, FlowRuntime
    from dialer.flow.validation import load_campaign_flow
    from dialer.runtime import Dialer

    runtime = FlowRuntime.from_config(config) if flow else None
    try:
        if flow is not None and runtime is not None:
            start = load_campaign_flow(flow, runtime.speech.check_voice).start()
            request = replace(request, flow=FlowRequest(runtime, start, values))
        dialer = await Dialer.start(config)
        try:
            report = await place_call(dialer, request)
        finally:
            await dialer.close()
    finally:
        if runtime is not None:
            await runtime.close()
    return report.to_dict()


def _demo(args: argparse.Namespace, config: Config) -> int:
    from dialer.demo import run_demo

    return run_async(run_demo(Path(args.keep) if args.keep else None))


def _config_check(args: argparse.Namespace, config: Config) -> int:
    print(f"configuration OK: {len(config.trunks)} trunk(s): {', '.join(config.trunks)}")
    return 0


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where installed (DESIGN.md: it holds 500 calls where asyncio strains)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    sys.exit(main())
