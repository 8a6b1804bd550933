"""The process's metrics, in Prometheus' terms (`GET /metrics` under `dialer serve`).

`DialerMetrics` is one registry per `Dialer` (never the library's global one:
two dialers in one test process must not add up). Every call the process
places is counted once, when its report is written (`call_finished`): by
outcome, its setup time, AMD's verdict, what became of a person handed to the
agents (abandonment is `dialer_agent_handoffs_total{status="abandoned"}` over
all of them), and its RTP loss. What is true at scrape time (calls in
progress, agents by state, trunks' OPTIONS round trips) is read then, from
the callbacks `serve` registers. `watch_loop` samples the event loop's lag,
the first sign of a dialer doing more than its core can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from dialer.calling import CallReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOP_SAMPLE_S = 0.5
SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

Readings = Callable[[], Mapping[str, float]]


class DialerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter("dialer_calls", "Calls ended, by outcome", ["outcome"], registry=r)
        self.in_progress = Gauge("dialer_calls_in_progress", "Calls placed and not ended",
                                 registry=r)  # fmt: skip
        self.setup = Histogram("dialer_call_setup_seconds", "From the INVITE to its final answer",
                               buckets=SETUP_BUCKETS, registry=r)  # fmt: skip
        self.amd = Counter("dialer_amd_decisions", "AMD's verdicts", ["verdict"], registry=r)
        self.handoffs = Counter("dialer_agent_handoffs",
                                "People handed to the agents, by what became of them",
                                ["status"], registry=r)  # fmt: skip
        self.rtp_expected = Counter("dialer_rtp_packets_expected",
                                    "RTP packets the far ends sent (by sequence numbers)",
                                    registry=r)  # fmt: skip
        self.rtp_lost = Counter("dialer_rtp_packets_lost", "RTP packets that never arrived",
                                registry=r)  # fmt: skip
        self.loop_lag = Histogram("dialer_event_loop_lag_seconds",
                                  "How late the event loop runs a timer", buckets=LAG_BUCKETS,
                                  registry=r)  # fmt: skip
        self._readings = _Readings()
        r.register(self._readings)

    def call_started(self) -> None:
        self.in_progress.inc()

    def call_finished(self, report: CallReport | None) -> None:
        """The call is over; None: it ended without a report (cancelled with its campaign)."""
        self.in_progress.dec()
        if report is None:
            return
        self.calls.labels(report.outcome).inc()
        if report.setup_ms is not None:
            self.setup.observe(report.setup_ms / 1000)
        if report.answered_by:
            self.amd.labels(report.answered_by).inc()
        status = report.variables.get("DialCallStatus")
        if status:
            self.handoffs.labels(status).inc()
        expected, lost = report.rtp.get("packets_expected"), report.rtp.get("packets_lost")
        if isinstance(expected, int) and isinstance(lost, int) and expected > 0:
            self.rtp_expected.inc(expected)
            self.rtp_lost.inc(max(0, lost))

    def gauge(self, name: str, documentation: str, label: str, read: Readings) -> None:
        """A gauge read at each scrape: `read()` gives the value by `label`'s value."""
        self._readings.gauges.append((name, documentation, label, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def watch_loop(self, interval_s: float = LOOP_SAMPLE_S) -> None:
        """Forever: how much later than asked a timer fires (run it as a task)."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + interval_s
            await asyncio.sleep(interval_s)
            self.loop_lag.observe(max(0.0, loop.time() - asked))


class _Readings(Collector):
    def __init__(self) -> None:
        self.gauges: list[tuple[str, str, str, Readings]] = []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, documentation, label, read in self.gauges:
            family = GaugeMetricFamily(name, documentation, labels=[label])
            for key, value in sorted(read().items()):
                family.add_metric([key], value)
            yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []
