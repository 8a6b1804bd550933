"""Calls per second per trunk, sans-IO: a token bucket that backs off when the trunk pushes back.

Carriers enforce a CPS limit and answer 503 (often with Retry-After) when it
is exceeded or when they are overloaded. A dialer that keeps its rate then
turns a short overload into a wall of failed attempts. So:

- `TokenBucket`: `rate` tokens per second, at most `burst` saved up; a call
  takes one token. Time is passed in.
- `SlidingWindow`: at most `limit` calls in any one second. Carriers count calls
  per second, and a bucket alone lets `rate + burst` through in a second after
  an idle spell. The bucket spreads calls out and saves a few tokens
  (`burst_s` seconds' worth) so a dialer that woke late catches up; the window
  makes sure catching up never breaks the trunk's cps.
- `TrunkPacer`: the bucket and the window, plus back-off. A 503 with Retry-After pauses the
  trunk until then; a 503 without it pauses for an exponential delay (1 s,
  2 s, 4 s ... capped) and halves the rate (never below `min_rate`). Every
  final response that is not a trunk refusal restores a tenth of the
  configured rate, so the trunk recovers in about ten good calls.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

TRUNK_REFUSALS = frozenset({503})  # codes that mean "the trunk, not the callee, said no"
_WHOLE = 1.0 - 1e-9  # a token, give or take float rounding (else a waiter can spin forever)


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None, *, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= _WHOLE:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    def next_available(self, now: float) -> float:
        """When the next token will be there (`now` if there is one already)."""
        self._refill(now)
        if self._tokens >= _WHOLE:
            return now
        return now + (1.0 - self._tokens) / self.rate

    def set_rate(self, rate: float, now: float) -> None:
        self._refill(now)  # tokens earned at the old rate are kept
        self.rate = rate


class SlidingWindow:
    """At most `limit` events in any window of `span_s` (half-open: [t - span, t))."""

    def __init__(self, limit: int, span_s: float = 1.0) -> None:
        self.limit = max(1, limit)
        self.span_s = span_s
        self._times: deque[float] = deque()

    def next_available(self, now: float) -> float:
        """`now` if one more event fits in the window ending now, else when it will."""
        while self._times and self._times[0] <= now - self.span_s:
            self._times.popleft()
        if len(self._times) < self.limit:
            return now
        return self._times[-self.limit] + self.span_s

    def record(self, now: float) -> None:
        self._times.append(now)


@dataclass(frozen=True)
class PacerSettings:
    cps: float
    burst_s: float = 0.05  # seconds' worth of tokens saved up while idle, at least one
    min_rate: float = 0.2
    first_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_retry_after_s: float = 600.0  # a trunk asking for more is capped: we check back


class TrunkPacer:
    def __init__(self, settings: PacerSettings, *, now: float) -> None:
        self.settings = settings
        self.bucket = TokenBucket(settings.cps, settings.cps * settings.burst_s, now=now)
        self.window = SlidingWindow(int(settings.cps))
        self.paused_until = now
        self.refusals_in_a_row = 0

    @property
    def rate(self) -> float:
        return self.bucket.rate

    def acquire(self, now: float) -> float | None:
        """Take a slot for one call: None means dial now; else the time to ask again."""
        if now < self.paused_until:
            return self.paused_until
        fits = self.window.next_available(now)
        if fits > now:
            return fits
        if self.bucket.try_take(now):
            self.window.record(now)
            return None
        return self.bucket.next_available(now)

    def on_final_response(
        self, sip_code: int | None, retry_after_s: int | None, now: float
    ) -> None:
        """Feed every attempt's final SIP code back (None: no response at all)."""
        s = self.settings
        if sip_code in TRUNK_REFUSALS:
            self.refusals_in_a_row += 1
            if retry_after_s is not None and retry_after_s > 0:
                pause = min(float(retry_after_s), s.max_retry_after_s)
            else:
                pause = min(s.first_backoff_s * 2 ** (self.refusals_in_a_row - 1), s.max_backoff_s)
            self.paused_until = max(self.paused_until, now + pause)
            self.bucket.set_rate(max(s.min_rate, self.bucket.rate / 2), now)
            return
        if sip_code is None:
            return  # a time-out says nothing about the rate the trunk accepts
        self.refusals_in_a_row = 0
        if self.bucket.rate < s.cps:
            self.bucket.set_rate(min(s.cps, self.bucket.rate + s.cps / 10), now)
