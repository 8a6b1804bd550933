"""The managers' dashboard: static pages over the API (`/dashboard`), and `/` leading there.

Everything the pages show or change goes through `/api` with the browser's
session (see `dialer.web.api.principal`): the pages hold no data and no secret.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static" / "dashboard"
STATIC_PREFIX = "/dashboard/static/"


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/dashboard")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/dashboard", page)
    app.router.add_static(STATIC_PREFIX, STATIC, name="dashboard-static")
