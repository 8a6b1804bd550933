"""`GET /metrics`: the process's Prometheus metrics, for a scraper with a manager's token."""

from __future__ import annotations

from aiohttp import web

from dialer.web.api.operation import ApiCall, Operation
from dialer.web.state import METRICS

TEXT_FORMAT = "text/plain; version=0.0.4"


async def metrics(call: ApiCall) -> web.Response:
    body = call.request.app[METRICS].render()
    response = web.Response(body=body)
    response.content_type = "text/plain"
    response.headers["Content-Type"] = f"{TEXT_FORMAT}; charset=utf-8"
    return response


OPERATIONS = [
    Operation("GET", "/metrics", metrics, "Prometheus metrics (text format 0.0.4)", "meta",
              produces="text/plain"),
]  # fmt: skip
