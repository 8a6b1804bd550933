"""A campaign's calls over time, as its page charts them: finished calls counted in slots
of time, by what they came to. The slot grows with the campaign's age, so that a chart
never has more than MAX_SLOTS bars whether the campaign has run for a minute or a month,
and slots start at whole multiples of their size, so a bar keeps its place as time goes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_SLOTS = 60
SLOT_SIZES_S = (5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
DAY_S = 86400


def slot_size(first: float, now: float) -> int:
    """The smallest slot in which the span from `first` to `now` takes MAX_SLOTS or fewer
    (whole days past the largest size)."""
    span = max(0.0, now - first)
    fits = MAX_SLOTS - 1  # both ends may fall part-way into a slot
    for size in SLOT_SIZES_S:
        if span / size <= fits - 1:
            return size
    return DAY_S * math.ceil(span / DAY_S / (fits - 1))


def series(
    first: float | None, counted: Mapping[int, Mapping[str, int]], size: int, now: float
) -> dict[str, Any]:
    """The chart's data: each slot from the first finish to now (empty ones too), when it
    starts and its calls by kind. `counted` holds the slots that have calls, numbered as
    `n` for the one starting at n * size."""
    if first is None:
        return {"slot_s": size, "slots": []}
    start = int(first // size)
    end = max(int(now // size), max(counted, default=start))  # a clock behind the store's
    return {
        "slot_s": size,
        "slots": [
            {"at": n * size, "calls": dict(counted.get(n, {}))} for n in range(start, end + 1)
        ],
    }
