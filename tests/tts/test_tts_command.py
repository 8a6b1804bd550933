"""`dialer tts say` and `dialer tts voices`, run in process as a user would."""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialer.cli import main
from tests.dialer.conftest import Ran


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[tts]\ncache_dir = "{tmp_path / "cache"}"\n')
    return path


@pytest.fixture
def run(config: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    def run(*argv: str) -> Ran:
        try:
            code = main(["tts", *argv, "--config", str(config)])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def read_wav(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path)) as wav:
        return (wav.getframerate(), wav.getsampwidth(), wav.getnchannels(),
                wav.getnframes() / wav.getframerate())  # fmt: skip


def test_say_writes_a_playable_wav(run: Callable[..., Ran], tmp_path: Path) -> None:
    out = tmp_path / "preview.wav"
    ran = run("say", "Hello Maria. Your appointment is on Tuesday.", "--out", str(out), "--json")
    assert ran.code == 0, ran.err
    report: dict[str, Any] = ran.json()
    rate, width, channels, seconds = read_wav(out)
    assert (rate, width, channels) == (8000, 2, 1)
    assert seconds == pytest.approx(report["duration_s"], abs=0.001) and 2.0 < seconds < 6.0
    assert report["engine"] == "espeak-ng" and report["fallback_used"] is False
    assert (report["cache_hit"], report["sentences"]) == (False, 2)
    again = run("say", "Hello Maria. Your appointment is on Tuesday.", "--out", str(out), "--json")
    assert again.json()["cache_hit"] is True


def test_say_prints_readable_text(run: Callable[..., Ran], tmp_path: Path) -> None:
    ran = run("say", "Thank you.", "--out", str(tmp_path / "a.wav"), "--voice", "Polly.Amy")
    assert ran.code == 0
    lines = dict(line.split(None, 1) for line in ran.out.splitlines())
    assert lines["engine"] == "espeak-ng" and lines["voice"] == "gmw/en+f3"
    assert lines["fallback_used"] == "no"


def test_gtts_offline_falls_back_and_says_so(
    run: Callable[..., Ran], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ran = run("say", "Hello.", "--out", str(tmp_path / "a.wav"), "--engine", "gtts", "--json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["engine"] == "espeak-ng" and report["fallback_used"] is True
    assert "Failed to connect" in report["primary_error"]
    assert [r.getMessage()[:12] for r in caplog.records if r.name == "tts"] == ["gtts failed:"]


def test_an_unknown_voice_is_a_usage_error(run: Callable[..., Ran], tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    ran = run("say", "Hello.", "--out", str(out), "--voice", "Polly.Nobody")
    assert ran.code == 2 and "unknown Amazon Polly voice" in ran.err
    assert not out.exists()


def test_piper_without_a_model_is_a_configuration_error(
    run: Callable[..., Ran], tmp_path: Path
) -> None:
    ran = run("say", "Hello.", "--out", str(tmp_path / "a.wav"), "--engine", "piper")
    assert ran.code == 2
    assert "configuration refused: tts.piper_model: empty" in ran.err


def test_an_unwritable_output_fails(run: Callable[..., Ran], tmp_path: Path) -> None:
    ran = run("say", "Hello.", "--out", str(tmp_path / "missing" / "a.wav"))
    assert ran.code == 1 and "cannot write" in ran.err


def test_out_is_required(run: Callable[..., Ran]) -> None:
    assert run("say", "Hello.").code == 2


def test_voices_lists_what_can_be_used(run: Callable[..., Ran]) -> None:
    ran = run("voices", "--json")
    assert ran.code == 0
    listing = json.loads(ran.out)
    assert listing["engine"] == "espeak-ng" and listing["default_voice"] == "en-us"
    engine_voices = {voice["name"]: voice for voice in listing["engine_voices"]}
    assert "en-us" in engine_voices and "fr" in engine_voices
    twilio = {row["voice"]: row["renders_as"] for row in listing["twilio_voices"]}
    assert twilio["alice"] == "gmw/en-US+f3" and twilio["Polly.Brian"] == "gmw/en"


def test_voices_for_one_language(run: Callable[..., Ran]) -> None:
    listing = json.loads(run("voices", "--language", "fr", "--json").out)
    assert {v["name"] for v in listing["engine_voices"]} == {"fr", "fr-be", "fr-ch"}
    polly = [row for row in listing["twilio_voices"] if row["voice"].startswith("Polly.")]
    assert polly and all(row["language"].startswith("fr-") for row in polly)
    assert run("voices", "--language", "not a tag").code == 2
