"""`dialer token ...`: API tokens, for scripts that call the web API as a user.

    dialer token create USERNAME --name NAME [--expires-days N]
    dialer token list [USERNAME]
    dialer token revoke ID
    (each with [--db FILE] [--json])

`create` prints the token (`dlr_...`) once: the dialer keeps only its SHA-256,
so a lost token cannot be shown again; revoke it and create another. A token
acts with its user's role, and stops working when revoked, expired, or when
its user is disabled or removed. `list` shows every token (with its first 8
characters, to tell them apart), revoked and expired ones included. Creating
and revoking are recorded in the audit log, never with the secret.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from dialer.campaign.export import iso_utc
from dialer.commands.audit import record_cli_audit
from dialer.commands.common import add_common_arguments, open_store
from dialer.commands.output import EXIT_FAILED, emit
from dialer.commands.user import find_user
from dialer.config import Config
from dialer.store.repository import ApiToken, StoreError
from dialer.store.sqlite import SqliteStore

_DAY_S = 86400.0
_MAX_DAYS = 36_500  # a century: beyond, drop --expires-days


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="API tokens for the web API")
    actions = token.add_subparsers(dest="token_command", required=True)
    create = actions.add_parser("create", help="a new token for a user; shown once")
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--name", required=True, help="what it is for, such as 'nightly export'")
    create.add_argument(
        "--expires-days", type=_days, metavar="N", help="stops working after N days"
    )
    listing = actions.add_parser("list", help="every token, or one user's")
    listing.add_argument("username", metavar="USERNAME", nargs="?")
    revoke = actions.add_parser("revoke", help="the token stops working at once")
    revoke.add_argument("token", type=int, metavar="ID")
    for parser in (create, listing, revoke):
        add_common_arguments(parser)


def token_command(args: argparse.Namespace, config: Config) -> int:
    try:
        with open_store(args.db) as store:
            return emit(_store_command(store, args), as_json=args.json)
    except StoreError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _store_command(store: SqliteStore, args: argparse.Namespace) -> dict[str, Any]:
    command, now = args.token_command, time.time()
    if command == "create":
        expires_at = None if args.expires_days is None else now + args.expires_days * _DAY_S
        with store.transaction():
            user = find_user(store, args.username)
            token, secret = store.create_api_token(
                user.id, args.name, now=now, expires_at=expires_at
            )
            fields = token.audit_fields() | {"username": user.username}
            record_cli_audit(store, "token.create", target(token), now=now, after=fields)
        if not args.json:
            print("dialer: copy the token now: it is never shown again", file=sys.stderr)
        return describe(token, user.username, now) | {"token": secret}
    if command == "list":
        user_id = None if args.username is None else find_user(store, args.username).id
        tokens = store.list_api_tokens(user_id)
        names = {
            user_id: store.get_user(user_id).username for user_id in {t.user_id for t in tokens}
        }
        return {"tokens": [describe(token, names[token.user_id], now) for token in tokens]}
    if command == "revoke":
        with store.transaction():
            before = store.get_api_token(args.token)
            revoked = store.revoke_api_token(args.token, now=now)
            if revoked != before:  # revoked again: nothing changed, nothing to record
                record_cli_audit(
                    store,
                    "token.revoke",
                    target(revoked),
                    now=now,
                    before=before.audit_fields(),
                    after=revoked.audit_fields(),
                )
        return describe(revoked, store.get_user(revoked.user_id).username, now)
    raise AssertionError(command)


def target(token: ApiToken) -> str:
    """How the audit log names a token."""
    return f"token:{token.id}"


def describe(token: ApiToken, username: str, now: float) -> dict[str, Any]:
    """The CLI's: the user by name, where the API gives their id."""
    shown = view(token, now)
    del shown["user_id"]
    return {"id": shown.pop("id"), "user": username, **shown}


def view(token: ApiToken, now: float) -> dict[str, Any]:
    """A token as the CLI and the API show it: never its secret, never its hash."""
    return {
        "id": token.id,
        "user_id": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "status": token.status(now),
        "created_at": iso_utc(token.created_at),
        "last_used_at": iso_utc(token.last_used_at),
        "expires_at": iso_utc(token.expires_at),
        "revoked_at": iso_utc(token.revoked_at),
    }


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= _MAX_DAYS:
        raise argparse.ArgumentTypeError(f"a whole number of days, 1 to {_MAX_DAYS} (got {text!r})")
    return int(text)
