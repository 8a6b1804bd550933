"""Calibration: the floor for N full-duplex streams on this machine, with none of our code.

N plain UDP sockets, one 20 ms ticker, one 172-byte datagram per socket per tick to
SIPp's `-rtp_echo` media port, echoes counted by a bare DatagramProtocol. Whatever
this costs is kernel and event loop, and no RTP stack can go below it here.

    .venv/bin/python bench/baseline_udp_echo.py --streams 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.peers import BUILTIN_UAS, LOOPBACK, Sipp


class Counter(asyncio.DatagramProtocol):
    received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        Counter.received += 1


async def run(streams: int, seconds: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    with Sipp.start_uas(BUILTIN_UAS, rtp_echo=True, trace_messages=False) as sipp:
        target = (LOOPBACK, sipp.media_port)
        transports = []
        for _ in range(streams):
            transport, _ = await loop.create_datagram_endpoint(Counter, local_addr=(LOOPBACK, 0))
            transports.append(transport)
        packet = b"\x80\x00" + bytes(170)
        start = loop.time()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        ticks = int(seconds / 0.02)
        for tick in range(ticks):
            for transport in transports:
                transport.sendto(packet, target)
            await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))
        after = resource.getrusage(resource.RUSAGE_SELF)
        wall = loop.time() - start
        for transport in transports:
            transport.close()
    return {
        "streams": streams,
        "cpu_user_percent": round((after.ru_utime - usage.ru_utime) / wall * 100, 1),
        "cpu_system_percent": round((after.ru_stime - usage.ru_stime) / wall * 100, 1),
        "sent": streams * ticks,
        "echoes_received": Counter.received,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    import uvloop

    print(json.dumps(uvloop.run(run(args.streams, args.seconds))))


if __name__ == "__main__":
    main()
