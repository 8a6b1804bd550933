"""gTTS without the internet: it must fail fast, within its timeout, and fall back.

The proxy variables point gTTS at loopback (see conftest): a closed port is the
machine offline, a proxy that never answers is a network that swallows packets,
and one that trickles bytes defeats per-read socket timeouts. Durations are
checked as upper bounds with a margin, never as exact times.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tts.errors import EngineError, UnknownVoice
from tts.google import GttsEngine
from tts.renderer import Renderer
from tts.voices import parse_voice

from .conftest import use_proxy
from .fake_google import FakeGoogle, self_signed
from .measures import rms

MARGIN_S = 1.5  # scheduling noise on a loaded two-core machine


def test_online_it_renders_google_audio(
    fake_google: FakeGoogle, make_renderer: Callable[..., Renderer]
) -> None:
    renderer = make_renderer(engine="gtts", fallback="espeak-ng", speed_wpm=100)
    prompt = renderer.render_prompt("Hello Maria.", voice="alice", language="en-GB")
    assert (prompt.engine, prompt.voice, prompt.fallback_used) == ("gtts", "en@co.uk", False)
    assert fake_google.connects == ["translate.google.co.uk:443"]  # the accent's domain
    assert fake_google.requests == [["Hello Maria.", "en", True, "null"]]  # slow below 120 wpm
    assert prompt.duration_s == pytest.approx(1.5, abs=0.1)  # the MP3, decoded to 8 kHz
    assert rms(prompt.audio) > 1000


def test_audio_google_garbles_falls_back(
    make_renderer: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    google = FakeGoogle(b"ID3 this is not an MP3", self_signed(tmp_path))
    google.start()
    use_proxy(monkeypatch, google.port)
    try:
        prompt = make_renderer(engine="gtts").render_prompt("Hello.")
    finally:
        google.stop()
    assert google.requests and prompt.fallback_used and prompt.engine == "espeak-ng"
    assert (prompt.primary_error or "").startswith("Google sent audio that cannot be decoded")


def test_offline_falls_back_at_once(make_renderer: Callable[..., Renderer]) -> None:
    renderer = make_renderer(engine="gtts", fallback="espeak-ng", gtts_timeout_s=5.0)
    started = time.monotonic()
    prompt = renderer.render_prompt("Your appointment is on Tuesday.")
    elapsed = time.monotonic() - started
    assert elapsed < 5.0 + MARGIN_S
    assert prompt.fallback_used and prompt.engine == "espeak-ng"
    assert prompt.primary_error is not None and "Failed to connect" in prompt.primary_error
    assert prompt.duration_s > 1.0


def test_a_proxy_that_never_answers_is_bounded_by_the_timeout(
    hanging_proxy: int, make_renderer: Callable[..., Renderer]
) -> None:
    renderer = make_renderer(engine="gtts", fallback="espeak-ng", gtts_timeout_s=0.5)
    started = time.monotonic()
    prompt = renderer.render_prompt("Hello.")
    assert time.monotonic() - started < 0.5 + MARGIN_S
    assert prompt.fallback_used and prompt.audio


def test_a_trickling_answer_is_bounded_as_a_whole(trickling_proxy: int) -> None:
    """Each byte comes well within the socket timeout: only the engine's own bound stops it."""
    engine = GttsEngine(timeout_s=0.5)
    voice = engine.resolve(parse_voice(None, "en-US", default_voice="x", default_language="x"))
    started = time.monotonic()
    with pytest.raises(EngineError, match=re.escape("no answer from Google within 0.5 s")):
        engine.synthesize("Hello.", voice, speed_wpm=165, pitch=50)
    assert time.monotonic() - started < 0.5 + MARGIN_S
    engine.close()


def test_failure_is_logged_once_per_cause(
    make_renderer: Callable[..., Renderer], caplog: pytest.LogCaptureFixture
) -> None:
    renderer = make_renderer(engine="gtts", fallback="espeak-ng", retry_after_s=0)
    with caplog.at_level(logging.INFO, logger="tts"):
        prompts = [renderer.render_prompt(f"Prompt number {n}.") for n in range(10)]
    assert all(p.fallback_used and "Failed to connect" in (p.primary_error or "") for p in prompts)
    warnings = [r for r in caplog.records if r.name == "tts" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "gtts failed" in warnings[0].getMessage()
    assert "using espeak-ng" in warnings[0].getMessage()


def test_after_a_failure_gtts_is_skipped_for_a_while(
    hanging_proxy: int, make_renderer: Callable[..., Renderer]
) -> None:
    renderer = make_renderer(engine="gtts", gtts_timeout_s=0.5, retry_after_s=60)
    first = renderer.render_prompt("One.")
    second = renderer.render_prompt("Two.")
    assert first.primary_error is not None and "skipped" not in first.primary_error
    assert second.primary_error == "skipped for 60 s after a failure"
    assert second.fallback_used


@pytest.mark.parametrize(
    ("language", "google"),
    [("en-US", "en@com"), ("en-GB", "en@co.uk"), ("fr-CA", "fr@ca"), ("de-DE", "de@com"),
     ("pt-PT", "pt@pt"), ("zh-TW", "zh-TW@com"), ("he-IL", "iw@com"), ("nb-NO", "no@com")],
)  # fmt: skip
def test_languages_map_onto_google_accents(language: str, google: str) -> None:
    engine = GttsEngine(timeout_s=1.0)
    wanted = parse_voice(None, language, default_voice="x", default_language="x")
    assert engine.resolve(wanted).name == google
    engine.close()


def test_a_language_google_cannot_speak_is_refused() -> None:
    engine = GttsEngine(timeout_s=1.0)
    with pytest.raises(UnknownVoice, match="gtts cannot speak haw"):
        engine.resolve(parse_voice(None, "haw", default_voice="x", default_language="x"))
    engine.close()
