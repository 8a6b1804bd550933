"""The renderer on real espeak-ng: caching per sentence, voices, refusals, async."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tts.errors import EngineUnavailable, TtsError, UnknownVoice
from tts.renderer import Renderer

from .measures import duration_s, median_f0, rms


def test_render_gives_speech_and_caches_it(make_renderer: Callable[..., Renderer]) -> None:
    renderer = make_renderer()
    text = "Hello Maria. Your appointment is on Tuesday."
    assert renderer.cached(text) is None
    first = renderer.render_prompt(text)
    assert (first.engine, first.voice, first.fallback_used) == ("espeak-ng", "gmw/en-US", False)
    assert (first.sentences, first.cached_sentences, first.cache_hit) == (2, 0, False)
    assert 2.0 < first.duration_s < 6.0 and rms(first.audio) > 1000
    again = renderer.render_prompt(text)
    assert again.cache_hit and again.audio == first.audio
    assert renderer.cached(text) == first.audio
    stats = renderer.cache_stats()
    assert (stats.misses, stats.hits) == (3, 4)  # cached() before: one miss, then stops


def test_shared_sentences_are_rendered_once(make_renderer: Callable[..., Renderer]) -> None:
    renderer = make_renderer()
    renderer.render("Hello Maria. Press 1 to confirm.")
    second = renderer.render_prompt("Hello Bob. Press 1 to confirm.")
    assert (second.sentences, second.cached_sentences) == (2, 1)


def test_whole_messages_when_not_per_sentence(make_renderer: Callable[..., Renderer]) -> None:
    renderer = make_renderer(per_sentence=False)
    renderer.render("Hello Maria. Press 1 to confirm.")
    second = renderer.render_prompt("Hello Bob. Press 1 to confirm.")
    assert (second.sentences, second.cached_sentences) == (1, 0)


def test_sentence_pieces_sound_like_the_whole(
    make_renderer: Callable[..., Renderer], tmp_path: Path
) -> None:
    text = "Hello Maria. Your appointment is on Tuesday. Thank you."
    pieces = make_renderer().render(text)
    whole = make_renderer(per_sentence=False, cache_dir=str(tmp_path / "whole")).render(text)
    assert duration_s(pieces) == pytest.approx(duration_s(whole), rel=0.1)


def test_each_voice_and_setting_has_its_own_entry(
    make_renderer: Callable[..., Renderer], tmp_path: Path
) -> None:
    renderer = make_renderer()
    man = renderer.render("Thank you.", voice="man")
    assert renderer.cached("Thank you.", voice="woman") is None
    woman = renderer.render("Thank you.", voice="woman")
    assert median_f0(woman) > 1.6 * median_f0(man)
    assert renderer.cached("Thank you.", voice="man", language="en-US") == man
    faster = make_renderer(speed_wpm=300)  # the same cache folder, another speed
    assert faster.cached("Thank you.", voice="man") is None


def test_blank_text_is_silence(make_renderer: Callable[..., Renderer]) -> None:
    prompt = make_renderer().render_prompt("  \n ")
    assert (prompt.audio, prompt.sentences, prompt.cache_hit) == (b"", 0, True)


def test_unknown_voice_raises_before_any_engine_runs(
    make_renderer: Callable[..., Renderer],
) -> None:
    renderer = make_renderer(engine="gtts")
    with pytest.raises(UnknownVoice, match="unknown Amazon Polly voice"):
        renderer.render("Hello.", voice="Polly.Nobody")
    assert issubclass(UnknownVoice, TtsError)
    assert renderer.check_voice("Polly.Nobody", None) is not None
    assert renderer.check_voice("Polly.Amy", None) is None
    assert renderer.cache_stats().misses == 0


@pytest.mark.parametrize(
    ("overrides", "key"),
    [({"voice": "klingon"}, "tts.voice"), ({"language": "xx-YY"}, "tts.language"),
     ({"voice": "en-gb-x-rp", "language": "fr-FR"}, "tts.voice")],
)  # fmt: skip
def test_a_default_voice_that_cannot_be_spoken_is_refused(
    make_renderer: Callable[..., Renderer], overrides: dict[str, str], key: str
) -> None:
    with pytest.raises(EngineUnavailable) as refused:
        make_renderer(**overrides)
    assert refused.value.key == key


def test_an_unusable_cache_folder_is_refused(
    make_renderer: Callable[..., Renderer], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(EngineUnavailable) as refused:
        make_renderer(cache_dir=str(tmp_path / "a-file" / "cache"))
    assert refused.value.key == "tts.cache_dir"


async def test_render_async_runs_off_the_loop(make_renderer: Callable[..., Renderer]) -> None:
    renderer = make_renderer(workers=2)
    texts = [f"Prompt {n}. Thank you." for n in range(6)]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beating = asyncio.create_task(ticker())
    rendered = await asyncio.gather(*(renderer.render_async(text) for text in texts))
    beating.cancel()
    assert ticks > 100  # the loop kept turning while the threads rendered (~30 ms of work)
    assert [renderer.cached(text) for text in texts] == rendered
    assert all(duration_s(audio) > 1.0 for audio in rendered)


async def test_a_cached_prompt_does_not_queue_behind_renders(
    make_renderer: Callable[..., Renderer],
) -> None:
    renderer = make_renderer(workers=1)
    ready = renderer.render("Hello Jane. Your appointment is on Monday.")
    busy = threading.Event()
    # The only render thread is held up, as by the renders for the next contacts.
    blocker = asyncio.get_running_loop().run_in_executor(renderer._pool, busy.wait, 10)
    try:
        audio = await asyncio.wait_for(
            renderer.render_async("Hello Jane. Your appointment is on Monday."), 2
        )
    finally:
        busy.set()
        await blocker
    assert audio == ready
    stats = renderer.cache_stats()
    assert stats.hits == 2 and stats.misses == 2  # the first render's two sentences, then hits
