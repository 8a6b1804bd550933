"""MediaClock: the tick schedule with fake time, and the ticker on a real loop."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from media.clock import MediaClock, TickSchedule

# -- schedule (pure arithmetic, fake time) ------------------------------------------------


def test_deadlines_are_served_on_an_absolute_grid() -> None:
    schedule = TickSchedule(start=10.0, interval=0.02)
    assert schedule.due(9.99) == []
    assert schedule.due(10.0) == [10.0]
    assert schedule.due(10.015) == []
    assert schedule.next_deadline == pytest.approx(10.02)
    assert schedule.due(10.0205) == [pytest.approx(10.02)]
    # Lateness does not accumulate: the next deadline is still on the grid.
    assert schedule.next_deadline == pytest.approx(10.04)


def test_a_wake_up_just_before_the_deadline_serves_it() -> None:
    schedule = TickSchedule(start=0.0, interval=0.02)
    assert schedule.due(-0.0005) == [0.0]  # within the 1 ms early tolerance


def test_short_stall_is_caught_up_in_a_burst() -> None:
    schedule = TickSchedule(start=0.0, interval=0.02, max_catch_up=3)
    assert schedule.due(0.0) == [0.0]
    assert schedule.due(0.065) == pytest.approx([0.02, 0.04, 0.06])
    assert (schedule.caught_up, schedule.skipped) == (2, 0)


def test_long_stall_skips_the_oldest_ticks() -> None:
    schedule = TickSchedule(start=0.0, interval=0.02, max_catch_up=3)
    schedule.due(0.0)
    assert schedule.due(1.005) == pytest.approx([0.96, 0.98, 1.0])
    assert schedule.skipped == 47  # 0.02 .. 0.94
    assert schedule.due(1.021) == pytest.approx([1.02])


def test_schedule_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TickSchedule(0.0, interval=0.0)
    with pytest.raises(ValueError):
        TickSchedule(0.0, max_catch_up=0)


# -- the ticker on a real loop -------------------------------------------------------------


class Recorder:
    def __init__(self, wanted: int) -> None:
        self.ticks: list[float] = []
        self.wanted = wanted
        self.done = asyncio.Event()

    def on_tick(self, now: float) -> None:
        self.ticks.append(now)
        if len(self.ticks) >= self.wanted:
            self.done.set()


async def test_streams_get_grid_times_20_ms_apart(clock: MediaClock) -> None:
    stream = Recorder(10)
    clock.register(stream)
    await asyncio.wait_for(stream.done.wait(), 2)
    steps = [b - a for a, b in itertools.pairwise(stream.ticks)]
    assert steps == pytest.approx([0.02] * len(steps), abs=1e-9)
    stats = clock.interval_stats()
    assert stats.ticks >= 8
    assert 10 < stats.interval_p50_ms < 30


async def test_failing_stream_is_unregistered_and_others_keep_ticking(clock: MediaClock) -> None:
    class Broken:
        calls = 0

        def on_tick(self, now: float) -> None:
            self.calls += 1
            raise RuntimeError("bug in one call")

    broken, healthy = Broken(), Recorder(5)
    clock.register(broken)
    clock.register(healthy)
    await asyncio.wait_for(healthy.done.wait(), 2)
    assert broken.calls == 1 and broken not in clock and healthy in clock
    assert clock.interval_stats().failed_streams == 1


async def test_register_and_unregister_from_inside_a_tick(clock: MediaClock) -> None:
    late = Recorder(3)

    class Handover:
        def on_tick(self, now: float) -> None:
            clock.unregister(self)
            clock.register(late)

    handover = Handover()
    clock.register(handover)
    await asyncio.wait_for(late.done.wait(), 2)
    assert handover not in clock and len(clock) == 1
    clock.unregister(late)
    clock.unregister(late)  # repeated close paths are harmless
    assert len(clock) == 0


async def test_a_stalled_loop_catches_up_at_most_three_ticks_and_skips_the_rest(
    clock: MediaClock,
) -> None:
    class Staller(Recorder):
        def on_tick(self, now: float) -> None:
            if len(self.ticks) == 2:
                time.sleep(0.15)  # the loop is blocked (a real stall, not a wait for a race)
            super().on_tick(now)

    stream = Staller(12)
    clock.register(stream)
    await asyncio.wait_for(stream.done.wait(), 3)
    grid = [round((t - stream.ticks[0]) / 0.02) for t in stream.ticks]
    assert all(
        abs(t - stream.ticks[0] - n * 0.02) < 1e-9 for t, n in zip(stream.ticks, grid, strict=True)
    )  # always a grid point
    assert grid == sorted(set(grid))  # never twice, never backwards
    stats = clock.interval_stats()
    missing = (grid[-1] - grid[0] + 1) - len(grid)
    assert missing == stats.skipped >= 1  # 0.15 s is 7 ticks: more than 3 to catch up
    assert stats.caught_up >= 2
    assert stats.interval_max_ms >= 140


async def test_stop_is_idempotent_and_start_restarts() -> None:
    media_clock = MediaClock()
    assert not media_clock.running
    task = media_clock.start()
    assert media_clock.start() is task and media_clock.running
    await media_clock.stop()
    await media_clock.stop()
    assert not media_clock.running and task.cancelled()
