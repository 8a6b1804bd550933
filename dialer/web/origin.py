"""Is a request from a page of ours? The check against CSRF and cross-site WebSockets."""

from __future__ import annotations

from aiohttp import web


def same_origin(request: web.Request, *, allow_referer: bool = True) -> bool:
    """The request comes from a page of ours (CSRF, cross-site WebSocket hijacking)."""
    ours = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == ours
    referer = request.headers.get("Referer")
    return allow_referer and referer is not None and referer.startswith(ours + "/")
