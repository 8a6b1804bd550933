"""The answering-machine classifier and the answer's analysis, on generated signals and on
real speech from espeak-ng, everything through a G.711 round trip as a trunk delivers it."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from media.amd import (
    AmdDecision,
    AmdLabel,
    AmdSettings,
    AnsweringMachineDetector,
    frames,
)
from media.answering import AnswerAnalysis, GreetingEnded
from media.audiofile import load_ulaw
from media.g711 import ulaw_decode_samples, ulaw_encode

RATE = 8000
Pcm = NDArray[np.int16]


def line(pcm: Pcm) -> Pcm:
    return ulaw_decode_samples(ulaw_encode(pcm))


def silence(seconds: float, hiss_dbfs: float | None = -65.0, seed: int = 0) -> Pcm:
    count = int(seconds * RATE)
    if hiss_dbfs is None:
        return np.zeros(count, np.int16)
    noise = np.random.default_rng(seed).normal(0, 32768 * 10 ** (hiss_dbfs / 20), count)
    return noise.astype(np.int16)


def tone(hz: float, seconds: float, dbfs: float = -12.0) -> Pcm:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 32768 * 10 ** (dbfs / 20) * np.sqrt(2)).astype(np.int16)


@cache
def spoken(text: str, tmp: str) -> Pcm:
    path = Path(tmp) / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return ulaw_decode_samples(load_ulaw(path))


@pytest.fixture
def say(tmp_path_factory: pytest.TempPathFactory) -> object:
    folder = str(tmp_path_factory.mktemp("speech"))
    return lambda text: spoken(text, folder)


def verdict(pcm: Pcm, settings: AmdSettings | None = None) -> AmdDecision | None:
    detector = AnsweringMachineDetector(settings)
    for frame in frames(line(pcm)):
        if detector.feed(frame) is not None:
            break
    return detector.decision


def test_a_short_answer_then_waiting_is_a_person(say: object) -> None:
    pcm = np.concatenate([silence(0.4), say("Hello?"), silence(3.0)])  # type: ignore[operator]
    decision = verdict(pcm)
    assert decision is not None and decision.label == AmdLabel.HUMAN
    speech_end_ms = 400 + len(say("Hello?")) * 1000 // RATE  # type: ignore[operator]
    # Decided once the pause is long enough, not before, and not long after.
    pause = AmdSettings().human_pause_ms
    assert speech_end_ms + pause - 100 <= decision.at_ms <= speech_end_ms + pause + 300


def test_a_greeting_reading_on_is_a_machine(say: object) -> None:
    greeting = say(  # type: ignore[operator]
        "Hi, you have reached Jane Smith. I cannot come to the phone right now, but if you "
        "leave your name and number after the tone I will call you back as soon as I can."
    )
    decision = verdict(np.concatenate([silence(0.3), greeting, silence(2.0)]))
    assert decision is not None and decision.label == AmdLabel.MACHINE
    assert "without pausing" in decision.reason
    assert decision.at_ms <= 300 + AmdSettings().machine_run_ms + 400


def test_hello_hello_is_still_a_person(say: object) -> None:
    hello = say("Hello?")  # type: ignore[operator]
    pcm = np.concatenate([silence(0.3), hello, silence(1.0), hello, silence(3.0)])
    decision = verdict(pcm)
    assert decision is not None and decision.label == AmdLabel.HUMAN


def test_a_line_that_says_nothing_is_unknown_at_max() -> None:
    settings = AmdSettings(max_ms=3000)
    decision = verdict(silence(5.0), settings)
    assert decision == AmdDecision("unknown", 3000, "no decision in 3000 ms")
    clipped_digital_silence = verdict(silence(5.0, hiss_dbfs=None), settings)
    assert clipped_digital_silence is not None and clipped_digital_silence.label == "unknown"


def test_steady_noise_behind_a_short_answer_is_background(say: object) -> None:
    # A crowd of talkers 12 dB under the person who answers, all the way through.
    voices = [say(text) for text in ("One two three four.", "Five six seven eight.")]  # type: ignore[operator]
    crowd = np.concatenate([*voices, *voices, *voices]).astype(np.float64)[: 6 * RATE]
    crowd = np.pad(crowd, (0, max(0, 6 * RATE - len(crowd)))) * 10 ** (-12 / 20)
    answer = np.concatenate([silence(0.5), say("Yes?"), silence(6.0)])[: 6 * RATE]  # type: ignore[operator]
    mixed = np.clip(answer.astype(np.float64) + crowd, -32768, 32767).astype(np.int16)
    decision = verdict(mixed)
    assert decision is not None and decision.label == AmdLabel.HUMAN


def test_frames_must_be_20_ms() -> None:
    with pytest.raises(ValueError):
        AnsweringMachineDetector().feed(np.zeros(80, np.int16))
    assert len(frames(np.zeros(330, np.int16))) == 2  # the partial last one is left


def test_settings_refuse_what_cannot_work() -> None:
    for wrong in ({"vad_aggressiveness": 4}, {"human_pause_ms": 100}, {"max_ms": 0}):
        with pytest.raises(ValueError):
            AmdSettings(**wrong)  # type: ignore[arg-type]


def analyse(pcm: Pcm) -> tuple[AmdDecision | None, GreetingEnded | None, list[object]]:
    analysis = AnswerAnalysis()
    events: list[object] = []
    for frame in frames(line(pcm)):
        for event in analysis.feed(frame):
            events.append(event)
            if isinstance(event, AmdDecision) and event.label == AmdLabel.MACHINE:
                analysis.listen_for_greeting_end()
    return analysis.decision, analysis.greeting_ended, events


def test_leave_a_message_and_a_beep_is_a_machine_and_the_beep_ends_it(say: object) -> None:
    greeting = say("Leave a message.")  # type: ignore[operator]
    beep_at = 0.3 + len(greeting) / RATE + 0.6
    pcm = np.concatenate([silence(0.3), greeting, silence(0.6), tone(1000, 0.5), silence(3.0)])
    decision, ended, events = analyse(pcm)
    assert decision is not None and decision.label == AmdLabel.MACHINE
    assert decision.reason.startswith("beep at")
    assert ended is not None and ended.kind == "beep"
    assert ended.beep_ms is not None and abs(ended.beep_ms - beep_at * 1000) <= 60
    assert ended.at_ms >= (beep_at + 0.5) * 1000 - 40  # the message starts after the beep
    assert [type(e) for e in events] == [AmdDecision, GreetingEnded]  # each once, in order


def test_a_greeting_without_a_beep_ends_with_its_silence(say: object) -> None:
    greeting = say(  # type: ignore[operator]
        "You have reached the voicemail of Peter Wilson. We are not home right now, so please "
        "leave us a message and we will get back to you as soon as we possibly can."
    )
    pcm = np.concatenate([silence(0.3), greeting, silence(4.0)])
    decision, ended, _ = analyse(pcm)
    assert decision is not None and decision.label == AmdLabel.MACHINE
    assert ended is not None and ended.kind == "greeting_end" and ended.beep_ms is None
    greeting_end_ms = (0.3 + len(greeting) / RATE) * 1000
    assert greeting_end_ms < ended.at_ms <= greeting_end_ms + 2500


def test_after_a_machine_verdict_a_silent_line_times_out_into_the_message() -> None:
    analysis = AnswerAnalysis(max_beep_wait_ms=1000)
    assert analysis.feed(np.zeros(160, np.int16)) == []
    analysis.detector.beep_heard(0)  # say it is a machine, as a beep would
    analysis.listen_for_greeting_end()
    ended: list[object] = []
    for frame in frames(silence(1.2)):
        ended += analysis.feed(frame)
    assert ended and isinstance(ended[0], GreetingEnded) and ended[0].kind == "timeout"
