"""The web API under /api: the operation table, and its OpenAPI document.

Each resource's module lists its `OPERATIONS`; `add_api` mounts them all behind
the one gate (`operation.mount`) and serves the document written from them.
"""

from __future__ import annotations

import re

from aiohttp import web

from dialer.web.api import (
    admin_ops,
    agent_activity_ops,
    agent_ops,
    calendar_ops,
    campaign_ops,
    dnc_ops,
    lead_ops,
    library_ops,
    metrics_ops,
    session_ops,
    stats_ops,
    system_ops,
    tts_ops,
)
from dialer.web.api.errors import ApiError
from dialer.web.api.openapi import document
from dialer.web.api.operation import ApiCall, Operation, mount
from dialer.web.state import CONFIG


def operations() -> list[Operation]:
    modules = (
        session_ops, campaign_ops, lead_ops, library_ops, dnc_ops, agent_ops, agent_activity_ops,
        admin_ops, metrics_ops, tts_ops, system_ops, calendar_ops, stats_ops,
    )  # fmt: skip
    listed = [op for module in modules for op in module.OPERATIONS]
    return [*listed, Operation("GET", "/api/openapi.json", openapi, "This document", "meta",
                               role=None, response={"type": "object"})]  # fmt: skip


async def openapi(call: ApiCall) -> object:
    return document(operations())


def add_api(app: web.Application) -> None:
    listed = operations()
    mount(app, listed)
    app[tts_ops.SPEECH] = tts_ops.SpeechPreview(app[CONFIG].tts)
    app.on_cleanup.append(tts_ops.close_speech)
    library_ops.add_library(app)
    methods: dict[str, set[str]] = {}
    for operation in listed:
        methods.setdefault(operation.path, set()).add(operation.method)
    # Fixed paths first: /api/agents/live is that path, not /api/agents/{agent_id}.
    by_path = sorted(methods.items(), key=lambda item: "{" in item[0])
    patterns = [(_pattern(path), allowed) for path, allowed in by_path]

    async def unknown(request: web.Request) -> web.StreamResponse:
        """Not a route: a wrong method on a known path (405), or no such path (404)."""
        for pattern, allowed in patterns:
            if pattern.match(request.path):
                methods = ", ".join(sorted(allowed))
                raise ApiError(405, f"use {methods} on {request.path}", headers={"Allow": methods})
        raise ApiError(404, f"no such API path: {request.path}")

    # A wrong method on a fixed path that a templated one also matches would otherwise
    # reach the templated route (PATCH /api/agents/live: "live" is not an agent id).
    templated = [_pattern(path) for path in methods if "{" in path]
    for path in methods:
        if "{" not in path and any(pattern.match(path) for pattern in templated):
            app.router.add_route("*", path, unknown)
    app.router.add_route("*", "/api/{tail:.*}", unknown)


def _pattern(path: str) -> re.Pattern[str]:
    """What request paths an operation's path template matches."""
    return re.compile(re.sub(r"{\w+}", "[^/]+", path) + "$")
