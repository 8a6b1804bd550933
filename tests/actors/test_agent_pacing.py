"""AgentPacing: the campaign's dial pacer fed from finished calls and agents' changes."""

from __future__ import annotations

from pathlib import Path

from actors.agent_pacing import AgentPacing
from actors.agent_pool import LiveAgentPool
from dialer.agents.leg import SipPhone
from dialer.agents.pool import AgentPool, AgentSeat, Wanted
from dialer.calling import CallReport
from dialer.campaign.abandonment import AbandonmentMeter
from dialer.campaign.model import AttemptOutcome, CallOutcome, LeadEvent
from dialer.campaign.predictive import DialingMode, DialPacer, PacingSettings
from dialer.contacts.record import ContactRecord
from dialer.sip.actions import Destination
from dialer.store.repository import Repository
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker

DAY = 86_400.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


NOWHERE = Destination("127.0.0.1", 5999)
PHONE = SipPhone(None, "sip:a@127.0.0.1:5999", NOWHERE)  # type: ignore[arg-type]  # never rung


def progressive(live: LiveAgentPool, woken: list[int]) -> AgentPacing:
    pacer = DialPacer(PacingSettings(mode=DialingMode.PROGRESSIVE), AbandonmentMeter())
    pacing = AgentPacing(pacer, live, 7, wake=lambda: woken.append(1))
    pacing.attach()
    return pacing


def report(*, answered: bool, answered_by: str | None = None, status: str = "") -> CallReport:
    return CallReport(
        call_id="c",
        target="sip:+15550100@trunk",
        outcome="completed" if answered else "no_answer",
        sip_code=200 if answered else 480,
        reason="",
        setup_ms=4000.0,
        answered_at="2026-12-02T08:00:00+00:00" if answered else None,
        answered_by=answered_by,
        duration_s=30.0 if answered else 0.0,
        rtp={},
        variables={"DialCallStatus": status} if status else {},
    )


async def test_progressive_room_is_ready_agents_less_the_calls_still_ringing() -> None:
    clock = FakeClock()
    live = LiveAgentPool(AgentPool(wrap_up_s=5.0), wall_clock=clock)
    for agent_id in (1, 2):
        live.seat(AgentSeat(agent_id, f"A{agent_id}", f"100{agent_id}"))
    woken: list[int] = []
    pacing = progressive(live, woken)
    for agent_id in (1, 2):
        live.phone_registered(agent_id, PHONE)
    assert woken == [1, 1]  # each agent that became ready woke the campaign
    assert pacing.room(clock.now, []) == 2
    assert pacing.room(clock.now, [clock.now - 3]) == 1
    # A person answered and was handed to agent 1: their call is resolved, not ringing.
    live.pool.request(Wanted(7), clock.now, clock.now + 2)
    live.connect(1)
    assert pacing.room(clock.now, [clock.now - 10, clock.now - 3]) == 0
    assert pacing.room(clock.now, [clock.now - 10]) == 1
    live.phone_gone(2, "expired")
    assert pacing.room(clock.now, [clock.now - 10]) == 0
    pacing.detach()
    await live.close()


async def test_talk_and_wrap_up_times_reach_the_pacer() -> None:
    clock = FakeClock()
    live = LiveAgentPool(AgentPool(wrap_up_s=5.0), wall_clock=clock)
    live.seat(AgentSeat(1, "A1", "1001"))
    live.seat(AgentSeat(2, "Other campaign", "1002", frozenset({8})))
    pacing = progressive(live, [])
    live.phone_registered(1, PHONE)
    live.phone_registered(2, PHONE)
    for agent_id, campaign_id in ((1, 7), (2, 8)):
        live.pool.request(Wanted(campaign_id), clock.now, clock.now + 2)
        live.connect(agent_id)
    clock.now += 90.0
    live.hang_up(1)
    live.hang_up(2)
    clock.now += 5.0
    live._on_timer()  # the wrap-up timer fires (the fake clock says it is due)
    stats = pacing.pacer.stats
    assert (len(stats.talks), stats.talks.total) == (1, 90.0)  # 2 serves another campaign
    assert (len(stats.wraps), stats.wraps.total) == (1, 5.0)
    await live.close()


async def test_finished_calls_feed_the_answer_rates_and_the_abandonment_meter() -> None:
    clock = FakeClock()
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0), wall_clock=clock)
    pacing = progressive(live, [])
    pacing.call_finished(report(answered=False), clock.now)
    pacing.call_finished(report(answered=True, answered_by="machine"), clock.now)
    pacing.call_finished(report(answered=True, answered_by="human", status="abandoned"), clock.now)
    pacing.call_finished(report(answered=True, status="completed"), clock.now)
    reading = pacing.pacer.meter.reading(clock.now)
    assert (reading.live, reading.abandoned) == (2, 1)
    stats = pacing.pacer.stats
    assert stats.kinds == {"live": 2, "machine": 1, "unanswered": 1}
    await live.close()


async def test_the_meter_is_seeded_from_the_ledgers_last_30_days(tmp_path: Path) -> None:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "d.db"))
    now = 1_800_000_000.0
    days_ago = {"completed": [0, 0, 1, 40], "abandoned": [0, 2, 45]}  # 40+ days: forgotten

    def fill(s: Repository) -> int:
        campaign = s.create_campaign("c", now=now - 50 * DAY)
        phones = [f"+1415555{n:04d}" for n in range(10)]
        s.import_contacts(
            campaign, [ContactRecord(n + 2, f"P{n}", p, None) for n, p in enumerate(phones)],
            now=now - 50 * DAY,
        )  # fmt: skip
        leads = iter(s.list_leads(campaign))
        for status, ages in days_ago.items():
            for age in ages:
                lead = next(leads)
                at = now - age * DAY - 60
                attempt = s.begin_attempt(lead.id, str(lead.phone), at)
                outcome = AttemptOutcome(
                    CallOutcome.COMPLETED, 200, "", variables={"DialCallStatus": status}
                )
                s.finish_attempt(attempt, outcome, at + 30, then=LeadEvent.COMPLETE)
        return campaign

    campaign = await store.run(fill)
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    pacing = AgentPacing(DialPacer(PacingSettings()), live, campaign)
    await pacing.seed(store, now)
    reading = pacing.pacer.meter.reading(now)
    assert (reading.live, reading.abandoned) == (5, 2)
    assert (reading.live_today, reading.abandoned_today) == (3, 1)
    await live.close()
    store.close()
