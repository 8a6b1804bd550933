"""Keys pressed by real peers, end to end: tones in SIPp's and baresip's audio (in-band),
and baresip's RFC 4733 events. SIPp's own RFC 2833 pcaps are in test_calls.py
(test_keys_pressed_by_the_far_end_are_reported)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.audio_fixtures import dtmf_keys_pcm16, write_rtp_pcap, write_wav
from tests.e2e.peers import Baresip, Sipp, require_binary, ulaw_encode
from tests.e2e.test_calls import MakeDialer, call, make_dialer, speechlike

pytestmark = pytest.mark.e2e
__all__ = ["make_dialer"]  # the fixture, shared with test_calls


@pytest.mark.parametrize(("mode", "heard"), [("auto", "2580#*"), ("off", "")])
async def test_tones_from_a_phone_without_rfc4733_are_heard_in_order(
    make_dialer: MakeDialer, tmp_path: Path, mode: str, heard: str
) -> None:
    keys = ulaw_encode(dtmf_keys_pcm16("2580#*", tone_s=0.09, gap_s=0.07, dbm0=-14.0))
    write_rtp_pcap(tmp_path / "inband_keys.pcap", keys)
    with Sipp.start_uas("answer_inband_dtmf", calls=1, workdir=tmp_path) as sipp:
        dialer = await make_dialer(sipp.address, dtmf_inband=mode)
        # The prompt outlasts the keys (1.4 s): we hang up after all of them arrived.
        report = await call(dialer, sipp.uri(), prompt=speechlike(3.0, seed=31))
        assert await sipp.wait_async(10) == 0, sipp.report()
    assert report.outcome == "completed"
    assert report.rtp["packets_received"] >= 60  # the pcap's 1.4 s of audio came in
    assert report.dtmf == heard


async def test_tones_in_baresips_audio_are_heard_beside_its_rfc4733_events(
    make_dialer: MakeDialer, tmp_path: Path
) -> None:
    require_binary("baresip")
    # aufile ends the call at the end of its file: 5 s of it, our prompt hangs up at 3 s.
    audio = np.concatenate([dtmf_keys_pcm16("7#0", lead_s=0.5), np.zeros(32000, np.int16)])
    with Baresip.start(audio_in=write_wav(tmp_path / "keys.wav", audio)) as phone:
        # baresip negotiates telephone-event: "auto" would not listen, "always" does.
        dialer = await make_dialer(phone.address, dtmf_inband="always")
        report = await call(dialer, phone.uri, prompt=speechlike(3.0, seed=32))
    assert (report.outcome, report.reason) == ("completed", "prompt finished")
    assert report.dtmf == "7#0"


@pytest.mark.parametrize("mode", ["off", "always"])
async def test_baresip_agent_phone_sends_rfc4733_keys(make_dialer: MakeDialer, mode: str) -> None:
    require_binary("baresip")
    with Baresip.start() as phone:
        # "always": its 440 Hz audio is heard too, and each key is counted once.
        dialer = await make_dialer(phone.address, dtmf_inband=mode)
        placed = asyncio.create_task(call(dialer, phone.uri, prompt=speechlike(3.0, seed=33)))
        await phone.wait_for_log_async("Call established", timeout=10)
        # `sndcode` (menu, over ctrl_tcp) sends each key as an RFC 4733 event, back to back.
        await asyncio.to_thread(phone.command, "sndcode", "123#")
        report = await placed
    assert report.outcome == "completed"
    assert report.dtmf == "123#"
