"""CallPreparation hands each call what its flow needs: the contact's values, and the
campaign's own safe-harbor message for a hand-off that finds nobody."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from dialer.amd_listener import hand_to_agents
from dialer.campaign.model import LeadState
from dialer.flow.interpreter import FlowStart
from dialer.flow.preparation import CallPreparation
from dialer.flow.runner import FlowRequest, SafeHarbor
from dialer.flow.validation import CampaignFlow
from dialer.store.repository import Lead

LEAD = Lead(5, 2, "Jane Doe", "+15550100", None, None, None, {"plan": "gold"},
            LeadState.CREATED, 0, None, None, None, None)  # fmt: skip


class Runtime:
    def __init__(self) -> None:
        self.prepared: list[Mapping[str, str]] = []

    async def prepare(self, start: FlowStart, values: Mapping[str, str]) -> None:
        self.prepared.append(values)


def opt_out(lead: Lead, number: str) -> Callable[[], Awaitable[None]]:
    async def record() -> None:
        return None

    return record


async def test_each_call_carries_the_contact_and_the_campaigns_safe_harbor() -> None:
    start = hand_to_agents("campaign-2")
    flow = CampaignFlow(start.location, start.flow, {}, frozenset())
    own = SafeHarbor(message="Acme called. Press 9 to opt out.")
    for safe_harbor in (own, None):
        runtime = Runtime()
        preparation = CallPreparation(flow, runtime, opt_out, safe_harbor)  # type: ignore[arg-type]
        request = await preparation.request_for(LEAD, "+15550100")
        assert isinstance(request, FlowRequest)
        assert request.safe_harbor is safe_harbor
        assert (request.campaign_id, request.lead_id) == (2, 5)
        assert request.contact["customerName"] == "Jane Doe" and runtime.prepared
