"""espeak-ng for real, both paths: in process (libespeak-ng) and the program."""

from __future__ import annotations

import threading

import pytest

from tts.engine import EngineVoice
from tts.errors import EngineError, UnknownVoice
from tts.espeak import EspeakEngine
from tts.espeak_library import EspeakLibrary
from tts.voices import parse_voice

from .measures import duration_s, median_f0, rms

SENTENCE = "Hello, this is a reminder about your appointment on Tuesday."
BACKENDS = ["library", "command"]


def voice_for(engine: EspeakEngine, voice: str | None, language: str | None = None) -> EngineVoice:
    wanted = parse_voice(voice, language, default_voice="en-us", default_language="en-US")
    return engine.resolve(wanted)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> EspeakEngine:
    return EspeakEngine(request.param)


def say(engine: EspeakEngine, text: str = SENTENCE, voice: str | None = None, **kw: int) -> bytes:
    options = {"speed_wpm": 165, "pitch": 50, **kw}
    return engine.synthesize(text, voice_for(engine, voice), **options)


def test_output_is_8khz_ulaw_speech_of_plausible_length(engine: EspeakEngine) -> None:
    audio = say(engine)
    # ten words at 165 wpm: about 3.6 s, plus espeak's pauses
    assert 2.5 < duration_s(audio) < 6.0
    assert rms(audio) > 1000  # speech, not silence
    assert 80 < median_f0(audio) < 160  # espeak's default speaker is male


def test_output_is_the_22khz_rendering_resampled_to_8khz() -> None:
    library = EspeakLibrary.shared()
    engine = EspeakEngine("library")
    voice = voice_for(engine, None)
    pcm, rate = library.synthesize(SENTENCE, voice.name, speed_wpm=165, pitch=50)
    audio = engine.synthesize(SENTENCE, voice, speed_wpm=165, pitch=50)
    assert rate == 22050
    # espeak's renderings differ by a few ms from one call to the next
    assert len(audio) == pytest.approx(len(pcm) / 2 * 8000 / 22050, rel=0.02)


def test_speed_changes_duration(engine: EspeakEngine) -> None:
    slow, fast = say(engine, speed_wpm=120), say(engine, speed_wpm=300)
    assert duration_s(slow) > 1.8 * duration_s(fast)


def test_pitch_changes_the_speaker(engine: EspeakEngine) -> None:
    assert median_f0(say(engine, pitch=90)) > 1.4 * median_f0(say(engine, pitch=10))


def test_female_and_male_voices_differ(engine: EspeakEngine) -> None:
    man, woman = say(engine, voice="man"), say(engine, voice="woman")
    assert median_f0(woman) > 1.6 * median_f0(man)


def test_languages_differ() -> None:
    engine = EspeakEngine()
    french = engine.resolve(parse_voice(None, "fr-FR", default_voice="x", default_language="x"))
    english = voice_for(engine, None)
    text = "Bonjour, votre rendez-vous est mardi."
    assert french.name == "roa/fr" and english.name == "gmw/en-US"
    french_audio = engine.synthesize(text, french, speed_wpm=165, pitch=50)
    english_audio = engine.synthesize(text, english, speed_wpm=165, pitch=50)
    assert abs(duration_s(french_audio) - duration_s(english_audio)) > 0.1


def test_both_paths_know_the_same_voices() -> None:
    library, command = EspeakEngine("library"), EspeakEngine("command")
    assert library.version == command.version != ""
    # names and languages; descriptions differ in spaces (the program prints "_" for " ")
    listed = [(v.name, v.languages) for v in library.voices()]
    assert listed == [(v.name, v.languages) for v in command.voices()]
    assert len(listed) > 100
    for voice, language in [("alice", "en-GB"), ("Polly.Lea", None), ("en-gb-x-rp", None)]:
        assert voice_for(library, voice, language) == voice_for(command, voice, language)


def test_text_is_spoken_never_interpreted(engine: EspeakEngine) -> None:
    # SSML, a phoneme escape, an option-like start, a quote, a NUL: all just text
    for text in ['<speak><break time="10s"/></speak> hi', "[[h@l'oU]]", "-v fr --help", "a\0b"]:
        audio = say(engine, text)
        assert 0.2 < duration_s(audio) < 8.0


def test_unknown_voice_is_refused_at_resolve() -> None:
    engine = EspeakEngine()
    with pytest.raises(UnknownVoice, match="unknown voice 'klingon'"):
        voice_for(engine, "klingon")
    with pytest.raises(UnknownVoice, match="no variant 'nobody'"):
        voice_for(engine, "en-us+nobody")
    with pytest.raises(UnknownVoice, match="no voice for language xx-YY"):
        voice_for(engine, None, "xx-YY")


def test_a_voice_espeak_does_not_have_fails_at_synthesis(engine: EspeakEngine) -> None:
    with pytest.raises(EngineError):
        engine.synthesize("hi", EngineVoice("espeak-ng", "zz/none", "zz"), speed_wpm=165, pitch=50)


def test_threads_rendering_at_once_get_their_own_audio() -> None:
    """libespeak-ng is not thread-safe: without the engine's lock, chunks of one thread's
    audio land in another's."""
    engine = EspeakEngine("library")
    texts = {"short": "Yes.", "long": SENTENCE + " " + SENTENCE}
    alone = {name: duration_s(say(engine, text)) for name, text in texts.items()}
    results: list[tuple[str, float]] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        for _ in range(5):
            length = duration_s(say(engine, texts[name]))
            with lock:
                results.append((name, length))

    threads = [threading.Thread(target=work, args=(name,)) for name in texts for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40
    for name, length in results:
        assert length == pytest.approx(alone[name], rel=0.05), name
