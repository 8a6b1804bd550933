"""`dialer tts ...`: hear what a prompt will sound like, and see which voices there are.

    dialer tts say "TEXT" --out preview.wav [--voice V] [--language L] [--engine E]
                   [--config FILE] [--json]
    dialer tts voices [--engine E] [--language L] [--config FILE] [--json]

`say` renders as a call would (same engines, fallback and cache) and writes the
8 kHz audio as a 16-bit PCM WAV any player opens; it prints the engine that
rendered it, whether the fallback stood in, the duration and whether it came
from the cache. Exit status: 0 written, 1 could not render or write, 2 a wrong
command line, voice or configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import time
import wave
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from dialer.commands.output import EXIT_FAILED, EXIT_USAGE, emit
from dialer.config import TTS_ENGINES, Config, TtsSettings
from media.audiofile import SAMPLE_RATE
from media.g711 import ulaw_decode

if TYPE_CHECKING:
    from tts.engines import Engines


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tts = commands.add_parser("tts", help="text-to-speech: preview prompts, list voices")
    actions = tts.add_subparsers(dest="tts_command", required=True)
    say = actions.add_parser("say", help="render TEXT to a WAV file, as a call would")
    say.add_argument("text")
    say.add_argument("--out", required=True, help="the WAV file to write")
    say.add_argument("--voice", help='a voice: "alice", "Polly.Joanna", an espeak-ng voice...')
    say.add_argument("--language", help="a language tag such as en-GB (default: tts.language)")
    voices = actions.add_parser("voices", help="the voices and languages that can be used")
    voices.add_argument("--language", help="only voices speaking this language (e.g. fr)")
    for parser in (say, voices):
        parser.add_argument("--engine", choices=TTS_ENGINES, help="instead of tts.engine")
        parser.add_argument("--config", help="config.toml (default: embedded defaults)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")


def tts_command(args: argparse.Namespace, config: Config) -> int:
    settings = config.tts
    if args.engine:
        settings = dataclasses.replace(settings, engine=args.engine)
    if args.tts_command == "say":
        return _say(args, settings)
    return _voices(args, settings)


def _say(args: argparse.Namespace, settings: TtsSettings) -> int:
    # tts is imported here, not above: it loads gTTS and requests (~50 ms) other commands skip.
    from tts.errors import TtsError, UnknownVoice
    from tts.renderer import Renderer

    with Renderer(settings) as renderer:
        started = time.perf_counter()
        try:
            prompt = renderer.render_prompt(args.text, voice=args.voice, language=args.language)
        except UnknownVoice as exc:
            print(f"dialer: cannot use that voice: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except TtsError as exc:
            print(f"dialer: cannot render: {exc}", file=sys.stderr)
            return EXIT_FAILED
        render_ms = (time.perf_counter() - started) * 1000
    try:
        _write_wav(Path(args.out), prompt.audio)
    except OSError as exc:
        print(f"dialer: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return emit(
        {
            "out": args.out,
            "engine": prompt.engine,
            "voice": prompt.voice,
            "language": prompt.language,
            "fallback_used": prompt.fallback_used,
            "primary_error": prompt.primary_error,
            "duration_s": round(prompt.duration_s, 3),
            "cache_hit": prompt.cache_hit,
            "sentences": prompt.sentences,
            "cached_sentences": prompt.cached_sentences,
            "render_ms": round(render_ms, 1),
        },
        as_json=args.json,
    )


def _write_wav(path: Path, ulaw: bytes) -> None:
    path.write_bytes(wav_bytes(ulaw))


def wav_bytes(ulaw: bytes) -> bytes:
    """8 kHz μ-law as a 16-bit PCM WAV file anything plays (the API's TTS preview too)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(ulaw_decode(ulaw))
    return out.getvalue()


def _voices(args: argparse.Namespace, settings: TtsSettings) -> int:
    from tts.engines import Engines
    from tts.errors import UnknownVoice
    from tts.voices import normalise_language, primary_language

    try:
        wanted = primary_language(normalise_language(args.language)) if args.language else None
    except UnknownVoice as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def speaks(languages: Iterable[str]) -> bool:
        return wanted is None or any(primary_language(tag) == wanted for tag in languages)

    with closing(Engines(settings)) as engines:
        twilio = _twilio_voices(engines, speaks)
        listed = [
            {"name": voice.name, "languages": list(voice.languages), "about": voice.description}
            for voice in engines.primary.voices()
            if speaks(voice.languages)
        ]
        fallback = engines.fallback.name if engines.fallback else None
    return emit(
        {
            "engine": settings.engine,
            "fallback": fallback,
            "default_voice": settings.voice,
            "default_language": settings.language,
            "twilio_voices": twilio,
            "engine_voices": listed,
        },
        as_json=args.json,
    )


def _twilio_voices(
    engines: Engines, speaks: Callable[[Iterable[str]], bool]
) -> list[dict[str, object]]:
    """Twilio's voice names, each with the engine voice it renders as (or why it cannot)."""
    from tts.errors import UnknownVoice
    from tts.voices import GENERIC_VOICES, POLLY_VOICES

    def row(voice: str, language: str, gender: str) -> dict[str, object]:
        try:
            renders_as = engines.resolve(voice, None).primary.name
        except UnknownVoice as exc:
            renders_as = f"cannot: {exc}"
        return {"voice": voice, "language": language, "gender": gender, "renders_as": renders_as}

    rows = [row(name, "any", str(gender)) for name, gender in GENERIC_VOICES.items()]
    rows += [
        row(f"Polly.{name}", language, str(gender))
        for name, (language, gender) in sorted(POLLY_VOICES.items())
        if speaks([language])
    ]
    rows.append(
        {"voice": "Google.<lang>-<REGION>-<Type>-<Letter>", "language": "its own",
         "gender": "-", "renders_as": "the engine's voice for that language"}
    )  # fmt: skip
    return rows
