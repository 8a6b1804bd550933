"""`dialer demo`: a real call on loopback, with nothing to configure.

It starts SIPp as the callee (`-sn uas -rtp_echo`: answers and echoes RTP),
renders a prompt with espeak-ng, points the embedded default configuration's
trunk at SIPp, places the call, and checks that the echo it recorded is the
prompt it played. Everything binds 127.0.0.1; SIPp is stopped on every path.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from dialer.calling import CallRequest, place_call
from dialer.config import Config, TrunkSettings
from dialer.runtime import Dialer
from media.audiofile import load_ulaw
from media.correlation import best_alignment
from media.g711 import ulaw_decode_samples

PROMPT = "Hello. This is the dialer demo calling. Your appointment is confirmed. Goodbye."
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
        prompt = load_ulaw(prompt_wav)
        sipp_port = free_port(socket.SOCK_DGRAM)
        sipp = subprocess.Popen(
            [
                "sipp",
                "-sn",
                "uas",
                "-rtp_echo",
                "-i",
                LOOPBACK,
                "-p",
                str(sipp_port),
                "-mp",
                str(free_port(socket.SOCK_DGRAM)),
                "-m",
                "1",
                "-timeout",
                "60s",
                "-nostdin",
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_until_bound(sipp_port, sipp)
            config = demo_config(sipp_port)
            recording = folder / "echo.wav"
            dialer = await Dialer.start(config)
            try:
                report = await place_call(
                    dialer,
                    CallRequest(
                        target=f"sip:demo@{LOOPBACK}:{sipp_port}",
                        prompt=prompt,
                        record_to=recording,
                    ),
                )
            finally:
                await dialer.close()
        finally:
            sipp.terminate()
            try:
                sipp.wait(timeout=5)
            except subprocess.TimeoutExpired:
                sipp.kill()
        result = report.to_dict()
        result["echo_matches_prompt"] = echo_matches(prompt, recording)
        print(json.dumps(result, indent=2, sort_keys=True))
        if keep:
            print(f"prompt and recording kept in {folder}")
        return 0 if report.outcome == "completed" and result["echo_matches_prompt"] else 1


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
