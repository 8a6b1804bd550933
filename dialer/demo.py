"""`dialer demo`: a real call and a small campaign on loopback, with nothing to configure.

1. A call: SIPp as the callee (`-sn uas -rtp_echo`: answers and echoes RTP), a
   prompt rendered with espeak-ng, the embedded default configuration with its
   trunk pointed at SIPp; the echo recorded must be the prompt played.
2. A campaign of twelve contacts against SIPp answering by the number's last
   digit (`demo_callee.xml`: answer, busy, no answer), two attempts each, through
   the attempt ledger, exported to CSV.

Everything binds 127.0.0.1; SIPp is stopped on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from dialer.calling import CallRequest, place_call
from dialer.campaign.export import export_leads_csv
from dialer.campaign.model import CampaignEvent, LeadState
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.config import Config, TrunkSettings
from dialer.contacts.record import ContactRecord
from dialer.runtime import Dialer
from dialer.service import CampaignHost
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from media.audiofile import load_ulaw
from media.correlation import best_alignment
from media.g711 import ulaw_decode_samples

PROMPT = "Hello. This is the dialer demo calling. Your appointment is confirmed. Goodbye."
DEMO_CONTACTS = ("Ada", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kim", "Lu")
LOOPBACK = "127.0.0.1"


async def run_demo(keep: Path | None) -> int:
    for program in ("sipp", "espeak-ng"):
        if shutil.which(program) is None:
            print(f"dialer demo: {program} is not installed (run ./run demo to set up)")
            return 1
    with tempfile.TemporaryDirectory(prefix="dialer-demo-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        prompt_wav = folder / "prompt.wav"
        subprocess.run(
            ["espeak-ng", "-w", str(prompt_wav), PROMPT], check=True, capture_output=True
        )
        call = await _demo_call(folder, load_ulaw(prompt_wav))
        campaign = await _demo_campaign(folder, prompt_wav)
        if not keep:
            campaign.pop("results_csv")  # in a folder about to be removed
        print(json.dumps({"call": call, "campaign": campaign}, indent=2, sort_keys=True))
        if keep:
            print(f"prompt, recording, database and results kept in {folder}", file=sys.stderr)
        ok = call["outcome"] == "completed" and call["echo_matches_prompt"]
        return 0 if ok and campaign["state"] == "completed" else 1


async def _demo_call(folder: Path, prompt: bytes) -> dict[str, object]:
    """One call to SIPp's built-in echo callee; the echo must be our prompt."""
    async with _sipp(folder, ["-sn", "uas", "-rtp_echo", "-m", "1"]) as sipp_port:
        recording = folder / "echo.wav"
        dialer = await Dialer.start(demo_config(sipp_port))
        try:
            report = await place_call(
                dialer,
                CallRequest(
                    target=f"sip:demo@{LOOPBACK}:{sipp_port}", prompt=prompt, record_to=recording
                ),
            )
        finally:
            await dialer.close()
    result = report.to_dict()
    result["echo_matches_prompt"] = echo_matches(prompt, recording)
    return result


async def _demo_campaign(folder: Path, prompt_wav: Path) -> dict[str, object]:
    """A small campaign against SIPp answering by the number's last digit (see demo_callee.xml):
    answers, busy and no answer, retried once, recorded in a ledger, exported to CSV."""
    callee = Path(__file__).with_name("demo_callee.xml")
    async with _sipp(folder, ["-sf", str(callee)]) as sipp_port:
        config = demo_config(sipp_port)
        store = StoreWorker(lambda: SqliteStore(folder / "demo.db"))
        try:
            settings = CampaignSettings(
                max_concurrent=4,
                retry=RetryRules(max_attempts=2, retry_delay_s=0.0),
                prompt_file=str(prompt_wav),
                max_duration_s=2.0,
                recipient_hours=None,  # a lab callee: any hour will do
            )
            now = time.time()
            records = [
                ContactRecord(i + 2, name, f"+1415555{i:04d}", None, timezone="UTC")
                for i, name in enumerate(DEMO_CONTACTS)
            ]
            campaign = await store.run(
                lambda s: s.create_campaign("demo", now=now, settings=settings.to_dict())
            )
            await store.run(lambda s: s.import_contacts(campaign, records, now=now))
            await store.run(lambda s: s.set_campaign_state(campaign, CampaignEvent.START, now=now))
            dialer = await Dialer.start(config)
            try:
                host = CampaignHost(config, dialer, store)
                try:
                    await host.run(campaign, settings)
                    finished = await asyncio.wait_for(host.wait_finished(campaign), 120)
                finally:
                    await host.close()
            finally:
                await dialer.close()
            counts = await store.run(lambda s: s.campaign_counts(campaign))
            attempts = await store.run(lambda s: s.list_attempts(campaign))
            results = folder / "results.csv"
            with results.open("w", newline="", encoding="utf-8") as out:
                await store.run(lambda s: export_leads_csv(s, campaign, out))
        finally:
            store.close()
    leads = {state: counts[state] for state in LeadState if counts[state]}
    return {
        "state": finished.state,
        "peak_concurrent": finished.peak_concurrent,
        "leads": leads,
        "attempts": len(attempts),
        "results_csv": str(results),
    }


@contextlib.asynccontextmanager
async def _sipp(folder: Path, scenario_args: list[str]) -> AsyncIterator[int]:
    """SIPp as the callee on a free loopback port; stopped on every path."""
    port = free_port(socket.SOCK_DGRAM)
    media = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen(
        [
            "sipp",
            *scenario_args,
            "-i",
            LOOPBACK,
            "-p",
            str(port),
            "-mp",
            str(media),
            "-timeout",
            "180s",
            "-nostdin",
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_until_bound(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def demo_config(sipp_port: int) -> Config:
    """The embedded defaults, on free loopback ports, with the trunk pointed at SIPp."""
    base = Config()
    return replace(
        base,
        sip=replace(base.sip, bind_host=LOOPBACK, bind_port=free_port(socket.SOCK_DGRAM)),
        rtp=replace(base.rtp, bind_host=LOOPBACK),
        trunks={"default": TrunkSettings(proxy=f"sip:{LOOPBACK}:{sipp_port}", keepalive_s=0)},
    )


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


async def wait_until_bound(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until `process` holds the UDP port: bounded, no fixed sleep."""
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"sipp exited early with status {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return
        await asyncio.sleep(0.025)
    raise RuntimeError("sipp did not start listening within 5 s")


def echo_matches(prompt: bytes, recording: Path) -> bool:
    """Does the recording contain the prompt (normalised correlation above 0.5)?"""
    if not recording.exists():
        return False
    heard = ulaw_decode_samples(load_ulaw(recording))
    score = best_alignment(ulaw_decode_samples(prompt), heard).score
    return score > 0.5
