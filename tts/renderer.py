"""The renderer: text in, 8 kHz μ-law out, cached, with the fallback engine behind the primary.

What the rest of the dialer uses. Built from `TtsSettings` (refused at once, with
the key, if an engine cannot run or the default voice cannot be spoken):

    renderer = Renderer(config.tts)
    audio = await renderer.render_async("Hello Maria.", voice="alice", language="en-GB")

A prompt is rendered sentence by sentence, each sentence cached on its own (see
`tts.sentences`), all by one engine so a prompt never changes voice halfway. If
the primary engine fails, the whole prompt is rendered by the fallback, and the
primary is skipped for `retry_after_s` (`tts.health`); only when the fallback
fails too, or there is none, does rendering raise, with one `TtsError` saying
both reasons. An unknown voice raises `UnknownVoice` (a `TtsError`) before any
engine runs: it is a validation error, not an engine failure.

`render` blocks; `render_async` runs it on the renderer's own bounded thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dialer.config import TtsSettings
from media.audiofile import SAMPLE_RATE
from tts.cache import CacheKey, CacheStats, PromptCache
from tts.engine import Engine, EngineVoice
from tts.engines import Engines
from tts.errors import EngineError, EngineUnavailable, TtsError
from tts.health import EngineHealth
from tts.sentences import split_sentences

_MIB = 1024 * 1024


@dataclass(frozen=True)
class RenderedPrompt:
    audio: bytes  # 8 kHz mono μ-law
    engine: str  # the engine that rendered it
    voice: str  # that engine's voice
    language: str
    fallback_used: bool
    sentences: int
    cached_sentences: int  # of `sentences`, found in the cache
    primary_error: str | None  # why the primary engine did not render it

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    @property
    def cache_hit(self) -> bool:
        """Nothing had to be synthesized."""
        return self.cached_sentences == self.sentences


class Renderer:
    def __init__(
        self,
        settings: TtsSettings,
        *,
        workers: int = 4,
        retry_after_s: float = 30.0,
        per_sentence: bool = True,
        memory_cache_mb: float = 16.0,
    ) -> None:
        """Raises EngineUnavailable (a ConfigError naming the key) if it cannot work."""
        self.settings = settings
        self.per_sentence = per_sentence
        try:
            self.cache = PromptCache(
                Path(settings.cache_dir),
                max_bytes=settings.cache_max_mb * _MIB,
                memory_max_bytes=int(memory_cache_mb * _MIB),
            )
        except OSError as exc:
            reason = f"cannot use {settings.cache_dir}: {exc.strerror or exc}"
            raise EngineUnavailable("tts.cache_dir", reason) from exc
        self.engines = Engines(settings)
        fallback = self.engines.fallback
        self._health = EngineHealth(
            self.engines.primary.name,
            fallback=fallback.name if fallback else None,
            retry_after_s=retry_after_s,
        )
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="tts-render")
        self._rendering: dict[str, Future[bytes]] = {}  # digest -> the synthesis under way
        self._rendering_lock = threading.Lock()

    def render(self, text: str, *, voice: str | None = None, language: str | None = None) -> bytes:
        """`text` as 8 kHz μ-law; raises TtsError (UnknownVoice for a voice that cannot be)."""
        return self.render_prompt(text, voice=voice, language=language).audio

    async def render_async(
        self, text: str, *, voice: str | None = None, language: str | None = None
    ) -> bytes:
        """`render` off the event loop, on the renderer's thread pool.

        A prompt already cached is returned at once: a call that answers must not queue
        behind the renders being prepared for the contacts dialled next."""
        if self.cached(text, voice=voice, language=language, count=False) is not None:
            # Counted once, as the hit it is (the peek has put it in memory).
            cached = self.cached(text, voice=voice, language=language)
            if cached is not None:
                return cached
        job = functools.partial(self.render, text, voice=voice, language=language)
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def render_prompt(
        self, text: str, *, voice: str | None = None, language: str | None = None
    ) -> RenderedPrompt:
        """`render`, saying which engine rendered it, whether it fell back, what was cached."""
        resolved = self.engines.resolve(voice, language)
        primary, fallback = self.engines.primary, self.engines.fallback
        pieces = self._pieces(text)
        if fallback is None or resolved.fallback is None:
            try:
                audio, hits = self._render_with(primary, resolved.primary, pieces)
            except EngineError as exc:
                raise TtsError(f"{primary.name} failed ({exc}); no fallback configured") from exc
            return self._prompt(audio, hits, resolved.primary, pieces)
        if self._health.available():
            try:
                audio, hits = self._render_with(primary, resolved.primary, pieces)
            except EngineError as exc:
                self._health.failed(exc)
                error = str(exc)
            else:
                self._health.succeeded()
                return self._prompt(audio, hits, resolved.primary, pieces)
        else:
            cached = self._from_cache(primary, resolved.primary, pieces)
            if cached is not None:  # skipped, but this prompt is cached in its own voice
                return self._prompt(cached, len(pieces), resolved.primary, pieces)
            error = f"skipped for {self._health.retry_after_s:g} s after a failure"
        try:
            audio, hits = self._render_with(fallback, resolved.fallback, pieces)
        except EngineError as exc:
            raise TtsError(
                f"{primary.name} failed ({error}) and the fallback {fallback.name} failed ({exc})"
            ) from exc
        return self._prompt(audio, hits, resolved.fallback, pieces, primary_error=error)

    def cached(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        count: bool = True,
    ) -> bytes | None:
        """The prompt if every sentence of it is cached (the primary's voice first), else None.

        `count` False leaves the hit and miss counters alone (a peek)."""
        resolved = self.engines.resolve(voice, language)
        pieces = self._pieces(text)
        choices = [(self.engines.primary, resolved.primary)]
        if self.engines.fallback is not None and resolved.fallback is not None:
            choices.append((self.engines.fallback, resolved.fallback))
        for engine, engine_voice in choices:
            audio = self._from_cache(engine, engine_voice, pieces, count=count)
            if audio is not None:
                return audio
        return None

    def check_voice(self, voice: str | None, language: str | None) -> str | None:
        """Why prompts with these `<Say>` attributes cannot be rendered, or None if they can."""
        return self.engines.check_voice(voice, language)

    def cache_stats(self) -> CacheStats:
        return self.cache.stats()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.engines.close()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _pieces(self, text: str) -> list[str]:
        if self.per_sentence:
            return split_sentences(text)
        whole = " ".join(text.split())
        return [whole] if whole else []

    def _key(self, engine: Engine, voice: EngineVoice, piece: str) -> CacheKey:
        speed, pitch = self.settings.speed_wpm, self.settings.pitch
        return CacheKey(
            engine.name, engine.version, voice.name, voice.language, speed, pitch, piece
        )

    def _from_cache(
        self, engine: Engine, voice: EngineVoice, pieces: list[str], *, count: bool = True
    ) -> bytes | None:
        """The pieces joined if every one is cached, else None."""
        audio: list[bytes] = []
        for piece in pieces:
            found = self.cache.get(self._key(engine, voice, piece), count=count)
            if found is None:
                return None
            audio.append(found)
        return b"".join(audio)

    def _render_with(
        self, engine: Engine, voice: EngineVoice, pieces: list[str]
    ) -> tuple[bytes, int]:
        """The pieces joined, and how many were not synthesized for this prompt (cached, or
        synthesized meanwhile by another thread). Raises EngineError."""
        audio: list[bytes] = []
        hits = 0
        for piece in pieces:
            key = self._key(engine, voice, piece)
            found = self.cache.get(key)
            if found is None:
                found, synthesized = self._synthesize_once(engine, voice, key)
                hits += not synthesized
            else:
                hits += 1
            audio.append(found)
        return b"".join(audio), hits

    def _synthesize_once(
        self, engine: Engine, voice: EngineVoice, key: CacheKey
    ) -> tuple[bytes, bool]:
        """The piece's audio, and whether this thread synthesized it. Threads missing the
        same piece at once wait for the first one's synthesis (a campaign's calls start
        together and share sentences), so it is rendered once and all play the same audio."""
        with self._rendering_lock:
            pending = self._rendering.get(key.digest)
            mine = pending is None
            if pending is None:
                pending = self._rendering[key.digest] = Future()
        if not mine:
            return pending.result(), False  # re-raises the first thread's EngineError
        try:
            found = self.cache.get(key, count=False)  # finished just before we looked
            if found is None:
                found = engine.synthesize(key.text, voice, speed_wpm=key.speed_wpm, pitch=key.pitch)
                self.cache.put(key, found)
            pending.set_result(found)
            return found, True
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._rendering_lock:
                del self._rendering[key.digest]

    @staticmethod
    def _prompt(
        audio: bytes,
        hits: int,
        voice: EngineVoice,
        pieces: list[str],
        *,
        primary_error: str | None = None,
    ) -> RenderedPrompt:
        return RenderedPrompt(
            audio, voice.engine, voice.name, voice.language, primary_error is not None,
            len(pieces), hits, primary_error,
        )  # fmt: skip
