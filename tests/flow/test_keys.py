"""One Gather's keys on a fake clock: barge-in, finishOnKey, numDigits, the timeout."""

from __future__ import annotations

from dialer.flow.keys import DigitCollector


def test_the_timeout_starts_when_the_prompts_end_and_restarts_after_each_key() -> None:
    keys = DigitCollector(None, 5.0, "#")
    assert keys.deadline is None and not keys.expire(100.0)  # prompts still playing
    keys.prompts_finished(10.0)
    assert keys.deadline == 15.0
    assert not keys.key("4", 12.0) and keys.deadline == 17.0
    assert not keys.expire(16.9)
    assert keys.expire(17.0) and keys.digits == "4"


def test_finish_on_key_ends_and_is_not_kept() -> None:
    keys = DigitCollector(None, 5.0, "#")
    keys.key("1", 0.0)
    keys.key("2", 0.5)
    assert keys.key("#", 1.0) and keys.digits == "12"


def test_num_digits_ends_the_input() -> None:
    keys = DigitCollector(2, 5.0, "")
    assert not keys.key("#", 0.0)  # no finish key: # is a digit like the others
    assert keys.key("5", 0.1) and keys.digits == "#5" and keys.deadline is None


def test_a_key_during_the_prompts_counts() -> None:
    keys = DigitCollector(1, 5.0, "#")
    assert keys.key("3", 2.0) and keys.digits == "3"
    keys.prompts_finished(2.1)  # the shell stops the prompts; nothing left to time
    assert keys.deadline is None and keys.done
