"""API errors: one JSON shape for every refusal, whatever raised it.

    {"error": {"status": 400, "message": "the body is not valid",
               "details": [{"at": "body.settings.max_concurrent", "message": "..."}]}}

`errors_as_json` is the middleware that gives aiohttp's own refusals (an
unknown path, a wrong method, a body too large) the same shape under /api, and
turns a bug into a 500 that says nothing of its cause (the log has it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

log = logging.getLogger("dialer.web.api")

API_PREFIX = "/api/"


@dataclass(frozen=True)
class Detail:
    at: str  # where: body.name, query.limit, path.campaign_id, settings.window.start
    message: str


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        details: Sequence[Detail] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = tuple(details)
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        error: dict[str, object] = {"status": self.status, "message": self.message}
        if self.details:
            error["details"] = [{"at": d.at, "message": d.message} for d in self.details]
        return web.json_response({"error": error}, status=self.status, headers=self.headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        try:
            return await handler(request)
        except ApiError as exc:  # an operation outside /api (/metrics)
            return exc.response()
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return ApiError(exc.status, exc.reason.lower(), headers=kept).response()
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return ApiError(500, "internal error").response()


def query_refused(where: str, message: str) -> ApiError:
    """A 400 for one bad query parameter (`where`: "query.NAME")."""
    return ApiError(400, "the query is not valid", [Detail(where, message)])


def query_date(query: Mapping[str, Any], key: str) -> date:
    """The query's `key` as a date (YYYY-MM-DD), or the 400 that says so."""
    try:
        return date.fromisoformat(query[key])
    except ValueError:
        raise query_refused(f"query.{key}", "must be a date, YYYY-MM-DD") from None
