"""Each contact's flow, made ready before the contact is dialled.

The campaign hands a lead's next call a `FlowRequest`: the campaign's flow, the
contact's own values for its `{{placeholders}}`, and where the opt-out key
records its number. Two things happen ahead of the dial, not after the answer:

- the values are checked: a contact the flow cannot speak to (a placeholder with
  no value) is not dialled, rather than hear a gap;
- the first document's speech is rendered for that contact, for the leads next
  in line (`warm`), on the renderer's threads, so by the time one answers its
  prompts are in the cache and nobody waits for TTS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from dialer.flow.runner import FlowRequest, FlowRuntime, SafeHarbor
from dialer.flow.validation import CampaignFlow, missing_values
from dialer.store.repository import Lead

log = logging.getLogger("dialer.flow")

OptOutRecorder = Callable[[Lead, str], Callable[[], Awaitable[None]]]


class CallPreparation:
    def __init__(
        self,
        flow: CampaignFlow,
        runtime: FlowRuntime,
        opt_out: OptOutRecorder,
        safe_harbor: SafeHarbor | None = None,
    ) -> None:
        self.flow = flow
        self.runtime = runtime
        self.opt_out = opt_out
        self.safe_harbor = safe_harbor  # the campaign's own, for its hand-offs
        self.start = flow.start()
        self._warming: dict[int, asyncio.Task[None]] = {}

    def warm(self, leads: Iterable[Lead]) -> None:
        """Start rendering the speech of the leads next in line (each once)."""
        for lead in leads:
            if lead.id not in self._warming:
                task = asyncio.ensure_future(
                    self.runtime.prepare(self.start, lead.template_values())
                )
                self._warming[lead.id] = task

    async def request_for(self, lead: Lead, number: str) -> FlowRequest | str:
        """The call's FlowRequest, or why this contact cannot be dialled with this flow."""
        values = lead.template_values()
        lacking = missing_values([(lead.id, values)], self.flow.placeholders)
        if lacking:
            return f"no value for {', '.join(lacking[0][1])}"
        task = self._warming.pop(lead.id, None)
        if task is None:
            task = asyncio.ensure_future(self.runtime.prepare(self.start, values))
        try:
            await task
        except Exception as exc:
            # The flow renders again on answer (and apologises if it cannot): a
            # speech failure here is worth a line in the log, not a lost attempt.
            log.warning("lead %d: speech not ready before the dial: %s", lead.id, exc)
        return FlowRequest(
            self.runtime,
            self.start,
            values,
            self.opt_out(lead, number),
            campaign_id=lead.campaign_id,
            lead_id=lead.id,
            safe_harbor=self.safe_harbor,
        )

    def cancel(self) -> None:
        for task in self._warming.values():
            task.cancel()
        self._warming.clear()
