"""One call, start to finish: the SIP call, its RTP session, the prompt, the report.

This is the shell that joins `OutboundCall` (signalling) and `RtpSession`
(media). Everything that can happen to the call arrives on one queue (SIP
events, the prompt or the flow finishing, dead air, the caller's deadline),
so the sequence is a plain loop, and cleanup is in `finally`: a call that
leaves this function has been hung up (BYE or CANCEL), its flow stopped and
its RTP port released, on every path, including cancellation of the task.

On answer the call plays its `prompt`, or runs its `flow` (a `CallFlow` task
owned by this function): the flow's end hangs up, and what it learnt (flow
variables, keys) goes into the report even when the far end hung up first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.amd_listener import AmdDecided, AmdListener, AmdRequest, GreetingEnded
from dialer.flow.interpreter import CallFacts, FlowResult
from dialer.flow.runner import CallFlow, FlowRequest
from dialer.runtime import Dialer
from dialer.sip.call import (
    CallAnswered,
    CallEnded,
    CallParams,
    CallRinging,
    MediaAnswered,
    MediaChanged,
    OutboundCall,
    Outcome,
)
from media.amd import AmdLabel
from media.ports import RtpPortsExhausted
from media.sdp import SdpError
from media.session import RtpSession, RtpSessionError

log = logging.getLogger("dialer.call")

HANGUP_GRACE_S = 5.0  # how long a BYE/CANCEL may take before we stop waiting for it


@dataclass(frozen=True)
class CallRequest:
    target: str  # a number or a SIP URI
    trunk: str = "default"
    prompt: bytes | None = None  # 8 kHz μ-law, played once on answer (when no flow)
    flow: FlowRequest | None = None
    amd: AmdRequest | None = None  # tell a person from an answering machine
    record_to: Path | None = None
    ring_timeout_s: float | None = None  # None: the configured limit
    max_duration_s: float | None = None  # None: the configured limit
    # Told "initiated" (the INVITE left), "ringing" (the first 18x) and "answered", with
    # the call's id: status callbacks. It must not block (it runs on the call's path).
    on_progress: Callable[[str, str], None] | None = None


@dataclass(frozen=True)
class CallReport:
    call_id: str
    target: str
    outcome: str
    sip_code: int | None
    reason: str
    setup_ms: float | None
    answered_at: str | None  # ISO 8601, UTC
    duration_s: float
    rtp: dict[str, Any]
    retry_after_s: int | None = None  # from a 503/486/480 Retry-After, for the retry policy
    dtmf: str = ""  # keys the far end pressed (RFC 4733 events or in-band tones), in order
    variables: Mapping[str, str] = field(default_factory=dict)  # what the flow set
    first_prompt_ms: float | None = None  # from the answer to the flow's first prompt
    answered_by: str | None = None  # AMD's verdict: human, machine, unknown (None: no AMD)
    amd_ms: int | None = None  # when AMD decided, in ms of audio after the answer
    beep_ms: int | None = None  # the greeting's beep, in ms of audio after the answer

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def not_placed(cls, target: str, reason: str) -> CallReport:
        """The report of an attempt that never became a call: still an outcome."""
        return cls(
            call_id="",
            target=target,
            outcome=Outcome.FAILED.value,
            sip_code=None,
            reason=reason,
            setup_ms=None,
            answered_at=None,
            duration_s=0.0,
            rtp={},
        )


@dataclass(frozen=True)
class _PromptFinished:
    pass


@dataclass(frozen=True)
class _DeadAir:
    reason: str


@dataclass(frozen=True)
class _FlowFinished:
    result: FlowResult
    run: int  # which of the call's flows: one stopped since may still report


async def _no_opt_out() -> None:
    log.warning("the opt-out key was pressed on a call with nowhere to record it")


async def place_call(dialer: Dialer, request: CallRequest) -> CallReport:
    """Place the call and return its report, counted in the dialer's metrics."""
    dialer.metrics.call_started()
    report = None
    try:
        report = await _place_call(dialer, request)
        return report
    finally:
        dialer.metrics.call_finished(report)


async def _place_call(dialer: Dialer, request: CallRequest) -> CallReport:
    transport = dialer.transport
    if transport is None:
        raise RuntimeError("the dialer is not started")
    config = dialer.config
    trunk = dialer.trunks[request.trunk]
    loop = asyncio.get_running_loop()
    wall_offset = time.time() - loop.time()
    events: asyncio.Queue[object] = asyncio.Queue()

    try:
        session = await RtpSession.open(
            dialer.ports,
            dialer.clock,
            config.rtp.bind_host,
            advertised_host=config.sip.advertised_host,
            dead_air_timeout=config.rtp.dead_air_s,
            dtmf_inband=config.rtp.dtmf_inband,
        )
    except (RtpPortsExhausted, RtpSessionError) as exc:
        # Not placed at all: still an outcome, never an exception that loses the attempt.
        log.warning("call to %s not placed: %s", request.target, exc)
        return CallReport.not_placed(trunk.request_uri(request.target), f"not placed: {exc}")
    call: OutboundCall | None = None
    ended: CallEnded | None = None
    flow = _FlowTask()
    amd = AmdListener(request.amd, events.put_nowait) if request.amd is not None else None
    try:
        call = OutboundCall(
            CallParams(
                target=trunk.request_uri(request.target),
                destination=trunk.destination,
                from_uri=trunk.from_uri,
                contact=dialer.contact_for(trunk),
                sdp_offer=session.local_offer().encode(),
                caller_name=trunk.settings.caller_name,
                username=trunk.settings.username,
                password=trunk.settings.password,
                user_agent=config.sip.user_agent,
                ring_timeout_s=request.ring_timeout_s or config.limits.ring_timeout_s,
                max_duration_s=request.max_duration_s or config.limits.max_call_duration_s,
                max_redirects=config.limits.max_redirects,
                cancel_timeout_s=64 * config.sip.timer_t1,
                trusted_hosts=dialer.trusted_hosts,
            ),
            answer_offer=session.reoffer_answerer,
            make_offer=lambda: session.local_offer().encode(),
        )
        transport.start_call(call, call.start(transport.now), events.put_nowait)
        if request.on_progress is not None:
            request.on_progress("initiated", call.call_id)
        ended = await _follow(dialer, call, session, request, events, flow, amd)
    finally:
        if amd is not None:
            amd.detach()
        await flow.stop()
        keys = flow.keys + _pressed_keys(session)
        if call is not None and not call.ended:
            transport.run(call, call.hangup(transport.now, "dialer shutting the call down"))
            ended = await _wait_ended(events, HANGUP_GRACE_S) or ended
        session.close()
        if call is not None:
            transport.forget(call)

    assert call is not None
    if ended is None:
        ended = CallEnded(
            Outcome.FAILED,
            None,
            "no final outcome from the SIP layer",
            0.0,
            None,
            None,
            transport.now,
        )
    answered_at = None
    if ended.answered_at is not None:
        answered_at = datetime.fromtimestamp(ended.answered_at + wall_offset, UTC).isoformat()
    setup_ms = None
    if ended.final_response_at is not None:
        setup_ms = round((ended.final_response_at - ended.invited_at) * 1000, 1)
    duration = ended.ended_at - ended.answered_at if ended.answered_at is not None else 0.0
    return CallReport(
        call_id=call.call_id,
        target=trunk.request_uri(request.target),
        outcome=ended.outcome.value,
        sip_code=ended.sip_code,
        reason=ended.reason,
        setup_ms=setup_ms,
        answered_at=answered_at,
        duration_s=round(duration, 3),
        rtp=session.stats().to_dict(),
        retry_after_s=ended.retry_after_s,
        dtmf=keys,
        variables=flow.variables,
        first_prompt_ms=flow.first_prompt_ms,
        **_amd_report(amd),
    )


def _greeting_ended(flow: _FlowTask, amd: AmdRequest, event: AmdDecided) -> float | None:
    """When the person stopped speaking (loop time): AMD calls a person human once they
    have been silent for `human_pause_ms`, and the safe harbor counts from then."""
    if flow.answered_at is None:
        return None
    spoke_until_ms = max(0, event.decision.at_ms - amd.detector.human_pause_ms)
    return flow.answered_at + spoke_until_ms / 1000


def _amd_report(amd: AmdListener | None) -> dict[str, Any]:
    if amd is None:
        return {}
    decision = amd.decision
    greeting = amd.greeting_ended
    return {
        "answered_by": decision.label if decision is not None else None,
        "amd_ms": decision.at_ms if decision is not None else None,
        "beep_ms": greeting.beep_ms if greeting is not None else None,
    }


class _FlowTask:
    """The call's flow: started on answer (or on AMD's verdict), stopped on every path.

    A call may run two in turn: the flow, then, when AMD hears a machine, the
    message left after the beep. Keys and variables add up across both."""

    def __init__(self) -> None:
        self.flow: CallFlow | None = None
        self.task: asyncio.Task[FlowResult] | None = None
        self.answered_at: float | None = None  # loop time, set on answer
        self.runs = 0  # flows started
        self._keys = ""
        self._variables: dict[str, str] = {}
        self._first_prompt_ms: float | None = None  # of a flow that has ended

    def start(
        self, call: OutboundCall, session: RtpSession, spec: FlowRequest, target: str,
        events: asyncio.Queue[object], caller: str, answered_by: str | None = None,
        waiting_since: float | None = None,
    ) -> None:  # fmt: skip
        facts = CallFacts(
            call.call_id, caller, target, spec.contact, answered_by,
            spec.campaign_id, spec.lead_id, spec.agent_id,
        )  # fmt: skip
        opt_out = spec.opt_out or _no_opt_out
        self.flow = CallFlow(
            spec.runtime, session, spec.start, facts, opt_out, self.answered_at, waiting_since,
            spec.safe_harbor,
        )  # fmt: skip
        self.task = asyncio.ensure_future(self.flow.run())
        self.runs += 1
        run = self.runs
        self.task.add_done_callback(
            lambda t: (
                events.put_nowait(_FlowFinished(t.result(), run)) if not t.cancelled() else None
            )
        )

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.flow is not None:
            self._keys += self.flow.keys
            self._variables |= self.flow.variables
            if self._first_prompt_ms is None:
                self._first_prompt_ms = self.flow.first_prompt_ms
            self.flow.session.stop_playback()
        self.flow = self.task = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def keys(self) -> str:
        return self._keys + (self.flow.keys if self.flow is not None else "")

    @property
    def variables(self) -> dict[str, str]:
        return self._variables | (dict(self.flow.variables) if self.flow is not None else {})

    @property
    def first_prompt_ms(self) -> float | None:
        """From the answer to the first prompt of the call's flows."""
        if self._first_prompt_ms is not None or self.flow is None:
            return self._first_prompt_ms
        return self.flow.first_prompt_ms


async def _follow(
    dialer: Dialer,
    call: OutboundCall,
    session: RtpSession,
    request: CallRequest,
    events: asyncio.Queue[object],
    flow: _FlowTask,
    amd: AmdListener | None,
) -> CallEnded:
    transport = dialer.transport
    assert transport is not None
    caller = dialer.trunks[request.trunk].settings.caller_id

    def start_speaking(answered_by: str | None = None) -> None:
        if request.flow is not None:
            flow.start(call, session, request.flow, request.target, events, caller, answered_by)
        elif request.prompt is not None:
            done = session.play(request.prompt)
            done.add_done_callback(lambda _f: events.put_nowait(_PromptFinished()))

    def hang_up(reason: str) -> None:
        transport.run(call, call.hangup(transport.now, reason))

    finished: str | None = None  # why the call would have ended while AMD still listened
    progress = request.on_progress or (lambda _status, _call_id: None)
    rang = False
    while True:
        event = await events.get()
        if isinstance(event, CallEnded):
            return event
        if isinstance(event, CallRinging):
            if not rang:
                rang = True
                progress("ringing", call.call_id)
            if event.early_media_sdp:
                _apply(session, event.early_media_sdp, early=True)
        elif isinstance(event, CallAnswered):
            progress("answered", call.call_id)
            failure = _apply(session, event.sdp, early=False)
            if failure:
                transport.run(call, call.hangup(transport.now, failure, Outcome.FAILED))
                continue
            if request.record_to is not None:
                session.start_recording(request.record_to)
            flow.answered_at = asyncio.get_running_loop().time()
            if amd is not None:
                amd.attach(session)
            if request.amd is None or not request.amd.wait:
                start_speaking()  # AMD listens meanwhile: a person never waits in silence
            session.dead_air.add_done_callback(
                lambda f: events.put_nowait(_DeadAir(f.result())) if not f.cancelled() else None
            )
        elif isinstance(event, MediaChanged):
            log.info("call %s: far end re-offered media", call.call_id)
        elif isinstance(event, MediaAnswered):
            failure = _apply(session, event.sdp, early=False)
            if failure:
                log.warning("call %s: %s (media left as it was)", call.call_id, failure)
        elif isinstance(event, _PromptFinished | _FlowFinished):
            if isinstance(event, _FlowFinished) and event.run != flow.runs:
                continue  # a flow stopped since, that finished as it was stopped
            reason = event.result.reason if isinstance(event, _FlowFinished) else "prompt finished"
            if amd is not None and amd.decision is None and not amd.done:
                finished = reason  # hold the line for the verdict: a machine gets its message
                continue
            hang_up(reason)
        elif isinstance(event, _DeadAir):
            hang_up(event.reason)
        elif isinstance(event, AmdDecided):
            assert request.amd is not None
            verdict = request.amd.acts_as(event.decision.label)
            if verdict == AmdLabel.HUMAN:
                if request.amd.agent is not None:  # on_human = agent: to the agents, now
                    await flow.stop()
                    session.stop_playback()
                    flow.start(call, session, request.amd.agent, request.target, events,
                               caller, event.decision.label,
                               _greeting_ended(flow, request.amd, event))  # fmt: skip
                elif finished is not None:
                    hang_up(finished)
                elif request.amd.wait:
                    start_speaking(event.decision.label)
                continue
            await flow.stop()  # a machine: stop talking to it
            session.stop_playback()
            if request.amd.on_machine != "message":
                hang_up("answering machine")
        elif isinstance(event, GreetingEnded):
            assert request.amd is not None and request.amd.message is not None
            answered_by = f"machine_end_{'beep' if event.kind == 'beep' else 'silence'}"
            flow.start(
                call, session, request.amd.message, request.target, events, caller, answered_by
            )


def _apply(session: RtpSession, sdp: bytes, *, early: bool) -> str | None:
    """Apply the far end's SDP answer; the reason it is unusable, or None."""
    if early and session.remote_address is not None:
        return None  # early media already flowing from an earlier 18x
    try:
        session.apply_answer(sdp.decode("utf-8", "replace"))
    except SdpError as exc:
        return f"unusable SDP answer: {exc}"
    return None


def _pressed_keys(session: RtpSession) -> str:
    keys = []
    while not session.dtmf.empty():
        keys.append(session.dtmf.get_nowait().digit)
    return "".join(keys)


async def _wait_ended(events: asyncio.Queue[object], timeout: float) -> CallEnded | None:
    try:
        async with asyncio.timeout(timeout):
            while True:
                event = await events.get()
                if isinstance(event, CallEnded):
                    return event
    except TimeoutError:
        return None
