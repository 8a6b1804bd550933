"""AgentHandOff's choices that need no call: which queue asks for a skill, and which
safe-harbor message a person hears (the campaign's own, else the process's)."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.agents.handoff import MESSAGES_KEPT, AgentHandOff, queue_skill
from dialer.config import AgentSettings
from dialer.flow.runner import SafeHarbor


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
