"""Answering-machine detection on live calls: SIPp answers and streams a greeting or a
"Hello?" (`rtp_stream`, raw u-law, then nothing, as a phone with silence suppression), and
baresip plays a greeting while it records what it hears, so that the message we leave can
be checked against the beep on the machine's side of the line.

The speech is espeak-ng through the dialer's own renderer; the beep is a 1 kHz tone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dialer.amd_listener import AmdRequest, hand_to_agents
from dialer.calling import CallReport
from dialer.campaign.answering import AnsweringPolicy
from dialer.campaign.policy import RetryRules
from dialer.campaign.settings import CampaignSettings
from dialer.flow.interpreter import HandedOff, HandOff
from dialer.flow.runner import FlowRequest, FlowRuntime, HandOffCall
from dialer.flow.validation import load_campaign_flow
from media.amd import AmdSettings
from media.g711 import ulaw_decode_samples
from tests.e2e.audio_fixtures import (
    Pcm16,
    dominant_frequency,
    read_wav_pcm16,
    rms_dbfs,
    tone_pcm16,
    write_ulaw,
    write_wav,
)
from tests.e2e.campaign_run import contacts, results, run_campaign
from tests.e2e.peers import Baresip, Sipp, require_binary
from tests.e2e.test_calls import MakeDialer, call, make_dialer
from tests.e2e.test_flows import runtime, write_flows

pytestmark = pytest.mark.e2e
__all__ = ["make_dialer", "runtime"]  # the fixtures

RATE = 8000
GREETING = (
    "Hi, you have reached Ada Lovelace. I can't take your call right now. Please leave your "
    "name, your number and a short message after the tone, and I will call you back."
)
FLOW = "<Response><Say>Hello {{customerName}}, this is the clinic calling.</Say></Response>"
CONTACT = {"customerName": "Ada"}
SPOKEN_MESSAGE = "This is a message for Ada from the clinic. Please call us back."
MESSAGE = f"<Response><Say>{SPOKEN_MESSAGE.replace('Ada', '{{customerName}}')}</Say></Response>"


def silence(seconds: float) -> Pcm16:
    return np.zeros(int(seconds * RATE), np.int16)


def beep() -> Pcm16:
    return tone_pcm16(1000.0, 0.5, dbfs=-10.0)


class Far:
    """What the far end says, made once per test."""

    def __init__(self, flows: FlowRuntime) -> None:
        self.greeting = ulaw_decode_samples(flows.speech.render(GREETING))
        self.hello = ulaw_decode_samples(flows.speech.render("Hello?"))

    def machine(self, *, with_beep: bool, after: float) -> tuple[Pcm16, float | None]:
        """The greeting, its beep and `after` s of quiet; where the beep ends (s), if any."""
        parts = [silence(0.3), self.greeting, silence(0.4)]
        if with_beep:
            parts.append(beep())
        pcm = np.concatenate([*parts, silence(after)])
        return pcm, (sum(len(p) for p in parts) / RATE if with_beep else None)


def amd_request(
    flows: FlowRuntime, folder: Path, *, on_machine: str, wait: bool
) -> tuple[FlowRequest, AmdRequest]:
    main = write_flows(folder, main=FLOW, message=MESSAGE)
    flow = FlowRequest(
        flows, load_campaign_flow(str(main), flows.speech.check_voice).start(), CONTACT
    )
    message = load_campaign_flow(str(folder / "message.xml"), flows.speech.check_voice).start()
    amd = AmdRequest(
        AmdSettings(),
        wait=wait,
        on_machine=on_machine,
        message=FlowRequest(flows, message, CONTACT) if on_machine == "message" else None,
    )
    return flow, amd


async def streamed(
    make_dialer: MakeDialer, folder: Path, audio: Pcm16, flow: FlowRequest, amd: AmdRequest
) -> CallReport:
    write_ulaw(folder / "greeting.ulaw", audio)  # rtp_stream reads it from SIPp's workdir
    with Sipp.start_uas("answer_stream_greeting", calls=1, workdir=folder) as sipp:
        dialer = await make_dialer(sipp.address, dead_air_s=30.0)
        report = await call(dialer, sipp.uri(), flow=flow, amd=amd, max_duration_s=40)
        assert await sipp.wait_async(10) == 0, sipp.report()
    return report


async def test_a_person_who_says_hello_and_waits_is_a_person_and_hears_the_flow(
    make_dialer: MakeDialer, tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    flows = runtime()
    far = Far(flows)
    flow, amd = amd_request(flows, tmp_path, on_machine="hangup", wait=True)
    # SIPp says "Hello?" and then sends nothing at all while it waits.
    report = await streamed(
        make_dialer, tmp_path, np.concatenate([silence(0.3), far.hello]), flow, amd
    )
    assert report.answered_by == "human", report
    assert report.amd_ms is not None and report.amd_ms <= 3000
    assert report.outcome == "completed" and report.reason == "flow finished", report
    # The flow waited for the verdict, and started as soon as it came.
    assert report.first_prompt_ms is not None
    assert report.amd_ms - 200 <= report.first_prompt_ms <= report.amd_ms + 1500


async def test_a_greeting_is_a_machine_and_the_call_hangs_up_on_it(
    make_dialer: MakeDialer, tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    flows = runtime()
    audio, _ = Far(flows).machine(with_beep=True, after=0.5)
    flow, amd = amd_request(flows, tmp_path, on_machine="hangup", wait=False)
    report = await streamed(make_dialer, tmp_path, audio, flow, amd)
    assert (report.answered_by, report.reason) == ("machine", "answering machine"), report
    assert report.amd_ms is not None and report.amd_ms < len(audio) * 1000 // RATE
    assert report.duration_s < 9.0  # hung up on the verdict, not at the greeting's end
    # Async AMD: the flow spoke from the answer, so the line was never silent meanwhile.
    assert report.first_prompt_ms is not None and report.first_prompt_ms < 1000


async def test_the_beep_is_heard_where_the_greeting_put_it_and_the_message_follows(
    make_dialer: MakeDialer, tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    flows = runtime()
    audio, beep_end_s = Far(flows).machine(with_beep=True, after=0.0)
    assert beep_end_s is not None
    flow, amd = amd_request(flows, tmp_path, on_machine="message", wait=False)
    report = await streamed(make_dialer, tmp_path, audio, flow, amd)
    assert report.answered_by == "machine", report
    assert report.variables == {} and report.reason == "flow finished", report
    assert report.beep_ms is not None
    assert abs(report.beep_ms - (beep_end_s - 0.5) * 1000) <= 250  # the onset, ±250 ms


@pytest.mark.parametrize("with_beep", [True, False], ids=["beep", "no-beep"])
async def test_nothing_of_the_message_overlaps_the_greeting_on_the_machines_side(
    make_dialer: MakeDialer, tmp_path: Path, runtime: Callable[..., FlowRuntime], with_beep: bool
) -> None:
    require_binary("baresip")
    flows = runtime()
    audio, _ = Far(flows).machine(with_beep=with_beep, after=8.0)
    flow, amd = amd_request(flows, tmp_path, on_machine="message", wait=True)
    with Baresip.start(audio_in=write_wav(tmp_path / "greeting.wav", audio)) as machine:
        dialer = await make_dialer(machine.address, dead_air_s=30.0)
        report = await call(dialer, machine.uri, flow=flow, amd=amd, max_duration_s=40)
        await machine.wait_for_log_async("terminated")  # the dumps' headers are final now
        (sent,) = machine.recordings("enc")  # the greeting, as the machine played it
        (heard,) = machine.recordings("dec")  # everything we sent it
        played, _ = read_wav_pcm16(sent)
        recorded, _ = read_wav_pcm16(heard)
    assert report.answered_by == "machine" and report.reason == "flow finished", report
    greeting_over = greeting_end_s(played, with_beep)
    message_from = first_sound_s(recorded)
    assert message_from is not None, "we left no message"
    assert greeting_over < message_from <= greeting_over + (1.0 if with_beep else 2.5)
    # And the message is ours: as long as its speech, at least.
    spoken = ulaw_decode_samples(flows.speech.render(SPOKEN_MESSAGE))
    assert sounding_s(recorded) >= 0.8 * len(spoken) / RATE


def frames_of(pcm: Pcm16) -> list[Pcm16]:
    return [pcm[i : i + 160] for i in range(0, len(pcm) - 159, 160)]


def greeting_end_s(played: Pcm16, with_beep: bool) -> float:
    """Where the machine stopped sounding: its beep's last frame, or its speech's."""
    loud = [
        number
        for number, frame in enumerate(frames_of(played))
        if rms_dbfs(frame) > -45
        and (not with_beep or abs(dominant_frequency(frame, RATE) - 1000.0) < 60)
    ]
    assert loud, "the machine's recording holds no greeting"
    return (loud[-1] + 1) * 0.02


def first_sound_s(recorded: Pcm16) -> float | None:
    for number, frame in enumerate(frames_of(recorded)):
        if rms_dbfs(frame) > -45:
            return number * 0.02
    return None


def sounding_s(recorded: Pcm16) -> float:
    frames = frames_of(recorded)
    start = next((n for n, f in enumerate(frames) if rms_dbfs(f) > -45), len(frames))
    end = max((n for n, f in enumerate(frames) if rms_dbfs(f) > -45), default=start)
    return (end - start + 1) * 0.02


async def test_a_campaign_retries_machines_later_and_the_uk_rule_waits_a_day(
    tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    audio, _ = Far(runtime()).machine(with_beep=True, after=0.5)
    write_ulaw(tmp_path / "greeting.ulaw", audio)
    answering = AnsweringPolicy(enabled=True, on_machine="retry_later", uk_rule=True)
    rules = CampaignSettings(retry=RetryRules(max_attempts=3), answering=answering).rules()
    started = datetime.now(UTC).timestamp()
    with Sipp.start_uas("answer_stream_greeting", workdir=tmp_path, timeout_s=60) as sipp:
        store, campaign_id, _ = await run_campaign(
            tmp_path, sipp, contacts(2), 2, rules, answering=answering,
            stop_after_outcomes=2, max_duration_s=30,
        )  # fmt: skip
    done = await results(store, campaign_id)
    assert [a.result.answered_by for a in done.attempts if a.result] == ["machine"] * 2
    assert {row["answered_by"] for row in done.attempt_rows} == {"machine"}
    for lead in done.leads:  # not reached: retried, but not within the day
        assert lead.state == "rescheduled" and lead.next_attempt_at is not None, lead
        assert lead.next_attempt_at >= started + 24 * 3600


class AgentsDesk:
    """The flow runtime's hand-off, standing in for the agents (issue 6): takes the call."""

    def __init__(self) -> None:
        self.asked: list[HandOff] = []
        self.waited_s: list[float] = []  # how long the person had waited, at the hand-off

    async def hand_off(self, command: HandOff, call: HandOffCall) -> HandedOff:
        self.asked.append(command)
        assert call.waiting_since is not None
        self.waited_s.append(asyncio.get_running_loop().time() - call.waiting_since)
        return HandedOff("completed", 0.0)


async def test_a_person_is_handed_to_the_agents_when_the_campaign_says_so(
    make_dialer: MakeDialer, tmp_path: Path, runtime: Callable[..., FlowRuntime]
) -> None:
    flows = runtime()
    flows.hand_off = desk = AgentsDesk()
    flow, amd = amd_request(flows, tmp_path, on_machine="hangup", wait=False)
    agent = FlowRequest(flows, hand_to_agents("campaign-7"), CONTACT)
    amd = replace(amd, on_human="agent", agent=agent)
    hello = np.concatenate([silence(0.3), Far(flows).hello])
    report = await streamed(make_dialer, tmp_path, hello, flow, amd)
    assert report.answered_by == "human", report
    assert desk.asked == [HandOff("queue", "campaign-7", 0.0)]
    assert report.variables == {"DialCallStatus": "completed"}, report
    # The safe harbor counts from the end of "Hello?": AMD's pause is already spent.
    pause_s = AmdSettings().human_pause_ms / 1000
    assert pause_s - 0.1 <= desk.waited_s[0] <= pause_s + 0.4, desk.waited_s
