"""A templated flow at scale: does anyone who answers wait for TTS? The answer-to-prompt time.

    .venv/bin/python bench/bench_flows.py --contacts 1000 --names 400 --concurrent 500 --cps 100

Every contact gets `<Say>Hello {{customerName}}, ...{{date}}...</Say>` then a pause that
keeps the call up, so `--concurrent` calls are up at once. Names repeat (`--names`
distinct ones) and dates come from a short list, as in a real list. The campaign renders
each contact's prompt ahead of the dial (the lead's speech is prepared while the calls
before it are placed); the figure that matters is the time from the answer to the first
prompt handed to RTP, over every answered call: p50, p99, max (goal p99 <= 100 ms). Also
the speech cache's hit rate and the engine's CPU. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.call import CallFinished  # noqa: E402
from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool  # noqa: E402
from actors.runtime import spawn  # noqa: E402
from bench.bench_campaign import answered_numbers  # noqa: E402
from dialer.campaign.model import CampaignEvent  # noqa: E402
from dialer.campaign.pacing import PacerSettings, TrunkPacer  # noqa: E402
from dialer.campaign.policy import RetryRules  # noqa: E402
from dialer.config import (  # noqa: E402
    Config,
    FlowSettings,
    LimitSettings,
    RtpSettings,
    SipSettings,
    TrunkSettings,
    TtsSettings,
)
from dialer.contacts.record import ContactRecord  # noqa: E402
from dialer.flow.runner import FlowRuntime  # noqa: E402
from dialer.flow.validation import load_campaign_flow  # noqa: E402
from dialer.flow.webhook import FlowFetcher  # noqa: E402
from dialer.runtime import Dialer  # noqa: E402
from dialer.store.sqlite import SqliteStore  # noqa: E402
from dialer.store.worker import StoreWorker  # noqa: E402
from tests.e2e.campaign_run import ALL_DAY  # noqa: E402
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port  # noqa: E402
from tts.renderer import Renderer  # noqa: E402

FLOW = """<Response>
  <Say>Hello {{customerName}}. This is a reminder of your appointment on {{date}}.</Say>
  <Pause length="{{hold}}"/>
</Response>"""
DATES = ["March 15", "March 16", "March 17", "March 18", "March 19"]


class MeasuredActor(CampaignActor):
    """The campaign actor, noting each call's answer-to-prompt time as it reports."""

    first_prompt_ms: list[float] = []

    async def receive(self, message: object) -> object:
        if isinstance(message, CallFinished) and message.report.first_prompt_ms is not None:
            MeasuredActor.first_prompt_ms.append(message.report.first_prompt_ms)
        return await super().receive(message)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(
    contacts: int, names: int, concurrent: int, cps: float, hold: float
) -> dict[str, object]:
    rng = random.Random(7)
    people = [f"Person {rng.randrange(10**6):06d}" for _ in range(names)]
    with (
        tempfile.TemporaryDirectory() as scratch,
        Sipp.start_uas(
            "campaign_mix",
            timeout_s=3600,
            trace_messages=False,
            extra_args=["-max_socket", "4096", "-buff_size", "8388608"],
        ) as sipp,
    ):
        folder = Path(scratch)
        (folder / "flow.xml").write_text(FLOW.replace("{{hold}}", f"{hold:g}"))
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=0),
            trunks={
                "default": TrunkSettings(
                    proxy=f"sip:{LOOPBACK}:{sipp.port}", keepalive_s=0, cps=cps,
                    max_channels=concurrent,
                )
            },
            limits=LimitSettings(max_concurrent_calls=concurrent, ring_timeout_s=30),
        )  # fmt: skip
        flows = FlowSettings(recordings_dir=str(folder / "recordings"))
        renderer = Renderer(TtsSettings(cache_dir=str(folder / "tts-cache")))
        runtime = FlowRuntime(flows, renderer, FlowFetcher(flows), folder / "recordings")
        campaign_flow = load_campaign_flow(str(folder / "flow.xml"), renderer.check_voice)
        records = [
            ContactRecord(i + 2, rng.choice(people), number, None, timezone="UTC",
                          attributes={"date": rng.choice(DATES)})
            for i, number in enumerate(answered_numbers(contacts))
        ]  # fmt: skip
        store = StoreWorker(lambda: SqliteStore(folder / "bench.db"))
        campaign = await store.run(lambda s: s.create_campaign("bench", now=time.time()))
        await store.run(lambda s: s.import_contacts(campaign, records, now=time.time()))
        await store.run(
            lambda s: s.set_campaign_state(campaign, CampaignEvent.START, now=time.time())
        )
        dialer = await Dialer.start(config)
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[CampaignFinished] = loop.create_future()
        actor = MeasuredActor(
            dialer,
            store,
            CampaignPlan(
                campaign,
                max_concurrent=concurrent,
                rules=RetryRules(max_attempts=1),
                hours=ALL_DAY,
                flow=campaign_flow,
                flow_runtime=runtime,
                max_duration_s=hold + 30,
            ),
            channels=(ChannelPool(concurrent),),
            pacer=TrunkPacer(PacerSettings(cps=cps), now=loop.time()),
            on_finished=finished.set_result,
        )
        usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        task = spawn(actor)
        result = await finished
        await task
        wall = time.monotonic() - wall0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = renderer.cache_stats()
        await dialer.close()
        await runtime.close()
        attempts = await store.run(lambda s: s.list_attempts(campaign))
        store.close()
    waits = MeasuredActor.first_prompt_ms
    cpu = (usage.ru_utime - usage0.ru_utime + usage.ru_stime - usage0.ru_stime) / wall
    return {
        "contacts": contacts,
        "distinct_names": names,
        "peak_concurrent": result.peak_concurrent,
        "wall_s": round(wall, 1),
        "cpu_percent_of_one_core": round(cpu * 100, 1),
        "answered_with_prompt": len(waits),
        "lost_outcomes": contacts - sum(1 for a in attempts if a.result is not None),
        "answer_to_prompt_ms": {
            "p50": percentile(waits, 0.50),
            "p99": percentile(waits, 0.99),
            "max": max(waits, default=0.0),
        },
        "speech_cache": {"hits": stats.hits, "misses": stats.misses,
                         "hit_rate": round(stats.hits / max(1, stats.hits + stats.misses), 3)},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--names", type=int, default=400)
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--cps", type=float, default=100.0)
    parser.add_argument("--hold", type=float, default=10.0, help="seconds of pause after the words")
    args = parser.parse_args()
    import uvloop

    print(
        json.dumps(uvloop.run(run(args.contacts, args.names, args.concurrent, args.cps, args.hold)))
    )


if __name__ == "__main__":
    main()
