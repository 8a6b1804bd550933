"""The answer's audio, sans-IO: who answered, and when their greeting is over.

One `AnswerAnalysis` per answered call, fed the far end's audio from the answer
in 20 ms frames. It runs the answering-machine classifier until it decides and
the beep detector all along: a beep before the verdict makes it a machine, and
after a machine verdict the beep (or the greeting's end without one, or
nothing within `max_beep_wait_ms`) says when a message may start. The same
object runs live calls (`dialer.amd_listener`) and files (`dialer amd`), so what
the command line reports is what a call would have done.

Events, each at most once, in order: `AmdDecision`, then `GreetingEnded`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from media.amd import FRAME_MS, AmdDecision, AmdSettings, AnsweringMachineDetector
from media.beep import BeepDetector, BeepEvent, BeepSettings
from media.vad import VoiceActivityDetector


@dataclass(frozen=True)
class GreetingEnded:
    kind: str  # beep, greeting_end (silence after the greeting), timeout
    at_ms: int  # audio time a message may start
    beep_ms: int | None  # the beep's onset, when there was one


AnswerEvent = AmdDecision | GreetingEnded


class AnswerAnalysis:
    def __init__(
        self,
        settings: AmdSettings | None = None,
        *,
        beep: BeepSettings | None = None,
        max_beep_wait_ms: int = 20_000,
    ) -> None:
        self.detector = AnsweringMachineDetector(settings)
        self.voice = VoiceActivityDetector(self.detector.settings.vad())  # one for both
        self.beeps = BeepDetector(beep)
        self.max_beep_wait_ms = max_beep_wait_ms
        self.heard_ms = 0
        self.beep: BeepEvent | None = None  # the first beep or greeting end heard
        self.greeting_ended: GreetingEnded | None = None
        self._machine_at_ms: int | None = None

    @property
    def decision(self) -> AmdDecision | None:
        return self.detector.decision

    def listen_for_greeting_end(self) -> None:
        """After a machine verdict (the caller decides it matters): wait for the beep."""
        if self._machine_at_ms is None:
            self._machine_at_ms = self.heard_ms

    def feed(self, pcm: NDArray[np.int16]) -> list[AnswerEvent]:
        """One 20 ms frame; what it brought to light."""
        self.heard_ms += FRAME_MS
        events: list[AnswerEvent] = []
        voice = self.voice.feed(pcm)
        heard = self.beeps.feed(pcm, voice)
        if heard is not None and self.beep is None:
            self.beep = heard
        if self.detector.decision is None:
            decided = self.detector.feed(pcm, voice)
            if decided is None and heard is not None and heard.kind == "beep":
                decided = self.detector.beep_heard(heard.onset_ms)
            if decided is not None:
                events.append(decided)
        if self._machine_at_ms is not None and self.greeting_ended is None:
            ended = self._greeting_over()
            if ended is not None:
                self.greeting_ended = ended
                events.append(ended)
        return events

    def _greeting_over(self) -> GreetingEnded | None:
        assert self._machine_at_ms is not None
        if self.beep is not None:
            if self.beep.kind == "beep":
                return GreetingEnded("beep", self.beep.end_ms, self.beep.onset_ms)
            return GreetingEnded("greeting_end", self.beep.end_ms, None)
        if self.heard_ms - self._machine_at_ms >= self.max_beep_wait_ms:
            return GreetingEnded("timeout", self.heard_ms, None)
        return None
