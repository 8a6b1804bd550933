"""Twilio-style `voice` and `language` attributes, understood independently of any engine.

TwiML `<Say voice="alice" language="en-GB">` names voices as Twilio does:
"man", "woman", "alice", "Polly.<Name>" (Amazon Polly, optionally "-Neural" or
"-Generative") and "Google.<lang>-<REGION>-<Type>-<Letter>". Any other name is
taken as an engine's own voice name (an espeak-ng voice such as "en-us" or
"en-gb-x-rp+f3"), which the engine then accepts or refuses. `parse_voice` turns
the attributes into a `Voice`: a language, a gender when one was asked for, and
the native name if one was given. Engines map a `Voice` onto their own voices.

Defaults, when an attribute is absent:
- neither: the configured voice in the configured language;
- only a language: that language's default voice;
- only a voice: Polly and Google voices speak their own language, a native name
  the language its engine gives it, "man"/"woman"/"alice" the configured language.

A Polly or Google voice asked to speak another language is refused: that is a
different voice, and substituting one silently is what validation exists to catch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tts.errors import UnknownVoice


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"


@dataclass(frozen=True)
class Voice:
    """What a prompt asks for, before any engine has had its say."""

    requested: str  # the voice attribute as written (or the configured default)
    language: str | None  # BCP 47, normalised ("en-US"); None: the native voice's own
    gender: Gender | None = None  # None: the engine's default for the language
    native: str | None = None  # an engine's own voice name, to be resolved by that engine


GENERIC_VOICES: Final = {"man": Gender.MALE, "woman": Gender.FEMALE, "alice": Gender.FEMALE}

# Amazon Polly's voices as Twilio names them, by language and gender (accents dropped:
# "Polly.Celine" is "Polly.Céline").
_POLLY_BY_LANGUAGE: Final = {
    ("en-US", Gender.FEMALE): "Joanna Salli Kimberly Kendra Ivy Ruth Danielle",
    ("en-US", Gender.MALE): "Matthew Joey Justin Kevin Stephen Gregory",
    ("en-GB", Gender.FEMALE): "Amy Emma",
    ("en-GB", Gender.MALE): "Brian Arthur Geraint",
    ("en-AU", Gender.FEMALE): "Nicole Olivia",
    ("en-AU", Gender.MALE): "Russell",
    ("en-IN", Gender.FEMALE): "Aditi Raveena Kajal",
    ("en-IE", Gender.FEMALE): "Niamh",
    ("en-NZ", Gender.FEMALE): "Aria",
    ("en-ZA", Gender.FEMALE): "Ayanda",
    ("fr-FR", Gender.FEMALE): "Celine Lea",
    ("fr-FR", Gender.MALE): "Mathieu Remi",
    ("fr-CA", Gender.FEMALE): "Chantal Gabrielle",
    ("fr-CA", Gender.MALE): "Liam",
    ("es-ES", Gender.FEMALE): "Conchita Lucia",
    ("es-ES", Gender.MALE): "Enrique Sergio",
    ("es-MX", Gender.FEMALE): "Mia",
    ("es-MX", Gender.MALE): "Andres",
    ("es-US", Gender.FEMALE): "Penelope Lupe",
    ("es-US", Gender.MALE): "Miguel Pedro",
    ("de-DE", Gender.FEMALE): "Marlene Vicki",
    ("de-DE", Gender.MALE): "Hans Daniel",
    ("de-AT", Gender.FEMALE): "Hannelore",
    ("it-IT", Gender.FEMALE): "Carla Bianca",
    ("it-IT", Gender.MALE): "Giorgio Adriano",
    ("pt-BR", Gender.FEMALE): "Vitoria Camila",
    ("pt-BR", Gender.MALE): "Ricardo Thiago",
    ("pt-PT", Gender.FEMALE): "Ines",
    ("pt-PT", Gender.MALE): "Cristiano",
    ("nl-NL", Gender.FEMALE): "Lotte Laura",
    ("nl-NL", Gender.MALE): "Ruben",
    ("da-DK", Gender.FEMALE): "Naja Sofie",
    ("da-DK", Gender.MALE): "Mads",
    ("nb-NO", Gender.FEMALE): "Liv Ida",
    ("sv-SE", Gender.FEMALE): "Astrid Elin",
    ("fi-FI", Gender.FEMALE): "Suvi",
    ("pl-PL", Gender.FEMALE): "Ewa Maja",
    ("pl-PL", Gender.MALE): "Jacek Jan",
    ("ru-RU", Gender.FEMALE): "Tatyana",
    ("ru-RU", Gender.MALE): "Maxim",
    ("tr-TR", Gender.FEMALE): "Filiz",
    ("ro-RO", Gender.FEMALE): "Carmen",
    ("is-IS", Gender.FEMALE): "Dora",
    ("is-IS", Gender.MALE): "Karl",
    ("cy-GB", Gender.FEMALE): "Gwyneth",
    ("ja-JP", Gender.FEMALE): "Mizuki",
    ("ja-JP", Gender.MALE): "Takumi",
    ("ko-KR", Gender.FEMALE): "Seoyeon",
    ("zh-CN", Gender.FEMALE): "Zhiyu",
    ("ar", Gender.FEMALE): "Zeina",
}
POLLY_VOICES: Final = {
    name: (language, gender)
    for (language, gender), names in _POLLY_BY_LANGUAGE.items()
    for name in names.split()
}
_POLLY_BY_KEY: Final = {name.casefold(): name for name in POLLY_VOICES}
_POLLY_STYLES: Final = ("-neural", "-generative", "-longform", "-standard")

_LANGUAGE_TAG: Final = re.compile(
    r"(?P<lang>[a-z]{2,3})(?:[-_](?P<script>[a-z]{4}))?(?:[-_](?P<region>[a-z]{2}|\d{3}))?",
    re.IGNORECASE,
)
_LEADING_TAG: Final = re.compile(_LANGUAGE_TAG.pattern + r"(?=-|$)", re.IGNORECASE)
_GOOGLE_VOICE: Final = re.compile(
    r"google\.(?P<language>[a-z]{2,3}-(?:[a-z]{2}|\d{3}))-(?P<model>[a-z0-9]+(?:-[a-z0-9]+)*)",
    re.IGNORECASE,
)


def normalise_language(tag: str) -> str:
    """ "en_us" -> "en-US", "zh-hant-tw" -> "zh-Hant-TW"; raises UnknownVoice if not a tag."""
    match = _LANGUAGE_TAG.fullmatch(tag.strip())
    if match is None:
        raise UnknownVoice(f"{tag!r} is not a language tag such as en-US, en-GB or fr-FR")
    parts = [match["lang"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts)


def primary_language(tag: str) -> str:
    """The language without script or region: "en-GB" -> "en"."""
    return tag.split("-", 1)[0].lower()


def language_of_native(name: str) -> str | None:
    """The language an engine's voice name starts with, if any: "en-gb-x-rp" -> "en-GB"."""
    match = _LEADING_TAG.match(name.split("+", 1)[0])
    return normalise_language(match.group(0)) if match else None


def parse_voice(
    voice: str | None, language: str | None, *, default_voice: str, default_language: str
) -> Voice:
    """The `Voice` that `voice` and `language` (either may be None or empty) ask for.

    Raises UnknownVoice naming what is wrong: a malformed language, an unknown Polly
    or Google voice, or one asked to speak a language it does not.
    """
    voice = (voice or "").strip() or None
    tag = normalise_language(language) if language and language.strip() else None
    if voice is None and tag is None:
        voice, tag = default_voice, normalise_language(default_language)
    if voice is None:
        return Voice(requested="", language=tag)
    generic = GENERIC_VOICES.get(voice.lower())
    if generic is not None:
        return Voice(voice, tag or normalise_language(default_language), generic)
    prefix, _, rest = voice.partition(".")
    if prefix.lower() == "polly" and rest:
        own, gender = _polly(voice, rest)
        return Voice(voice, _same_language(voice, own, tag), gender)
    if prefix.lower() == "google" and rest:
        match = _GOOGLE_VOICE.fullmatch(voice)
        if match is None:
            raise UnknownVoice(
                f"unknown Google voice {voice!r}: expected Google.<lang>-<REGION>-<Type>-<Letter>"
                ", e.g. Google.en-US-Standard-C"
            )
        return Voice(voice, _same_language(voice, normalise_language(match["language"]), tag))
    return Voice(voice, tag, native=voice)


def _polly(voice: str, rest: str) -> tuple[str, Gender]:
    key = _without_accents(rest).casefold()
    for style in _POLLY_STYLES:
        key = key.removesuffix(style)
    name = _POLLY_BY_KEY.get(key)
    if name is None:
        raise UnknownVoice(f"unknown Amazon Polly voice {voice!r} (see `dialer tts voices`)")
    return POLLY_VOICES[name]


def _same_language(voice: str, own: str, asked: str | None) -> str:
    if asked is not None and primary_language(asked) != primary_language(own):
        raise UnknownVoice(f"{voice} speaks {own}, not {asked}")
    return own  # its own accent, whatever region was asked for: it is that voice


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
