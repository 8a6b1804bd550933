"""Benchmark: text-to-speech render times, cold and cached, and the cache over a campaign.

    .venv/bin/python bench/bench_tts.py --sentences 200 --contacts 1000

1. Each engine that runs here, cold (no cache): espeak-ng in process (libespeak-ng
   through ctypes) and as a program, per sentence, resampling to 8 kHz μ-law included.
2. The renderer on a cached three-sentence prompt: from memory, and from disk (a
   fresh renderer on the same folder, memory cache off).
3. gTTS offline: the time to fail and fall back to espeak-ng, first with every
   prompt trying Google, then with the failing engine skipped after one failure.
   By default HTTPS_PROXY points at a closed port on 127.0.0.1 (offline on any
   machine); `--real-network` uses the machine's own network instead.
4. A 1,000-contact campaign with a templated message, rendered per message and per
   sentence on empty caches: hit rate, syntheses, wall time, cache size.

Numbers, never pass/fail.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialer.config import TtsSettings
from media.audiofile import pcm16_to_ulaw
from tts.espeak import Backend, EspeakEngine
from tts.espeak_library import EspeakLibrary
from tts.renderer import Renderer
from tts.templates import Template
from tts.voices import parse_voice

MESSAGE = (
    "Hello {{customerName}}, this is Northside Clinic. Your appointment is on {{date}}. "
    "Press 1 to confirm, or 2 to speak to our team. Thank you, goodbye."
)
_NAMES = """
    Maria James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William
    Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa
    Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven
    Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian
    Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura
    Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley
    Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon
    Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel
    Patrick Carolyn Frank Janet Raymond Jack Olivia Dennis Heather Jerry Helen Tyler
    Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary
    Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy
    Evelyn Christian Hannah Walter Andrea Keith Megan Austin Cheryl
"""
FIRST_NAMES = _NAMES.split()  # most common first, for the Zipf weights
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _ordinal(day: int) -> str:
    suffix = "th" if 10 < day % 100 < 14 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


DATES = [  # three weeks of working days
    f"{WEEKDAYS[index % 5]} the {_ordinal(day)} of March"
    for index, day in enumerate(day for week in (2, 9, 16) for day in range(week, week + 5))
]
SENTENCES = [
    "Hello {name}, this is a reminder from Northside Clinic.",
    "Your appointment is on {date} at {hour} o'clock.",
    "Please press 1 to confirm, or 2 to speak to someone.",
    "We could not reach you on {date}; please call us back.",
    "Thank you {name}, goodbye.",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def row(label: str, times_ms: list[float], audio_s: float | None = None) -> str:
    mean, p50, p95 = statistics.fmean(times_ms), *(percentile(times_ms, f) for f in (0.5, 0.95))
    text = (
        f"  {label:<34} n={len(times_ms):<5} mean {mean:7.2f} ms   p50 {p50:7.2f}"
        f"   p95 {p95:7.2f}   max {max(times_ms):7.2f}"
    )
    if audio_s is not None:
        text += f"   {audio_s / (sum(times_ms) / 1000):6.0f}x real time"
    return text


def sentences(count: int, seed: int = 4) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(SENTENCES).format(
            name=rng.choice(FIRST_NAMES), date=rng.choice(DATES), hour=rng.randint(8, 17)
        )
        for _ in range(count)
    ]


def bench_engines(count: int) -> None:
    print(f"1. espeak-ng, cold: {count} sentences of 6-12 words, rendered and resampled to 8 kHz")
    texts = sentences(count)
    backend: Backend
    for backend in ("library", "command"):
        engine = EspeakEngine(backend)
        voice = engine.resolve(
            parse_voice(None, None, default_voice="en-us", default_language="en-US")
        )
        engine.synthesize("Warm up.", voice, speed_wpm=165, pitch=50)
        times, audio_s = [], 0.0
        for text in texts:
            started = time.perf_counter()
            audio = engine.synthesize(text, voice, speed_wpm=165, pitch=50)
            times.append((time.perf_counter() - started) * 1000)
            audio_s += len(audio) / 8000
        print(row(f"espeak-ng {backend}", times, audio_s))
    print(f"  mean audio per sentence {audio_s / len(texts):.2f} s; of the time in process:")
    library = EspeakLibrary.shared()
    rendered = [library.synthesize(t, voice.name, speed_wpm=165, pitch=50) for t in texts]
    resampling = [timed(lambda pcm=pcm, rate=rate: pcm16_to_ulaw(pcm, rate), 1)[0]
                  for pcm, rate in rendered]  # fmt: skip
    print(row("resampling 22,050 Hz -> 8 kHz μ-law", resampling))


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_cached(settings: TtsSettings, repeat: int) -> None:
    prompt = Template(MESSAGE).render({"customerName": "Maria", "date": DATES[0]})
    print(f"2. renderer, one prompt of 4 sentences ({prompt!r})")
    with Renderer(settings) as renderer:
        print(row("cold (4 syntheses, 4 writes)", timed(lambda: renderer.render(prompt), 1)))
        print(row("cached, from memory", timed(lambda: renderer.render(prompt), repeat)))
    with Renderer(settings, memory_cache_mb=0) as renderer:
        print(row("cached, from disk (page cache)", timed(lambda: renderer.render(prompt), repeat)))


@contextmanager
def offline(real_network: bool) -> Iterator[str]:
    if real_network:
        yield "the machine's own network"
        return
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        saved = {name: os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy")}
        for name in saved:
            os.environ[name] = f"http://127.0.0.1:{closed.getsockname()[1]}"
        try:
            yield "HTTPS_PROXY at a closed port on 127.0.0.1"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def bench_gtts_offline(settings: TtsSettings, count: int, real_network: bool) -> None:
    gtts = replace(settings, engine="gtts", fallback="espeak-ng", gtts_timeout_s=5.0)
    with offline(real_network) as how:
        print(f"3. gTTS offline ({how}), gtts_timeout_s=5, fallback espeak-ng, new sentences")
        texts = iter(sentences(2 * count + 1, seed=9))
        with Renderer(gtts, retry_after_s=0) as renderer:
            first = renderer.render_prompt(next(texts))
            print(f"  first failure: {first.primary_error}")
            times = timed(lambda: renderer.render(next(texts)), count)
            print(row("every prompt tries Google first", times))
        with Renderer(replace(gtts, cache_dir=gtts.cache_dir + "-skip")) as renderer:
            times = timed(lambda: renderer.render(next(texts)), count)
            print(row("skipped after the first failure", times))


def campaign(contacts: int, seed: int = 11) -> list[str]:
    """The message for each contact: Zipf-distributed first names, a few weeks of dates."""
    rng = random.Random(seed)
    weights = [1 / rank for rank in range(1, len(FIRST_NAMES) + 1)]
    names = rng.choices(FIRST_NAMES, weights=weights, k=contacts)
    template = Template(MESSAGE)
    return [template.render({"customerName": n, "date": rng.choice(DATES)}) for n in names]


def bench_campaign(settings: TtsSettings, contacts: int) -> None:
    messages = campaign(contacts)
    print(
        f"4. campaign of {contacts} contacts: {MESSAGE!r}\n"
        f"   {len(set(messages))} distinct messages, {len(FIRST_NAMES)} names (Zipf), "
        f"{len(DATES)} dates"
    )
    lengths: dict[bool, list[float]] = {}
    for per_sentence in (False, True):
        folder = f"{settings.cache_dir}-{'sentence' if per_sentence else 'message'}"
        with Renderer(replace(settings, cache_dir=folder), per_sentence=per_sentence) as renderer:
            started, cpu = time.perf_counter(), time.process_time()
            lengths[per_sentence] = [len(renderer.render(text)) / 8000 for text in messages]
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            stats = renderer.cache_stats()
        label = "per sentence" if per_sentence else "per message"
        print(
            f"  {label:<13} lookups {stats.hits + stats.misses:5}  hits {stats.hits:5}"
            f"  hit rate {stats.hit_rate:6.1%}  syntheses {stats.misses:5}"
            f"  wall {wall:6.2f} s  CPU {cpu:6.2f} s  cache {stats.disk_bytes / 1e6:6.1f} MB"
        )
    difference = [a - b for a, b in zip(lengths[True], lengths[False], strict=True)]
    print(
        f"  audio per sentence minus per message: mean {statistics.fmean(difference):+.3f} s"
        f" (a message lasts {statistics.fmean(lengths[False]):.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=200, help="cold renders per engine")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200, help="cached renders")
    parser.add_argument("--real-network", action="store_true", help="gTTS on the real network")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="  log: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as folder:
        settings = TtsSettings(cache_dir=str(Path(folder) / "cache"))
        bench_engines(args.sentences)
        bench_cached(replace(settings, cache_dir=settings.cache_dir + "-prompt"), args.repeat)
        bench_gtts_offline(
            replace(settings, cache_dir=settings.cache_dir + "-gtts"), 20, args.real_network
        )
        bench_campaign(settings, args.contacts)


if __name__ == "__main__":
    main()
