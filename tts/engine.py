"""The interface every text-to-speech engine implements, and what it exchanges.

An engine first `resolve`s an engine-independent `Voice` (what a `<Say>` asked
for) into one of its own voices, or refuses it with `UnknownVoice`; then it
`synthesize`s text in that voice into 8 kHz μ-law, or raises `EngineError`.
Resolving apart from synthesizing lets flows be validated without rendering, and
gives the cache a key naming the voice the engine really uses.

`synthesize` is blocking and may be called from several threads at once; an
engine whose library is not thread-safe serializes itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tts.voices import Voice


@dataclass(frozen=True)
class EngineVoice:
    """A voice as one engine names it: what is rendered, and what the cache is keyed by."""

    engine: str  # "espeak-ng", "gtts", "piper"
    name: str  # the engine's own name: "gmw/en-US+f3", "en@co.uk", a Piper model
    language: str  # the language the engine speaks in it, as the engine tags it


@dataclass(frozen=True)
class VoiceListing:
    """One row of `dialer tts voices`: a voice an engine offers."""

    name: str
    languages: tuple[str, ...]
    description: str


class Engine(Protocol):
    @property
    def name(self) -> str:
        """The engine's configuration name: "espeak-ng", "gtts" or "piper"."""
        ...

    @property
    def version(self) -> str:
        """What else decides how its output sounds (engine or model version): in the cache key."""
        ...

    def resolve(self, voice: Voice) -> EngineVoice:
        """The engine's voice for `voice`; raises UnknownVoice with the reason."""
        ...

    def synthesize(self, text: str, voice: EngineVoice, *, speed_wpm: int, pitch: int) -> bytes:
        """`text` spoken in `voice` as 8 kHz mono μ-law; raises EngineError."""
        ...

    def voices(self) -> Sequence[VoiceListing]:
        """The voices this engine offers, for listing."""
        ...

    def close(self) -> None:
        """Release threads or processes the engine holds. Idempotent."""
        ...
