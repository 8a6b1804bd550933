"""PreviewDesk: contacts shown to ready console agents, and what each choice does to them."""

from __future__ import annotations

import asyncio

from actors.agent_pool import NO_PHONE, LiveAgentPool
from actors.preview import PREVIEW_TIMED_OUT, PreviewDecided, PreviewDesk
from dialer.agents.endpoint import CallOffer, PreviewChoice, PreviewOffer
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.agents.states import AgentState
from dialer.campaign.model import LeadState
from dialer.store.repository import Lead
from tests.actors.test_agent_pacing import PHONE, FakeClock

CAMPAIGN = 7


class FakeConsole:
    """A console as the desk sees it: each preview's future, and what it was told."""

    def __init__(self) -> None:
        self.offers: list[PreviewOffer] = []
        self.choices: list[asyncio.Future[PreviewChoice]] = []
        self.over: list[tuple[str, str]] = []

    async def ring(self, offer: CallOffer) -> object:
        raise AssertionError("a preview rings nobody")

    def preview(self, offer: PreviewOffer) -> asyncio.Future[PreviewChoice]:
        self.offers.append(offer)
        self.choices.append(asyncio.get_running_loop().create_future())
        return self.choices[-1]

    def preview_over(self, preview_id: str, outcome: str) -> None:
        self.over.append((preview_id, outcome))


def lead(lead_id: int, name: str = "Jane Doe") -> Lead:
    return Lead(
        lead_id, CAMPAIGN, name, "+14155550100", None, "+14155550199", None, {"plan": "gold"},
        LeadState.CREATED, 0, None, None, None, None, next_on_secondary=True,
    )  # fmt: skip


class Harness:
    def __init__(self, decide_within_s: float = 60.0) -> None:
        self.clock = FakeClock()
        self.live = LiveAgentPool(AgentPool(wrap_up_s=0.0), wall_clock=self.clock)
        self.decisions: asyncio.Queue[PreviewDecided] = asyncio.Queue()
        self.desk = PreviewDesk(
            self.live, CAMPAIGN, self.decisions.put_nowait, decide_within_s=decide_within_s
        )
        self.console = FakeConsole()

    def ready_agent(self, agent_id: int, endpoint: object) -> None:
        self.live.seat(AgentSeat(agent_id, f"Agent {agent_id}", f"10{agent_id:02d}"))
        self.live.phone_registered(agent_id, endpoint)  # type: ignore[arg-type]

    async def shown_and_chosen(self, choice: PreviewChoice | None) -> PreviewDecided:
        assert self.desk.show(1, lead(5))
        if choice is not None:
            self.console.choices[-1].set_result(choice)
        return await asyncio.wait_for(self.decisions.get(), 5)


async def test_only_ready_agents_at_a_console_are_shown_contacts() -> None:
    h = Harness()
    h.ready_agent(1, h.console)
    h.ready_agent(2, PHONE)  # a SIP phone has no screen
    assert h.desk.free_agents() == [1]
    assert not h.desk.show(2, lead(5))
    assert h.live.pool.state(2) is AgentState.READY
    assert h.desk.show(1, lead(5))
    (offer,) = h.console.offers
    assert (offer.name, offer.number, offer.lead_id) == ("Jane Doe", "+14155550199", 5)
    assert offer.contact["plan"] == "gold"
    assert h.live.pool.state(1) is AgentState.RESERVED
    assert h.desk.free_agents() == [] and h.desk.held() == {5}


async def test_call_keeps_the_agent_reserved_until_the_call_that_never_reached_them_ends() -> None:
    h = Harness()
    h.ready_agent(1, h.console)
    decided = await h.shown_and_chosen(PreviewChoice.CALL)
    preview = h.desk.decided(decided)
    assert preview is not None and list(h.desk.chosen) == [preview]
    assert h.desk.still_waiting(preview) and h.desk.held() == {5}
    h.desk.chosen.popleft()
    h.desk.dialled(preview, attempt_id=42)
    assert h.desk.free_agents() == []  # dialling for them: nothing else is shown
    h.desk.call_over(42, "busy")
    assert h.live.pool.state(1) is AgentState.READY
    assert h.console.over == [(preview.offer.preview_id, "busy")]
    assert h.desk.free_agents() == [1]


async def test_skip_frees_the_agent_and_a_console_gone_pauses_them() -> None:
    h = Harness()
    h.ready_agent(1, h.console)
    assert h.desk.decided(await h.shown_and_chosen(PreviewChoice.SKIP)) is not None
    assert h.live.pool.state(1) is AgentState.READY and not h.desk.chosen
    assert h.desk.decided(await h.shown_and_chosen(PreviewChoice.GONE)) is not None
    status = h.live.pool.status[1]
    assert (status.state, status.reason) == (AgentState.PAUSED, NO_PHONE)
    assert h.desk.held() == set()


async def test_no_choice_in_time_withdraws_the_contact_and_pauses_the_agent() -> None:
    h = Harness(decide_within_s=0.05)
    h.ready_agent(1, h.console)
    decided = await h.shown_and_chosen(None)
    assert decided.choice is None
    preview = h.desk.decided(decided)
    assert preview is not None
    status = h.live.pool.status[1]
    assert (status.state, status.reason) == (AgentState.PAUSED, PREVIEW_TIMED_OUT)
    assert h.console.over == [(preview.offer.preview_id, "timed out")]


async def test_withdrawing_hands_back_every_lead_shown_or_chosen_and_ignores_late_choices() -> None:
    h = Harness()
    h.ready_agent(1, h.console)
    h.ready_agent(2, FakeConsole())
    chosen = await h.shown_and_chosen(PreviewChoice.CALL)
    assert h.desk.decided(chosen) is not None
    assert h.desk.show(2, lead(6, "John Roe"))
    leads = h.desk.withdraw("campaign paused")
    assert sorted(lead.id for lead in leads) == [5, 6]
    assert h.live.pool.state(1) is AgentState.READY and h.live.pool.state(2) is AgentState.READY
    assert h.console.over[-1][1] == "campaign paused"
    assert h.desk.decided(chosen) is None  # a choice about a withdrawn preview changes nothing
    assert h.desk.held() == set() and sorted(h.desk.free_agents()) == [1, 2]
