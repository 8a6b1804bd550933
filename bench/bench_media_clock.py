"""Benchmark: N RTP sessions paced by one MediaClock, sending to a local UDP sink.

Prints the CPU this process used (percent of one core), the tick interval
distribution the clock observed (p50/p99/max: the send interval every stream
saw), per-tick work time, and packets sent vs received by the sink. The sink runs
in a child process so its CPU is not counted; `--sink-mode echo` sends every
packet back, so the receive path (parse, stats, latching) is measured too, and
`--sink-mode drop` never reads (no second busy process on a 2-core machine).

    .venv/bin/python bench/bench_media_clock.py --sessions 500 --seconds 20
    .venv/bin/python bench/bench_media_clock.py --sessions 500 --sink-mode echo --loop asyncio

Loopback only. Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.clock import MediaClock
from media.g711 import ulaw_encode
from media.ports import RtpPortPool
from media.session import RtpSession

HOST = "127.0.0.1"


def run_sink(port: int, mode: str) -> None:
    """Child process: count (and with 'echo' send back) datagrams until a b'STOP' datagram;
    with 'drop', never read (the kernel drops what overflows) until stdin closes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((HOST, port))
    print("ready", flush=True)
    if mode == "drop":
        sys.stdin.read()
        print("-1 -1", flush=True)
        return
    echo = mode == "echo"
    packets = octets = 0
    while True:
        data, addr = sock.recvfrom(2048)
        if data == b"STOP":
            break
        packets += 1
        octets += len(data)
        if echo:
            sock.sendto(data, addr)
    print(f"{packets} {octets}", flush=True)


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process; loopback sends count the kernel's
    delivery to the sink as our system time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def bench(args: argparse.Namespace) -> None:
    sink_port = args.port_base - 2
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(sink_port), "--sink-mode", args.sink_mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    try:
        if sink.stdout.readline().strip() != "ready":
            raise SystemExit("sink did not start")
        clock = MediaClock(history=int(args.seconds / 0.02) + 100)
        clock.start()
        pool = RtpPortPool(HOST, args.port_base, args.port_base + 2 * args.sessions + 200)
        rng = np.random.default_rng(1)
        prompt = ulaw_encode((rng.standard_normal(8000 * 3) * 3000).astype(np.int16))
        sessions = []
        for _ in range(args.sessions):
            session = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0)
            session.set_remote(HOST, sink_port, 0, 101, "PCMU")
            session.play(prompt, loop=True)
            sessions.append(session)
        await asyncio.sleep(args.warmup)  # the bench's own wall-clock window, not pacing
        clock.reset_stats()
        sent_before = sum(s.stats().packets_sent for s in sessions)
        received_before = sum(s.stats().packets_received for s in sessions)
        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(args.seconds)
        cpu_after = cpu_seconds()
        user, system = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
        cpu = user + system
        wall = time.perf_counter() - wall_before
        sent = sum(s.stats().packets_sent for s in sessions) - sent_before
        received = sum(s.stats().packets_received for s in sessions) - received_before
        stats = clock.interval_stats()
        for session in sessions:
            session.close()
        await clock.stop()
    finally:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stop:
            stop.sendto(b"STOP", (HOST, sink_port))
        out, _ = sink.communicate(timeout=10)
    sink_packets = int(out.split()[0]) if out.split() else -1
    expected = args.sessions * wall / 0.02
    print(f"loop={args.loop} sessions={args.sessions} sink={args.sink_mode} seconds={wall:.1f}")
    print(
        f"cpu: {100 * cpu / wall:.1f}% of one core "
        f"(user {100 * user / wall:.1f}%, system {100 * system / wall:.1f}%)"
    )
    print(
        f"tick interval ms: p50={stats.interval_p50_ms:.2f} p99={stats.interval_p99_ms:.2f} "
        f"max={stats.interval_max_ms:.2f} (ticks={stats.ticks})"
    )
    print(
        f"tick work ms: p50={stats.work_p50_ms:.2f} p99={stats.work_p99_ms:.2f} "
        f"max={stats.work_max_ms:.2f}; skipped={stats.skipped} caught_up={stats.caught_up}"
    )
    print(
        f"packets: sent={sent} ({100 * sent / expected:.1f}% of {expected:.0f} ideal), "
        f"sink total incl. warm-up={sink_packets}"
        + (f", echoed back={received}" if args.sink_mode == "echo" else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument(
        "--sink-mode",
        choices=("count", "echo", "drop"),
        default="count",
        help="count packets; echo them back (full duplex); or never read (no sink CPU)",
    )
    parser.add_argument("--port-base", type=int, default=36000)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink is not None:
        run_sink(args.sink, args.sink_mode)
        return
    if args.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(bench(args))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
