"""Call benchmarks against SIPp on loopback. Prints numbers; asserts nothing.

    python bench/bench_calls.py concurrent --calls 500 --hold 25 --window 10
        N full-duplex G.711 calls at once against `sipp -sn uas -rtp_echo`:
        CPU of this process, RTP send interval p50/p99/max, failed calls, memory per call.

    python bench/bench_calls.py setup-rate --calls 2000 --rates 50,100,150,200
        Ramps short calls (INVITE, 200, ACK, BYE) at each rate; reports the rate
        achieved and the failures, so the highest clean rate can be read off.

Results go in bench/RESULTS.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dialer.calling import CallReport, CallRequest, place_call  # noqa: E402
from dialer.config import Config, LimitSettings, TrunkSettings  # noqa: E402
from dialer.demo import LOOPBACK, free_port  # noqa: E402
from dialer.runtime import Dialer  # noqa: E402
from media.g711 import ulaw_encode  # noqa: E402
from tests.e2e.peers import BUILTIN_UAS, Sipp  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds() -> tuple[float, float]:
    """User and system CPU seconds of this process (system includes loopback delivery)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def echo_callee() -> Sipp:
    """SIPp answering every call and echoing its RTP, with no per-message trace."""
    return Sipp.start_uas(
        BUILTIN_UAS,
        rtp_echo=True,
        trace_messages=False,
        timeout_s=600,
        extra_args=["-max_socket", "4096", "-buff_size", "8388608"],
    )


def bench_config(sipp_port: int, calls: int) -> Config:
    base = Config()
    return replace(
        base,
        sip=replace(
            base.sip, bind_host=LOOPBACK, bind_port=free_port(socket.SOCK_DGRAM), transports=["udp"]
        ),
        rtp=replace(base.rtp, bind_host=LOOPBACK, dead_air_s=10.0),
        trunks={
            "default": TrunkSettings(
                proxy=f"sip:{LOOPBACK}:{sipp_port}", keepalive_s=0, max_channels=calls, cps=1000
            )
        },
        limits=LimitSettings(max_concurrent_calls=calls, ring_timeout_s=30),
    )


async def concurrent(calls: int, hold_s: float, window_s: float, rate: float) -> dict[str, object]:
    rng = np.random.default_rng(7)
    prompt = ulaw_encode((rng.standard_normal(int(hold_s * 8000)) * 3000).astype(np.int16))
    with echo_callee() as sipp:
        dialer = await Dialer.start(bench_config(sipp.port, calls))
        try:
            rss_before = rss_bytes()
            tasks = []
            for i in range(calls):
                request = CallRequest(target=f"sip:bench{i}@{LOOPBACK}", prompt=prompt)
                tasks.append(asyncio.create_task(place_call(dialer, request)))
                await asyncio.sleep(1 / rate)
            # Measure once every call is up (or the window would include the ramp).
            ramp_deadline = time.monotonic() + 30
            while dialer.endpoint.active_dialogs < calls and time.monotonic() < ramp_deadline:
                await asyncio.sleep(0.1)
            up = dialer.endpoint.active_dialogs
            dialer.clock.reset_stats()
            (user0, sys0), wall0 = cpu_seconds(), time.monotonic()
            await asyncio.sleep(window_s)
            (user1, sys1), wall = cpu_seconds(), time.monotonic() - wall0
            user, system = (user1 - user0) / wall, (sys1 - sys0) / wall
            intervals = dialer.clock.interval_stats().to_dict()
            rss_during = rss_bytes()
            reports: list[CallReport] = await asyncio.gather(*tasks)
        finally:
            await dialer.close()
    outcomes = Counter(r.outcome for r in reports)
    reasons = Counter(r.reason for r in reports)
    lost = sum(int(r.rtp.get("packets_lost", 0)) for r in reports)
    return {
        "calls": calls,
        "concurrent_during_window": up,
        "window_s": window_s,
        "cpu_percent_of_one_core": round((user + system) * 100, 1),
        "cpu_user_percent": round(user * 100, 1),
        "cpu_system_percent": round(system * 100, 1),
        "send_interval_ms": intervals,
        "failed_calls": calls - outcomes.get("completed", 0),
        "outcomes": dict(outcomes),
        "end_reasons": dict(reasons.most_common(3)),
        "rtp_packets_lost_total": lost,
        "memory_per_call_kib": round((rss_during - rss_before) / calls / 1024, 1),
    }


async def setup_rate(calls: int, rate: float) -> dict[str, object]:
    with echo_callee() as sipp:
        dialer = await Dialer.start(bench_config(sipp.port, calls))
        try:
            started = time.monotonic()
            tasks = []
            for i in range(calls):
                # Absolute pacing: the i-th call starts at i/rate, however long a start takes.
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                request = CallRequest(target=f"sip:short{i}@{LOOPBACK}", max_duration_s=0.2)
                tasks.append(asyncio.create_task(place_call(dialer, request)))
            offered = calls / (time.monotonic() - started)
            reports: list[CallReport] = await asyncio.gather(*tasks)
        finally:
            await dialer.close()
    outcomes = Counter(r.outcome for r in reports)
    setup = sorted(r.setup_ms for r in reports if r.setup_ms is not None)
    return {
        "calls": calls,
        "target_cps": rate,
        "achieved_cps": round(offered, 1),
        "failed_calls": calls - outcomes.get("completed", 0),
        "outcomes": dict(outcomes),
        "setup_ms_p50": setup[len(setup) // 2] if setup else None,
        "setup_ms_p99": setup[int(len(setup) * 0.99)] if setup else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("concurrent")
    c.add_argument("--calls", type=int, default=500)
    c.add_argument("--hold", type=float, default=25.0)
    c.add_argument("--window", type=float, default=10.0)
    c.add_argument("--rate", type=float, default=100.0)
    s = commands.add_parser("setup-rate")
    s.add_argument("--calls", type=int, default=2000)
    s.add_argument("--rates", default="50,100,150,200")
    args = parser.parse_args()
    run = _runner()
    if args.command == "concurrent":
        print(json.dumps(run(concurrent(args.calls, args.hold, args.window, args.rate)), indent=2))
    else:
        for rate in (float(r) for r in args.rates.split(",")):
            print(json.dumps(run(setup_rate(args.calls, rate))))


def _runner():  # type: ignore[no-untyped-def]
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


if __name__ == "__main__":
    main()
