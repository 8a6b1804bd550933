"""MediaClock: the one 20 ms ticker that paces every RTP stream in the process.

Deadlines are absolute, t0 + n * interval on `loop.time()`, so lateness never
accumulates into drift. Each stream's `on_tick(now)` gets the tick's *scheduled*
time (an exact point on that grid, not the wake-up time): a stream derives how
many intervals passed from it and advances its RTP timestamp by 160 per 20 ms
whatever happened to the loop.

When the loop stalls, the ticks that fell due are served late: the newest
`max_catch_up` (default 3) of them are delivered back to back, so a short stall
(≤ 60 ms) costs no audio, only a burst the far end's jitter buffer absorbs; older
ones are skipped, which the far end sees as loss (the timestamps still jump by
the right amount). Bounding the burst keeps a long stall from flooding the
network and from making the loop later still.

Per-call sleep loops are what this replaces: at 500 calls they cost calls and
jitter (DESIGN.md, facts measured).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from array import array
from dataclasses import asdict, dataclass
from typing import Final, Protocol

__all__ = ["FRAME_INTERVAL", "MediaClock", "TickIntervalStats", "TickSchedule", "TickedStream"]

FRAME_INTERVAL: Final = 0.020
_EARLY_TOLERANCE: Final = 0.001  # a wake-up this close before a deadline serves it

log = logging.getLogger(__name__)


class TickedStream(Protocol):
    """Anything the clock paces. `now` is the tick's scheduled time (loop.time() seconds).

    It must be cheap and must not block; an exception unregisters the stream (one
    broken call never stops the others) and is logged.
    """

    def on_tick(self, now: float) -> None: ...


class TickSchedule:
    """Which deadlines are due at a given time; pure arithmetic, testable with fake time."""

    def __init__(self, start: float, interval: float = FRAME_INTERVAL, max_catch_up: int = 3):
        if interval <= 0 or max_catch_up < 1:
            raise ValueError("interval must be positive and max_catch_up at least 1")
        self.start = start
        self.interval = interval
        self.max_catch_up = max_catch_up
        self._next_index = 0
        self.skipped = 0  # ticks never served (stalls longer than max_catch_up intervals)
        self.caught_up = 0  # ticks served late, in a burst after another

    @property
    def next_deadline(self) -> float:
        return self.start + self._next_index * self.interval

    def due(self, now: float) -> list[float]:
        """Deadlines to serve now, oldest first; marks them served."""
        position = (now - self.start + _EARLY_TOLERANCE) / self.interval
        last = math.floor(position)
        if last < self._next_index:
            return []
        count = last - self._next_index + 1
        if count > self.max_catch_up:
            self.skipped += count - self.max_catch_up
            self._next_index = last - self.max_catch_up + 1
        self.caught_up += min(count, self.max_catch_up) - 1
        deadlines = [self.start + n * self.interval for n in range(self._next_index, last + 1)]
        self._next_index = last + 1
        return deadlines


@dataclass(frozen=True, slots=True)
class TickIntervalStats:
    """Observed wake-up intervals (ideal: the tick interval) and per-tick work time."""

    ticks: int
    interval_p50_ms: float
    interval_p99_ms: float
    interval_max_ms: float
    work_p50_ms: float
    work_p99_ms: float
    work_max_ms: float
    skipped: int
    caught_up: int
    failed_streams: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[max(0, index)]


class _Ring:
    """The last `size` samples, preallocated."""

    def __init__(self, size: int) -> None:
        self._values = array("d", bytes(8 * size))
        self._size = size
        self._count = 0

    def add(self, value: float) -> None:
        self._values[self._count % self._size] = value
        self._count += 1

    def sorted(self) -> list[float]:
        return sorted(self._values[: min(self._count, self._size)])

    def clear(self) -> None:
        self._count = 0


class MediaClock:
    """Calls `on_tick` of every registered stream every `interval` seconds."""

    def __init__(
        self,
        *,
        interval: float = FRAME_INTERVAL,
        max_catch_up: int = 3,
        history: int = 3000,
    ) -> None:
        self.interval = interval
        self.max_catch_up = max_catch_up
        self._streams: dict[TickedStream, None] = {}
        self._snapshot: tuple[TickedStream, ...] = ()
        self._snapshot_stale = False
        self._task: asyncio.Task[None] | None = None
        self._schedule: TickSchedule | None = None
        self._intervals = _Ring(history)
        self._work = _Ring(history)
        self._failed = 0

    # -- streams ------------------------------------------------------------------------

    def register(self, stream: TickedStream) -> None:
        self._streams[stream] = None
        self._snapshot_stale = True

    def unregister(self, stream: TickedStream) -> None:
        """Stop ticking `stream`; unknown streams are ignored (close paths repeat)."""
        if stream in self._streams:
            del self._streams[stream]
            self._snapshot_stale = True

    def __len__(self) -> int:
        return len(self._streams)

    def __contains__(self, stream: object) -> bool:
        return stream in self._streams

    # -- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Run the ticker in a task owned by the clock (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="media-clock")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """The ticker itself; runs until cancelled (for a supervisor, or via start())."""
        loop = asyncio.get_running_loop()
        schedule = TickSchedule(loop.time() + self.interval, self.interval, self.max_catch_up)
        self._schedule = schedule
        last_wake: float | None = None
        while True:
            wake = loop.create_future()
            timer = loop.call_at(schedule.next_deadline, _resolve, wake)
            try:
                await wake
            finally:
                timer.cancel()
            now = loop.time()
            deadlines = schedule.due(now)
            if not deadlines:
                continue  # woke early (timer granularity): wait again for the same deadline
            if last_wake is not None:
                self._intervals.add(now - last_wake)
            last_wake = now
            started = time.perf_counter()
            for deadline in deadlines:
                self._tick(deadline)
            self._work.add(time.perf_counter() - started)

    def _tick(self, deadline: float) -> None:
        if self._snapshot_stale:
            self._snapshot = tuple(self._streams)
            self._snapshot_stale = False
        for stream in self._snapshot:
            try:
                stream.on_tick(deadline)
            except Exception:
                # One broken stream must not stop every other call's audio.
                log.exception("media stream %r failed in on_tick; unregistered", stream)
                self._failed += 1
                self.unregister(stream)

    # -- measurements -------------------------------------------------------------------

    def interval_stats(self) -> TickIntervalStats:
        intervals = self._intervals.sorted()
        work = self._work.sorted()
        schedule = self._schedule
        return TickIntervalStats(
            ticks=len(intervals),
            interval_p50_ms=_percentile(intervals, 0.50) * 1000,
            interval_p99_ms=_percentile(intervals, 0.99) * 1000,
            interval_max_ms=(intervals[-1] if intervals else 0.0) * 1000,
            work_p50_ms=_percentile(work, 0.50) * 1000,
            work_p99_ms=_percentile(work, 0.99) * 1000,
            work_max_ms=(work[-1] if work else 0.0) * 1000,
            skipped=schedule.skipped if schedule else 0,
            caught_up=schedule.caught_up if schedule else 0,
            failed_streams=self._failed,
        )

    def reset_stats(self) -> None:
        self._intervals.clear()
        self._work.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
