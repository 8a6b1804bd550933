"""Answering-machine detection on a live call: the far end's audio into `AnswerAnalysis`.

`AmdListener` listens to the call's `RtpSession` from the answer, cuts what
arrives into 20 ms frames and feeds the `media.answering.AnswerAnalysis` that
`dialer amd` runs on files. It reports on the call's event queue, once each:

- `AmdDecided(decision)`: human, machine or unknown;
- `GreetingEnded`: the beep, or the end of the greeting without one, or
  nothing within `max_beep_wait_ms` of audio after a machine verdict (`kind`
  "timeout"), when the call leaves a message: the message starts then.

Times are audio time, so a slow loop cannot make a greeting seem longer than it
was, and the far end's silences count even when nothing carries them: a gap in
the RTP timestamps (lost packets, or silence suppression) is fed as silence, and
while no packets come at all (a phone that sends nothing while its user
listens, or none yet after the answer) a timer feeds the silence the wall clock
says has passed, so "Hello?" followed by nothing is still a person. It stops
listening as soon as nothing more matters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

from dialer.flow.document import parse_flow
from dialer.flow.interpreter import FlowStart
from dialer.flow.location import FlowLocation
from dialer.flow.runner import FlowRequest
from media.amd import FRAME_SAMPLES, AmdDecision, AmdLabel, AmdSettings
from media.answering import AnswerAnalysis, AnswerEvent, GreetingEnded
from media.session import ReceivedAudio, RtpSession

log = logging.getLogger("dialer.amd")

SAMPLE_RATE = 8000
TICK_S = 0.1  # how often the silence of a far end that sends nothing is accounted for
JITTER_ALLOWANCE_S = 0.06  # a packet this late is jitter, not silence
MAX_GAP_SAMPLES = 10 * SAMPLE_RATE  # a longer timestamp jump is a new stream, not a pause


@dataclass(frozen=True)
class AmdRequest:
    """What a call does about answering machines (from the campaign's AnsweringPolicy)."""

    detector: AmdSettings
    wait: bool = False  # the flow waits for the verdict
    on_machine: str = "hangup"  # hangup, message, retry_later
    message: FlowRequest | None = None  # with on_machine = message
    max_beep_wait_ms: int = 20_000
    on_human: str = "continue"  # continue, agent
    agent: FlowRequest | None = None  # with on_human = agent: see hand_to_agents
    unknown_as: str = "human"

    def acts_as(self, label: str) -> str:
        """human or machine: what the call does for this verdict."""
        return self.unknown_as if label == AmdLabel.UNKNOWN else label


def hand_to_agents(queue: str) -> FlowStart:
    """The flow a person is handed to the agents with (on_human = agent): the queue's
    `<Enqueue>`, run by the flow runtime's hand-off like any flow's (its DialCallStatus
    tells how it went)."""
    document = f"<Response><Enqueue>{escape(queue)}</Enqueue></Response>"
    return FlowStart(parse_flow(document, "on_human = agent"), FlowLocation())


@dataclass(frozen=True)
class AmdDecided:
    decision: AmdDecision


class AmdListener:
    def __init__(self, request: AmdRequest, report: Callable[[object], None]) -> None:
        self.request = request
        self.report = report
        self.analysis = AnswerAnalysis(request.detector, max_beep_wait_ms=request.max_beep_wait_ms)
        self._pending = np.zeros(0, dtype=np.int16)
        self._stop: Callable[[], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._next_timestamp: int | None = None  # where the next packet's audio should start
        self._last_arrival: float | None = None
        self._silence_fed = 0  # samples of silence fed since the last packet, by the timer
        self.done = False  # nothing more to learn from the far end's audio

    def attach(self, session: RtpSession) -> None:
        self._stop = session.listen(self.on_audio)
        loop = asyncio.get_running_loop()
        self.started(loop.time())

        def tick() -> None:
            self.on_tick(loop.time())
            if not self.done:
                self._timer = loop.call_later(TICK_S, tick)

        self._timer = loop.call_later(TICK_S, tick)

    def detach(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def decision(self) -> AmdDecision | None:
        return self.analysis.decision

    @property
    def greeting_ended(self) -> GreetingEnded | None:
        return self.analysis.greeting_ended

    def started(self, now: float) -> None:
        """The call was answered at `now`: from then on, a far end sending nothing is silent."""
        self._last_arrival = now

    def on_audio(self, frame: ReceivedAudio) -> None:
        if self.done:
            return
        samples = frame.pcm16()
        if self._next_timestamp is not None:
            gap = _signed(frame.timestamp - self._next_timestamp)
            if gap < 0 and -gap <= MAX_GAP_SAMPLES:
                return  # reordered or repeated: its moment has passed
            if 0 < gap <= MAX_GAP_SAMPLES:
                self._feed(np.zeros(max(0, gap - self._silence_fed), dtype=np.int16))
        self._next_timestamp = (frame.timestamp + len(samples)) % 2**32
        self._last_arrival, self._silence_fed = frame.arrival, 0
        if not self.done:  # the silence before it may have settled everything
            self._feed(samples)

    def on_tick(self, now: float) -> None:
        """Feed the silence of a far end that has sent nothing for a while."""
        if self._last_arrival is None:
            return  # not answered yet
        owed = int((now - self._last_arrival - JITTER_ALLOWANCE_S) * SAMPLE_RATE)
        frames = (owed - self._silence_fed) // FRAME_SAMPLES
        if frames > 0 and not self.done:
            self._silence_fed += frames * FRAME_SAMPLES
            self._feed(np.zeros(frames * FRAME_SAMPLES, dtype=np.int16))

    def _feed(self, pcm: NDArray[np.int16]) -> None:
        samples = np.concatenate([self._pending, pcm])
        whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = samples[whole:]
        for start in range(0, whole, FRAME_SAMPLES):
            for event in self.analysis.feed(samples[start : start + FRAME_SAMPLES]):
                if not self._on_event(event):
                    self.done = True
                    self.detach()
                    return

    def _on_event(self, event: AnswerEvent) -> bool:
        """Report it; whether to keep listening."""
        if isinstance(event, GreetingEnded):
            log.info("AMD: greeting over (%s) at %d ms", event.kind, event.at_ms)
            self.report(event)
            return False
        log.info("AMD: %s at %d ms (%s)", event.label, event.at_ms, event.reason)
        self.report(AmdDecided(event))
        machine = self.request.acts_as(event.label) == AmdLabel.MACHINE
        if machine and self.request.on_machine == "message":
            self.analysis.listen_for_greeting_end()  # for the beep, to leave the message
            return True
        return False  # a person, or a machine we hang up on


def _signed(difference: int) -> int:
    """A 32-bit RTP timestamp difference, wrapped into -2**31 .. 2**31 - 1."""
    return (difference + 2**31) % 2**32 - 2**31


__all__ = ["AmdDecided", "AmdListener", "AmdRequest", "GreetingEnded", "hand_to_agents"]
