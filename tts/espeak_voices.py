"""espeak-ng's voices and how a requested `Voice` maps onto one of them.

An espeak voice is a file (identifier "gmw/en-US") listing the languages it
speaks with a priority (lower is preferred: "en" is spoken by gmw/en at 2 and
by gmw/en-US at 3). A variant ("+f3", a file under voices/!v) changes the
speaker: Twilio's "woman" and "alice" and female Polly voices get `FEMALE_VARIANT`,
the others the voice's own (male) speaker.

Selection by language: the voice listing the exact tag ("en-us"), else the
primary language ("en-AU" -> "en"), best priority first; never another language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tts.errors import UnknownVoice
from tts.voices import Gender, Voice, primary_language

FEMALE_VARIANT: Final = "f3"


@dataclass(frozen=True)
class EspeakVoice:
    identifier: str  # the voice file under espeak-ng-data/voices: "gmw/en-US"
    name: str  # "English (America)"
    languages: tuple[tuple[str, int], ...]  # (lower-case tag, priority), as espeak lists them

    @property
    def basename(self) -> str:
        return self.identifier.rsplit("/", 1)[-1]

    def priority(self, tag: str) -> int | None:
        return min((p for language, p in self.languages if language == tag), default=None)


def variants_in(data_path: Path) -> frozenset[str]:
    """The variant names ("f3", "klatt") in an espeak-ng-data folder."""
    try:
        return frozenset(entry.name for entry in (data_path / "voices" / "!v").iterdir())
    except OSError:
        return frozenset()


def select_voice(voices: Iterable[EspeakVoice], variants: frozenset[str], wanted: Voice) -> str:
    """The name to give espeak (identifier, maybe "+variant") for `wanted`; raises UnknownVoice."""
    listed = tuple(voices)
    if wanted.native is not None:
        return _native(listed, variants, wanted)
    assert wanted.language is not None  # parse_voice gives every non-native voice a language
    voice = by_language(listed, wanted.language)
    if voice is None:
        raise UnknownVoice(f"espeak-ng has no voice for language {wanted.language}")
    if wanted.gender is Gender.FEMALE:
        return f"{voice.identifier}+{FEMALE_VARIANT}"
    return voice.identifier


def by_language(voices: Iterable[EspeakVoice], tag: str) -> EspeakVoice | None:
    """The voice for `tag`: exact tag first, then its primary language; never another language."""
    listed = tuple(voices)
    return _best(listed, tag.lower()) or _best(listed, primary_language(tag))


def _best(voices: tuple[EspeakVoice, ...], tag: str) -> EspeakVoice | None:
    """The voice listing `tag` at the best priority (ties: by identifier, to be stable)."""
    ranked = [(p, v.identifier, v) for v in voices if (p := v.priority(tag)) is not None]
    return min(ranked, key=lambda row: row[:2])[2] if ranked else None


def spoken_language(voice_name: str, voices: Iterable[EspeakVoice]) -> str:
    """The first language the voice (identifier, maybe with "+variant") lists."""
    identifier = voice_name.split("+", 1)[0].lower()
    for voice in voices:
        if voice.identifier.lower() == identifier and voice.languages:
            return voice.languages[0][0]
    return ""


def _native(voices: tuple[EspeakVoice, ...], variants: frozenset[str], wanted: Voice) -> str:
    assert wanted.native is not None
    base, plus, variant = wanted.native.partition("+")
    key = base.lower()
    voice = next((v for v in voices if key in (v.identifier.lower(), v.basename.lower())), None)
    voice = voice or _best(voices, key)  # a language tag espeak lists: "en-gb", "fr-fr"
    if voice is None:
        raise UnknownVoice(f"unknown voice {wanted.native!r} (see `dialer tts voices`)")
    if plus and variant not in variants:
        raise UnknownVoice(f"espeak-ng has no variant {variant!r} (voice {wanted.native!r})")
    if wanted.language is not None:
        spoken = {primary_language(language) for language, _ in voice.languages}
        if primary_language(wanted.language) not in spoken:
            raise UnknownVoice(f"voice {wanted.native!r} does not speak {wanted.language}")
    return f"{voice.identifier}+{variant}" if plus else voice.identifier
