"""Actor runtime: mailbox order, ask/reply, timeouts, crashes, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from actors.runtime import Actor, ActorStopped, AskTimeout, MailboxFull, spawn

pytestmark = pytest.mark.timeout(10)


class Boom(Exception):
    pass


@dataclass(frozen=True)
class Note:
    value: int


@dataclass(frozen=True)
class History:
    pass


@dataclass(frozen=True)
class Crash:
    pass


@dataclass(frozen=True)
class Hold:
    """Handled only once `gate` is set; crashes then if `crash`."""

    gate: asyncio.Event
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    crash: bool = False


class Recorder(Actor):
    def __init__(self, name: str = "recorder", mailbox_size: int = 0) -> None:
        super().__init__(name, mailbox_size)
        self.seen: list[int] = []
        self.events: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.stop_gate: asyncio.Event | None = None

    async def on_start(self) -> None:
        self.events.append("start")

    async def on_stop(self) -> None:
        self.events.append("stop")
        if self.stop_gate is not None:
            await self.stop_gate.wait()

    async def receive(self, message: object) -> object:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            match message:
                case Note(value):
                    self.seen.append(value)
                    await asyncio.sleep(0)  # give a concurrent handler a chance to overlap
                    return value * 2
                case History():
                    return list(self.seen)
                case Crash():
                    raise Boom("crash requested")
                case Hold(gate, entered, crash):
                    entered.set()
                    await gate.wait()
                    if crash:
                        raise Boom("crash after hold")
                    return "held"
            raise TypeError(message)
        finally:
            self.in_flight -= 1


@asynccontextmanager
async def running(actor: Actor) -> AsyncIterator[asyncio.Task[None]]:
    task = spawn(actor)
    try:
        yield task
    finally:
        actor.stop()
        await asyncio.wait({task})


async def test_tells_are_handled_in_order_one_at_a_time() -> None:
    actor = Recorder()
    async with running(actor):
        for value in range(100):
            actor.ref.tell(Note(value))
        assert await actor.ref.ask(History(), timeout=None) == list(range(100))
    assert actor.max_in_flight == 1


async def test_ask_returns_the_reply() -> None:
    actor = Recorder()
    async with running(actor):
        assert await actor.ref.ask(Note(21), timeout=None) == 42
        assert actor.ref.name == "recorder"


async def test_ask_times_out_and_a_late_reply_is_dropped() -> None:
    actor = Recorder()
    gate = asyncio.Event()
    async with running(actor):
        with pytest.raises(AskTimeout):
            await actor.ref.ask(Hold(gate), timeout=0.01)
        gate.set()
        # The actor survives the asker going away and keeps serving.
        assert await actor.ref.ask(Note(1), timeout=None) == 2


async def test_ask_whose_message_crashes_the_actor_fails_with_the_cause() -> None:
    actor = Recorder()
    task = spawn(actor)
    with pytest.raises(ActorStopped) as caught:
        await actor.ref.ask(Crash(), timeout=None)
    assert isinstance(caught.value.__cause__, Boom)
    with pytest.raises(Boom):
        await task
    assert actor.events == ["start", "stop"]


async def test_queued_asks_fail_fast_when_the_actor_crashes() -> None:
    actor = Recorder()
    actor.stop_gate = asyncio.Event()  # on_stop hangs: asks must not wait for it
    task = spawn(actor)
    gate = asyncio.Event()
    hold = Hold(gate, crash=True)
    actor.ref.tell(hold)
    await hold.entered.wait()
    queued = asyncio.ensure_future(actor.ref.ask(Note(1), timeout=None))
    await asyncio.sleep(0)  # let the ask reach the mailbox
    gate.set()
    with pytest.raises(ActorStopped):
        await queued
    assert not task.done()  # still inside on_stop
    with pytest.raises(ActorStopped):
        actor.ref.tell(Note(2))
    actor.stop_gate.set()
    with pytest.raises(Boom):
        await task


async def test_tell_and_ask_to_a_stopped_actor_raise_at_once() -> None:
    actor = Recorder()
    async with running(actor):
        pass
    assert not actor.ref.alive
    with pytest.raises(ActorStopped):
        actor.ref.tell(Note(1))
    with pytest.raises(ActorStopped):
        await actor.ref.ask(Note(1), timeout=None)


async def test_stop_finishes_the_message_in_hand_and_fails_queued_asks() -> None:
    actor = Recorder()
    task = spawn(actor)
    gate = asyncio.Event()
    hold = Hold(gate)
    in_hand = asyncio.ensure_future(actor.ref.ask(hold, timeout=None))
    await hold.entered.wait()
    queued = asyncio.ensure_future(actor.ref.ask(Note(5), timeout=None))
    await asyncio.sleep(0)
    actor.stop()
    gate.set()
    assert await in_hand == "held"
    with pytest.raises(ActorStopped):
        await queued
    await task
    assert actor.seen == []
    assert actor.events == ["start", "stop"]


async def test_bounded_mailbox_refuses_without_blocking() -> None:
    actor = Recorder(mailbox_size=2)
    gate = asyncio.Event()
    hold = Hold(gate)
    async with running(actor):
        actor.ref.tell(hold)
        await hold.entered.wait()  # the mailbox is empty again, the actor is busy
        actor.ref.tell(Note(1))
        history = asyncio.ensure_future(actor.ref.ask(History(), timeout=None))
        await asyncio.sleep(0)  # one step: the ask is posted, the mailbox is full
        with pytest.raises(MailboxFull):
            actor.ref.tell(Note(3))
        gate.set()
        assert await history == [1]


async def test_stop_on_a_full_mailbox_still_stops() -> None:
    actor = Recorder(mailbox_size=1)
    actor.ref.tell(Note(1))
    actor.stop()
    await spawn(actor)
    assert actor.events == ["start", "stop"]


async def test_failed_on_start_skips_on_stop_and_fails_asks() -> None:
    class BadStart(Recorder):
        async def on_start(self) -> None:
            raise Boom("no start")

    actor = BadStart()
    pending = asyncio.ensure_future(actor.ref.ask(Note(1), timeout=None))
    await asyncio.sleep(0)
    with pytest.raises(Boom):
        await spawn(actor)
    with pytest.raises(ActorStopped):
        await pending
    assert actor.events == []


async def test_task_cancelled_before_it_ran_fails_queued_asks() -> None:
    actor = Recorder()
    pending = asyncio.ensure_future(actor.ref.ask(Note(1), timeout=None))
    await asyncio.sleep(0)
    task = spawn(actor)
    task.cancel()
    await asyncio.wait({task})
    with pytest.raises(ActorStopped):
        await pending


async def test_an_actor_runs_only_once() -> None:
    actor = Recorder()
    async with running(actor):
        pass
    with pytest.raises(RuntimeError):
        await actor.run()
