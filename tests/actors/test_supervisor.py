"""OTP supervision: restart types, intensity with a fake clock, nesting, ordered shutdown.

Every wait is on an event: a child's start, or the supervisor's `ChildExit` report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from actors.runtime import Actor, ActorRef, ActorStopped, spawn
from actors.supervisor import (
    ChildAlreadyStarted,
    ChildExit,
    ChildNotFound,
    ChildSpec,
    ChildStartFailed,
    ExitAction,
    Restart,
    RestartIntensityExceeded,
    Supervisor,
)

pytestmark = pytest.mark.timeout(10)


class Boom(Exception):
    pass


@dataclass(frozen=True)
class Crash:
    pass


@dataclass(frozen=True)
class Finish:
    pass


@dataclass(frozen=True)
class WhoAreYou:
    pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lab:
    """Builds workers and records what happens to them."""

    def __init__(self) -> None:
        self.started: asyncio.Queue[str] = asyncio.Queue()
        self.exits: asyncio.Queue[ChildExit] = asyncio.Queue()
        self.stopped: list[str] = []
        self.incarnations: dict[str, int] = {}

    def spec(
        self,
        name: str,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout_s: float = 1.0,
        hang_on_stop: bool = False,
    ) -> ChildSpec:
        def start() -> Actor:
            self.incarnations[name] = self.incarnations.get(name, 0) + 1
            return Worker(name, self, self.incarnations[name], hang_on_stop)

        return ChildSpec(name, start, restart, shutdown_timeout_s)

    def observe(self, report: ChildExit) -> None:
        self.exits.put_nowait(report)

    async def next_exit(self) -> ChildExit:
        return await self.exits.get()


class Worker(Actor):
    def __init__(self, name: str, lab: Lab, incarnation: int, hang_on_stop: bool) -> None:
        super().__init__(name)
        self.lab = lab
        self.incarnation = incarnation
        self.hang_on_stop = hang_on_stop
        self.cancelled_in_stop = False

    async def on_start(self) -> None:
        self.lab.started.put_nowait(self.name)

    async def on_stop(self) -> None:
        self.lab.stopped.append(self.name)
        if self.hang_on_stop:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.lab.stopped.append(f"{self.name}:cancelled")
                raise

    async def receive(self, message: object) -> object:
        match message:
            case Crash():
                raise Boom(self.name)
            case Finish():
                self.stop()
                return None
            case WhoAreYou():
                return (self.name, self.incarnation)
        raise TypeError(message)


@asynccontextmanager
async def supervising(
    lab: Lab, *specs: ChildSpec, **options: object
) -> AsyncIterator[tuple[Supervisor, asyncio.Task[None]]]:
    supervisor = Supervisor("sup", specs, observer=lab.observe, **options)  # type: ignore[arg-type]
    task = spawn(supervisor)
    for _ in specs:
        await lab.started.get()
    try:
        yield supervisor, task
    finally:
        supervisor.stop()
        await asyncio.wait({task})


async def ref_of(supervisor: Supervisor, name: str) -> ActorRef:
    for info in await supervisor.which_children():
        if info.name == name:
            return info.ref
    raise KeyError(name)


async def crash(ref: ActorRef) -> None:
    with pytest.raises(ActorStopped):
        await ref.ask(Crash(), timeout=None)


# -- restart types -----------------------------------------------------------


async def test_permanent_child_is_restarted_after_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("a"), lab.spec("b")) as (sup, _):
        old = await ref_of(sup, "a")
        sibling = await ref_of(sup, "b")
        with caplog.at_level(logging.ERROR, logger="actors.supervisor"):
            await crash(old)
            report = await lab.next_exit()
        assert (report.child, report.action) == ("a", ExitAction.RESTARTED)
        assert isinstance(report.error, Boom)
        assert await lab.started.get() == "a"
        assert await (await ref_of(sup, "a")).ask(WhoAreYou(), timeout=None) == ("a", 2)
        with pytest.raises(ActorStopped):
            old.tell(WhoAreYou())
        # The sibling is the same incarnation, untouched.
        assert await sibling.ask(WhoAreYou(), timeout=None) == ("b", 1)
        assert [i.name for i in await sup.which_children()] == ["a", "b"]
        crash_logs = [r for r in caplog.records if "crashed" in r.getMessage()]
        assert len(crash_logs) == 1 and crash_logs[0].exc_info is not None


async def test_permanent_child_is_restarted_after_a_normal_exit() -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("a")) as (sup, _):
        (await ref_of(sup, "a")).tell(Finish())
        report = await lab.next_exit()
        assert (report.action, report.error) == (ExitAction.RESTARTED, None)
        assert await lab.started.get() == "a"


async def test_transient_child_is_restarted_only_after_a_crash() -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("t", Restart.TRANSIENT)) as (sup, _):
        await crash(await ref_of(sup, "t"))
        assert (await lab.next_exit()).action is ExitAction.RESTARTED
        assert await lab.started.get() == "t"
        (await ref_of(sup, "t")).tell(Finish())
        report = await lab.next_exit()
        assert (report.action, report.error) == (ExitAction.REMOVED, None)
        assert await sup.which_children() == []
        assert lab.incarnations["t"] == 2


@pytest.mark.parametrize("how", ["crash", "finish"])
async def test_temporary_child_is_never_restarted(how: str) -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("call", Restart.TEMPORARY)) as (sup, _):
        ref = await ref_of(sup, "call")
        if how == "crash":
            await crash(ref)
        else:
            ref.tell(Finish())
        assert (await lab.next_exit()).action is ExitAction.REMOVED
        assert await sup.which_children() == []
        assert lab.incarnations["call"] == 1


# -- restart intensity ---------------------------------------------------------


async def test_more_than_max_restarts_in_period_escalates() -> None:
    lab, clock = Lab(), FakeClock()
    specs = (lab.spec("first"), lab.spec("flaky"), lab.spec("last"))
    async with supervising(lab, *specs, max_restarts=3, period_s=5.0, clock=clock) as (
        sup,
        task,
    ):
        for _ in range(3):
            await crash(await ref_of(sup, "flaky"))
            assert (await lab.next_exit()).action is ExitAction.RESTARTED
            assert await lab.started.get() == "flaky"
            clock.now += 1.0
        await crash(await ref_of(sup, "flaky"))
        assert (await lab.next_exit()).action is ExitAction.ESCALATED
        with pytest.raises(RestartIntensityExceeded) as caught:
            await task
        assert isinstance(caught.value.__cause__, Boom)
        # Siblings stopped in reverse start order; the dead child is not stopped twice.
        assert lab.stopped[-2:] == ["last", "first"]
        with pytest.raises(ActorStopped):
            await sup.which_children()


async def test_crashes_spread_over_time_do_not_escalate() -> None:
    lab, clock = Lab(), FakeClock()
    async with supervising(lab, lab.spec("flaky"), max_restarts=3, period_s=5.0, clock=clock) as (
        sup,
        task,
    ):
        for _ in range(10):
            await crash(await ref_of(sup, "flaky"))
            assert (await lab.next_exit()).action is ExitAction.RESTARTED
            assert await lab.started.get() == "flaky"
            clock.now += 2.0  # at most 3 restarts in any 5 s window
        assert not task.done()


async def test_max_restarts_zero_gives_up_on_the_first_exit() -> None:
    lab = Lab()
    sup = Supervisor("sup", [lab.spec("a")], max_restarts=0, clock=FakeClock())
    task = spawn(sup)
    await lab.started.get()
    (await ref_of(sup, "a")).tell(Finish())  # even a normal exit of a permanent child counts
    with pytest.raises(RestartIntensityExceeded):
        await task


async def test_nested_supervisor_escalates_to_its_parent() -> None:
    lab, clock = Lab(), FakeClock()
    inners: list[Supervisor] = []

    def start_inner() -> Actor:
        lab.started.put_nowait("inner")
        inners.append(
            Supervisor(
                "inner", [lab.spec("worker")], max_restarts=0, clock=clock, observer=lab.observe
            )
        )
        return inners[-1]

    root = Supervisor(
        "root",
        [ChildSpec("inner", start_inner, Restart.PERMANENT, 5.0)],
        max_restarts=1,
        period_s=5.0,
        clock=clock,
        observer=lab.observe,
    )
    root_task = spawn(root)
    assert [await lab.started.get() for _ in range(2)] == ["inner", "worker"]

    # First escalation: inner gives up, root restarts it (and so a fresh worker).
    await crash(await ref_of(inners[-1], "worker"))
    inner_report = await lab.next_exit()
    assert (inner_report.supervisor, inner_report.action) == ("inner", ExitAction.ESCALATED)
    root_report = await lab.next_exit()
    assert (root_report.supervisor, root_report.child) == ("root", "inner")
    assert root_report.action is ExitAction.RESTARTED
    assert isinstance(root_report.error, RestartIntensityExceeded)
    assert [await lab.started.get() for _ in range(2)] == ["inner", "worker"]
    assert lab.incarnations["worker"] == 2
    assert (await root.which_children())[0].ref is inners[-1].ref

    # Second escalation within the period: root gives up too.
    await crash(await ref_of(inners[-1], "worker"))
    assert (await lab.next_exit()).action is ExitAction.ESCALATED  # inner
    assert (await lab.next_exit()).action is ExitAction.ESCALATED  # root
    with pytest.raises(RestartIntensityExceeded):
        await root_task
    assert not any(inner.alive for inner in inners)


# -- dynamic children ----------------------------------------------------------


async def test_start_terminate_and_errors_of_dynamic_children() -> None:
    lab = Lab()
    async with supervising(lab) as (sup, task):
        ref = await sup.start_child(lab.spec("x"))
        assert await ref.ask(WhoAreYou(), timeout=None) == ("x", 1)
        with pytest.raises(ChildAlreadyStarted):
            await sup.start_child(lab.spec("x"))

        def broken() -> Actor:
            raise Boom("cannot start")

        with pytest.raises(ChildStartFailed) as caught:
            await sup.start_child(ChildSpec("broken", broken))
        assert isinstance(caught.value.__cause__, Boom)

        async def later() -> Actor:
            return Worker("y", lab, 1, hang_on_stop=False)

        await sup.start_child(ChildSpec("y", later, Restart.TRANSIENT))
        assert [i.name for i in await sup.which_children()] == ["x", "y"]

        await sup.terminate_child("x")  # permanent, yet terminated on purpose: no restart
        assert lab.stopped == ["x"]
        assert not ref.alive
        with pytest.raises(ChildNotFound):
            await sup.terminate_child("x")
        assert [i.name for i in await sup.which_children()] == ["y"]
        assert lab.incarnations["x"] == 1
        assert lab.exits.empty() and not task.done()


def test_duplicate_initial_child_names_are_refused() -> None:
    lab = Lab()
    with pytest.raises(ValueError):
        Supervisor("sup", [lab.spec("a"), lab.spec("a")])


async def test_failing_initial_child_stops_the_ones_already_started() -> None:
    lab = Lab()

    def broken() -> Actor:
        raise Boom("cannot start")

    sup = Supervisor("sup", [lab.spec("a"), lab.spec("b"), ChildSpec("c", broken)])
    with pytest.raises(Boom):
        await spawn(sup)
    assert lab.stopped == ["b", "a"]


# -- ordered shutdown ------------------------------------------------------------


async def test_shutdown_stops_children_in_reverse_start_order() -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("a"), lab.spec("b")) as (sup, task):
        await sup.start_child(lab.spec("c", Restart.TEMPORARY))
        sup.stop()
        await task
    assert lab.stopped == ["c", "b", "a"]
    assert lab.exits.empty()  # stopping on purpose is not an exit to handle


async def test_child_whose_on_stop_hangs_is_cancelled_after_its_timeout() -> None:
    lab = Lab()
    specs = (lab.spec("a"), lab.spec("stuck", shutdown_timeout_s=0.05, hang_on_stop=True))
    loop = asyncio.get_running_loop()
    async with supervising(lab, *specs) as (sup, task):
        began = loop.time()
        sup.stop()
        await task
        elapsed = loop.time() - began
    assert lab.stopped == ["stuck", "stuck:cancelled", "a"]
    assert 0.05 <= elapsed < 1.0


async def test_a_cancelled_supervisor_cancels_its_children() -> None:
    lab = Lab()
    before = asyncio.all_tasks()

    def start_inner() -> Actor:
        return Supervisor("inner", [lab.spec("worker", shutdown_timeout_s=60, hang_on_stop=True)])

    root = Supervisor(
        "root", [lab.spec("a"), ChildSpec("inner", start_inner, shutdown_timeout_s=0.05)]
    )
    task = spawn(root)
    assert {await lab.started.get() for _ in range(2)} == {"a", "worker"}
    root.stop()
    await task  # bounded by the inner supervisor's 0.05 s, not the worker's 60 s
    assert lab.stopped == ["worker", "worker:cancelled", "a"]
    assert asyncio.all_tasks() == before


async def test_unexpected_message_does_not_crash_a_supervisor() -> None:
    lab = Lab()
    async with supervising(lab, lab.spec("a")) as (sup, task):
        sup.ref.tell("nonsense")
        assert [i.name for i in await sup.which_children()] == ["a"]
        assert not task.done()


async def test_a_thousand_temporary_children_leave_no_tasks_behind() -> None:
    lab = Lab()
    before = asyncio.all_tasks()
    async with supervising(lab) as (sup, task):
        refs = [
            await sup.start_child(lab.spec(f"call-{n}", Restart.TEMPORARY)) for n in range(1000)
        ]
        assert len(asyncio.all_tasks() - before) == 1001
        for ref in refs:
            ref.tell(Finish())
        reports = [await lab.next_exit() for _ in refs]
        assert {r.action for r in reports} == {ExitAction.REMOVED}
        assert await sup.which_children() == []
        assert asyncio.all_tasks() - before == {task}
    assert asyncio.all_tasks() == before
