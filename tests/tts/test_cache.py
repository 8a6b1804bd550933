"""The prompt cache: content-addressed keys, hits and misses, atomic files, LRU eviction."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from tts.cache import CacheKey, PromptCache

KEY = CacheKey("espeak-ng", "1.51", "gmw/en-US", "en-us", 165, 50, "Hello.")


def key(text: str) -> CacheKey:
    return dataclasses.replace(KEY, text=text)


def files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("field", "other"),
    [("engine", "gtts"), ("engine_version", "1.52"), ("voice", "gmw/en-US+f3"),
     ("language", "en-gb"), ("speed_wpm", 166), ("pitch", 51), ("text", "Hello!")],
)  # fmt: skip
def test_every_field_is_in_the_key(field: str, other: object) -> None:
    assert dataclasses.replace(KEY, **{field: other}).digest != KEY.digest


def test_key_is_a_sha256_of_a_canonical_encoding() -> None:
    assert KEY.digest == CacheKey(*dataclasses.astuple(KEY)).digest
    assert len(KEY.digest) == 64 and int(KEY.digest, 16) >= 0
    # fields cannot run into each other: ("a b", "c") and ("a", "b c") differ
    one = dataclasses.replace(KEY, voice="a b", language="c")
    two = dataclasses.replace(KEY, voice="a", language="b c")
    assert one.digest != two.digest


def test_miss_then_memory_hit_then_disk_hit(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=10_000)
    assert cache.get(KEY) is None
    cache.put(KEY, b"\x01\x02\x03")
    assert cache.get(KEY) == b"\x01\x02\x03"
    reopened = PromptCache(tmp_path, max_bytes=10_000)
    assert reopened.get(KEY) == b"\x01\x02\x03"
    assert (cache.stats().misses, cache.stats().memory_hits) == (1, 1)
    assert (reopened.stats().disk_hits, reopened.stats().hit_rate) == (1, 1.0)


def test_file_is_raw_ulaw_under_its_digest(tmp_path: Path) -> None:
    PromptCache(tmp_path, max_bytes=10_000).put(KEY, b"\xff" * 80)
    digest = KEY.digest
    assert files(tmp_path) == [tmp_path / digest[:2] / f"{digest}.ulaw"]
    assert files(tmp_path)[0].read_bytes() == b"\xff" * 80


def test_empty_audio_is_not_stored(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=10_000)
    cache.put(KEY, b"")
    assert cache.get(KEY) is None and files(tmp_path) == []


def test_a_crash_mid_write_leaves_nothing_that_is_ever_played(tmp_path: Path) -> None:
    """What a crash leaves: the temporary file, never a final name with half the audio."""
    shard = tmp_path / KEY.digest[:2]
    shard.mkdir()
    stray = shard / f".{KEY.digest}-half.tmp"
    stray.write_bytes(b"\x01" * 10)
    in_progress = shard / ".another-process-writing.tmp"
    in_progress.write_bytes(b"\x01" * 10)
    os.utime(stray, (time.time() - 3600, time.time() - 3600))
    cache = PromptCache(tmp_path, max_bytes=10_000)
    assert not stray.exists()  # an old one is cleaned at start
    assert in_progress.exists()  # a young one may be another process's write
    assert cache.get(KEY) is None


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PromptCache(tmp_path, max_bytes=10_000)

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    cache.put(KEY, b"\x01" * 100)  # logged, not raised: the prompt still plays from memory
    assert files(tmp_path) == []
    assert cache.get(KEY) == b"\x01" * 100
    monkeypatch.undo()
    assert PromptCache(tmp_path, max_bytes=10_000).get(KEY) is None


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=100_000)
    for index in range(20):
        cache.put(key(str(index)), bytes([index + 1]) * 100)
    assert all(path.suffix == ".ulaw" for path in files(tmp_path))
    assert len(files(tmp_path)) == 20


def test_eviction_removes_least_recently_used_files(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=1000, memory_max_bytes=0)
    for name in "abcd":
        cache.put(key(name), b"\x01" * 300)
    # 1200 bytes > 1000: "a", the oldest, went
    assert cache.get(key("a")) is None
    assert cache.get(key("b")) is not None  # "b" is now the most recently used
    cache.put(key("e"), b"\x01" * 300)
    assert cache.get(key("c")) is None  # "c" was the least recently used, not "b"
    assert [cache.get(key(name)) is not None for name in "bde"] == [True, True, True]
    assert cache.stats().disk_bytes == 900 and len(files(tmp_path)) == 3


def test_lru_order_survives_a_restart(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=10_000, memory_max_bytes=0)
    for index, name in enumerate("abc"):
        cache.put(key(name), b"\x01" * 300)
        path = tmp_path / key(name).digest[:2] / f"{key(name).digest}.ulaw"
        os.utime(path, (1_000_000 + index, 1_000_000 + index))  # a, b, c: oldest first
    cache.get(key("a"))  # a hit refreshes the file's time
    smaller = PromptCache(tmp_path, max_bytes=700, memory_max_bytes=0)
    assert smaller.get(key("b")) is None  # the least recently used
    assert smaller.get(key("a")) is not None and smaller.get(key("c")) is not None


def test_a_prompt_larger_than_the_disk_bound_stays_in_memory_only(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=100)
    cache.put(KEY, b"\x01" * 200)
    assert files(tmp_path) == [] and cache.get(KEY) == b"\x01" * 200


def test_memory_is_bounded(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=100_000, memory_max_bytes=500)
    for name in "abc":
        cache.put(key(name), b"\x01" * 200)
    cache.get(key("a"))  # evicted from memory: read from disk
    cache.get(key("c"))  # still in memory
    assert (cache.stats().disk_hits, cache.stats().memory_hits) == (1, 1)


def test_a_file_removed_by_another_process_is_a_miss(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=10_000, memory_max_bytes=0)
    cache.put(KEY, b"\x01" * 10)
    for path in files(tmp_path):
        path.unlink()
    assert cache.get(KEY) is None
    assert cache.stats().disk_bytes == 0
