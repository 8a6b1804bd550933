"""The Asterisk AMD() reference follows app_amd.c's rules on hand-made signals."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from bench.asterisk_amd import AsteriskAmd, AsteriskAmdDecision, AsteriskAmdSettings, is_silent

FRAME = 160


def _voice(ms: int, level: int = 2000) -> list[NDArray[np.int16]]:
    """Frames whose mean absolute sample is `level` (a square wave)."""
    frame = np.where(np.arange(FRAME) % 20 < 10, level, -level).astype(np.int16)
    return [frame] * (ms // 20)


def _silence(ms: int) -> list[NDArray[np.int16]]:
    return [np.zeros(FRAME, np.int16)] * (ms // 20)


def _run(frames: list[NDArray[np.int16]], amd: AsteriskAmd | None = None) -> AsteriskAmdDecision:
    amd = amd or AsteriskAmd()
    for frame in frames:
        decision = amd.feed(frame)
        if decision is not None:
            assert amd.feed(frame) is None  # only the first time
            assert amd.decision == decision
            return decision
    pytest.fail("no decision")


def _words(count: int, word_ms: int = 200, gap_ms: int = 100) -> list[NDArray[np.int16]]:
    frames = _silence(100)
    for _ in range(count):
        frames += _voice(word_ms) + _silence(gap_ms)
    return frames + _silence(3000)


def test_the_defaults_are_the_documented_ones() -> None:
    s = AsteriskAmdSettings()
    assert (s.initial_silence_ms, s.greeting_ms, s.after_greeting_silence_ms) == (2500, 1500, 800)
    assert (s.total_analysis_time_ms, s.minimum_word_length_ms) == (5000, 100)
    assert (s.between_words_silence_ms, s.maximum_number_of_words) == (50, 2)
    assert (s.silence_threshold, s.maximum_word_length_ms) == (256, 5000)


def test_silence_only_is_a_machine_by_initial_silence() -> None:
    decision = _run(_silence(6000))
    assert (decision.label, decision.status, decision.at_ms) == ("machine", "MACHINE", 2500)
    assert decision.reason == "INITIALSILENCE-2500-2500"


def test_one_short_word_then_silence_is_a_human() -> None:
    decision = _run(_silence(100) + _voice(300) + _silence(3000))
    assert (decision.label, decision.status, decision.reason) == ("human", "HUMAN", "HUMAN-800-800")
    assert decision.at_ms == 100 + 300 + 800


def test_two_words_are_still_a_human_and_the_third_makes_a_machine() -> None:
    assert _run(_words(2)).status == "HUMAN"
    decision = _run(_words(4))
    assert (decision.label, decision.reason) == ("machine", "MAXWORDS-3-2")
    assert decision.at_ms == 100 + 2 * 300 + 100  # 100 ms into the third word


def test_a_long_continuous_voice_is_a_long_greeting() -> None:
    decision = _run(_silence(100) + _voice(4000) + _silence(2000))
    assert (decision.label, decision.reason, decision.at_ms) == (
        "machine",
        "LONGGREETING-1500-1500",
        1600,
    )


def test_a_word_longer_than_the_maximum_word_length_is_a_machine() -> None:
    amd = AsteriskAmd(AsteriskAmdSettings(maximum_word_length_ms=1000, greeting_ms=3000))
    decision = _run(_silence(100) + _voice(4000), amd)
    assert (decision.label, decision.reason, decision.at_ms) == (
        "machine",
        "MAXWORDLENGTH-1000",
        1100,
    )


def test_blips_too_short_for_words_run_out_the_analysis_time() -> None:
    blips = (_voice(60) + _silence(60)) * 60
    decision = _run(blips)
    assert (decision.label, decision.status, decision.reason) == (
        "unknown",
        "NOTSURE",
        "TOOLONG-5000",
    )
    assert decision.at_ms == 5000


def test_speech_from_the_first_frame_is_not_counted_until_a_silence() -> None:
    # The C starts in STATE_IN_WORD: the first word counts only after a silence.
    at_once = _voice(300) + _silence(100) + _voice(300) + _silence(100) + _voice(300)
    assert _run(at_once + _silence(2000)).status == "HUMAN"
    assert _run(_silence(100) + at_once + _silence(2000)).reason == "MAXWORDS-3-2"


def test_silence_is_a_mean_absolute_sample_below_the_threshold() -> None:
    assert is_silent(_voice(20, 255)[0], 256)
    assert not is_silent(_voice(20, 256)[0], 256)
    # A quiet hiss (255) is silence: initial silence; at 256 it is one long voice.
    assert _run(_voice(3000, 255)).reason == "INITIALSILENCE-2500-2500"
    assert _run(_silence(100) + _voice(3000, 256)).reason == "LONGGREETING-1500-1500"


def test_a_hang_up_before_a_decision_is_unknown() -> None:
    amd = AsteriskAmd()
    for frame in _silence(1000):
        assert amd.feed(frame) is None
    hangup = amd.hangup()
    assert hangup is not None
    assert (hangup.label, hangup.status, hangup.at_ms) == ("unknown", "HANGUP", 1000)
    assert amd.hangup() is None
