"""Rendered prompts, content-addressed: on disk under `cache_dir`, with a small LRU in memory.

A prompt's key is the SHA-256 of a canonical encoding (JSON of a fixed field
order) of everything that decides its sound: engine and its version, the
engine's voice and language, speed, pitch and the text. The file
`<dir>/<2 hex>/<64 hex>.ulaw` holds raw 8 kHz μ-law.

Writes are atomic: a temporary file in the same folder, flushed to disk, then
renamed over the final name, so a crash leaves either the whole prompt or
nothing (and a stray temporary file, never read: its name does not end in
`.ulaw`; a later start removes it). Hits refresh a file's modification time,
which is the least-recently-used order kept across restarts; past `max_bytes`
the least recently used files are removed. Several processes may share a folder:
each bounds what it knows of, and a file another one evicted is simply a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

FORMAT: Final = "ulaw8k/1"  # part of every key: a change of format misses every old file
SUFFIX: Final = ".ulaw"
_TEMPORARY_SUFFIX: Final = ".tmp"
_TEMPORARY_LIFETIME_S: Final = 600.0  # no write of one prompt takes this long


@dataclass(frozen=True)
class CacheKey:
    engine: str
    engine_version: str
    voice: str
    language: str
    speed_wpm: int
    pitch: int
    text: str

    @property
    def digest(self) -> str:
        fields = [
            FORMAT, self.engine, self.engine_version, self.voice, self.language,
            self.speed_wpm, self.pitch, self.text,
        ]  # fmt: skip
        canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    memory_hits: int
    disk_hits: int
    misses: int
    files: int
    disk_bytes: int

    @property
    def hits(self) -> int:
        return self.memory_hits + self.disk_hits

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class PromptCache:
    def __init__(
        self, directory: Path, *, max_bytes: int, memory_max_bytes: int = 16 * 1024 * 1024
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.memory_max_bytes = memory_max_bytes
        self._lock = threading.Lock()
        self._files: OrderedDict[str, int] = OrderedDict()  # digest -> size, oldest first
        self._disk_bytes = 0
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._memory_bytes = 0
        self._memory_hits = self._disk_hits = self._misses = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._scan()

    def get(self, key: CacheKey, *, count: bool = True) -> bytes | None:
        """The cached audio, or None; `count` False leaves the hit/miss counters alone."""
        digest = key.digest
        path = self._path(digest)
        with self._lock:
            audio = self._memory.get(digest)
            if audio is not None:
                self._memory.move_to_end(digest)
                self._memory_hits += count
                on_disk = digest in self._files
                if on_disk:
                    self._files.move_to_end(digest)
        if audio is not None:
            if on_disk:
                _touch(path)
            return audio
        try:
            audio = path.read_bytes()
        except FileNotFoundError:
            audio = None
        except OSError as exc:
            log.warning("tts cache: cannot read %s: %s", path, exc)
            audio = None
        if audio:
            _touch(path)
        with self._lock:
            if not audio:
                self._misses += count
                self._forget(digest)
                return None
            self._disk_hits += count
            evicted = self._note_file(digest, len(audio))  # another process may have written it
            self._remember(digest, audio)
        self._remove(evicted)
        return audio

    def put(self, key: CacheKey, audio: bytes) -> None:
        """Store `audio` (never empty); a disk that refuses it only costs the disk copy."""
        if not audio:
            return
        digest = key.digest
        with self._lock:
            self._remember(digest, audio)
        if len(audio) > self.max_bytes:
            return
        path = self._path(digest)
        try:
            _write_atomically(path, audio)
        except OSError as exc:
            log.warning("tts cache: cannot write %s: %s", path, exc)
            return
        with self._lock:
            evicted = self._note_file(digest, len(audio))
        self._remove(evicted)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._memory_hits, self._disk_hits, self._misses, len(self._files), self._disk_bytes
            )

    def _path(self, digest: str) -> Path:
        return self.directory / digest[:2] / f"{digest}{SUFFIX}"

    def _scan(self) -> None:
        """Index what earlier runs left, oldest first; drop a crash's temporary files (old
        ones only: a young one may be another process's write in progress)."""
        found: list[tuple[float, str, int]] = []
        stale = time.time() - _TEMPORARY_LIFETIME_S
        for path in self.directory.glob("??/*"):
            try:
                stat = path.stat()
                if path.name.endswith(_TEMPORARY_SUFFIX) and stat.st_mtime < stale:
                    path.unlink(missing_ok=True)
                elif path.suffix == SUFFIX:
                    found.append((stat.st_mtime, path.stem, stat.st_size))
            except OSError as exc:
                log.warning("tts cache: skipping %s: %s", path, exc)
        evicted: list[str] = []
        with self._lock:
            for _, digest, size in sorted(found):
                evicted += self._note_file(digest, size)
        self._remove(evicted)

    def _note_file(self, digest: str, size: int) -> list[str]:
        """Index a file as the most recently used; the digests evicted to stay in bounds."""
        self._disk_bytes += size - self._files.get(digest, 0)
        self._files[digest] = size
        self._files.move_to_end(digest)
        return self._evict()

    def _remove(self, digests: list[str]) -> None:
        for digest in digests:
            self._path(digest).unlink(missing_ok=True)

    def _forget(self, digest: str) -> None:
        self._disk_bytes -= self._files.pop(digest, 0)
        if digest in self._memory:
            self._memory_bytes -= len(self._memory.pop(digest))

    def _evict(self) -> list[str]:
        """Drop the least recently used files from the index until under the bound."""
        evicted: list[str] = []
        while self._disk_bytes > self.max_bytes and self._files:
            digest, size = self._files.popitem(last=False)
            self._disk_bytes -= size
            evicted.append(digest)
        return evicted

    def _remember(self, digest: str, audio: bytes) -> None:
        if len(audio) > self.memory_max_bytes:
            return
        self._memory_bytes += len(audio) - len(self._memory.get(digest, b""))
        self._memory[digest] = audio
        self._memory.move_to_end(digest)
        while self._memory_bytes > self.memory_max_bytes:
            _, dropped = self._memory.popitem(last=False)
            self._memory_bytes -= len(dropped)


def _touch(path: Path) -> None:
    """Refresh the modification time: the LRU order, kept across restarts. Best effort: the
    file may have been evicted meanwhile by another process, or the folder be read-only."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=_TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the data reaches the disk before the name does
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
