"""One call, start to finish: the SIP call, its RTP session, the prompt, the report.

This is the shell that joins `OutboundCall` (signalling) and `RtpSession`
(media). Everything that can happen to the call arrives on one queue (SIP
events, the prompt finishing, dead air, the caller's deadline), so the
sequence is a plain loop, and cleanup is in `finally`: a call that leaves
this function has been hung up (BYE or CANCEL) and its RTP port released,
on every path, including cancellation of the task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from media.ports import RtpPortsExhausted
from media.sdp import SdpError
from media.session import RtpSession, RtpSessionError

log = logging.getLogger("dialer.call")

HANGUP_GRACE_S = 5.0  # how long a BYE/CANCEL may take before we stop waiting for it


@dataclass(frozen=True)
class CallRequest:
    target: str  # a number or a SIP URI
    trunk: str = "default"
    prompt: bytes | None = None  # 8 kHz μ-law, played once on answer
    record_to: Path | None = None
    ring_timeout_s: float | None = None  # None: the configured limit
    max_duration_s: float | None = None  # None: the configured limit


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
    dtmf: str = ""  # keys the far end pressed (RFC 4733 events), in order

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


async def place_call(dialer: Dialer, request: CallRequest) -> CallReport:
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
        )
    except (RtpPortsExhausted, RtpSessionError) as exc:
        # Not placed at all: still an outcome, never an exception that loses the attempt.
        log.warning("call to %s not placed: %s", request.target, exc)
        return CallReport.not_placed(trunk.request_uri(request.target), f"not placed: {exc}")
    call: OutboundCall | None = None
    ended: CallEnded | None = None
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
        ended = await _follow(dialer, call, session, request, events)
    finally:
        keys = _pressed_keys(session)
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
    )


async def _follow(
    dialer: Dialer,
    call: OutboundCall,
    session: RtpSession,
    request: CallRequest,
    events: asyncio.Queue[object],
) -> CallEnded:
    transport = dialer.transport
    assert transport is not None
    while True:
        event = await events.get()
        if isinstance(event, CallEnded):
            return event
        if isinstance(event, CallRinging) and event.early_media_sdp:
            _apply(session, event.early_media_sdp, early=True)
        elif isinstance(event, CallAnswered):
            failure = _apply(session, event.sdp, early=False)
            if failure:
                transport.run(call, call.hangup(transport.now, failure, Outcome.FAILED))
                continue
            if request.record_to is not None:
                session.start_recording(request.record_to)
            if request.prompt is not None:
                done = session.play(request.prompt)
                done.add_done_callback(lambda _f: events.put_nowait(_PromptFinished()))
            session.dead_air.add_done_callback(
                lambda f: events.put_nowait(_DeadAir(f.result())) if not f.cancelled() else None
            )
        elif isinstance(event, MediaChanged):
            log.info("call %s: far end re-offered media", call.call_id)
        elif isinstance(event, MediaAnswered):
            failure = _apply(session, event.sdp, early=False)
            if failure:
                log.warning("call %s: %s (media left as it was)", call.call_id, failure)
        elif isinstance(event, _PromptFinished):
            transport.run(call, call.hangup(transport.now, "prompt finished"))
        elif isinstance(event, _DeadAir):
            transport.run(call, call.hangup(transport.now, event.reason))


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
