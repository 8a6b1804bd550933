"""Fetching flow documents: static files and webhooks, never leaving a caller in silence.

A webhook is asked with Twilio's call parameters (form-encoded POST, or a GET
query) and answers TwiML. While the dialer waits the caller hears nothing, so
one fetch is bounded by `max_silence_s` in all: each try gets
`min(webhook_timeout_s, what is left)`, and a failed try (no connection, a
timeout, a 5xx, a broken document) is retried while time and `webhook_retries`
allow. A 4xx is the server saying no: not retried. What then plays instead is
the interpreter's business (the fallback flow).

Requests are signed the way Twilio signs them (`X-Twilio-Signature`: base64 of
HMAC-SHA1 over the URL and the sorted POST parameters, keyed with
`flows.webhook_signing_key`), so a server built for Twilio can check that the
request comes from this dialer with the library it already has.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import aiohttp

from dialer.config import FlowSettings
from dialer.flow.document import MAX_FLOW_BYTES, FlowError, parse_flow
from dialer.flow.interpreter import Fetched, FetchFailed
from dialer.flow.location import FlowLocation

log = logging.getLogger("dialer.flow")

USER_AGENT = "dialer-flows/0.1"


def twilio_signature(key: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: URL + each POST parameter name and value, sorted by name."""
    message = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def read_static(location: FlowLocation) -> Fetched | FetchFailed:
    """A flow file, parsed; `missing` when it is not there (a menu choice not offered)."""
    path = location.path
    assert path is not None
    try:
        size = path.stat().st_size
        if size > MAX_FLOW_BYTES:
            return FetchFailed(f"{path.name}: larger than {MAX_FLOW_BYTES // 1024} KB")
        flow = parse_flow(path.read_bytes(), path.name)
    except FileNotFoundError:
        return FetchFailed(f"no flow {path.name}", missing=True)
    except OSError as exc:
        return FetchFailed(f"{path.name}: {exc.strerror or exc}")
    except FlowError as exc:
        return FetchFailed(str(exc))
    return Fetched(flow, location)


class FlowFetcher:
    """Documents for the calls of one process; owns the HTTP client (close it)."""

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings
        self._http: aiohttp.ClientSession | None = None

    async def fetch(
        self, location: FlowLocation, method: str, params: Mapping[str, str]
    ) -> Fetched | FetchFailed:
        if location.url is None:
            return await asyncio.to_thread(read_static, location)
        return await self._ask_webhook(location.url, method, params)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        return self._http

    async def _ask_webhook(
        self, url: str, method: str, params: Mapping[str, str]
    ) -> Fetched | FetchFailed:
        loop = asyncio.get_running_loop()
        settings = self.settings
        give_up_at = loop.time() + settings.max_silence_s
        reason = "no time to ask"
        for attempt in range(1 + settings.webhook_retries):
            left = give_up_at - loop.time()
            if left <= 0.05:
                break
            timeout = min(settings.webhook_timeout_s, left)
            result, retry = await self._one_request(url, method, params, timeout)
            if isinstance(result, Fetched):
                return result
            reason = result.reason
            log.warning("webhook %s, try %d: %s", url, attempt + 1, reason)
            if not retry:
                break
        return FetchFailed(f"webhook {url}: {reason}")

    async def _one_request(
        self, url: str, method: str, params: Mapping[str, str], timeout: float
    ) -> tuple[Fetched | FetchFailed, bool]:
        """One try; the result and whether another try could help."""
        headers = {"Accept": "application/xml, text/xml"}
        signed_params = params if method == "POST" else {}
        if self.settings.webhook_signing_key:
            target = url if method == "POST" else _with_query(url, params)
            headers["X-Twilio-Signature"] = twilio_signature(
                self.settings.webhook_signing_key, target, signed_params
            )
        try:
            async with asyncio.timeout(timeout):
                async with self.http.request(
                    method,
                    url,
                    data=dict(params) if method == "POST" else None,
                    params=dict(params) if method == "GET" else None,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    if response.status >= 400:
                        retry = response.status >= 500
                        return FetchFailed(f"answered {response.status}"), retry
                    if response.status != 200:
                        return FetchFailed(f"answered {response.status}, not TwiML"), False
                    body = await response.content.read(MAX_FLOW_BYTES + 1)
        except TimeoutError:
            return FetchFailed(f"no answer within {timeout:.1f} s"), True
        except aiohttp.ClientError as exc:
            return FetchFailed(f"{type(exc).__name__}: {exc}"), True
        try:
            flow = parse_flow(body, url)
        except FlowError as exc:
            return FetchFailed(f"broken TwiML: {exc}"), False  # it would say the same again
        return Fetched(flow, FlowLocation(url=url)), False


def _with_query(url: str, params: Mapping[str, str]) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(dict(params)) if params else url
