"""AgentHandOff's choices that need no call: who may take a person (a queue's skill, a
named agent, never a number), and which safe-harbor message they hear (the campaign's
own, else the process's)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agent_pool import LiveAgentPool
from dialer.agents.handoff import MESSAGES_KEPT, AgentHandOff, queue_skill
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.config import AgentSettings
from dialer.flow.interpreter import CallFacts, HandedOff, HandOff
from dialer.flow.runner import HandOffCall, SafeHarbor


@pytest.mark.parametrize(
    ("queue", "skill"),
    [("campaign-7", None), ("", None), ("  campaign-12 ", None), ("spanish", "spanish"),
     ("campaign-x", "campaign-x"), (" sales ", "sales")],
)  # fmt: skip
def test_a_queue_other_than_the_campaigns_own_names_a_skill(queue: str, skill: str | None) -> None:
    assert queue_skill(queue) == skill


class Speech:
    """Renders text as its own bytes, or fails for text it is told to."""

    def __init__(self, failing: str = "") -> None:
        self.failing = failing
        self.rendered: list[str] = []

    async def render_async(self, text: str, **_: Any) -> bytes:
        if text == self.failing:
            raise RuntimeError("engine gone")
        self.rendered.append(text)
        return text.encode()


def desk(speech: Speech) -> AgentHandOff:
    settings = AgentSettings(safe_harbor_message="Example Inc called.")
    return AgentHandOff(None, None, settings, speech)  # type: ignore[arg-type]


async def test_the_campaigns_message_plays_else_the_processs() -> None:
    speech = Speech()
    hand_off = desk(speech)
    own = SafeHarbor(message="Acme called.")
    await hand_off.prepare(own)
    assert speech.rendered == ["Example Inc called.", "Acme called."]  # both ready ahead
    assert await hand_off.safe_harbor_audio(own) == b"Acme called."
    assert await hand_off.safe_harbor_audio(None) == b"Example Inc called."
    assert await hand_off.safe_harbor_audio(SafeHarbor(audio=b"\x7f" * 8)) == b"\x7f" * 8
    assert len(speech.rendered) == 2  # rendered once each


async def test_a_campaigns_message_that_cannot_be_spoken_gives_way_to_the_processs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hand_off = desk(Speech(failing="Acme called."))
    await hand_off.prepare(SafeHarbor(message="Acme called."))  # said, not raised
    for _ in range(2):
        assert await hand_off.safe_harbor_audio(SafeHarbor(message="Acme called.")) == (
            b"Example Inc called."
        )
    said = [r.getMessage() for r in caplog.records if "cannot be spoken" in r.getMessage()]
    assert said == ["a campaign's safe-harbor message cannot be spoken (engine gone): the"
                    " default plays instead"]  # fmt: skip


async def test_campaigns_messages_kept_rendered_are_bounded() -> None:
    speech = Speech()
    hand_off = desk(speech)
    for n in range(MESSAGES_KEPT + 1):
        await hand_off.safe_harbor_audio(SafeHarbor(message=f"Campaign {n} called."))
    await hand_off.safe_harbor_audio(SafeHarbor(message="Campaign 0 called."))  # evicted
    await hand_off.safe_harbor_audio(SafeHarbor(message=f"Campaign {MESSAGES_KEPT} called."))
    assert speech.rendered.count("Campaign 0 called.") == 2
    assert speech.rendered.count(f"Campaign {MESSAGES_KEPT} called.") == 1


async def test_only_agents_are_rung_never_a_number_or_an_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    live.seat(AgentSeat(1, "Ann", "1001"))
    hand_off = AgentHandOff(None, live, AgentSettings(), Speech())  # type: ignore[arg-type]
    facts = CallFacts("call-1", "+15550000", "+15550100", campaign_id=7)
    call = HandOffCall(None, facts, opt_out=None, answered_at=0.0)  # type: ignore[arg-type]
    for kind, target in [("number", "+19005550100"), ("sip", "sip:x@203.0.113.9"),
                         ("number", "+19005550199"), ("client", "1009")]:  # fmt: skip
        assert await hand_off.hand_off(HandOff(kind, target, 30.0), call) == HandedOff("failed")
    refused = [r.getMessage() for r in caplog.records if "only agents are rung" in r.getMessage()]
    assert len(refused) == 3  # once for numbers, once for addresses, once for extension 1009
    await live.close()
