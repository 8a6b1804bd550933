"""The account tables of the SQLite store: web users, their API tokens, the audit log.

`AccountTables` is mixed into `SqliteStore` and uses its connection and its
`_write()` transactions (same threading rule). As for agents, the slow hashing
(scrypt) runs before the method's write transaction opens; inside a caller's
`transaction()` it cannot (the lock is already held), which costs the other
writers a tenth of a second once: fine for an admin's change, which is rare.

A user is never deleted: the audit log names them. Removal sets `removed_at`,
revokes their tokens and frees the username.

An API token is `dlr_` and 43 URL-safe characters (256 random bits), shown once.
The store keeps its SHA-256: a fast hash is enough for a secret nobody chose
(scrypt is for passwords people pick), and it lets a request's token be found by
an index instead of checked against every row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from dialer.agents.credentials import (
    MAX_USER_PASSWORD_LENGTH,
    CredentialError,
    check_password,
    hash_password,
    verify_password,
    waste_password_check,
)
from dialer.store.repository import (
    ApiToken,
    AuditEntry,
    InvalidUser,
    NotFound,
    Role,
    User,
    UserExists,
)

log = logging.getLogger("dialer.store.sqlite")

TOKEN_PREFIX = "dlr_"  # so a leaked token is recognisable (secret scanners, logs)
_TOKEN_BYTES, _SHOWN_CHARS = 32, 8
_MAX_TOKEN_LENGTH = 256  # anything longer is not ours: refused before hashing
_LAST_USED_EVERY_S = 60.0  # last_used_at is written at most this often per token
# The command line's name in the audit log: no user may take it.
RESERVED_USERNAMES = frozenset({"cli", "retention"})  # the audit log's non-human actors
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_MAX_TOKEN_NAME = 100

_USER_COLUMNS = "id, username, role, disabled, created_at, updated_at, removed_at"
_TOKEN_COLUMNS = "id, user_id, name, prefix, created_at, last_used_at, revoked_at, expires_at"
_AUDIT_COLUMNS = "id, at, actor, role, action, target, before, after, source"


class AccountTables:
    """Users, tokens and the audit log; see the module docstring. Mixed into `SqliteStore`."""

    _db: sqlite3.Connection

    if TYPE_CHECKING:  # provided by SqliteStore

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # -- users -------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, *, now: float) -> User:
        """A new user. UserExists when a live user has the username (in any case);
        InvalidUser for a bad username or role, or a password the policy refuses."""
        username, role = check_username(username), _role(role)
        password_hash = _hash(password)  # slow: before the lock
        with self._write() as db:
            try:
                cursor = db.execute(
                    "INSERT INTO users (username, role, password_hash, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, role, password_hash, now, now),
                )
            except sqlite3.IntegrityError as error:
                if "users.username" in str(error):
                    raise UserExists(username) from None
                raise
        assert cursor.lastrowid is not None
        log.info("user %d: added, %r as %s", cursor.lastrowid, username, role)
        return self.get_user(cursor.lastrowid)

    def get_user(self, user_id: int) -> User:
        """Any user, a removed one included (with its `removed_at`)."""
        row = self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        if row is None:
            raise NotFound("user", user_id)
        return _user(row)

    def find_user(self, username: str) -> User | None:
        """The live user with this username, compared without case."""
        row = self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE username = ? AND removed_at IS NULL",
            (username,),
        ).fetchone()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        """Every live user (disabled ones included), in id order."""
        rows = self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY id"
        ).fetchall()
        return [_user(row) for row in rows]

    def update_user(
        self,
        user_id: int,
        *,
        now: float,
        role: str | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Change what is given (None: unchanged). A disabled user keeps their tokens,
        which work again once they are enabled."""
        changes: dict[str, object] = {}
        if role is not None:
            changes["role"] = str(_role(role))
        if disabled is not None:
            changes["disabled"] = int(disabled)
        with self._write() as db:
            self._live_user(user_id)
            if changes:
                assignments = "".join(f"{column} = ?, " for column in changes)  # names are ours
                db.execute(
                    f"UPDATE users SET {assignments}updated_at = ? WHERE id = ?",
                    (*changes.values(), now, user_id),
                )
                log.info("user %d: edited %s", user_id, ", ".join(sorted(changes)))
        return self.get_user(user_id)

    def set_user_password(self, user_id: int, password: str, *, now: float) -> User:
        self._live_user(user_id)  # an unknown user is refused before the slow hash
        password_hash = _hash(password)
        with self._write() as db:
            self._live_user(user_id)
            db.execute(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                (password_hash, now, user_id),
            )
        log.info("user %d: password set", user_id)
        return self.get_user(user_id)

    def remove_user(self, user_id: int, *, now: float) -> None:
        """No more logins, their tokens revoked, the username free; the row stays."""
        with self._write() as db:
            self._live_user(user_id)
            db.execute(
                "UPDATE users SET removed_at = ?, updated_at = ? WHERE id = ?",
                (now, now, user_id),
            )
            revoked = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (now, user_id),
            ).rowcount
        log.info("user %d: removed, %d tokens revoked", user_id, revoked)

    def check_user_login(self, username: str, password: str) -> User | None:
        """The live, enabled user whose password this is, else None. Every refusal
        (unknown, removed, disabled, wrong password) costs one scrypt, so the answer's
        timing does not tell which usernames exist or are disabled."""
        if len(password) > MAX_USER_PASSWORD_LENGTH:  # never set so: wrong, at the usual cost
            waste_password_check("")
            return None
        row = self._db.execute(
            "SELECT id, password_hash, disabled FROM users"
            " WHERE username = ? AND removed_at IS NULL",
            (username,),
        ).fetchone()
        if row is None:
            waste_password_check(password)
            return None
        if not verify_password(row["password_hash"], password) or row["disabled"]:
            return None
        return self.get_user(row["id"])

    def _live_user(self, user_id: int) -> User:
        user = self.get_user(user_id)
        if user.removed_at is not None:
            raise NotFound("user", user_id)
        return user

    # -- API tokens --------------------------------------------------------------------

    def create_api_token(
        self, user_id: int, name: str, *, now: float, expires_at: float | None = None
    ) -> tuple[ApiToken, str]:
        """A new token for a live user, and its secret: returned this once, never stored.
        InvalidUser for a blank name or an expiry not after `now`."""
        name = _token_name(name)
        if expires_at is not None and expires_at <= now:
            raise InvalidUser("a token's expiry must be in the future")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        with self._write() as db:
            self._live_user(user_id)
            cursor = db.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, name, _token_hash(secret), secret[:_SHOWN_CHARS], now, expires_at),
            )
        assert cursor.lastrowid is not None
        log.info("api token %d: created for user %d", cursor.lastrowid, user_id)
        return self.get_api_token(cursor.lastrowid), secret

    def get_api_token(self, token_id: int) -> ApiToken:
        row = self._db.execute(
            f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,)
        ).fetchone()
        if row is None:
            raise NotFound("api token", token_id)
        return _token(row)

    def check_api_token(self, secret: str, *, now: float) -> User | None:
        """The user a request's token authenticates, else None: unknown, revoked or
        expired tokens, and those of disabled or removed users. The token's
        `last_used_at` is brought up to date when it is a minute old or more."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > _MAX_TOKEN_LENGTH:
            return None
        wanted = _token_hash(secret)
        row = self._db.execute(
            "SELECT t.id, t.token_hash, t.last_used_at, t.user_id FROM api_tokens AS t"
            " JOIN users AS u ON u.id = t.user_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL"
            " AND (t.expires_at IS NULL OR t.expires_at > ?)"
            " AND u.disabled = 0 AND u.removed_at IS NULL",
            (wanted, now),
        ).fetchone()
        if row is None or not hmac.compare_digest(row["token_hash"], wanted):
            return None
        last_used = row["last_used_at"]
        if last_used is None or now - last_used >= _LAST_USED_EVERY_S:
            with self._write() as db:
                db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row["id"]))
        return self.get_user(row["user_id"])

    def list_api_tokens(self, user_id: int | None = None) -> list[ApiToken]:
        """Every token (revoked and expired ones included), or one user's, in id order."""
        if user_id is None:
            rows = self._db.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens ORDER BY id")
        else:
            self.get_user(user_id)
            rows = self._db.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
        return [_token(row) for row in rows.fetchall()]

    def revoke_api_token(self, token_id: int, *, now: float) -> ApiToken:
        """The token stops working. Revoking it again changes nothing (the first time stays)."""
        with self._write() as db:
            self.get_api_token(token_id)
            revoked = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
        if revoked:
            log.info("api token %d: revoked", token_id)
        return self.get_api_token(token_id)

    # -- the audit log -----------------------------------------------------------------

    def record_audit(
        self,
        *,
        at: float,
        actor: str,
        role: str,
        action: str,
        target: str,
        source: str,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """Append one entry. Call it inside the `transaction()` of the change it describes,
        so the two commit together. `before` and `after` must be JSON-ready (a TypeError
        otherwise, which rolls that transaction back): never put secrets in them."""
        if not actor or not action:
            raise ValueError("an audit entry names its actor and its action")
        if role and role not in {str(known) for known in Role}:
            raise ValueError(f"an audit entry's role is '' or one of {', '.join(Role)}")
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO audit_log (at, actor, role, action, target, before, after, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (at, actor, role, action, target, _json(before), _json(after), source),
            )
        assert cursor.lastrowid is not None
        return self._audit_entry(cursor.lastrowid)

    def list_audit(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int | None = 1000,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries with `since <= at < until` and the given actor, action and target (each
        matched exactly; None: any), newest first; `limit` None: all of them."""
        if (limit is not None and limit < 0) or offset < 0:
            raise ValueError("limit and offset cannot be negative")
        filters = {"at >= ?": since, "at < ?": until, "actor = ?": actor}
        filters |= {"action = ?": action, "target = ?": target}
        given = {clause: value for clause, value in filters.items() if value is not None}
        where = " AND ".join(given) or "1"  # clauses are ours, values are parameters
        rows = self._db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {where}"
            " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            (*given.values(), -1 if limit is None else limit, offset),
        ).fetchall()
        return [_audit(row) for row in rows]

    def _audit_entry(self, entry_id: int) -> AuditEntry:
        row = self._db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE id = ?", (entry_id,)
        ).fetchone()
        return _audit(row)


def check_username(username: str) -> str:
    """The rule for a new username (InvalidUser says it); letters' case is kept."""
    if not _USERNAME.fullmatch(username):
        raise InvalidUser(
            "a username is 1 to 64 letters, digits and . _ @ -, starting with a letter or digit"
        )
    if username.lower() in RESERVED_USERNAMES:
        raise InvalidUser(f"{username!r} is reserved: the audit log's name for the dialer itself")
    return username


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidUser(f"a role is one of {', '.join(Role)} (got {role!r})") from None


def _hash(password: str) -> str:
    try:
        check_password(password, max_length=MAX_USER_PASSWORD_LENGTH)
    except CredentialError as exc:
        raise InvalidUser(str(exc)) from None
    return hash_password(password)


def _token_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_TOKEN_NAME or not name.isprintable():
        raise InvalidUser(f"a token's name is 1 to {_MAX_TOKEN_NAME} printable characters")
    return name


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _json(value: Mapping[str, object] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), sort_keys=True)


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        removed_at=row["removed_at"],
    )


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


def _audit(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        role=row["role"],
        action=row["action"],
        target=row["target"],
        before=None if row["before"] is None else json.loads(row["before"]),
        after=None if row["after"] is None else json.loads(row["after"]),
        source=row["source"],
    )
