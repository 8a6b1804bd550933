"""Actor runtime on asyncio: a mailbox, `tell`/`ask`, one message at a time.

An `Actor` is a plain object whose `run()` coroutine is driven by one task that
its owner (normally a `Supervisor`) creates with `spawn()` and keeps. Others
hold an `ActorRef`, never the actor itself.

Lifecycle: `on_start()`, then `receive()` for each message in order, then
`on_stop()` in a `finally`, whatever the exit. A normal exit is `stop()`; an
exception escaping `receive()`/`on_start()`/`on_stop()` is an abnormal exit and
is re-raised from `run()`, so the owning task ends with it ("let it crash").
On any exit the mailbox closes first: later `tell`s raise `ActorStopped` and
every queued `ask` fails with `ActorStopped` at once, before `on_stop()` runs,
so no asker waits on a dying actor.

Messages are frozen dataclasses by convention; `receive()`'s return value is the
reply to an `ask` and is ignored for a `tell`.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

__all__ = [
    "Actor",
    "ActorError",
    "ActorRef",
    "ActorStopped",
    "AskTimeout",
    "MailboxFull",
    "spawn",
]


class ActorError(Exception):
    """Base of every error raised by the actor runtime."""


class ActorStopped(ActorError):
    """The actor has stopped (or is stopping) and takes no more messages."""


class AskTimeout(ActorError):
    """No reply to an `ask` within its timeout (the message may still be handled)."""


class MailboxFull(ActorError):
    """A bounded mailbox is full; `tell` never blocks, so it refuses instead."""


@dataclass(frozen=True, slots=True)
class _Ask:
    """Envelope for an `ask`: the message plus the future the reply goes into."""

    message: object
    reply: asyncio.Future[object]


class _Wake:
    """Sentinel put in the mailbox by `stop()` to wake a `get()` that waits."""


_WAKE = _Wake()


class _Phase(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"  # stopping or stopped: no more messages accepted


class Actor:
    """Subclass and override `receive`, and optionally `on_start`/`on_stop`.

    `mailbox_size` bounds the mailbox (0 = unbounded); a `tell` to a full
    mailbox raises `MailboxFull` rather than blocking the sender.
    """

    def __init__(self, name: str, mailbox_size: int = 0) -> None:
        if mailbox_size < 0:
            raise ValueError("mailbox_size must be >= 0")
        self.name = name
        self._mailbox_size = mailbox_size
        # Unbounded underneath: the bound is enforced in `_post` so the stop
        # sentinel always fits even when the mailbox is full.
        self._mailbox: asyncio.Queue[object] = asyncio.Queue()
        self._phase = _Phase.NEW
        self._stop_requested = False
        self._ref = ActorRef(self)

    # -- to override -------------------------------------------------------

    async def receive(self, message: object) -> object:
        """Handle one message; the return value is the reply to an `ask`."""
        raise NotImplementedError

    async def on_start(self) -> None:
        """Runs once before the first message."""

    async def on_stop(self) -> None:
        """Runs once on every exit (normal or not) after `on_start` succeeded."""

    # -- public ------------------------------------------------------------

    @property
    def ref(self) -> ActorRef:
        return self._ref

    @property
    def alive(self) -> bool:
        """True until the actor stops accepting messages (from `stop()` on)."""
        return self._phase is not _Phase.CLOSED and not self._stop_requested

    def stop(self) -> None:
        """Ask the actor to finish: the message in hand completes, queued ones are dropped."""
        if self._stop_requested:
            return
        self._stop_requested = True
        self._mailbox.put_nowait(_WAKE)

    async def run(self) -> None:
        """Drive the actor to its end; returns on a normal stop, raises on a crash."""
        if self._phase is not _Phase.NEW:
            raise RuntimeError(f"actor {self.name!r} can run only once")
        self._phase = _Phase.RUNNING
        try:
            await self.on_start()
        except BaseException as exc:
            self._close(exc)
            raise
        try:
            while not self._stop_requested:
                item = await self._mailbox.get()
                if item is not _WAKE:
                    await self._handle(item)
        except BaseException as exc:
            self._close(exc)
            raise
        finally:
            self._close(None)
            await self.on_stop()

    # -- internals ---------------------------------------------------------

    async def _handle(self, item: object) -> None:
        if not isinstance(item, _Ask):
            await self.receive(item)
            return
        try:
            reply = await self.receive(item.message)
        except BaseException as exc:
            if not item.reply.done():
                item.reply.set_exception(_stopped(self.name, exc))
            raise
        if not item.reply.done():  # the asker may have timed out and gone
            item.reply.set_result(reply)

    def _post(self, item: object) -> None:
        if not self.alive:
            raise ActorStopped(f"actor {self.name!r} has stopped")
        if self._mailbox_size and self._mailbox.qsize() >= self._mailbox_size:
            raise MailboxFull(f"mailbox of actor {self.name!r} is full")
        self._mailbox.put_nowait(item)

    def _close(self, cause: BaseException | None) -> None:
        """Refuse new messages and fail every queued `ask` now."""
        if self._phase is _Phase.CLOSED:
            return
        self._phase = _Phase.CLOSED
        while not self._mailbox.empty():
            item = self._mailbox.get_nowait()
            if isinstance(item, _Ask) and not item.reply.done():
                item.reply.set_exception(_stopped(self.name, cause))


def _stopped(name: str, cause: BaseException | None) -> ActorStopped:
    error = ActorStopped(f"actor {name!r} stopped before replying")
    error.__cause__ = cause
    return error


class ActorRef:
    """What other code holds: the actor's name plus `tell` and `ask`.

    A ref names one incarnation: after a supervisor restarts a child, the old
    ref raises `ActorStopped`; ask the supervisor for the current one.
    """

    __slots__ = ("_actor",)

    def __init__(self, actor: Actor) -> None:
        self._actor = actor

    @property
    def name(self) -> str:
        return self._actor.name

    @property
    def alive(self) -> bool:
        return self._actor.alive

    def tell(self, message: object) -> None:
        """Fire and forget; raises `ActorStopped` or `MailboxFull`, never blocks."""
        self._actor._post(message)

    async def ask(self, message: object, timeout: float | None) -> object:
        """Send and wait for the reply; `AskTimeout` after `timeout` seconds
        (None waits without limit), `ActorStopped` if the actor dies first."""
        reply: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._actor._post(_Ask(message, reply))
        try:
            return await asyncio.wait_for(reply, timeout)
        except TimeoutError:
            raise AskTimeout(f"no reply from actor {self.name!r} within {timeout} s") from None

    def __repr__(self) -> str:
        return f"ActorRef({self.name!r})"


def spawn(actor: Actor) -> asyncio.Task[None]:
    """Start `actor.run()` in a task that the caller owns and must keep.

    If the task is cancelled before it ever ran, queued asks still fail fast.
    """
    task = asyncio.get_running_loop().create_task(actor.run(), name=f"actor:{actor.name}")
    task.add_done_callback(lambda _t: actor._close(None))
    return task
