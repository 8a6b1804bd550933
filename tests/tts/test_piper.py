"""Piper: refused at start when it cannot run; its command-line contract against a test
double (`fake_piper.py`: no real Piper exists here to run)."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialer.config import ConfigError
from tts.errors import EngineUnavailable, TtsError
from tts.renderer import Renderer


@dataclass(frozen=True)
class FakePiper:
    command: Path
    model: Path
    log: Path  # one JSON line per run: its argv and stdin

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def piper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePiper:
    command = tmp_path / "piper"
    fake = Path(__file__).with_name("fake_piper.py")
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    model = tmp_path / "en_US-test-medium.onnx"
    model.write_bytes(b"not really a model")
    log = tmp_path / "piper.jsonl"
    log.touch()
    monkeypatch.setenv("FAKE_PIPER_LOG", str(log))
    return FakePiper(command, model, log)


@pytest.fixture
def piper_renderer(
    make_renderer: Callable[..., Renderer], piper: FakePiper
) -> Callable[..., Renderer]:
    def make(**overrides: Any) -> Renderer:
        command, model = str(piper.command), str(piper.model)
        return make_renderer(engine="piper", piper_command=command, piper_model=model, **overrides)

    return make


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [({"piper_model": ""}, "tts.piper_model", "empty"),
     ({"piper_model": "/nonexistent/voice.onnx"}, "tts.piper_model", "no such model file"),
     ({"piper_command": "no-such-piper"}, "tts.piper_command", "not found")],
)  # fmt: skip
@pytest.mark.parametrize("role", ["engine", "fallback"])
def test_refused_when_the_renderer_is_built(
    make_renderer: Callable[..., Renderer],
    piper: FakePiper,
    role: str,
    overrides: dict[str, str],
    key: str,
    reason: str,
) -> None:
    settings = {role: "piper", "piper_command": str(piper.command), "piper_model": str(piper.model)}
    with pytest.raises(EngineUnavailable) as refused:
        make_renderer(**{**settings, **overrides})
    assert refused.value.key == key and reason in refused.value.reason
    assert isinstance(refused.value, ConfigError)  # the CLI's exit 2, naming the key


def test_command_line_contract(piper_renderer: Callable[..., Renderer], piper: FakePiper) -> None:
    renderer = piper_renderer(speed_wpm=330)
    prompt = renderer.render_prompt("Hello $(id) there,\nfriend.", voice="alice")
    [call] = piper.calls()
    assert call["stdin"] == "Hello $(id) there, friend.\n"  # one line on stdin, never argv
    options = dict(zip(call["argv"][::2], call["argv"][1::2], strict=True))
    assert options["--model"] == str(piper.model)
    assert options["--length_scale"] == "0.500"  # twice the normal 165 wpm
    assert options["--output_file"].endswith(".wav")
    assert (prompt.engine, prompt.voice) == ("piper", "en_US-test-medium")
    # 4 words x 0.25 s x 0.5, at 16 kHz resampled to 8 kHz μ-law
    assert len(prompt.audio) == pytest.approx(4000, abs=40)


def test_a_failing_piper_falls_back(
    piper_renderer: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = piper_renderer()
    good = renderer.render_prompt("Cached before the failure.")
    monkeypatch.setenv("FAKE_PIPER_FAIL", "1")
    failed = renderer.render_prompt("Rendered after it.")
    assert failed.fallback_used and failed.engine == "espeak-ng"
    assert failed.primary_error == "piper exited 3: fake piper: model failed to load"
    # skipped now, but a prompt piper already rendered keeps its voice
    again = renderer.render_prompt("Cached before the failure.")
    assert (again.engine, again.fallback_used, again.audio) == ("piper", False, good.audio)


def test_when_both_engines_fail_one_error_says_both(
    piper_renderer: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PIPER_FAIL", "1")
    renderer = piper_renderer(fallback="gtts")
    with pytest.raises(TtsError) as failed:
        renderer.render("Hello.")
    message = str(failed.value)
    assert "piper failed (piper exited 3" in message
    assert "the fallback gtts failed (Failed to connect" in message


async def test_threads_missing_the_same_prompt_synthesize_it_once(
    piper_renderer: Callable[..., Renderer], piper: FakePiper
) -> None:
    renderer = piper_renderer(workers=8)
    rendered = await asyncio.gather(
        *(renderer.render_async("Press 1 to confirm.") for _ in range(8))
    )
    assert len(piper.calls()) == 1
    assert len(set(rendered)) == 1 and rendered[0]


def test_without_a_fallback_the_failure_is_one_error(
    piper_renderer: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PIPER_FAIL", "1")
    with pytest.raises(TtsError, match=r"^piper failed .*; no fallback configured$"):
        piper_renderer(fallback="piper").render("Hello.")
