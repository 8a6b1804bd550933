"""Fetching flow documents from a real aiohttp server on loopback: Twilio's parameters and
signature, retries, slow and broken servers bounded by the caller's silence budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from dialer.config import FlowSettings
from dialer.flow.document import Say
from dialer.flow.interpreter import Fetched, FetchFailed
from dialer.flow.location import FlowLocation
from dialer.flow.webhook import FlowFetcher, read_static, twilio_signature
from tests.loopback_http import serving

TWIML = b"<Response><Say>From the webhook</Say></Response>"
SETTINGS = FlowSettings(webhook_timeout_s=0.5, webhook_retries=1, max_silence_s=2.0)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """An aiohttp app on 127.0.0.1 whose handler each test sets; it counts requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.handler: Handler = self.twiml

    async def twiml(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=TWIML, content_type="application/xml")

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        self.requests.append(
            (request.method, {k: str(v) for k, v in form.items()}, dict(request.headers))
        )
        return await self.handler(request)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    state = Server()
    async with serving(state.dispatch) as base:
        yield state, base


async def fetch(settings: FlowSettings, url: str, method: str = "POST") -> Fetched | FetchFailed:
    fetcher = FlowFetcher(settings)
    try:
        return await fetcher.fetch(FlowLocation(url=url), method, {"CallSid": "c1", "Digits": "1"})
    finally:
        await fetcher.close()


async def test_a_webhook_gets_the_parameters_signed_and_answers_twiml(
    server: tuple[Server, str],
) -> None:
    state, base = server
    result = await fetch(replace(SETTINGS, webhook_signing_key="s3cret"), f"{base}/ivr")
    assert isinstance(result, Fetched)
    assert isinstance(result.flow.verbs[0], Say)
    assert result.location == FlowLocation(url=f"{base}/ivr")
    ((method, form, headers),) = state.requests
    assert method == "POST" and form == {"CallSid": "c1", "Digits": "1"}
    assert headers["X-Twilio-Signature"] == twilio_signature("s3cret", f"{base}/ivr", form)


async def test_get_puts_the_parameters_in_the_query(server: tuple[Server, str]) -> None:
    state, base = server
    assert isinstance(await fetch(SETTINGS, f"{base}/ivr", "GET"), Fetched)
    assert state.requests[0][:2] == ("GET", {"CallSid": "c1", "Digits": "1"})


def test_the_signature_is_twilios() -> None:
    # The vector Twilio's own libraries test against (twilio-python's request validator).
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
              "To": "+18005551212", "Caller": "+14158675309"}  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


async def test_a_server_error_is_retried_then_given_up(server: tuple[Server, str]) -> None:
    state, base = server

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500)

    state.handler = broken
    result = await fetch(SETTINGS, f"{base}/ivr")
    assert isinstance(result, FetchFailed) and "answered 500" in result.reason
    assert len(state.requests) == 1 + SETTINGS.webhook_retries


async def test_a_refusal_is_not_retried(server: tuple[Server, str]) -> None:
    state, base = server

    async def forbidden(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403)

    state.handler = forbidden
    result = await fetch(SETTINGS, f"{base}/ivr")
    assert isinstance(result, FetchFailed) and len(state.requests) == 1


async def test_a_slow_webhook_never_holds_the_caller_past_the_silence_budget(
    server: tuple[Server, str],
) -> None:
    state, base = server
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.StreamResponse:
        await release.wait()  # never answers in time
        return web.Response(body=TWIML, content_type="application/xml")

    state.handler = stuck
    settings = FlowSettings(webhook_timeout_s=5.0, webhook_retries=3, max_silence_s=0.6)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await fetch(settings, f"{base}/ivr")
    waited = loop.time() - started
    release.set()
    assert isinstance(result, FetchFailed) and "no answer within" in result.reason
    assert waited < settings.max_silence_s + 0.3  # bounded by the budget, not the timeout


async def test_broken_twiml_and_a_redirect_are_failures(server: tuple[Server, str]) -> None:
    state, base = server

    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<Response><Sya>x</Sya></Response>", content_type="text/xml")

    state.handler = garbage
    result = await fetch(SETTINGS, f"{base}/ivr")
    assert isinstance(result, FetchFailed) and "broken TwiML" in result.reason
    assert "Sya" in result.reason and len(state.requests) == 1  # not asked again

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("http://127.0.0.2/elsewhere")

    state.handler = moved
    result = await fetch(SETTINGS, f"{base}/ivr")
    assert isinstance(result, FetchFailed) and "302" in result.reason


async def test_nobody_listening_is_a_failure_within_the_budget() -> None:
    result = await fetch(SETTINGS, "http://127.0.0.1:9/ivr")  # the discard port: closed
    assert isinstance(result, FetchFailed) and "webhook http://127.0.0.1:9/ivr" in result.reason


def test_static_files(tmp_path: Path) -> None:
    (tmp_path / "ok.xml").write_bytes(TWIML)
    (tmp_path / "bad.xml").write_text("<Response><Say>")
    root = FlowLocation.of(str(tmp_path / "ok.xml"))
    assert isinstance(read_static(root), Fetched)
    missing = read_static(root.resolve("press-7.xml"))
    assert isinstance(missing, FetchFailed) and missing.missing
    broken = read_static(root.resolve("bad.xml"))
    assert isinstance(broken, FetchFailed) and not broken.missing
    assert "not well-formed" in broken.reason
