"""Benchmark: the in-band DTMF detector's cost per 20 ms frame, and per received packet.

1. `InbandDtmfDetector.feed` (samples) and `feed_ulaw` (payloads: quiet frames are not
   decoded) on 160-sample frames of: silence, espeak-ng speech (the screen rejects it),
   white noise, and DTMF keys (every window fully analysed), in µs per frame, and what
   that is at N concurrent calls (50 frames a second each).
2. `RtpSession`'s receive path (`_on_datagram`, the code a datagram runs) with
   rtp.dtmf_inband "off" and "auto" (a far end without telephone-event), same packets.

    .venv/bin/python bench/bench_dtmf.py --calls 500

Numbers, never pass/fail. Loopback only (the sessions bind a port, nothing is sent).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media.audiofile import load_ulaw
from media.clock import MediaClock
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.inband_dtmf import InbandDtmfDetector
from media.ports import RtpPortPool
from media.session import RtpSession
from tests.e2e.audio_fixtures import dtmf_keys_pcm16

HOST = "127.0.0.1"
FRAME = 160
TEXT = (
    "Hello, this is a reminder from your pharmacy. Your prescription is ready for pickup. "
    "Press one to confirm, or two to speak with a pharmacist. Thank you, and goodbye."
)


def signals(seconds: float) -> dict[str, NDArray[np.int16]]:
    """Each signal `seconds` long, as it arrives: decoded from μ-law."""
    n = int(seconds * 8000)
    rng = np.random.default_rng(1)
    keys = dtmf_keys_pcm16("1234567890*#ABCD" * 40, tone_s=0.1, gap_s=0.0, lead_s=0.0)
    out = {
        "silence": np.zeros(n, np.int16),
        "white noise -20 dBFS": (rng.standard_normal(n) * 3277).astype(np.int16),
        "DTMF, back to back": keys,
    }
    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "speech.wav"
            subprocess.run(["espeak-ng", "-w", str(path), TEXT], check=True, capture_output=True)
            speech = ulaw_decode_samples(load_ulaw(path))
        out["speech (espeak-ng)"] = np.resize(speech, n)
    return {name: ulaw_decode_samples(ulaw_encode(pcm[:n])) for name, pcm in out.items()}


def per_frame_us(run: Callable[[], int], repeats: int) -> float:
    """Best of `repeats` runs of `run` (which returns its frame count), in µs per frame."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        frames = run()
        best = min(best, (time.perf_counter() - start) / frames)
    return best * 1e6


def bench_detector(pcm: NDArray[np.int16], repeats: int) -> tuple[float, float]:
    """µs per frame through `feed` (samples) and `feed_ulaw` (payloads, what RtpSession uses)."""
    frames = [pcm[i : i + FRAME] for i in range(0, pcm.size - FRAME + 1, FRAME)]
    payloads = [ulaw_encode(frame) for frame in frames]

    def samples() -> int:
        detector = InbandDtmfDetector()
        for index, frame in enumerate(frames):
            detector.feed(frame, index * FRAME)
        return len(frames)

    def ulaw() -> int:
        detector = InbandDtmfDetector()
        for index, payload in enumerate(payloads):
            detector.feed_ulaw(payload, index * FRAME)
        return len(payloads)

    return per_frame_us(samples, repeats), per_frame_us(ulaw, repeats)


def receive_all(session: RtpSession, packets: list[bytes]) -> int:
    receive, source = session._on_datagram, (HOST, 9)
    for data in packets:
        receive(data, source)
    return len(packets)


async def bench_receive_path(pcm: NDArray[np.int16], repeats: int) -> dict[str, float]:
    """µs per datagram through RtpSession._on_datagram, in-band off and auto."""
    ulaw = ulaw_encode(pcm)
    header = struct.Struct("!BBHII")
    packets = [
        header.pack(0x80, 0, seq & 0xFFFF, seq * FRAME, 0x1234) + ulaw[i : i + FRAME]
        for seq, i in enumerate(range(0, len(ulaw) - FRAME + 1, FRAME))
    ]
    clock = MediaClock()  # never started: nothing is sent
    pool = RtpPortPool(HOST, 41000, 41100)
    source = (HOST, 9)
    results = {}
    for mode in ("off", "auto"):
        session = await RtpSession.open(pool, clock, HOST, dead_air_timeout=0, dtmf_inband=mode)
        try:
            session.set_remote(*source, 0, None, "PCMU")  # no telephone-event: auto listens
            assert session.listening_inband == (mode == "auto")
            results[mode] = per_frame_us(lambda s=session: receive_all(s, packets), repeats)
        finally:
            session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500, help="concurrent calls to project to")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per signal")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    frames_per_second = args.calls * 50
    share = 100 * frames_per_second / 1e6  # % of one core per µs per frame
    print(f"detector, µs per 20 ms frame (best of {args.repeats}), and % of one core at")
    print(f"{args.calls} calls:        feed(samples)      feed_ulaw(payload)")
    for name, pcm in signals(args.seconds).items():
        samples, ulaw = bench_detector(pcm, args.repeats)
        print(
            f"  {name:22s} {samples:5.1f} µs {samples * share:5.1f}%"
            f"    {ulaw:5.1f} µs {ulaw * share:5.1f}%"
        )
    speechlike = signals(args.seconds).get("speech (espeak-ng)")
    pcm = speechlike if speechlike is not None else signals(args.seconds)["white noise -20 dBFS"]
    path = asyncio.run(bench_receive_path(pcm, args.repeats))
    print("RtpSession receive path, per datagram (the same speech):")
    for mode, us in path.items():
        print(f"  dtmf_inband={mode:5s}       {us:5.1f} µs {us * share:5.1f}%")


if __name__ == "__main__":
    main()
