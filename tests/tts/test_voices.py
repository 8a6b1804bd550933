"""Twilio-style voice and language attributes, and the check flows are validated with."""

from __future__ import annotations

import re

import pytest

from dialer.config import TtsSettings
from tts.engines import Engines
from tts.errors import UnknownVoice
from tts.voices import Gender, Voice, language_of_native, normalise_language, parse_voice


def parse(voice: str | None, language: str | None = None) -> Voice:
    return parse_voice(voice, language, default_voice="en-us", default_language="en-US")


@pytest.mark.parametrize(
    ("tag", "normal"),
    [("en-US", "en-US"), ("en_us", "en-US"), ("EN", "en"), ("es-419", "es-419"),
     ("zh-hant-tw", "zh-Hant-TW"), (" fr-fr ", "fr-FR")],
)  # fmt: skip
def test_language_tags_are_normalised(tag: str, normal: str) -> None:
    assert normalise_language(tag) == normal


@pytest.mark.parametrize("tag", ["english", "en-", "e", "en-USA-x", "12"])
def test_malformed_language_is_refused(tag: str) -> None:
    with pytest.raises(UnknownVoice, match="not a language tag"):
        normalise_language(tag)


def test_defaults() -> None:
    assert parse(None) == Voice("en-us", "en-US", native="en-us")
    assert parse("", "") == Voice("en-us", "en-US", native="en-us")
    # a language alone: that language's default voice, not the configured (English) one
    assert parse(None, "fr-FR") == Voice("", "fr-FR")


def test_generic_twilio_voices() -> None:
    assert parse("man") == Voice("man", "en-US", Gender.MALE)
    assert parse("woman", "en-GB") == Voice("woman", "en-GB", Gender.FEMALE)
    assert parse("Alice", "es-MX") == Voice("Alice", "es-MX", Gender.FEMALE)


def test_polly_voices_carry_their_language_and_gender() -> None:
    assert parse("Polly.Joanna") == Voice("Polly.Joanna", "en-US", Gender.FEMALE)
    assert parse("Polly.Brian-Neural") == Voice("Polly.Brian-Neural", "en-GB", Gender.MALE)
    assert parse("Polly.Céline") == Voice("Polly.Céline", "fr-FR", Gender.FEMALE)
    # another region of its language: still that voice, in its own accent
    assert parse("Polly.Joanna", "en-GB").language == "en-US"


def test_polly_voice_in_another_language_is_refused() -> None:
    with pytest.raises(UnknownVoice, match=re.escape("Polly.Joanna speaks en-US, not fr-FR")):
        parse("Polly.Joanna", "fr-FR")


def test_unknown_polly_voice_is_refused() -> None:
    with pytest.raises(UnknownVoice, match=re.escape("unknown Amazon Polly voice 'Polly.Nobody'")):
        parse("Polly.Nobody")


def test_google_voices() -> None:
    assert parse("Google.en-GB-Standard-A") == Voice("Google.en-GB-Standard-A", "en-GB")
    assert parse("Google.de-DE-Chirp3-HD-Aoede").language == "de-DE"
    with pytest.raises(UnknownVoice, match="unknown Google voice"):
        parse("Google.english")
    with pytest.raises(UnknownVoice, match="speaks fr-FR, not de-DE"):
        parse("Google.fr-FR-Wavenet-B", "de-DE")


def test_other_names_are_native_voices() -> None:
    assert parse("en-gb-x-rp") == Voice("en-gb-x-rp", None, native="en-gb-x-rp")
    assert parse("fr+f2", "fr-FR") == Voice("fr+f2", "fr-FR", native="fr+f2")


@pytest.mark.parametrize(
    ("name", "language"),
    [("en-us", "en-US"), ("en-gb-x-rp+f3", "en-GB"), ("fr", "fr"), ("roa/fr", None),
     ("english", None), ("cmn-latn-pinyin", "cmn-Latn")],
)  # fmt: skip
def test_language_of_native_names(name: str, language: str | None) -> None:
    assert language_of_native(name) == language


@pytest.fixture
def engines(settings: TtsSettings) -> Engines:
    return Engines(settings)


@pytest.mark.parametrize(
    ("voice", "language", "espeak"),
    [(None, None, "gmw/en-US"), ("man", None, "gmw/en-US"), ("woman", "en-GB", "gmw/en+f3"),
     ("alice", "en-AU", "gmw/en+f3"), ("Polly.Matthew", None, "gmw/en-US"),
     ("Polly.Lucia", None, "roa/es+f3"), ("Google.pt-BR-Standard-A", None, "roa/pt-BR"),
     (None, "de-DE", "gmw/de"), ("en-gb-x-rp", None, "gmw/en-GB-x-rp"), ("fr-fr", None, "roa/fr"),
     ("en-us+m3", "en-US", "gmw/en-US+m3")],
)  # fmt: skip
def test_espeak_voice_for_twilio_attributes(
    engines: Engines, voice: str | None, language: str | None, espeak: str
) -> None:
    assert engines.resolve(voice, language).primary.name == espeak
    assert engines.check_voice(voice, language) is None


@pytest.mark.parametrize(
    ("voice", "language", "reason"),
    [("klingon", None, "unknown voice 'klingon'"),
     ("Polly.Nobody", None, "unknown Amazon Polly voice"),
     (None, "tlh-QO", "espeak-ng has no voice for language tlh-QO"),
     ("woman", "not a tag", "is not a language tag"),
     ("en-gb-x-rp", "fr-FR", "does not speak fr-FR")],
)  # fmt: skip
def test_check_voice_gives_the_reason(
    engines: Engines, voice: str | None, language: str | None, reason: str
) -> None:
    found = engines.check_voice(voice, language)
    assert found is not None and reason in found


def test_a_voice_must_suit_the_fallback_too(settings: TtsSettings) -> None:
    from dataclasses import replace

    engines = Engines(replace(settings, engine="gtts", fallback="espeak-ng"))
    try:
        resolved = engines.resolve("alice", "en-GB")
        assert (resolved.primary.name, resolved.fallback and resolved.fallback.name) == (
            "en@co.uk",
            "gmw/en+f3",
        )
        # espeak speaks Hawaiian, Google does not: such a prompt could never render on gTTS
        assert engines.check_voice(None, "haw") == "gtts cannot speak haw"
        # an espeak file name means nothing to Google
        assert "gtts has no voice 'roa/fr'" in (engines.check_voice("roa/fr", None) or "")
    finally:
        engines.close()
