"""Answer to bridged: how long a live person waits for an agent who is ready (goal p95 <= 300 ms).

    .venv/bin/python bench/bench_bridge.py --calls 60 --concurrent 4 --agents 4

SIPp answers as the person (echoing RTP); `--agents` baresip softphones auto-answer as
agents, each taking calls one at a time and hanging up after `--talk` seconds (its audio
file ends). Each person's flow is `<Enqueue>`, run the moment the call is answered, so
the figure is the dialer's own: reserve a ready agent, ring their phone, get the 200 OK,
join the audio. Reported over every bridged call: QueueTime (answer to bridged) p50,
p95, max; calls that found nobody free (abandoned) are counted apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from actors.agent_pool import LiveAgentPool  # noqa: E402
from dialer.agents.handoff import AgentHandOff  # noqa: E402
from dialer.agents.leg import SipPhone  # noqa: E402
from dialer.agents.pool import AgentPool, AgentSeat  # noqa: E402
from dialer.calling import CallRequest, place_call  # noqa: E402
from dialer.config import (  # noqa: E402
    AgentSettings,
    Config,
    FlowSettings,
    LimitSettings,
    RtpSettings,
    SipSettings,
    TrunkSettings,
    TtsSettings,
)
from dialer.flow.document import parse_flow  # noqa: E402
from dialer.flow.interpreter import FlowStart  # noqa: E402
from dialer.flow.location import FlowLocation  # noqa: E402
from dialer.flow.runner import FlowRequest, FlowRuntime  # noqa: E402
from dialer.flow.webhook import FlowFetcher  # noqa: E402
from dialer.runtime import Dialer  # noqa: E402
from dialer.sip.actions import Destination  # noqa: E402
from tests.e2e.audio_fixtures import tone_pcm16, write_wav  # noqa: E402
from tests.e2e.peers import LOOPBACK, Baresip, Sipp, free_sip_port  # noqa: E402
from tts.renderer import Renderer  # noqa: E402

QUEUE = "<Response><Enqueue>campaign-1</Enqueue></Response>"  # any agent


async def run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    with ExitStack() as stack:
        person = stack.enter_context(
            Sipp.start_uas("echo_answer", rtp_echo=True, calls=args.calls, workdir=work)
        )
        talk = write_wav(work / "talk.wav", tone_pcm16(440.0, args.talk, dbfs=-20.0))
        phones = [
            stack.enter_context(Baresip.start(user=f"agent{i}", audio_in=talk, timeout_s=600))
            for i in range(args.agents)
        ]
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=30.0),
            trunks={
                "default": TrunkSettings(
                    proxy=f"sip:{LOOPBACK}:{person.address[1]}", keepalive_s=0, cps=100
                )
            },
            limits=LimitSettings(ring_timeout_s=10),
        )
        dialer = await Dialer.start(config)
        live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
        flows = FlowRuntime(
            FlowSettings(recordings_dir=str(work / "rec")),
            Renderer(TtsSettings(cache_dir=str(work / "tts"))),
            FlowFetcher(FlowSettings()),
            work / "rec",
        )
        try:
            for i, phone in enumerate(phones, start=1):
                live.seat(AgentSeat(i, f"Agent {i}", f"10{i:02d}"))
                live.phone_registered(
                    i, SipPhone(dialer, phone.uri, Destination(LOOPBACK, phone.sip_port))
                )
            # A person waits up to 5 s here: the figure is the time to bridge, not abandonment.
            flows.hand_off = AgentHandOff(dialer, live, AgentSettings(safe_harbor_s=5.0),
                                          flows.speech)  # fmt: skip
            start = FlowStart(parse_flow(QUEUE, "bench"), FlowLocation())
            slots = asyncio.Semaphore(args.concurrent)

            async def one(n: int) -> dict[str, str]:
                async with slots:
                    flow = FlowRequest(flows, start, {"customerName": f"Person {n}"})
                    report = await place_call(dialer, CallRequest(target=person.uri(), flow=flow))
                    return dict(report.variables)

            results = await asyncio.gather(*(one(n) for n in range(args.calls)))
        finally:
            await live.close()
            await flows.close()
            await dialer.close()
    queue_ms = np.array(
        [float(r["QueueTime"]) * 1000 for r in results if r.get("DialCallStatus") == "completed"]
    )
    abandoned = sum(1 for r in results if r.get("DialCallStatus") == "abandoned")
    summary: dict[str, object] = {
        "calls": args.calls,
        "bridged": int(queue_ms.size),
        "abandoned": abandoned,
        "agents": args.agents,
        "concurrent": args.concurrent,
    }
    if queue_ms.size:
        summary |= {
            "queue_ms_p50": round(float(np.percentile(queue_ms, 50)), 1),
            "queue_ms_p95": round(float(np.percentile(queue_ms, 95)), 1),
            "queue_ms_max": round(float(queue_ms.max()), 1),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--concurrent", type=int, default=4, help="people on the line at once")
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--talk", type=float, default=1.0, help="seconds an agent talks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as work:
        print(json.dumps(asyncio.run(run(args, Path(work)))))


if __name__ == "__main__":
    main()
