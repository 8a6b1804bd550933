"""OTP-style supervision on asyncio: restart types, restart intensity, ordered shutdown.

A `Supervisor` is itself an `Actor`, so supervisors nest. It owns one task per
child (no TaskGroup across children: one child's crash never touches a
sibling). A child's exit arrives in the supervisor's mailbox as a message and
is handled like any other, one at a time; so are `start_child`,
`terminate_child` and `which_children`.

Strategy is one_for_one: only the exited child is restarted, per its type:

    PERMANENT  always restarted (after a crash and after a normal exit)
    TRANSIENT  restarted only after an abnormal exit (an exception)
    TEMPORARY  never restarted: a half-finished call is never replayed

More than `max_restarts` restarts within `period_s` seconds (by `clock`) and the
supervisor gives up: it raises `RestartIntensityExceeded`, which stops all its
children in reverse start order and ends its own task abnormally, so its parent
sees a crash and applies that child's restart type in turn.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from actors.runtime import Actor, ActorError, ActorRef, spawn

__all__ = [
    "ChildAlreadyStarted",
    "ChildExit",
    "ChildInfo",
    "ChildNotFound",
    "ChildSpec",
    "ChildStartFailed",
    "ExitAction",
    "Restart",
    "RestartIntensityExceeded",
    "Supervisor",
    "SupervisorError",
]

logger = logging.getLogger(__name__)


class Restart(enum.Enum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start one child and what to do when it exits.

    `start` returns a fresh, not yet running actor (or an awaitable of one);
    it is called again for each restart.
    """

    name: str
    start: Callable[[], Actor | Awaitable[Actor]]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ChildInfo:
    name: str
    ref: ActorRef
    restart: Restart


class ExitAction(enum.Enum):
    """What the supervisor did about a child's exit."""

    RESTARTED = "restarted"
    REMOVED = "removed"  # temporary, or transient after a normal exit
    ESCALATED = "escalated"  # restart intensity exceeded: the supervisor gave up


@dataclass(frozen=True, slots=True)
class ChildExit:
    """Report of one handled child exit (for metrics, audit and tests)."""

    supervisor: str
    child: str
    error: BaseException | None  # None: a normal exit
    action: ExitAction


class SupervisorError(ActorError):
    """Base of the supervisor's own errors."""


class ChildAlreadyStarted(SupervisorError):
    """`start_child` with a name that a live child already has."""


class ChildNotFound(SupervisorError):
    """`terminate_child` with a name no child has."""


class ChildStartFailed(SupervisorError):
    """A child's `start` raised; the cause is chained."""


class RestartIntensityExceeded(SupervisorError):
    """Too many restarts too fast: the supervisor gave up (cause chained)."""


# -- mailbox messages (internal; the public methods wrap them) ---------------


@dataclass(frozen=True, slots=True)
class _StartChild:
    spec: ChildSpec


@dataclass(frozen=True, slots=True)
class _TerminateChild:
    name: str


@dataclass(frozen=True, slots=True)
class _WhichChildren:
    pass


@dataclass(frozen=True, slots=True)
class _ChildExited:
    child: _Child
    error: BaseException | None  # None: a normal exit


@dataclass(frozen=True, slots=True)
class _Failed:
    """A reply carrying an error for the caller, so the supervisor itself lives on."""

    error: SupervisorError


@dataclass(eq=False, slots=True)
class _Child:
    """One running incarnation of a spec; identity tells stale exits apart."""

    spec: ChildSpec
    actor: Actor
    task: asyncio.Task[None]


class Supervisor(Actor):
    """A one_for_one supervisor; start it like any actor (`spawn` or as a child)."""

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec] = (),
        *,
        max_restarts: int = 3,
        period_s: float = 5.0,
        clock: Callable[[], float] | None = None,
        observer: Callable[[ChildExit], None] | None = None,
    ) -> None:
        super().__init__(name)
        if max_restarts < 0 or period_s <= 0:
            raise ValueError("max_restarts must be >= 0 and period_s > 0")
        self._initial = tuple(children)
        if len({spec.name for spec in self._initial}) != len(self._initial):
            raise ValueError("child names must be unique within a supervisor")
        self._max_restarts = max_restarts
        self._period_s = period_s
        self._clock = clock
        self._observer = observer
        self._children: dict[str, _Child] = {}  # insertion order = start order
        self._restarts: deque[float] = deque()

    # -- public API (through the mailbox, so it is serialised with exits) ----

    async def start_child(self, spec: ChildSpec, timeout: float | None = None) -> ActorRef:
        reply = await self.ref.ask(_StartChild(spec), timeout)
        if isinstance(reply, _Failed):
            raise reply.error
        assert isinstance(reply, ActorRef)
        return reply

    async def terminate_child(self, name: str, timeout: float | None = None) -> None:
        """Stop one child (bounded by its `shutdown_timeout_s`) and forget it."""
        reply = await self.ref.ask(_TerminateChild(name), timeout)
        if isinstance(reply, _Failed):
            raise reply.error

    async def which_children(self, timeout: float | None = None) -> list[ChildInfo]:
        """Live children in start order."""
        reply = await self.ref.ask(_WhichChildren(), timeout)
        assert isinstance(reply, list)
        return reply

    # -- actor hooks ---------------------------------------------------------

    async def on_start(self) -> None:
        for spec in self._initial:
            try:
                await self._start(spec)
            except BaseException:
                await self._stop_all()
                raise

    async def on_stop(self) -> None:
        await self._stop_all()

    async def receive(self, message: object) -> object:
        match message:
            case _ChildExited(exited, error):
                await self._on_child_exited(exited, error)
                return None
            case _StartChild(spec):
                if spec.name in self._children:
                    return _Failed(ChildAlreadyStarted(f"{self.name}: {spec.name!r} exists"))
                try:
                    return (await self._start(spec)).actor.ref
                except Exception as exc:
                    error = ChildStartFailed(f"{self.name}: {spec.name!r} failed to start")
                    error.__cause__ = exc
                    return _Failed(error)
            case _TerminateChild(name):
                doomed = self._children.pop(name, None)
                if doomed is None:
                    return _Failed(ChildNotFound(f"{self.name}: no child {name!r}"))
                await _shut_down(doomed)
                return None
            case _WhichChildren():
                return [
                    ChildInfo(c.spec.name, c.actor.ref, c.spec.restart)
                    for c in self._children.values()
                ]
        # Bad input never crashes a supervisor (and with it a whole subtree).
        logger.warning("%s: ignored unexpected message %r", self.name, message)
        return None

    # -- internals -----------------------------------------------------------

    async def _start(self, spec: ChildSpec) -> _Child:
        started = spec.start()
        actor = await started if inspect.isawaitable(started) else started
        if not isinstance(actor, Actor):
            raise TypeError(f"start of {spec.name!r} returned {actor!r}, not an Actor")
        child = _Child(spec, actor, spawn(actor))
        child.task.add_done_callback(lambda task: self._notice_exit(child, task))
        self._children[spec.name] = child
        return child

    def _notice_exit(self, child: _Child, task: asyncio.Task[None]) -> None:
        # Done callback: runs outside any task, so it only posts a message.
        error: BaseException | None = (
            asyncio.CancelledError() if task.cancelled() else task.exception()
        )
        if self.alive:
            self.ref.tell(_ChildExited(child, error))

    async def _on_child_exited(self, child: _Child, error: BaseException | None) -> None:
        name = child.spec.name
        if self._children.get(name) is not child:
            return  # already terminated on purpose, or a stale incarnation
        if error is not None:
            logger.error("%s: child %r crashed", self.name, name, exc_info=error)
        restart = child.spec.restart
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and error is None):
            del self._children[name]
            self._report(name, error, ExitAction.REMOVED)
            return
        # Restart in place so the child keeps its position in the start order.
        while True:
            try:
                self._count_restart(name, error)
            except RestartIntensityExceeded:
                self._report(name, error, ExitAction.ESCALATED)
                raise
            try:
                await self._start(child.spec)
            except Exception as exc:
                logger.error("%s: restart of %r failed", self.name, name, exc_info=exc)
                error = exc
                continue
            self._report(name, error, ExitAction.RESTARTED)
            return

    def _report(self, name: str, error: BaseException | None, action: ExitAction) -> None:
        if self._observer is not None:
            self._observer(ChildExit(self.name, name, error, action))

    def _count_restart(self, name: str, cause: BaseException | None) -> None:
        now = self._now()
        self._restarts.append(now)
        while self._restarts and self._restarts[0] <= now - self._period_s:
            self._restarts.popleft()
        if len(self._restarts) > self._max_restarts:
            # Drop the dead child so shutdown does not wait on it, then give up.
            self._children.pop(name, None)
            error = RestartIntensityExceeded(
                f"{self.name}: more than {self._max_restarts} restarts in "
                f"{self._period_s} s (last: {name!r})"
            )
            error.__cause__ = cause
            raise error

    def _now(self) -> float:
        if self._clock is None:
            self._clock = asyncio.get_running_loop().time
        return self._clock()

    async def _stop_all(self) -> None:
        """Stop children in reverse start order; whatever is left when we are
        cancelled (our own shutdown timed out) is cancelled, not abandoned."""
        try:
            while self._children:
                _, child = self._children.popitem()  # last started first
                await _shut_down(child)
        finally:
            for child in self._children.values():
                child.task.cancel()
            self._children.clear()


async def _shut_down(child: _Child) -> None:
    """Ask a child to stop, cancel it after its timeout; bounded in time."""
    timeout = child.spec.shutdown_timeout_s
    child.actor.stop()
    try:
        await asyncio.wait({child.task}, timeout=timeout)
        if not child.task.done():
            logger.warning("child %r did not stop in %s s: cancelled", child.spec.name, timeout)
            child.task.cancel()
            await asyncio.wait({child.task}, timeout=timeout)
            if not child.task.done():
                logger.error("child %r ignores cancellation", child.spec.name)
    except asyncio.CancelledError:
        child.task.cancel()
        raise
    if child.task.done() and not child.task.cancelled() and child.task.exception():
        logger.error(
            "child %r failed while stopping", child.spec.name, exc_info=child.task.exception()
        )
