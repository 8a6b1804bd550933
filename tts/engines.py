"""The configured engines: the primary one and its fallback, built from `TtsSettings`.

Building refuses, with the key to fix, what cannot work: an engine that will not
run here (Piper without its model) or a default voice the engines cannot speak.
`resolve` maps a prompt's voice attributes onto both engines at once, so a voice
is accepted only if the fallback can speak it too: the fallback must be able to
stand in for any prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.config import TtsSettings
from tts.engine import Engine, EngineVoice
from tts.errors import EngineError, EngineUnavailable, UnknownVoice
from tts.espeak import EspeakEngine
from tts.google import GttsEngine
from tts.piper import PiperEngine
from tts.voices import Voice, parse_voice


def build_engine(name: str, settings: TtsSettings, *, key: str = "tts.engine") -> Engine:
    """The engine called `name`; raises EngineUnavailable naming `key` (or a Piper key)."""
    if name == "espeak-ng":
        try:
            return EspeakEngine()
        except EngineError as exc:
            raise EngineUnavailable(key, f"espeak-ng cannot run: {exc}") from exc
    if name == "gtts":
        return GttsEngine(settings.gtts_timeout_s)
    if name == "piper":
        return PiperEngine(settings.piper_command, settings.piper_model)
    raise EngineUnavailable(key, f"unknown engine {name!r}")


@dataclass(frozen=True)
class ResolvedVoice:
    wanted: Voice
    primary: EngineVoice
    fallback: EngineVoice | None  # None: no fallback configured


class Engines:
    def __init__(self, settings: TtsSettings) -> None:
        """Raises EngineUnavailable (a ConfigError) naming the key that cannot work."""
        self.settings = settings
        self.primary = build_engine(settings.engine, settings)
        self.fallback: Engine | None = None
        try:
            if settings.fallback != settings.engine:
                self.fallback = build_engine(settings.fallback, settings, key="tts.fallback")
            for key, language in (("tts.language", settings.language), ("tts.voice", None)):
                try:
                    self.resolve(None, language)
                except UnknownVoice as exc:
                    raise EngineUnavailable(key, str(exc)) from exc
        except EngineUnavailable:
            self.close()
            raise

    def resolve(self, voice: str | None, language: str | None) -> ResolvedVoice:
        """Both engines' voices for these attributes; raises UnknownVoice with the reason."""
        wanted = parse_voice(
            voice,
            language,
            default_voice=self.settings.voice,
            default_language=self.settings.language,
        )
        primary = self.primary.resolve(wanted)
        fallback = self.fallback.resolve(wanted) if self.fallback is not None else None
        return ResolvedVoice(wanted, primary, fallback)

    def check_voice(self, voice: str | None, language: str | None) -> str | None:
        """Why a prompt with these attributes cannot be rendered, or None if it can."""
        try:
            self.resolve(voice, language)
        except UnknownVoice as exc:
            return str(exc)
        return None

    def close(self) -> None:
        self.primary.close()
        if self.fallback is not None:
            self.fallback.close()
