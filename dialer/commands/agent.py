"""`dialer agent ...`: the agents who take live calls, and their credentials.

    dialer agent add NAME --extension EXT [--campaign ID ...] [--skill S ...] [--password-stdin]
    dialer agent list [--all]
    dialer agent show AGENT
    dialer agent edit AGENT [--name NAME] [--campaign ID ... | --any-campaign]
                            [--skill S ... | --no-skills]
    dialer agent password AGENT [--password-stdin]
    dialer agent remove AGENT
    (each with [--config FILE] [--db FILE] [--json])

AGENT is an agent's id or extension; when a number is one agent's id and
another's extension, say which: `id:7` or `ext:1001`. The extension is also the
agent's SIP username; their phone registers in the realm `agents.realm`, and
the console takes the same password.

A password is never an argument (the command line is visible to every user of
the machine in `ps`): it is asked twice on the terminal, or read from stdin
with `--password-stdin` (one line; the newline is dropped). Output never shows
a hash. After `agents.realm` changes, an agent's SIP credentials are stale:
`show` and `list` say so, and `password` mends them.

`remove` keeps the agent's history for reports and frees the extension.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
import time
from typing import Any

from dialer.agents.credentials import check_extension
from dialer.campaign.export import iso_utc
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config
from dialer.store.repository import Agent, AgentExists, AgentStats, NotFound, StoreError
from dialer.store.sqlite import SqliteStore

_DAY_S = 86400.0
_RECENT_STATES = 10


class _Refused(Exception):
    """The command cannot go on (an ambiguous agent, passwords that differ...)."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agent = commands.add_parser("agent", help="agents who take live calls, and their passwords")
    actions = agent.add_subparsers(dest="agent_command", required=True)
    add = actions.add_parser("add", help="a new agent; asks for their password")
    add.add_argument("name")
    add.add_argument("--extension", required=True, type=_extension, help="2-10 digits")
    _add_assignment_options(add)

    listing = actions.add_parser("list", help="every agent")
    listing.add_argument("--all", action="store_true", help="removed agents too")
    show = actions.add_parser("show", help="an agent, their state and today's figures")
    edit = actions.add_parser("edit", help="rename, or change campaigns or skills")
    edit.add_argument("--name")
    _add_assignment_options(edit)
    edit.add_argument("--any-campaign", action="store_true", help="take any campaign's calls")
    edit.add_argument("--no-skills", action="store_true", help="clear the skills")
    password = actions.add_parser("password", help="set a new password (SIP and console)")
    remove = actions.add_parser("remove", help="no more logins; history kept, extension freed")

    for parser in (show, edit, password, remove):
        parser.add_argument("agent", type=_agent_ref, metavar="AGENT", help="id or extension")
    for parser in (add, password):
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
    for parser in (add, listing, show, edit, password, remove):
        parser.allow_abbrev = False  # `--password SECRET` is not --password-stdin plus junk
        parser.add_argument("--config", help="config.toml (default: embedded defaults)")
        add_common_arguments(parser)


def _add_assignment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--campaign",
        type=int,
        action="append",
        dest="campaigns",
        metavar="ID",
        help="only this campaign's calls (repeatable; default: any campaign)",
    )
    parser.add_argument(
        "--skill", action="append", dest="skills", metavar="SKILL", help="repeatable"
    )


def agent_command(args: argparse.Namespace, config: Config) -> int:
    try:
        with open_store(args.db) as store:
            return emit(_store_command(store, args, config.agents.realm), as_json=args.json)
    except (StoreError, _Refused) as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _store_command(store: SqliteStore, args: argparse.Namespace, realm: str) -> dict[str, Any]:
    command, now = args.agent_command, time.time()
    if command == "add":
        if store.agent_by_extension(args.extension) is not None:
            raise AgentExists(args.extension)  # before asking for a password for nothing
        secret = _read_password(args, f"extension {args.extension}")
        with store.transaction():
            added = describe(
                store.add_agent(
                    args.name,
                    args.extension,
                    secret,
                    realm,
                    campaigns=args.campaigns or (),
                    skills=args.skills or (),
                    now=now,
                ),
                realm,
            )
            record_cli_audit(store, "agent.add", f"agent:{added['id']}", now=now, after=added)
        return added
    if command == "list":
        agents = store.list_agents(include_removed=args.all)
        return {"agents": [_row(agent, realm) for agent in agents]}
    agent = _find(store, args.agent)
    if command == "show":
        return _show(store, agent, realm, now)
    if command == "edit":
        if (args.campaigns and args.any_campaign) or (args.skills and args.no_skills):
            raise _Refused("give --campaign or --any-campaign, --skill or --no-skills, not both")
        with store.transaction():
            edited = store.update_agent(
                agent.id,
                name=args.name,
                campaigns=() if args.any_campaign else args.campaigns,
                skills=() if args.no_skills else args.skills,
                now=now,
            )
            before, after = describe(agent, realm), describe(edited, realm)
            record_cli_audit(
                store, "agent.edit", f"agent:{agent.id}", now=now, before=before, after=after
            )
        return describe(edited, realm)
    if command == "password":
        if agent.removed_at is not None:  # refused before the password is typed
            raise NotFound("agent", agent.id)
        secret = _read_password(args, f"{agent.name} (extension {agent.extension})")
        with store.transaction():
            changed = store.set_agent_password(agent.id, secret, realm, now=now)
            record_cli_audit(store, "agent.password", f"agent:{agent.id}", now=now)
        return describe(changed, realm)
    if command == "remove":
        with store.transaction():
            store.remove_agent(agent.id, now=now)
            record_cli_audit(store, "agent.remove", f"agent:{agent.id}", now=now,
                             before=describe(agent, realm))  # fmt: skip
        return {"agent": agent.id, "extension": agent.extension, "removed": True}
    raise AssertionError(command)


def describe(agent: Agent, realm: str) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "extension": agent.extension,
        "campaigns": list(agent.campaigns),
        "any_campaign": not agent.campaigns,
        "skills": list(agent.skills),
        "credentials": _credentials(agent, realm),
        "created_at": iso_utc(agent.created_at),
        "updated_at": iso_utc(agent.updated_at),
        "removed_at": iso_utc(agent.removed_at),
    }


def _row(agent: Agent, realm: str) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "extension": agent.extension,
        "campaigns": list(agent.campaigns),
        "skills": list(agent.skills),
        "credentials": "stale" if agent.credentials_stale(realm) else "ok",
        "removed_at": iso_utc(agent.removed_at),
    }


def _credentials(agent: Agent, realm: str) -> str:
    if not agent.credentials_stale(realm):
        return f"ok (realm {realm!r})"
    return (
        f"stale: set in realm {agent.realm!r}, the dialer's is {realm!r}; SIP logins fail"
        f" until a new password is set (dialer agent password id:{agent.id})"
    )


def _show(store: SqliteStore, agent: Agent, realm: str, now: float) -> dict[str, Any]:
    day_start = now - now % _DAY_S  # today in UTC, as every time the CLI shows
    stats = store.agent_stats(agent.id, day_start, now)
    recent = store.agent_state_history(agent.id, since=day_start, until=now + 1)
    return describe(agent, realm) | {
        "state": str(stats.state_at_end),
        "today": _today(stats),
        "recent_states": [
            {"at": iso_utc(change.at), "state": str(change.state), "reason": change.reason}
            for change in recent[-_RECENT_STATES:]
        ],
    }


def _today(stats: AgentStats) -> dict[str, Any]:
    return {
        "since": iso_utc(stats.start),
        "calls": stats.calls,
        "talk_s": round(stats.talk_s, 1),
        "dispositions": stats.dispositions,
        "seconds_in": {str(state): round(s, 1) for state, s in stats.seconds_in.items()},
    }


def _find(store: SqliteStore, ref: tuple[str, str]) -> Agent:
    """The agent an AGENT argument names; see the module docstring."""
    kind, value = ref
    by_extension = store.agent_by_extension(value) if kind in ("ext", "") else None
    by_id = None
    if kind in ("id", ""):
        with contextlib.suppress(NotFound):
            by_id = store.get_agent(int(value))
    if by_extension is not None and by_id is not None and by_extension.id != by_id.id:
        raise _Refused(
            f"{value} is agent {by_id.id}'s id and agent {by_extension.id}'s extension:"
            f" say id:{value} or ext:{value}"
        )
    found = by_extension or by_id
    if found is None:
        what = {"ext": "with extension", "id": "", "": "with id or extension"}[kind]
        raise _Refused(" ".join(f"no agent {what} {value}".split()))
    return found


def _agent_ref(text: str) -> tuple[str, str]:
    kind, _, value = text.rpartition(":")
    if kind not in ("", "id", "ext") or not value.isascii() or not value.isdigit():
        raise argparse.ArgumentTypeError(
            f"an agent is an id or an extension, or id:N or ext:N (got {text!r})"
        )
    return kind, value


def _extension(text: str) -> str:
    try:
        return check_extension(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _read_password(args: argparse.Namespace, whose: str) -> str:
    if args.password_stdin:
        return sys.stdin.read().removesuffix("\n").removesuffix("\r")
    try:
        first = getpass.getpass(f"Password for {whose}: ")
        again = getpass.getpass("The same password again: ")
    except EOFError:
        raise _Refused("no password given (use --password-stdin to pipe one)") from None
    if first != again:
        raise _Refused("the two passwords differ: nothing changed")
    return first
