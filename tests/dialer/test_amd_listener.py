"""The live call's AMD listener, fed packets as an RtpSession delivers them and a fake clock:
audio time counts the silences that no packet carries (timestamp gaps, a far end that sends
nothing), and never counts anything twice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from dialer.amd_listener import AmdDecided, AmdListener, AmdRequest, GreetingEnded
from media.amd import AmdLabel, AmdSettings
from media.g711 import ulaw_encode
from media.session import ReceivedAudio
from tests.media.test_amd import Pcm, say, silence, tone

__all__ = ["say"]  # the fixture
PACKET = 160


def packets(pcm: Pcm, *, timestamp: int = 1000, arrival: float = 0.0) -> Iterator[ReceivedAudio]:
    """`pcm` as 20 ms PCMU packets, sent and arriving in real time from `arrival`."""
    for number, start in enumerate(range(0, len(pcm) - PACKET + 1, PACKET)):
        payload = ulaw_encode(pcm[start : start + PACKET])
        yield ReceivedAudio(
            payload, "PCMU", (timestamp + start) % 2**32, number, arrival + number * 0.02
        )


class Listening:
    def __init__(self, request: AmdRequest | None = None) -> None:
        self.events: list[object] = []
        self.amd = AmdListener(request or AmdRequest(AmdSettings()), self.events.append)
        self.amd.started(0.0)

    def play(self, pcm: Pcm, *, timestamp: int = 1000, arrival: float = 0.0) -> float:
        """Deliver it, ticking the clock as packets come; when the last one arrived."""
        last = arrival
        for packet in packets(pcm, timestamp=timestamp, arrival=arrival):
            self.amd.on_audio(packet)
            self.amd.on_tick(packet.arrival)
            last = packet.arrival
        return last

    def wait(self, start: float, seconds: float) -> None:
        """Nothing arrives for `seconds`: the timer ticks every 100 ms."""
        for step in range(1, int(seconds * 10) + 1):
            self.amd.on_tick(start + step * 0.1)

    @property
    def decisions(self) -> list[AmdDecided]:
        return [e for e in self.events if isinstance(e, AmdDecided)]


def hello(say: object) -> Pcm:
    return np.concatenate([silence(0.4), say("Hello?")])  # type: ignore[operator]


def test_a_person_whose_phone_sends_nothing_after_hello_is_still_a_person(say: object) -> None:
    call = Listening()
    last = call.play(hello(say))
    assert call.decisions == []  # a short word: not yet
    call.wait(last, 0.5)
    assert call.decisions == []
    # The silence counted is the wall clock's, less the jitter allowance.
    assert abs(call.amd.analysis.heard_ms - (last + 0.5 - 0.06) * 1000) <= 40
    call.wait(last + 0.5, 1.5)
    (decided,) = call.decisions
    assert decided.decision.label == AmdLabel.HUMAN and "waited" in decided.decision.reason
    assert decided.decision.at_ms <= (last + 2.0) * 1000
    assert call.amd.done


def test_a_timestamp_gap_is_silence_and_is_not_counted_twice(say: object) -> None:
    words = hello(say)
    call = Listening()
    last = call.play(words)
    gap_s = 0.5  # silence suppression: the phone sent nothing for half a second
    call.wait(last, gap_s)  # the timer fed most of it already
    resumed = 1000 + len(words) // PACKET * PACKET + int(gap_s * 8000)
    call.play(silence(0.2), timestamp=resumed, arrival=last + gap_s + 0.02)
    # Heard: the words, the gap once, the 200 ms after it.
    heard = call.amd.analysis.heard_ms
    expected = len(words) // PACKET * 20 + int(gap_s * 1000) + 200
    assert expected - 20 <= heard <= expected
    assert call.decisions == []  # 0.7 s of quiet is not yet the pause of a person


def test_a_late_or_repeated_packet_is_dropped(say: object) -> None:
    call = Listening()
    delivered = list(packets(hello(say)))
    for packet in delivered:
        call.amd.on_audio(packet)
    heard = call.amd.analysis.heard_ms
    call.amd.on_audio(delivered[3])  # a duplicate, long after its moment
    assert call.amd.analysis.heard_ms == heard


def test_nothing_is_counted_before_the_answer(say: object) -> None:
    amd = AmdListener(AmdRequest(AmdSettings()), lambda _e: None)
    amd.on_tick(30.0)
    assert amd.analysis.heard_ms == 0


@pytest.mark.parametrize(("on_machine", "listens_on"), [("message", True), ("hangup", False)])
def test_after_a_machine_verdict_it_listens_for_the_beep_only_to_leave_a_message(
    say: object, on_machine: str, listens_on: bool
) -> None:
    greeting = say(  # type: ignore[operator]
        "Hi, you have reached Jane Smith. I cannot come to the phone right now, but if you "
        "leave your name and number after the tone I will call you back as soon as I can."
    )
    call = Listening(AmdRequest(AmdSettings(), on_machine=on_machine))
    pcm = np.concatenate([silence(0.3), greeting, silence(0.3), tone(1000, 0.4), silence(1.5)])
    call.play(pcm)
    (decided,) = call.decisions
    assert decided.decision.label == AmdLabel.MACHINE
    beeps = [e for e in call.events if isinstance(e, GreetingEnded)]
    if listens_on:
        (ended,) = beeps
        beep_ms = (300 + len(greeting) * 1000 // 8000 + 300) // 20 * 20
        assert ended.kind == "beep" and ended.beep_ms is not None
        assert abs(ended.beep_ms - beep_ms) <= 40
    else:
        assert beeps == [] and call.amd.done
