"""Piper, a local neural voice: `piper_command` run with the `piper_model` (.onnx) voice.

Optional, and refused at start when it cannot work: no model configured, a model
file that is not there, or a command not on PATH, each an `EngineUnavailable`
naming the key to fix. Piper speaks its model's one voice, so every voice and
language is rendered with it: choosing Piper is choosing that voice.

The contract with the program: `piper --model MODEL --output_file OUT.wav
--length_scale S`, the text on stdin (one line: Piper reads one utterance a
line), a WAV at the model's rate out, which is resampled to 8 kHz μ-law. Speed
maps onto the length scale relative to espeak's 165 words per minute.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from media.audiofile import AudioFileError, load_ulaw
from tts.engine import EngineVoice, VoiceListing
from tts.errors import EngineError, EngineUnavailable
from tts.voices import Voice

NORMAL_WPM: Final = 165
_TIMEOUT_S: Final = 60.0


class PiperEngine:
    name = "piper"

    def __init__(self, command: str, model: str) -> None:
        """Raises EngineUnavailable (key tts.piper_model or tts.piper_command)."""
        if not model:
            raise EngineUnavailable("tts.piper_model", "empty: set it to a Piper .onnx voice model")
        model_path = Path(model)
        if not model_path.is_file():
            raise EngineUnavailable("tts.piper_model", f"no such model file: {model}")
        program = shutil.which(command)
        if program is None:
            raise EngineUnavailable("tts.piper_command", f"{command!r} not found (not on PATH)")
        self._program = program
        self._model = model_path
        stat = model_path.stat()
        self._version = f"{model_path.name}:{stat.st_size}:{stat.st_mtime_ns}"

    @property
    def version(self) -> str:
        """The model, its size and time: replacing the model renders prompts afresh."""
        return self._version

    def resolve(self, voice: Voice) -> EngineVoice:
        return EngineVoice(self.name, self._model.stem, voice.language or "")

    def synthesize(self, text: str, voice: EngineVoice, *, speed_wpm: int, pitch: int) -> bytes:
        with tempfile.TemporaryDirectory(prefix="piper-") as folder:
            out = Path(folder) / "prompt.wav"
            argv = [
                self._program, "--model", str(self._model), "--output_file", str(out),
                "--length_scale", f"{NORMAL_WPM / speed_wpm:.3f}",
            ]  # fmt: skip
            line = " ".join(text.split()) + "\n"
            try:
                done = subprocess.run(
                    argv, input=line.encode("utf-8"), capture_output=True, timeout=_TIMEOUT_S
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise EngineError(f"piper failed: {exc}") from exc
            if done.returncode != 0:
                complaint = done.stderr.decode(errors="replace").strip()[-200:]
                raise EngineError(f"piper exited {done.returncode}: {complaint}")
            try:
                return load_ulaw(out)
            except AudioFileError as exc:
                raise EngineError(f"piper wrote no usable audio: {exc}") from exc

    def voices(self) -> Sequence[VoiceListing]:
        return [VoiceListing(self._model.stem, (), f"Piper model {self._model}")]

    def close(self) -> None:
        """Nothing held between syntheses."""
