"""The web API under load while `dialer serve` holds N calls, and how soon the dashboard
shows a call that ended. Prints one JSON object; asserts nothing.

    .venv/bin/python bench/bench_api.py --calls 300 --rps 50 --seconds 20

`dialer serve` runs a campaign against SIPp's campaign_mix UAS on loopback (every number
is one it answers); the dialer hangs each call up after `--hold` seconds and dials a little
faster than calls/hold per second, so once the first wave is up, calls end (and are
replaced at once) at about that rate for as long as contacts last. With `--calls` in
progress:

- API: an aiohttp client fires `--rps` requests a second for `--seconds`, open loop (each
  one at its slot on a fixed timetable, however slow the answers), cycling through
  GET /api/campaigns, /api/campaigns/{id} and /api/campaigns/{id}/leads?limit=50.
  Latency counts from the slot, so a backlog in the client counts against the server.
- Call end to dashboard: the stream /api/campaigns/{id}/live is read throughout. The k-th
  call end is the k-th BYE SIPp received (first copy per Call-ID); it is shown when the
  first snapshot whose `final` count reaches k arrives at the client. The same matching
  against the ledger's `finished_at` splits the delay into "the dialer wrote it" and "the
  stream carried it". Only ends inside the API window count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.bench_campaign import answered_numbers  # noqa: E402
from dialer.campaign.policy import RetryRules  # noqa: E402
from dialer.campaign.settings import CampaignSettings  # noqa: E402
from dialer.contacts.record import ContactRecord  # noqa: E402
from dialer.store.sqlite import SqliteStore  # noqa: E402
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port  # noqa: E402
from tests.e2e.test_agents_serve import query, serve  # noqa: E402

READY_LINE = "dashboard on http://"  # what serve logs once the API listens
SHOWN_WITHIN_S = 5.0  # how long after the window the stream is read for its last ends
STOP_GRACE_S = 30.0  # serve hangs up every call on SIGTERM before it exits


@dataclass(frozen=True)
class Snapshot:
    received_at: float  # the client's wall clock, comparable with SIPp's and the ledger's
    final: int
    in_progress: int


@dataclass(frozen=True)
class Sample:
    kind: str
    status: int  # 0: no answer (connection error or client timeout)
    latency_s: float  # from the request's slot on the timetable
    lag_s: float  # how late the client itself started it


class LiveStream:
    """The campaign's SSE stream, every snapshot kept; waiters are woken on each one."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.changed = asyncio.Condition()
        self.ended = False

    async def follow(self, session: aiohttp.ClientSession, url: str) -> None:
        try:
            async with session.get(url) as response:
                response.raise_for_status()
                data = ""
                async for raw in response.content:  # one line at a time
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith("data: "):
                        data = line.removeprefix("data: ")
                    elif not line and data:
                        progress = json.loads(data)["progress"]
                        received = Snapshot(time.time(), progress["final"], progress["in_progress"])
                        async with self.changed:
                            self.snapshots.append(received)
                            self.changed.notify_all()
                        data = ""
        finally:
            async with self.changed:  # a waiter must not sit out its timeout on a dead stream
                self.ended = True
                self.changed.notify_all()

    async def until(self, reached: Callable[[Snapshot], bool], timeout: float) -> bool:
        """Wait for a snapshot that satisfies `reached`; False on timeout."""

        def done() -> bool:
            return self.ended or (bool(self.snapshots) and reached(self.snapshots[-1]))

        async with self.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait_for(done), timeout)
            if self.ended:
                raise RuntimeError("the live stream ended early")
            return done()


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile of `values`, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000, 1)


def spread(values: Sequence[float], shares: Sequence[float]) -> dict[str, float | None]:
    figures = {f"p{round(share * 100)}_ms": percentile(values, share) for share in shares}
    return figures | {"max_ms": round(max(values) * 1000, 1) if values else None}


def prepare(folder: Path, calls: int, contacts: int, hold_s: float) -> tuple[Path, int, str]:
    """The store serve will open: a draft campaign with its contacts, and an API token."""
    db = folder / "dialer.db"
    store = SqliteStore(db)
    try:
        user = store.add_user("bench", "a.bench.password", "manager", now=time.time())
        _, token = store.create_api_token(user.id, "bench", now=time.time())
        settings = CampaignSettings(
            max_concurrent=calls,
            max_duration_s=hold_s,
            retry=RetryRules(max_attempts=1),
            recipient_hours=None,  # a lab trunk: any hour
        )
        campaign = store.create_campaign("bench", now=time.time(), settings=settings.to_dict())
        records = [
            ContactRecord(i + 2, f"C{i}", number, None)
            for i, number in enumerate(answered_numbers(contacts))
        ]
        store.import_contacts(campaign, records, now=time.time())
    finally:
        store.close()
    return db, campaign, token


def config_toml(folder: Path, sipp: Sipp, web_port: int, calls: int, cps: float) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {free_sip_port()}\ntransports = ["udp"]\n'
        # SIPp's campaign_mix sends no RTP: dead-air detection would end every call
        f'[rtp]\nbind_host = "{LOOPBACK}"\ndead_air_s = 0\n'
        f'[trunks.default]\nproxy = "sip:{LOOPBACK}:{sipp.port}"\nkeepalive_s = 0\n'
        f"cps = {cps}\nmax_channels = {calls}\n"
        f"[limits]\nmax_concurrent_calls = {calls}\n"
        f'[web]\nbind_host = "{LOOPBACK}"\nport = {web_port}\n'
    )
    return path


async def watch_log(stream: asyncio.StreamReader, ready: asyncio.Event, tail: deque[str]) -> None:
    """Drain serve's log (a full pipe would stall it), noting when the API is up."""
    async for raw in stream:
        line = raw.decode(errors="replace").rstrip()
        tail.append(line)
        if READY_LINE in line:
            ready.set()


async def fire(
    session: aiohttp.ClientSession, url: str, kind: str, slot: float, timeout_s: float
) -> Sample:
    lag = time.perf_counter() - slot
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return Sample(kind, status, time.perf_counter() - slot, lag)


async def load(
    session: aiohttp.ClientSession, base: str, campaign: int, rps: float, seconds: float
) -> list[Sample]:
    """Open loop: request i starts at start + i / rps whether or not earlier ones answered.
    Timed with perf_counter: uvloop's loop.time() moves in whole milliseconds."""
    paths = [
        ("list", "/api/campaigns"),
        ("show", f"/api/campaigns/{campaign}"),
        ("leads", f"/api/campaigns/{campaign}/leads?limit=50"),
    ]
    start, tasks = time.perf_counter(), []
    async with asyncio.TaskGroup() as group:  # Ctrl-C cancels the requests in flight too
        for i in range(round(rps * seconds)):
            slot = start + i / rps
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            kind, path = paths[i % len(paths)]
            tasks.append(group.create_task(fire(session, base + path, kind, slot, 10.0)))
    return [task.result() for task in tasks]


def end_delays(
    ends: Sequence[float], snapshots: Sequence[Snapshot], window: tuple[float, float]
) -> tuple[list[float], int]:
    """For each k-th end (sorted) inside `window`: the first snapshot with final >= k,
    minus the end. Also how many ends in the window no snapshot showed."""
    delays, unseen, i = [], 0, 0
    for k, ended in enumerate(sorted(ends), start=1):
        while i < len(snapshots) and snapshots[i].final < k:
            i += 1
        if not window[0] <= ended <= window[1]:
            continue
        if i == len(snapshots):
            unseen += 1
        else:
            delays.append(snapshots[i].received_at - ended)
    return delays, unseen


def bye_times(sipp: Sipp) -> list[float]:
    """When SIPp received each call's BYE (the first copy: retransmissions left out)."""
    first: dict[str, float] = {}
    for message in sipp.messages():
        if message.direction == "received" and message.method == "BYE" and message.at:
            first.setdefault(message.header("Call-ID") or "", message.at)
    return list(first.values())


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stop_serve(service: asyncio.subprocess.Process) -> None:
    if service.returncode is None:
        service.terminate()
        try:
            await asyncio.wait_for(service.wait(), STOP_GRACE_S)
        except TimeoutError:
            service.kill()
            await service.wait()


async def measure(
    api: aiohttp.ClientSession,
    base: str,
    campaign: int,
    live: LiveStream,
    calls: int,
    hold_s: float,
    rps: float,
    seconds: float,
    pids: Sequence[int],
) -> tuple[list[Sample], tuple[float, float], float, bool, list[float]]:
    """Start the campaign, wait for `calls` in progress, load the API, and read the stream
    until it has had time to show the window's last ends. Also the CPU share of one core
    that each of `pids` took during the window."""
    async with api.post(f"{base}/api/campaigns/{campaign}/start") as started:
        if started.status != 200:
            raise RuntimeError(f"start: {started.status} {await started.text()}")
    ramp0 = time.monotonic()
    full = await live.until(lambda s: s.in_progress >= calls, hold_s + 60)
    ramp_s = time.monotonic() - ramp0
    reached = live.snapshots[-1].in_progress
    print(f"in progress: {reached}; API load for {seconds} s", file=sys.stderr)
    cpu0, window0 = {p: process_cpu_s(p) for p in pids}, time.time()
    samples = await load(api, base, campaign, rps, seconds)
    window = (window0, time.time())
    cpu = [(process_cpu_s(p) - cpu0[p]) / (window[1] - window[0]) for p in pids]
    await live.until(lambda s: s.received_at >= window[1] + SHOWN_WITHIN_S, SHOWN_WITHIN_S + 5)
    return samples, window, ramp_s, full, cpu


async def run(calls: int, hold_s: float, rps: float, seconds: float) -> dict[str, Any]:
    # A little faster than calls/hold: the first wave is up before its first call ends, and
    # from then on each end is redialled at once, so calls end at about calls/hold a second.
    cps = 1.1 * calls / hold_s
    # Enough contacts that calls are still replaced until the stream's last snapshot.
    contacts = calls + math.ceil(cps * (seconds + SHOWN_WITHIN_S + 30))
    budget_s = 2 * hold_s + seconds + 120
    with (
        tempfile.TemporaryDirectory() as scratch,
        Sipp.start_uas(
            "campaign_mix",
            timeout_s=budget_s,
            workdir=Path(scratch) / "sipp",  # kept until the trace is read
            extra_args=["-max_socket", "4096", "-buff_size", "8388608"],
        ) as sipp,
    ):
        folder = Path(scratch)
        db, campaign, token = prepare(folder, calls, contacts, hold_s)
        web_port = free_tcp_port()
        config = config_toml(folder, sipp, web_port, calls, cps)
        base = f"http://{LOOPBACK}:{web_port}"
        headers = {"Authorization": f"Bearer {token}"}
        service = await serve(db, config)
        # SIPp runs under `timeout`: its one child is SIPp itself
        children = Path(f"/proc/{sipp.pid}/task/{sipp.pid}/children").read_text().split()
        pids = [service.pid, int(children[0]), os.getpid()]
        ready, tail = asyncio.Event(), deque[str](maxlen=40)
        assert service.stderr is not None
        log_task = asyncio.create_task(watch_log(service.stderr, ready, tail))
        live = LiveStream()
        try:
            ready_task = asyncio.create_task(ready.wait())
            await asyncio.wait({ready_task, log_task}, timeout=30, return_when="FIRST_COMPLETED")
            ready_task.cancel()
            if not ready.is_set():
                raise RuntimeError("serve did not start its API:\n" + "\n".join(tail))
            async with (
                aiohttp.ClientSession(headers=headers) as api,
                # its own connection, open as long as the run (the default total is 300 s)
                aiohttp.ClientSession(
                    headers=headers, timeout=aiohttp.ClientTimeout(total=None, sock_read=30)
                ) as stream,
            ):
                follow = asyncio.create_task(
                    live.follow(stream, f"{base}/api/campaigns/{campaign}/live")
                )
                try:
                    samples, window, ramp_s, full, cpu = await measure(
                        api, base, campaign, live, calls, hold_s, rps, seconds, pids
                    )
                finally:
                    follow.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await follow
            ledger = query(db, "SELECT finished_at, outcome FROM attempts WHERE state = 'finished'")
        finally:
            await stop_serve(service)
            log_task.cancel()
        sipp.stop()  # flushes its trace
        byes = bye_times(sipp)
    snapshots = live.snapshots
    during = [s.in_progress for s in snapshots if window[0] <= s.received_at <= window[1]]
    finished = [float(str(row[0])) for row in ledger]
    outcomes = Counter(str(row[1]) for row in ledger)
    shown, unseen = end_delays(byes, snapshots, window)
    written, _ = end_delays(finished, snapshots, window)
    bye_to_ledger = [
        b - a
        for a, b in zip(sorted(byes), sorted(finished), strict=False)
        if window[0] <= a <= window[1]
    ]
    # the timetable's span as kept: from the first slot to the last request's start
    wall_s = max(i / rps + s.lag_s for i, s in enumerate(samples)) if samples else 0.0
    kinds = sorted({s.kind for s in samples})
    return {
        "calls_target": calls,
        "contacts": contacts,
        "hold_s": hold_s,
        "cps": round(cps, 2),
        "ramp_s": round(ramp_s, 1),
        "reached_target": full,
        "in_progress_during_window": {
            "min": min(during, default=None),
            "max": max(during, default=None),
        },
        "cpu_percent_of_one_core_in_window": {
            name: round(share * 100, 1)
            for name, share in zip(("serve", "sipp", "client"), cpu, strict=True)
        },
        "load_average_1m": round(os.getloadavg()[0], 2),
        "api": {
            "requests": len(samples),
            "target_rps": rps,
            "achieved_rps": round(len(samples) / (wall_s + 1 / rps), 1),
            "errors": sum(1 for s in samples if s.status != 200),
            "statuses": dict(Counter(s.status for s in samples)),
            "latency": spread([s.latency_s for s in samples], (0.5, 0.9, 0.99)),
            "by_kind": {
                k: spread([s.latency_s for s in samples if s.kind == k], (0.5, 0.99)) for k in kinds
            },
            "client_lag_max_ms": round(max(s.lag_s for s in samples) * 1000, 1),
        },
        "call_end_to_dashboard": {
            "ends_in_window": len(shown) + unseen,
            f"not_shown_within_{SHOWN_WITHIN_S:.0f}_s": unseen,
            "bye_to_shown": spread(shown, (0.5, 0.95)),
            "bye_to_ledger": spread(bye_to_ledger, (0.5, 0.95)),
            "ledger_to_shown": spread(written, (0.5, 0.95)),
            "snapshots": len(snapshots),
        },
        # every attempt completed: the k-th BYE and the k-th final lead are the same count
        "outcomes": dict(outcomes),
        "byes": len(byes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300, help="calls in progress")
    parser.add_argument("--hold", type=float, default=30.0, help="each call's length, s")
    parser.add_argument("--rps", type=float, default=50.0, help="API requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="the API window, s")
    args = parser.parse_args()
    import uvloop

    try:
        result = uvloop.run(run(args.calls, args.hold, args.rps, args.seconds))
    except KeyboardInterrupt:  # serve and SIPp were stopped on the way out
        sys.exit(130)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
