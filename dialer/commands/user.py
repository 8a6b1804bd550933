"""`dialer user ...`: the people who use the web API and dashboard, and their roles.

    dialer user add USERNAME --role admin|manager|agent [--password-stdin]
    dialer user list
    dialer user show USERNAME
    dialer user edit USERNAME [--role ROLE] [--disable | --enable]
    dialer user password USERNAME [--password-stdin]
    dialer user remove USERNAME
    (each with [--db FILE] [--json])

Usernames compare without case. A password is never an argument (every user
of the machine sees the command line in `ps`): it is asked twice on the
terminal, or read from stdin with `--password-stdin` (one line; the newline is
dropped). Output never shows a hash.

A disabled user can neither log in nor use their API tokens until enabled
again. `remove` revokes their tokens and frees the username; the audit log
keeps their name. Every change is recorded in the audit log (actor "cli") in
the transaction that makes it; a password change is recorded without it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from dialer.campaign.export import iso_utc
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.config import Config
from dialer.store.repository import NotFound, Role, StoreError, User, UserExists
from dialer.store.sqlite import SqliteStore
from dialer.store.sqlite_accounts import check_username


class Refused(Exception):
    """The command cannot go on (no password to read, passwords that differ...)."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="web users, their roles and passwords")
    actions = user.add_subparsers(dest="user_command", required=True)
    add = actions.add_parser("add", help="a new user; asks for their password")
    add.add_argument("--role", required=True, choices=list(Role))
    listing = actions.add_parser("list", help="every user")
    show = actions.add_parser("show", help="a user and their API tokens")
    edit = actions.add_parser("edit", help="change the role, disable or enable")
    edit.add_argument("--role", choices=list(Role))
    enabled = edit.add_mutually_exclusive_group()
    enabled.add_argument("--disable", action="store_true", help="no logins, no tokens")
    enabled.add_argument("--enable", action="store_true", help="undo --disable")
    password = actions.add_parser("password", help="set a new password")
    remove = actions.add_parser("remove", help="no more logins, tokens revoked, name freed")

    for parser in (add, show, edit, password, remove):
        parser.add_argument("username", metavar="USERNAME")
    for parser in (add, password):
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
    for parser in (add, listing, show, edit, password, remove):
        parser.allow_abbrev = False  # `--password SECRET` is not --password-stdin plus junk
        add_common_arguments(parser)


def user_command(args: argparse.Namespace, config: Config) -> int:
    try:
        with open_store(args.db) as store:
            return emit(_store_command(store, args), as_json=args.json)
    except (StoreError, Refused) as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _store_command(store: SqliteStore, args: argparse.Namespace) -> dict[str, Any]:
    command, now = args.user_command, time.time()
    if command == "add":
        return _add(store, args, now)
    if command == "list":
        return {"users": [describe(user) for user in store.list_users()]}
    if command == "show":
        from dialer.commands.token import view as token_view  # token.py imports this module

        user = find_user(store, args.username)
        tokens = store.list_api_tokens(user.id)
        return describe(user) | {"tokens": [token_view(token, now) for token in tokens]}
    if command == "edit":
        disabled = args.disable if args.disable or args.enable else None
        with store.transaction():
            user = find_user(store, args.username)
            edited = store.update_user(user.id, now=now, role=args.role, disabled=disabled)
            if edited.audit_fields() != user.audit_fields():
                before, after = user.audit_fields(), edited.audit_fields()
                record_cli_audit(
                    store, "user.edit", target(edited), now=now, before=before, after=after
                )
        return describe(edited)
    if command == "password":
        user = find_user(store, args.username)  # refused before the password is typed
        secret = read_password(args, f"user {user.username}")
        with store.transaction():
            changed = store.set_user_password(user.id, secret, now=now)
            record_cli_audit(store, "user.password", target(changed), now=now)
        return describe(changed)
    if command == "remove":
        with store.transaction():
            user = find_user(store, args.username)
            live = [t for t in store.list_api_tokens(user.id) if t.status(now) == "active"]
            store.remove_user(user.id, now=now)
            record_cli_audit(
                store, "user.remove", target(user), now=now, before=user.audit_fields()
            )
        return {
            "id": user.id,
            "username": user.username,
            "removed": True,
            "tokens_revoked": len(live),
        }
    raise AssertionError(command)


def _add(store: SqliteStore, args: argparse.Namespace, now: float) -> dict[str, Any]:
    check_username(args.username)  # both refused before a password is asked for nothing
    if store.find_user(args.username) is not None:
        raise UserExists(args.username)
    secret = read_password(args, f"user {args.username}")
    with store.transaction():
        added = store.add_user(args.username, secret, args.role, now=now)
        record_cli_audit(store, "user.add", target(added), now=now, after=added.audit_fields())
    return describe(added)


def find_user(store: SqliteStore, username: str) -> User:
    """The live user a USERNAME argument names, else NotFound."""
    user = store.find_user(username)
    if user is None:
        raise NotFound("user", username)
    return user


def target(user: User) -> str:
    """How the audit log names a user."""
    return f"user:{user.username}"


def describe(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": str(user.role),
        "disabled": user.disabled,
        "created_at": iso_utc(user.created_at),
        "updated_at": iso_utc(user.updated_at),
    }


def read_password(args: argparse.Namespace, whose: str) -> str:
    """From stdin with --password-stdin, else asked twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password on: pipe it with --password-stdin")
    try:
        first = getpass.getpass(f"Password for {whose}: ")
        again = getpass.getpass("The same password again: ")
    except EOFError:
        raise Refused("no password given (use --password-stdin to pipe one)") from None
    if first != again:
        raise Refused("the two passwords differ: nothing changed")
    return first
