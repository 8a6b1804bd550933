"""A whole 1,000-contact campaign against a SIPp trunk: outcomes, retries and limits hold.

The trunk (scenarios/campaign_trunk.xml) answers, rings out (480), is busy (486) or refuses with
503 and Retry-After: 1, by the dialled number; numbers in its slow hundreds answer after 1 s, so
the campaign runs into its concurrency limit there and into the trunk's cps everywhere else.
The limits are checked where the trunk sees them, on SIPp's side of the wire, from the
timestamps in its message trace; the dialer's own counters and ledger only back that up.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from dialer.campaign.policy import RetryRules
from dialer.store.repository import Attempt
from tests.e2e.campaign_run import contacts, results, run_campaign
from tests.e2e.peers import Sipp
from tests.e2e.sip_trace import (
    TracedMessage,
    busiest_window,
    dialled_number,
    new_invites,
    peak_concurrency,
)

pytestmark = pytest.mark.e2e

CONTACTS = 1000
LIMIT = 30
CPS = 50.0
RULES = RetryRules(max_attempts=2, retry_delay_s=0.0)
# The pacer allows at most cps dials in any second when it decides them. Each INVITE then
# leaves after its attempt is committed (an fsync, now and then tens of ms) and its call
# starts: wire times trail decisions by a varying delay, so INVITEs decided apart can reach
# SIPp closer together. In a window this much shorter than a second, cps INVITEs are the
# most a correct pacer can show on the wire while that delay stays under JITTER_S.
JITTER_S = 0.1
# A Retry-After: 1 pause starts when the dialer reads the 503, a little after SIPp stamped it,
# and ends a second later: a margin at both ends of that second.
BACKOFF_MARGIN_S = 0.05


def expected(phone: str) -> tuple[str, int]:
    """(outcome, SIP code) campaign_trunk.xml gives this number, on every attempt."""
    if phone.endswith("99"):
        return "failed", 503
    return {"1": ("busy", 486), "2": ("no_answer", 480)}.get(phone[-1], ("completed", 200))


def attempts_by_call_id(
    invites: list[TracedMessage], attempts: list[Attempt]
) -> dict[str, Attempt]:
    """The ledger row behind each call SIPp got: a number's calls in order are its attempts."""
    calls: dict[str, list[str]] = defaultdict(list)
    for invite in sorted(invites, key=lambda m: m.at or 0.0):
        calls[dialled_number(invite)].append(invite.header("Call-ID") or "")
    rows: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:  # in id order: the order they were dialled
        rows[attempt.number].append(attempt)
    return {
        call_id: attempt
        for number, call_ids in calls.items()
        for call_id, attempt in zip(call_ids, rows[number], strict=True)
    }


async def test_a_thousand_contacts_end_once_within_the_trunk_limits(tmp_path: Path) -> None:
    records = contacts(CONTACTS)
    started = time.monotonic()
    with Sipp.start_uas("campaign_trunk", timeout_s=150, workdir=tmp_path / "sipp") as sipp:
        store, campaign_id, result = await run_campaign(
            tmp_path, sipp, records, LIMIT, RULES, cps=CPS, timeout_s=100
        )
    messages = sipp.messages()  # read once SIPp has ended: its trace is complete
    found = await results(store, campaign_id)
    leads, attempts = found.leads, found.attempts
    lead_rows, attempt_rows = found.lead_rows, found.attempt_rows
    invites = new_invites(messages)
    arrivals = [m.at for m in invites if m.at is not None]
    refused: dict[str, float] = {}  # Call-ID -> when SIPp first sent its 503
    for m in messages:
        if m.direction == "sent" and m.status == 503 and m.at is not None:
            refused.setdefault(m.header("Call-ID") or "", m.at)
    sipp_peak = peak_concurrency(messages)
    print(
        f"\n{len(attempts)} attempts in {time.monotonic() - started:.1f} s; peak {sipp_peak}"
        f" calls; busiest {1 - JITTER_S:g} s: {busiest_window(arrivals, 1 - JITTER_S)} INVITEs"
    )

    assert result.state == "completed" and result.reconciled == 0, result
    # Each contact ends once, in the state its number calls for, after the attempts the rules
    # allow: answered at the first attempt, anything else retried once and then exhausted.
    by_lead: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_lead[attempt.lead_id].append(attempt)
    assert [lead.phone for lead in leads] == [r.phone for r in records]
    for lead in leads:
        assert lead.phone is not None
        outcome, code = expected(lead.phone)
        tries = by_lead[lead.id]
        if outcome == "completed":
            assert (lead.state, len(tries)) == ("completed", 1), lead
        else:
            assert (lead.state, len(tries)) == ("max_retries", RULES.max_attempts), lead
        assert lead.last_outcome == outcome and lead.attempts == len(tries), lead
        for attempt in tries:
            assert attempt.state == "finished" and attempt.number == lead.phone, attempt
            assert attempt.result is not None, attempt
            assert (attempt.result.outcome, attempt.result.sip_code) == (outcome, code), attempt
        for first, retry in pairwise(tries):  # one in flight per lead
            assert first.finished_at is not None and retry.started_at >= first.finished_at
    retried = sum(1 for r in records if r.phone and expected(r.phone)[0] != "completed")
    assert len(attempts) == CONTACTS + retried

    # The ledger and the trunk agree: one new call (Call-ID) per attempt, to its number.
    assert len(invites) == len(attempts), (len(invites), len(attempts))
    assert Counter(dialled_number(m) for m in invites) == Counter(a.number for a in attempts)

    # Concurrency, as SIPp saw it: never above the limit, and reached (not trickling).
    assert result.peak_concurrent == LIMIT
    assert LIMIT - 2 <= sipp_peak <= LIMIT, sipp_peak

    # Calls per second, as SIPp saw them: never above the trunk's cps in any window, and the
    # pacer is what held the rate (the busiest second is close to cps).
    assert len(arrivals) == len(invites)
    assert busiest_window(arrivals, 1 - JITTER_S) <= CPS
    assert busiest_window(arrivals, 1.0) >= 0.8 * CPS
    # Where the decisions are made: the ledger's dial times, any second, at most cps. (The
    # pacer runs on the loop's clock and the ledger on the wall clock, read microseconds
    # apart: a call let through exactly a second after another may look 1 ms early.)
    assert busiest_window([a.started_at for a in attempts], 1.0 - 0.002) <= CPS

    # Back-off: after a 503 with Retry-After: 1 the trunk gets no new call for a second.
    attempt_of = attempts_by_call_id(invites, attempts)
    assert len(refused) == 2 * sum(1 for r in records if r.phone and r.phone.endswith("99"))
    for call_id, refused_at in refused.items():
        # The dialer read the 503 (and paused the trunk) when it wrote that attempt's outcome.
        heard_at = attempt_of[call_id].finished_at
        assert heard_at is not None
        # On the wire, as SIPp saw it. Exempt: calls the dialer had decided on before it read
        # the 503; a stalled event loop can hold such an INVITE back for tens of ms (seen: 63).
        sent_anyway = [
            round(m.at - refused_at, 3)
            for m in invites
            if m.at is not None
            and refused_at + BACKOFF_MARGIN_S < m.at < refused_at + 1 - BACKOFF_MARGIN_S
            and attempt_of[m.header("Call-ID") or ""].started_at >= heard_at
        ]
        assert not sent_anyway, f"INVITEs {sent_anyway} s after a 503 with Retry-After: 1"
        # In the dialer: no dial decided within the second after it read the 503.
        dialled = [
            round(a.started_at - heard_at, 3)
            for a in attempts
            if heard_at <= a.started_at < heard_at + 1 - BACKOFF_MARGIN_S
        ]
        assert not dialled, f"dials {dialled} s after the dialer read a 503 with Retry-After: 1"

    # The exports agree with the ledger: a row per contact, a row per attempt.
    assert len(lead_rows) == CONTACTS and len(attempt_rows) == len(attempts)
    for row, lead in zip(lead_rows, leads, strict=True):
        assert row["phone"] == lead.phone and row["state"] == lead.state, row
        assert int(row["attempts"]) == len(by_lead[lead.id]), row
        assert row["last_outcome"] == lead.last_outcome, row
    for arow, attempt in zip(attempt_rows, attempts, strict=True):
        assert attempt.result is not None
        assert (int(arow["attempt_id"]), int(arow["lead_id"])) == (attempt.id, attempt.lead_id)
        assert (arow["outcome"], arow["sip_code"]) == (
            attempt.result.outcome,
            str(attempt.result.sip_code),
        ), arow
