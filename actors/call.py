"""CallActor: one attempt, from INVITE to exactly one `CallFinished`.

A temporary child of its campaign's call supervisor: a half-finished call is
never replayed. `place_call` already hangs up and releases the RTP port on
every path; this actor adds the guarantee the campaign relies on: whatever
happens (an answer, a trunk failure, a bug, cancellation at shutdown), exactly
one `CallFinished` reaches the campaign, then the actor stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from actors.runtime import Actor, ActorRef, ActorStopped
from dialer.calling import CallReport, CallRequest, place_call
from dialer.runtime import Dialer

log = logging.getLogger("dialer.call")


@dataclass(frozen=True)
class CallFinished:
    attempt_id: int
    lead_id: int
    report: CallReport


@dataclass(frozen=True)
class _Dial:
    pass


class CallActor(Actor):
    def __init__(
        self,
        dialer: Dialer,
        request: CallRequest,
        *,
        attempt_id: int,
        lead_id: int,
        report_to: ActorRef,
    ) -> None:
        super().__init__(f"call-{attempt_id}")
        self.dialer = dialer
        self.request = request
        self.attempt_id = attempt_id
        self.lead_id = lead_id
        self.report_to = report_to
        self._reported = False

    async def on_start(self) -> None:
        self.ref.tell(_Dial())

    async def receive(self, message: object) -> object:
        if isinstance(message, _Dial):
            try:
                report = await place_call(self.dialer, self.request)
            except Exception as exc:
                # A bug in this call must not lose the attempt: it still gets an outcome.
                log.exception("attempt %d: call failed inside the dialer", self.attempt_id)
                report = _internal_failure(self.request, exc)
            self._report(report)
            self.stop()
        return None

    async def on_stop(self) -> None:
        # Stopped before the call could report (shutdown): the attempt still ends.
        self._report(_internal_failure(self.request, RuntimeError("stopped before the outcome")))

    def _report(self, report: CallReport) -> None:
        if self._reported:
            return
        self._reported = True
        try:
            self.report_to.tell(CallFinished(self.attempt_id, self.lead_id, report))
        except ActorStopped:
            # The campaign is gone; the attempt stays in flight in the ledger and is
            # reconciled at the next start, never silently dropped.
            log.warning(
                "attempt %d: campaign gone, outcome left to reconciliation", self.attempt_id
            )


def _internal_failure(request: CallRequest, exc: BaseException) -> CallReport:
    return CallReport.not_placed(request.target, f"internal error: {exc}")
