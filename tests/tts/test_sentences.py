"""Prompt text split into sentences, the renderer's unit of caching."""

from __future__ import annotations

import pytest

from tts.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [("Hello Maria. Press 1 to confirm! Or 2?", ["Hello Maria.", "Press 1 to confirm!", "Or 2?"]),
     ("No full stop", ["No full stop"]),
     ("", []), ("   \n ", []),
     ("Dr. Jones sees you at 3.30 pm. Bye.", ["Dr. Jones sees you at 3.30 pm.", "Bye."]),
     ("Hello J. Smith. Bye.", ["Hello J. Smith.", "Bye."]),
     ("Wait... what?! Yes.", ["Wait...", "what?!", "Yes."]),
     ("He said \u201cgo.\u201d Then left.", ["He said \u201cgo.\u201d", "Then left."]),
     ("Lines\nand   spaces.  Collapse.", ["Lines and spaces.", "Collapse."]),
     ("Call www.example.com now.", ["Call www.example.com now."]),
     ("e.g. this. And that.", ["e.g. this.", "And that."])],
)  # fmt: skip
def test_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences
