"""Prompt text split into sentences, the unit the renderer caches.

A campaign message repeats most of its sentences for every contact ("Please press
1 to confirm.") and varies one or two ("Hello Maria, ..."): cached per sentence,
the shared ones are rendered once for the whole campaign (bench/bench_tts.py
measures it). The engines end every rendering with a sentence pause, so the
pieces join as the whole would have sounded.

A boundary is ., ! or ? (with closing quotes or brackets) followed by white
space; not after a known abbreviation ("Dr.", "e.g.") or a single letter, as in
an initial ("J. Smith"). White space runs collapse to one space.
"""

from __future__ import annotations

import re
from typing import Final

_TITLES: Final = "mr mrs ms dr prof st sr jr mt ft vs etc e.g i.e approx dept est inc ltd co corp"
_DATES: Final = "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri"
ABBREVIATIONS: Final = frozenset(f"{_TITLES} {_DATES} sat sun".split())
_QUOTES_OPENING: Final = "(\"'\u201c\u2018"
_QUOTES_CLOSING: Final = ")]\"'\u201d\u2019"
_BOUNDARY: Final = re.compile(rf"[.!?]+[{re.escape(_QUOTES_CLOSING)}]*(?=\s)")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each stripped, none empty."""
    text = " ".join(text.split())
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(0) == "." and _abbreviated(text[start : match.start()]):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


def _abbreviated(before: str) -> bool:
    """Whether the word ending at a lone "." is an abbreviation or an initial."""
    word = before.rsplit(" ", 1)[-1].lstrip(_QUOTES_OPENING)
    return (len(word) == 1 and word.isalpha()) or word.lower() in ABBREVIATIONS
