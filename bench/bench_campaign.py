"""A whole campaign against SIPp: outcomes lost (must be 0), achieved rate, the engine's CPU.

    .venv/bin/python bench/bench_campaign.py --contacts 5000 --cps 100 --concurrent 300 --hold 3

Every contact's number ends in 0 or 3..9, so SIPp's campaign_mix scenario answers
each call; answered calls hang up after `--hold` seconds, which with `--cps`
sets how many are up at once. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.campaign import CampaignActor, CampaignFinished, CampaignPlan, ChannelPool  # noqa: E402
from actors.runtime import spawn  # noqa: E402
from dialer.campaign.model import CampaignEvent  # noqa: E402
from dialer.campaign.pacing import PacerSettings, TrunkPacer  # noqa: E402
from dialer.campaign.policy import RetryRules  # noqa: E402
from dialer.config import Config, LimitSettings, RtpSettings, SipSettings, TrunkSettings  # noqa: E402
from dialer.contacts.record import ContactRecord  # noqa: E402
from dialer.runtime import Dialer  # noqa: E402
from dialer.store.sqlite import SqliteStore  # noqa: E402
from dialer.store.worker import StoreWorker  # noqa: E402
from tests.e2e.campaign_run import ALL_DAY  # noqa: E402
from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port  # noqa: E402


def answered_numbers(count: int) -> list[str]:
    numbers, n = [], 0
    while len(numbers) < count:
        if n % 10 not in (1, 2):
            numbers.append(f"+1415{n:07d}")
        n += 1
    return numbers


async def run(contacts: int, cps: float, concurrent: int, hold: float) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory() as scratch,
        Sipp.start_uas(
            "campaign_mix",
            timeout_s=3600,
            trace_messages=False,
            extra_args=["-max_socket", "4096", "-buff_size", "8388608"],
        ) as sipp,
    ):
        config = Config(
            sip=SipSettings(bind_host=LOOPBACK, bind_port=free_sip_port(), transports=["udp"]),
            rtp=RtpSettings(bind_host=LOOPBACK, dead_air_s=0),
            trunks={
                "default": TrunkSettings(
                    proxy=f"sip:{LOOPBACK}:{sipp.port}",
                    keepalive_s=0,
                    cps=cps,
                    max_channels=concurrent,
                )
            },
            limits=LimitSettings(max_concurrent_calls=concurrent, ring_timeout_s=30),
        )
        records = [
            ContactRecord(i + 2, f"C{i}", number, None, timezone="UTC")
            for i, number in enumerate(answered_numbers(contacts))
        ]
        store = StoreWorker(lambda: SqliteStore(Path(scratch) / "bench.db"))
        campaign = await store.run(lambda s: s.create_campaign("bench", now=time.time()))
        await store.run(lambda s: s.import_contacts(campaign, records, now=time.time()))
        await store.run(
            lambda s: s.set_campaign_state(campaign, CampaignEvent.START, now=time.time())
        )
        dialer = await Dialer.start(config)
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[CampaignFinished] = loop.create_future()
        actor = CampaignActor(
            dialer,
            store,
            CampaignPlan(
                campaign,
                max_concurrent=concurrent,
                rules=RetryRules(max_attempts=1),
                hours=ALL_DAY,
                max_duration_s=hold,
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
        await dialer.close()
        leads = await store.run(lambda s: s.list_leads(campaign))
        attempts = await store.run(lambda s: s.list_attempts(campaign))
        store.close()
    cpu = (usage.ru_utime - usage0.ru_utime + usage.ru_stime - usage0.ru_stime) / wall
    return {
        "contacts": contacts,
        "target_cps": cps,
        "achieved_cps": round(len(attempts) / wall, 1),
        "max_concurrent": concurrent,
        "peak_concurrent": result.peak_concurrent,
        "wall_s": round(wall, 1),
        "cpu_percent_of_one_core": round(cpu * 100, 1),
        "attempts": len(attempts),
        "attempts_unfinished": sum(1 for a in attempts if a.state != "finished"),
        "leads_by_state": dict(Counter(str(lead.state) for lead in leads)),
        "outcomes": dict(Counter(str(a.result.outcome) for a in attempts if a.result)),
        "lost_outcomes": contacts - sum(1 for a in attempts if a.result is not None),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--cps", type=float, default=100.0)
    parser.add_argument("--concurrent", type=int, default=300)
    parser.add_argument("--hold", type=float, default=3.0)
    args = parser.parse_args()
    import uvloop

    print(json.dumps(uvloop.run(run(args.contacts, args.cps, args.concurrent, args.hold))))


if __name__ == "__main__":
    main()
