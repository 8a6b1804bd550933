"""When a failing engine is skipped, and how its failures are logged (on a fake clock)."""

from __future__ import annotations

import logging

import pytest

from tts.errors import EngineError
from tts.health import EngineHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "tts"]


def test_skipped_for_retry_after_then_tried_again() -> None:
    clock = Clock()
    health = EngineHealth("gtts", fallback="espeak-ng", retry_after_s=30, clock=clock)
    assert health.available()
    health.failed(EngineError("offline"))
    clock.now += 29.9
    assert not health.available()
    clock.now += 0.1
    assert health.available()


def test_each_cause_logged_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    health = EngineHealth("gtts", fallback="espeak-ng", clock=Clock())
    with caplog.at_level(logging.INFO, logger="tts"):
        for _ in range(50):
            health.failed(EngineError("offline"))
        health.failed(EngineError("no answer from Google within 5 s"))
        health.failed(EngineError("offline"))
        health.succeeded()
        health.succeeded()  # no outage: nothing to say
        health.failed(EngineError("offline"))  # a new outage: said again
    assert messages(caplog) == [
        "gtts failed: offline; using espeak-ng meanwhile, trying it again after 30 s"
        " (each cause logged once)",
        "gtts failed: no answer from Google within 5 s; using espeak-ng meanwhile, trying it"
        " again after 30 s (each cause logged once)",
        "gtts works again after 52 failure(s)",
        "gtts failed: offline; using espeak-ng meanwhile, trying it again after 30 s"
        " (each cause logged once)",
    ]
