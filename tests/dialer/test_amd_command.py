"""`dialer amd FILE...` on recordings: one JSON line per file, from the code calls run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dialer.cli import main
from media.audiofile import load_ulaw
from media.g711 import ulaw_decode_samples, ulaw_encode
from tests.e2e.audio_fixtures import write_wav

RATE = 8000


@pytest.fixture
def amd(capsys: pytest.CaptureFixture[str]) -> Any:
    """`amd("a.wav", "--json")`: the command's exit status and what it printed."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["amd", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def speech(text: str, folder: Path) -> np.ndarray:  # type: ignore[type-arg]
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return ulaw_decode_samples(load_ulaw(path))


def test_each_file_gets_its_verdict_beep_and_greeting_end(amd: Any, tmp_path: Path) -> None:
    quiet = np.zeros(RATE * 3, np.int16)
    beep = (np.sin(2 * np.pi * 1000 * np.arange(RATE // 2) / RATE) * 8000).astype(np.int16)
    greeting = speech("Leave a message.", tmp_path)
    machine = np.concatenate([quiet[: RATE // 4], greeting, quiet[: RATE // 2], beep, quiet])
    write_wav(tmp_path / "machine.wav", machine)
    hello = np.concatenate([quiet[: RATE // 4], speech("Hello?", tmp_path), quiet])
    (tmp_path / "person.ulaw").write_bytes(ulaw_encode(hello))
    code, out, err = amd(str(tmp_path / "machine.wav"), str(tmp_path / "person.ulaw"), "--json")
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    beep_ms = (RATE // 4 + len(greeting) + RATE // 2) * 1000 // RATE
    assert (first["label"], first["file"]) == ("machine", str(tmp_path / "machine.wav"))
    assert abs(first["beep_ms"] - beep_ms) <= 60
    assert first["greeting_end_ms"] >= beep_ms + 500 - 40 and first["decision_ms"] > 0
    assert second["label"] == "human" and second["beep_ms"] is None
    assert second["greeting_end_ms"] is None and second["decision_ms"] < 3000


def test_a_file_that_cannot_be_read_is_reported_and_the_rest_analysed(
    amd: Any, tmp_path: Path
) -> None:
    (tmp_path / "junk.wav").write_bytes(b"\x00\x01 not audio")
    (tmp_path / "quiet.ulaw").write_bytes(ulaw_encode(np.zeros(RATE, np.int16)))
    code, out, err = amd(str(tmp_path / "junk.wav"), str(tmp_path / "quiet.ulaw"))
    assert code == 1 and "junk.wav" in err
    header, row = out.splitlines()
    assert header.split() == ["file", "label", "decision_ms", "beep_ms", "greeting_end_ms"]
    assert row.split()[1] == "unknown"  # a second of silence decides nothing
