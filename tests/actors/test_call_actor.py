"""CallActor: exactly one CallFinished, whatever happens to the call."""

from __future__ import annotations

import asyncio

import pytest

import actors.call as call_module
from actors.call import CallActor, CallFinished
from actors.runtime import Actor, spawn
from dialer.calling import CallReport, CallRequest


class Inbox(Actor):
    def __init__(self) -> None:
        super().__init__("inbox")
        self.got: list[CallFinished] = []
        self.arrived = asyncio.Event()

    async def receive(self, message: object) -> object:
        assert isinstance(message, CallFinished)
        self.got.append(message)
        self.arrived.set()
        return None


async def run_actor(monkeypatch: pytest.MonkeyPatch, place: object) -> tuple[Inbox, CallActor]:
    monkeypatch.setattr(call_module, "place_call", place)
    inbox = Inbox()
    inbox_task = spawn(inbox)
    actor = CallActor(
        None,  # type: ignore[arg-type]  # place_call is replaced: no dialer needed
        CallRequest(target="+14155550100"),
        attempt_id=7,
        lead_id=3,
        report_to=inbox.ref,
    )
    task = spawn(actor)
    await asyncio.wait_for(inbox.arrived.wait(), 5)
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    inbox.stop()
    await inbox_task
    return inbox, actor


async def test_a_finished_call_reports_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def place(dialer: object, request: CallRequest) -> CallReport:
        return CallReport("c1", request.target, "busy", 486, "Busy Here", 12.0, None, 0.0, {})

    inbox, actor = await run_actor(monkeypatch, place)
    (finished,) = inbox.got
    assert (finished.attempt_id, finished.lead_id) == (7, 3)
    assert (finished.report.outcome, finished.report.sip_code) == ("busy", 486)
    assert not actor.alive


async def test_a_crash_inside_the_call_still_reports_a_failed_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def place(dialer: object, request: CallRequest) -> CallReport:
        raise ZeroDivisionError("bug")

    inbox, _ = await run_actor(monkeypatch, place)
    (finished,) = inbox.got
    assert finished.report.outcome == "failed"
    assert finished.report.reason == "internal error: bug"


async def test_stopped_mid_call_reports_once(monkeypatch: pytest.MonkeyPatch) -> None:
    started = asyncio.Event()

    async def place(dialer: object, request: CallRequest) -> CallReport:
        started.set()
        await asyncio.Event().wait()  # a call that never ends by itself
        raise AssertionError("unreachable")

    monkeypatch.setattr(call_module, "place_call", place)
    inbox = Inbox()
    inbox_task = spawn(inbox)
    actor = CallActor(
        None,  # type: ignore[arg-type]
        CallRequest(target="+14155550100"),
        attempt_id=8,
        lead_id=4,
        report_to=inbox.ref,
    )
    task = spawn(actor)
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()  # what a supervisor's bounded shutdown does last
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.wait_for(inbox.arrived.wait(), 5)
    inbox.stop()
    await inbox_task
    (finished,) = inbox.got
    assert finished.report.outcome == "failed" and "stopped before" in finished.report.reason
