"""Campaigns compared over the API: figures from a ledger seeded through the store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from dialer.campaign.model import AnsweredBy, AttemptOutcome, CallOutcome, LeadEvent
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Repository
from tests.web.api.harness import Api

Call = tuple[AttemptOutcome, LeadEvent]
DONE, AGAIN, OUT = LeadEvent.COMPLETE, LeadEvent.RESCHEDULE, LeadEvent.EXHAUST


def answered(
    seconds: float, by: AnsweredBy | None = None, handoff: str | None = None
) -> AttemptOutcome:
    variables = {"DialCallStatus": handoff} if handoff else {}
    return AttemptOutcome(CallOutcome.COMPLETED, 200, "prompt finished", answered_by=by,
                          variables=variables, duration_s=seconds)  # fmt: skip


NO_ANSWER = AttemptOutcome(CallOutcome.NO_ANSWER, 480, "no answer before ring timeout")
BUSY = AttemptOutcome(CallOutcome.BUSY, 486, "Busy Here")
FAILED = AttemptOutcome(CallOutcome.FAILED, 503, "Service Unavailable")
REJECTED = AttemptOutcome(CallOutcome.REJECTED, 603, "Decline")


def seed(
    store: Repository,
    name: str,
    leads: Sequence[Sequence[Call]],
    *,
    now: float,
    settings: Mapping[str, object] | None = None,
) -> int:
    """A campaign with one lead per entry, each dialled through its calls in order."""
    campaign = store.create_campaign(name, now=now, settings=settings or {})
    records = [ContactRecord(i + 2, f"Contact {i}", f"+1415555{campaign:02d}{i:02d}", None)
               for i in range(len(leads))]  # fmt: skip
    store.import_contacts(campaign, records, now=now)
    for lead, calls in zip(store.list_leads(campaign), leads, strict=True):
        assert lead.phone is not None
        for result, then in calls:
            attempt = store.begin_attempt(lead.id, lead.phone, now)
            store.finish_attempt(attempt, result, now, then=then)
    return campaign


# Spring: 5 leads, 5 attempts: 3 answered (2 people, 1 machine), 1 no answer, 1 busy;
# 1 lead completed and 1 out of attempts; 2 hand-offs, 1 abandoned.
SPRING = [
    [(answered(30.0, AnsweredBy.HUMAN, "completed"), DONE)],
    [(answered(10.0, AnsweredBy.MACHINE), AGAIN), (NO_ANSWER, OUT)],
    [(BUSY, AGAIN)],
    [(answered(5.0, AnsweredBy.HUMAN, "abandoned"), AGAIN)],
    [],
]
# Autumn: 3 leads, 3 attempts, no AMD: 2 answered, 1 rejected; 2 of 3 leads completed.
AUTUMN = [
    [(answered(60.0), DONE)],
    [(answered(40.0, AnsweredBy.UNKNOWN), DONE)],
    [(REJECTED, OUT)],
]


async def test_campaigns_are_compared_side_by_side_in_the_order_asked(api: Api) -> None:
    now = time.time()
    spring, autumn = await api.store.run(
        lambda s: (seed(s, "Spring", SPRING, now=now), seed(s, "Autumn", AUTUMN, now=now))
    )
    answer = await api.client.get("/api/stats", params={"campaigns": f"{autumn},{spring},{autumn}"},
                                  headers=api.auth("manager"))  # fmt: skip
    assert answer.status == 200, await answer.text()
    first, second = (await answer.json())["campaigns"]  # each campaign once
    assert (first["campaign"], first["name"], second["campaign"]) == (autumn, "Autumn", spring)
    assert {key: second[key] for key in FIGURES} == {
        "leads": 5, "attempts": 5, "attempts_per_lead": 1.0, "answered": 3, "reached": 2,
        "reached_rate": 0.4, "human": 2, "voicemail": 1, "voicemail_rate": 0.2,
        "no_answer": 1, "no_answer_rate": 0.2, "busy": 1, "busy_rate": 0.2, "rejected": 0,
        "failed": 0, "failed_rate": 0.0, "cancelled": 0, "success_rate": 0.5,
        "mean_answered_s": 15.0,
    }  # fmt: skip
    assert {key: first[key] for key in FIGURES} == {
        "leads": 3, "attempts": 3, "attempts_per_lead": 1.0, "answered": 2, "reached": 2,
        "reached_rate": 0.6667, "human": 0, "voicemail": 0, "voicemail_rate": 0.0,
        "no_answer": 0, "no_answer_rate": 0.0, "busy": 0, "busy_rate": 0.0, "rejected": 1,
        "failed": 0, "failed_rate": 0.3333, "cancelled": 0, "success_rate": 0.6667,
        "mean_answered_s": 50.0,
    }  # fmt: skip
    spring_lost = second["abandonment"]
    assert (spring_lost["live_30d"], spring_lost["abandoned_30d"], spring_lost["rate_30d"]) == (
        2, 1, 0.5
    )  # fmt: skip
    assert first["abandonment"]["live_30d"] == 0


async def test_a_campaign_never_dialled_has_zeros_not_errors(api: Api) -> None:
    quiet = await api.store.run(lambda s: seed(s, "Quiet", [[], []], now=time.time()))
    answer = await api.client.get("/api/stats", params={"campaigns": str(quiet)},
                                  headers=api.auth("manager"))  # fmt: skip
    (figures,) = (await answer.json())["campaigns"]
    assert (figures["leads"], figures["attempts"], figures["reached_rate"]) == (2, 0, 0.0)
    assert (figures["attempts_per_lead"], figures["mean_answered_s"]) == (0.0, None)


async def test_unknown_campaigns_and_bad_lists_are_refused(api: Api) -> None:
    known = await api.store.run(lambda s: seed(s, "Known", [], now=time.time()))
    manager = api.auth("manager")
    answer = await api.client.get("/api/stats", params={"campaigns": f"{known},999"},
                                  headers=manager)  # fmt: skip
    assert answer.status == 404 and "999" in (await answer.json())["error"]["message"]
    for bad in ("", "1,,2", "0", "a", ",".join(["1"] * 21), "1" * 19):
        answer = await api.client.get("/api/stats", params={"campaigns": bad}, headers=manager)
        assert answer.status == 400, bad
        assert (await answer.json())["error"]["details"][0]["at"] == "query.campaigns"
    answer = await api.client.get("/api/stats", headers=manager)
    assert answer.status == 400


FIGURES = ("leads", "attempts", "attempts_per_lead", "answered", "reached", "reached_rate",
           "human", "voicemail", "voicemail_rate", "no_answer", "no_answer_rate", "busy",
           "busy_rate", "rejected", "failed", "failed_rate", "cancelled", "success_rate",
           "mean_answered_s")  # fmt: skip
