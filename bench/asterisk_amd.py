"""Asterisk's `AMD()` application, reimplemented frame for frame: the anchor our detector must beat.

Read from Asterisk's documentation (docs.asterisk.org, Dialplan Applications, AMD) and its
source, `apps/app_amd.c` as on the asterisk/asterisk master branch (the version with the
real-time timeout and `maximum_number_of_words = 2` compared with `>`; releases before it
defaulted to 3 and compared with `>=`, which fires on the same third word) and
`__ast_dsp_silence_noise` in `main/dsp.c`. Written anew here; only the behaviour carries over:

- A frame is silent when the mean absolute sample (integer division, as the C does) is
  below `silence_threshold`. The DSP counts consecutive silent milliseconds; one voiced
  frame resets the count.
- Every frame first adds its length to the total; at `total_analysis_time_ms` the result
  is NOTSURE (TOOLONG), before the frame is looked at.
- Silent frame: after `between_words_silence_ms` of silence the state becomes "in silence"
  and the word in progress ends. Still in the initial silence (no word yet) for
  `initial_silence_ms`: MACHINE (INITIALSILENCE). After a first word, a silence of
  `after_greeting_silence_ms`: HUMAN (HUMAN).
- Voiced frame: consecutive voice reaching `minimum_word_length_ms` after a silence counts
  a word. Then, in this order: consecutive voice reaching `maximum_word_length_ms`:
  MACHINE (MAXWORDLENGTH); more than `maximum_number_of_words` words: MACHINE (MAXWORDS);
  after the first word, all voice so far reaching `greeting_ms`: MACHINE (LONGGREETING).
  The first `minimum_word_length_ms` of consecutive voice ends the initial silence.
- The state starts "in word" (as in the C), so speech at the very first frame, before any
  silence, is not counted as a word until a silence has come.
- The far end hanging up before a decision: HANGUP (`hangup()`).

With the defaults, MAXWORDLENGTH cannot fire: consecutive voice reaches 5,000 ms no sooner
than the total reaches 5,000 ms, and TOOLONG is checked first. HUMAN, NOTSURE and HANGUP map
to our labels as human, unknown, unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

SAMPLES_PER_MS: Final = 8  # 8 kHz signed linear, as AMD() reads it

_LABELS: Final = {"MACHINE": "machine", "HUMAN": "human", "NOTSURE": "unknown", "HANGUP": "unknown"}


@dataclass(frozen=True)
class AsteriskAmdSettings:
    """AMD()'s arguments, with the defaults of app_amd.c and amd.conf.sample."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_time_ms: int = 5000
    minimum_word_length_ms: int = 100
    between_words_silence_ms: int = 50
    maximum_number_of_words: int = 2
    silence_threshold: int = 256
    maximum_word_length_ms: int = 5000


@dataclass(frozen=True)
class AsteriskAmdDecision:
    """The fields of `media.amd.AmdDecision`, plus Asterisk's own status."""

    label: str  # "human" | "machine" | "unknown"
    at_ms: int  # audio time of the decision (Asterisk's iTotalTime)
    reason: str  # AMDCAUSE, e.g. "MAXWORDS-3-2"; empty for HANGUP, as in Asterisk
    status: str  # AMDSTATUS: MACHINE, HUMAN, NOTSURE or HANGUP


class AsteriskAmd:
    """One AMD() run over one call: `feed` 20 ms frames of 8 kHz int16 from the answer on."""

    def __init__(self, settings: AsteriskAmdSettings | None = None) -> None:
        self.settings = settings or AsteriskAmdSettings()
        self._decision: AsteriskAmdDecision | None = None
        self.total_ms = 0
        self.words = 0
        self.voice_ms = 0  # all voice since the start
        self.consecutive_voice_ms = 0
        self.silence_ms = 0  # the DSP's count of consecutive silent ms
        self._in_word = True  # STATE_IN_WORD: the C starts there
        self._in_initial_silence = True
        self._in_greeting = False

    @property
    def decision(self) -> AsteriskAmdDecision | None:
        return self._decision

    def feed(self, pcm: NDArray[np.int16]) -> AsteriskAmdDecision | None:
        """One frame; the decision the first time one is made, else None."""
        if self._decision is not None:
            return None
        s = self.settings
        frame_ms = len(pcm) // SAMPLES_PER_MS
        self.total_ms += frame_ms
        if self.total_ms >= s.total_analysis_time_ms:
            return self._decide("NOTSURE", f"TOOLONG-{self.total_ms}")
        if is_silent(pcm, s.silence_threshold):
            self.silence_ms += frame_ms
            return self._silent_frame()
        self.silence_ms = 0
        return self._voiced_frame(frame_ms)

    def hangup(self) -> AsteriskAmdDecision | None:
        """The far end hung up (the audio ended) before a decision: HANGUP."""
        if self._decision is not None:
            return None
        return self._decide("HANGUP", "")

    def _silent_frame(self) -> AsteriskAmdDecision | None:
        s = self.settings
        if self.silence_ms >= s.between_words_silence_ms:
            self._in_word = False
            self.consecutive_voice_ms = 0
        if self._in_initial_silence and self.silence_ms >= s.initial_silence_ms:
            return self._decide(
                "MACHINE", f"INITIALSILENCE-{self.silence_ms}-{s.initial_silence_ms}"
            )
        if self._in_greeting and self.silence_ms >= s.after_greeting_silence_ms:
            return self._decide("HUMAN", f"HUMAN-{self.silence_ms}-{s.after_greeting_silence_ms}")
        return None

    def _voiced_frame(self, frame_ms: int) -> AsteriskAmdDecision | None:
        s = self.settings
        self.consecutive_voice_ms += frame_ms
        self.voice_ms += frame_ms
        is_word = self.consecutive_voice_ms >= s.minimum_word_length_ms
        if is_word and not self._in_word:
            self.words += 1
            self._in_word = True
        if self.consecutive_voice_ms >= s.maximum_word_length_ms:
            return self._decide("MACHINE", f"MAXWORDLENGTH-{self.consecutive_voice_ms}")
        if self.words > s.maximum_number_of_words:
            return self._decide("MACHINE", f"MAXWORDS-{self.words}-{s.maximum_number_of_words}")
        if self._in_greeting and self.voice_ms >= s.greeting_ms:
            return self._decide("MACHINE", f"LONGGREETING-{self.voice_ms}-{s.greeting_ms}")
        if is_word:
            self._in_initial_silence = False
            self._in_greeting = True
        return None

    def _decide(self, status: str, cause: str) -> AsteriskAmdDecision:
        self._decision = AsteriskAmdDecision(_LABELS[status], self.total_ms, cause, status)
        return self._decision


def is_silent(pcm: NDArray[np.int16], threshold: int) -> bool:
    """The DSP's test: the mean absolute sample, truncated to an integer, below `threshold`."""
    if len(pcm) == 0:
        return False
    mean_abs = int(np.abs(pcm.astype(np.int32)).sum()) // len(pcm)
    return mean_abs < threshold
