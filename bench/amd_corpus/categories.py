"""The kinds of far end in the corpus, how often each comes, and the order clips take them in.

Clip `i`'s category depends only on the seed and `i`, never on the count: a corpus of 20
clips is the first 20 of a corpus of 400. Clips come in decks of `DECK_SIZE`; each deck
opens with every category once (shuffled), so even a small corpus has them all, then the
rest of the deck in proportion to the weights (shuffled).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count, islice
from typing import Final

from bench.amd_corpus.labels import HUMAN, MACHINE

DECK_SIZE: Final = 100


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # HUMAN or MACHINE
    per_deck: int  # clips in every deck of DECK_SIZE
    description: str


CATEGORIES: Final = (
    Category("human_short_hello", HUMAN, 9, '"Hello?", "Yeah?", then waits in silence'),
    Category("human_name", HUMAN, 6, '"Hi, this is Dave." and waits'),
    Category("human_long_greeting", HUMAN, 7, "a 2.5-5 s business answer, then waits"),
    Category("human_noise_street", HUMAN, 5, "a short answer over traffic, 5-20 dB SNR"),
    Category("human_noise_tv", HUMAN, 5, "a short answer over a TV (distant speech and music)"),
    Category("human_noise_babble", HUMAN, 5, "a short answer over several distant talkers"),
    Category("human_hello_hello", HUMAN, 6, '"Hello?" ... 1-2.5 s ... "Hello?" again'),
    Category("human_late", HUMAN, 7, "1-3 s of silence or handling noise, then the answer"),
    Category(
        "machine_standard", MACHINE, 12, "a personal greeting (5-15 s, median 7), then a beep"
    ),
    Category("machine_long", MACHINE, 6, "a long greeting (7-20 s, median 13), then a beep"),
    Category("machine_carrier", MACHINE, 7, "a carrier's voicemail announcement, then a beep"),
    Category("machine_short_beep", MACHINE, 6, '"Leave a message." and a beep'),
    Category("machine_music", MACHINE, 5, "a greeting over music, then a beep"),
    Category("machine_no_beep", MACHINE, 6, "a greeting, then only silence (or a full mailbox)"),
    Category("machine_odd_beep", MACHINE, 8, "a greeting, then an unusual beep (see beeps.py)"),
)
BY_NAME: Final = {category.name: category for category in CATEGORIES}
assert sum(c.per_deck for c in CATEGORIES) == DECK_SIZE


def category_order(seed: int) -> Iterator[Category]:
    """The categories of clips 0, 1, 2, ... for `seed`, without end."""
    for deck in count():
        rng = random.Random(f"amd-corpus/{seed}/deck/{deck}")
        opening = list(CATEGORIES)
        rest = [c for c in CATEGORIES for _ in range(c.per_deck - 1)]
        rng.shuffle(opening)
        rng.shuffle(rest)
        yield from opening
        yield from rest


def categories_for(clips: int, seed: int) -> list[Category]:
    return list(islice(category_order(seed), clips))
