"""The `espeak-ng` program: the path taken when libespeak-ng cannot be loaded in process.

About 20 ms a sentence (process start-up) against ~4 ms in process, but a crash in
it cannot take the dialer down. Text goes on stdin (`--stdin`, UTF-8), never on the
command line, and without `-m` (SSML), so it is only ever read aloud.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Final

from tts.errors import EngineError
from tts.espeak_voices import EspeakVoice, variants_in

_TIMEOUT_S: Final = 30.0
_VOICE_LINE: Final = re.compile(r"\s*(\d+)\s+(\S+)\s+\S+\s+(\S+)\s+(\S+)(.*)")
_OTHER_LANGUAGE: Final = re.compile(r"\(([^\s()]+) (\d+)\)")


class EspeakCommand:
    """espeak-ng run once per synthesis; raises EngineError if the program is missing."""

    def __init__(self, program: str = "espeak-ng") -> None:
        found = shutil.which(program)
        if found is None:
            raise EngineError(f"{program} not found on PATH")
        self._program = found
        banner = self._run(["--version"]).decode(errors="replace")
        version = re.search(r":\s*([\d.]+\S*)", banner)
        data = re.search(r"Data at:\s*(.+)", banner)
        self.version: str = version.group(1) if version else ""
        self.data_path = Path(data.group(1).strip()) if data else Path()
        self._voices = parse_voice_list(self._run(["--voices"]).decode(errors="replace"))
        self._variants = variants_in(self.data_path)

    def voices(self) -> tuple[EspeakVoice, ...]:
        return self._voices

    def variants(self) -> frozenset[str]:
        return self._variants

    def synthesize(self, text: str, voice: str, *, speed_wpm: int, pitch: int) -> tuple[bytes, int]:
        """16-bit PCM and its sample rate."""
        options = ["--stdout", "--stdin", "-b", "1", "-v", voice]
        out = self._run([*options, "-s", str(speed_wpm), "-p", str(pitch)], stdin=text.encode())
        if not out:
            raise EngineError(f"espeak-ng wrote no audio for voice {voice!r}")
        try:
            # espeak streams the WAV, so its header carries placeholder sizes: read what came.
            with wave.open(io.BytesIO(out)) as wav:
                rate = wav.getframerate()
                pcm = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError) as exc:
            raise EngineError(f"espeak-ng wrote no readable WAV: {exc}") from exc
        return pcm[: len(pcm) - len(pcm) % 2], rate

    def _run(self, argv: list[str], stdin: bytes = b"") -> bytes:
        try:
            done = subprocess.run(
                [self._program, *argv], input=stdin, capture_output=True, timeout=_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(f"espeak-ng failed: {exc}") from exc
        # espeak-ng exits 0 even for an unknown voice: its complaint on stderr says why.
        complaint = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0 or (complaint and not done.stdout):
            raise EngineError(f"espeak-ng failed ({done.returncode}): {complaint[-200:]}")
        return done.stdout


def parse_voice_list(listing: str) -> tuple[EspeakVoice, ...]:
    """`espeak-ng --voices`: Pty, Language, Age/Gender, VoiceName, File, (other priority)..."""
    voices: list[EspeakVoice] = []
    for line in listing.splitlines()[1:]:
        match = _VOICE_LINE.fullmatch(line)
        if match is None:
            continue
        priority, language, name, identifier, others = match.groups()
        languages = [(language.lower(), int(priority))]
        languages += [(tag.lower(), int(p)) for tag, p in _OTHER_LANGUAGE.findall(others)]
        voices.append(EspeakVoice(identifier, name.replace("_", " "), tuple(languages)))
    return tuple(voices)
