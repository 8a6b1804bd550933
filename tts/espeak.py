"""espeak-ng, the embedded offline engine: every language espeak-ng-data has, instantly.

It runs in process through libespeak-ng (`EspeakLibrary`) when the library loads,
else through the `espeak-ng` program (`EspeakCommand`); both speak the same voices
with the same parameters. The in-process path is the default because it is about
five times faster (bench/RESULTS.md, "Text-to-speech") and has been reliable here:
a library that will not load or initialise is detected at start, and the program
is used instead. Output is 22,050 Hz PCM, resampled to 8 kHz μ-law.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal, Protocol

from media.audiofile import AudioFileError, pcm16_to_ulaw
from tts.engine import EngineVoice, VoiceListing
from tts.errors import EngineError
from tts.espeak_command import EspeakCommand
from tts.espeak_library import EspeakLibrary
from tts.espeak_voices import EspeakVoice, select_voice, spoken_language
from tts.voices import Voice

log = logging.getLogger(__name__)

Backend = Literal["library", "command"]


class EspeakBackend(Protocol):
    version: str

    def voices(self) -> tuple[EspeakVoice, ...]: ...

    def variants(self) -> frozenset[str]: ...

    def synthesize(
        self, text: str, voice: str, *, speed_wpm: int, pitch: int
    ) -> tuple[bytes, int]: ...


class EspeakEngine:
    name = "espeak-ng"

    def __init__(self, backend: Backend | None = None) -> None:
        """`backend` None: the library, else the program. Raises EngineError if neither runs."""
        self.backend: Backend
        self._espeak: EspeakBackend
        if backend in (None, "library"):
            try:
                self._espeak, self.backend = EspeakLibrary.shared(), "library"
                return
            except EngineError as exc:
                if backend == "library":
                    raise
                log.warning("libespeak-ng unavailable (%s): running the espeak-ng program", exc)
        self._espeak, self.backend = EspeakCommand(), "command"

    @property
    def version(self) -> str:
        return self._espeak.version

    def resolve(self, voice: Voice) -> EngineVoice:
        voices = self._espeak.voices()
        name = select_voice(voices, self._espeak.variants(), voice)
        return EngineVoice(self.name, name, spoken_language(name, voices))

    def synthesize(self, text: str, voice: EngineVoice, *, speed_wpm: int, pitch: int) -> bytes:
        pcm, rate = self._espeak.synthesize(text, voice.name, speed_wpm=speed_wpm, pitch=pitch)
        try:
            return pcm16_to_ulaw(pcm, rate)
        except AudioFileError as exc:
            raise EngineError(f"espeak-ng audio cannot be converted: {exc}") from exc

    def voices(self) -> Sequence[VoiceListing]:
        return [
            VoiceListing(v.basename.lower(), tuple(tag for tag, _ in v.languages), v.name)
            for v in sorted(self._espeak.voices(), key=lambda v: v.identifier.lower())
        ]

    def close(self) -> None:
        """Nothing to release: the library lives as long as the process."""
