"""The API as data: each `Operation` says its route, who may call it and what it takes.

One table drives everything: `mount` registers the routes, each behind the same
gate (who is asking, may they, is the request well formed); `openapi.document`
writes the OpenAPI description from the same entries, so the document cannot
drift from what the server checks. A handler receives an `ApiCall` with the
caller and the request already validated, and returns what to send as JSON (or
a response of its own, such as a CSV file).

Changes go through `ApiCall.change`: the change and its audit entry (who,
what, when, before and after) are written in one store transaction, so no
action is ever unaudited, and no audit entry describes a change that did not
happen.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from jsonschema import Draft202012Validator

from dialer.campaign.model import IllegalTransition, NotEditable
from dialer.campaign.settings import SettingsError
from dialer.library import LibraryError, Upload
from dialer.store.repository import NotFound, Repository, StoreError, User
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.principal import Caller, authenticate
from dialer.web.state import STORE

log = logging.getLogger("dialer.web.api")

T = TypeVar("T")
Schema = Mapping[str, Any]
Handler = Callable[["ApiCall"], Awaitable[object]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_DETAILS = 20
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a contact list of a few hundred thousand rows
_PATH_PARAM = re.compile(r"{(\w+)}")


class Role(enum.IntEnum):
    """Who may do what: each role may do what the ones below it may."""

    AGENT = 0  # the agent console only: nothing in the API but their own session
    MANAGER = 1  # campaigns, contacts, agents, do-not-call lists
    ADMIN = 2  # users, tokens, the audit log, system settings

    @classmethod
    def of(cls, user: User) -> Role:
        return cls[user.role.upper()]


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # an OpenAPI template: /api/campaigns/{campaign_id}
    handler: Handler
    summary: str
    tag: str
    role: Role | None = Role.MANAGER  # the least role allowed; None: anyone, logged in or not
    body: Schema | None = None  # a JSON request body, validated against this schema
    upload: str | None = None  # instead: a multipart form with this file field
    query: tuple[Param, ...] = ()
    response: Schema | None = None  # the JSON response's schema (documented, and tested)
    status: int = 200
    produces: str = "application/json"  # text/csv for exports
    description: str = ""
    refusals: tuple[int, ...] = ()  # statuses it may answer besides the gate's (documented)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__.strip("_")

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


def path_schema(name: str) -> Schema:
    """Ids are positive integers, names what the library allows; any other is text."""
    if name.endswith("_id"):
        return schemas.ID
    if name.endswith("_name"):
        return schemas.LIBRARY_NAME
    return {"type": "string", "minLength": 1, "maxLength": 200}


@dataclass(frozen=True)
class Changed(Generic[T]):
    """What a change returns to its caller, and what the audit log keeps of it."""

    result: T
    before: Mapping[str, object] | None = None
    after: Mapping[str, object] | None = None
    target: str | None = None  # known only once made (a new campaign's id)


@dataclass
class ApiCall:
    request: web.Request
    caller: Caller | None  # None: an operation open to anyone, called by no one logged in
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    files: list[Upload] = field(default_factory=list)  # each part in the upload's field

    @property
    def upload(self) -> bytes:
        """The uploaded file (the first, where an operation takes one)."""
        return self.files[0].data

    @property
    def user(self) -> User:
        assert self.caller is not None, "a logged-in operation"
        return self.caller.user

    async def read(self, work: Callable[[Repository], T]) -> T:
        return await self.request.app[STORE].run(work)

    async def change(self, action: str, target: str, work: Callable[[Repository], Changed[T]]) -> T:
        """Make a change and record it in the audit log, in one transaction."""
        caller = self.caller
        actor, role = (caller.user.username, caller.user.role) if caller else ("anonymous", "")
        source = self.request.remote or "unknown"

        def audited(store: Repository) -> Changed[T]:
            with store.transaction():
                changed = work(store)
                store.record_audit(
                    at=time.time(), actor=actor, role=role, action=action,
                    target=changed.target or target,
                    before=changed.before, after=changed.after, source=source,
                )  # fmt: skip
            return changed

        changed = await self.request.app[STORE].run(audited)
        return changed.result


def mount(app: web.Application, operations: list[Operation]) -> None:
    for operation in operations:
        app.router.add_route(operation.method, operation.path, _gate(operation))


def _gate(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    body_check = Draft202012Validator(operation.body) if operation.body is not None else None
    query_checks = {p.name: Draft202012Validator(p.schema) for p in operation.query}
    path_checks = {name: Draft202012Validator(path_schema(name)) for name in operation.path_params}

    async def gate(request: web.Request) -> web.StreamResponse:
        caller = await authenticate(request)
        if operation.role is not None:
            if caller is None:
                raise ApiError(401, "log in, or send an API token (Authorization: Bearer ...)")
            if Role.of(caller.user) < operation.role:
                raise ApiError(403, f"this needs the {operation.role.name.lower()} role")
            if caller.session is not None and request.method not in SAFE_METHODS:
                caller.check_csrf(request)
        call = ApiCall(request, caller)
        call.path = _path_values(request, path_checks)
        call.query = _query_values(request, operation.query, query_checks)
        if body_check is not None:
            call.body = await _json_body(request, body_check)
        if operation.upload is not None:
            call.files = await _uploads(request, operation.upload)
        try:
            result = await operation.handler(call)
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        except SettingsError as exc:
            raise ApiError(422, "the settings cannot work",
                           [Detail(f"settings.{exc.key}", exc.reason)]) from None  # fmt: skip
        except StoreError as exc:
            if isinstance(exc, ValueError):  # a bad value the schema cannot see (a password)
                raise ApiError(422, "a value cannot be used", [Detail("body", str(exc))]) from None
            raise ApiError(409, str(exc)) from None
        except (IllegalTransition, NotEditable) as exc:
            raise ApiError(409, str(exc)) from None
        except LibraryError as exc:
            details = [Detail(f"form.{operation.upload or 'file'}", p) for p in exc.problems]
            raise ApiError(422, "the upload cannot be used", details[:MAX_DETAILS]) from None
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, status=operation.status, dumps=_dumps)

    return gate


def _path_values(
    request: web.Request, checks: Mapping[str, Draft202012Validator]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    details = []
    for name, check in checks.items():
        value = _typed(request.match_info[name], path_schema(name))
        details += [Detail(f"path.{name}", e.message) for e in check.iter_errors(value)]
        values[name] = value
    if details:
        raise ApiError(400, "the path is not valid", details)
    return values


def _query_values(
    request: web.Request, params: tuple[Param, ...], checks: Mapping[str, Draft202012Validator]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    details = []
    known = {p.name for p in params}
    details += [
        Detail(f"query.{name}", "is not a parameter of this operation")
        for name in request.query
        if name not in known
    ]
    for param in params:
        if param.name not in request.query:
            if param.required:
                details.append(Detail(f"query.{param.name}", "is required"))
            elif "default" in param.schema:
                values[param.name] = param.schema["default"]
            continue
        value = _typed(request.query[param.name], param.schema)
        errors = list(checks[param.name].iter_errors(value))
        details += [Detail(f"query.{param.name}", e.message) for e in errors]
        values[param.name] = value
    if details:
        raise ApiError(400, "the query is not valid", details[:MAX_DETAILS])
    return values


def _typed(text: str, schema: Schema) -> object:
    """A query string's text as the type its schema asks for (left as text if it is not)."""
    kind = schema.get("type")
    if kind == "integer" and _is_int(text):
        return int(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?\d{1,19}", text) is not None


async def _json_body(request: web.Request, check: Draft202012Validator) -> Any:
    if request.content_type != "application/json":
        raise ApiError(415, "send the body as application/json")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    errors = sorted(check.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        details = [Detail(_where("body", e.absolute_path), e.message) for e in errors]
        raise ApiError(400, "the body is not valid", details[:MAX_DETAILS])
    return body


async def _uploads(request: web.Request, field_name: str) -> list[Upload]:
    """Every file in the form's `field_name` (at least one), MAX_UPLOAD_BYTES in all."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, f"send the file as multipart/form-data, in the field {field_name!r}")
    files, total = [], 0
    try:
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.name == field_name:
                data = bytearray()
                while chunk := await part.read_chunk():
                    data += chunk
                    total += len(chunk)
                    if total > MAX_UPLOAD_BYTES:
                        raise ApiError(413, f"the upload is over {MAX_UPLOAD_BYTES >> 20} MiB")
                files.append(Upload(part.filename or "", bytes(data)))
    except (ValueError, HttpProcessingError) as exc:  # no boundary, a broken part's headers
        raise ApiError(400, f"the multipart body is malformed: {exc}") from None
    if not files:
        raise ApiError(400, "the file is missing", [Detail(f"form.{field_name}", "is required")])
    return files


def _where(root: str, path: Any) -> str:
    return ".".join([root, *(str(step) for step in path)])


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
