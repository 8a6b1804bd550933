"""The calls-over-time chart's slots: their size follows the campaign's age, and every
slot from the first finish to now is there, empty ones included."""

from __future__ import annotations

import pytest

from dialer.campaign.timeline import DAY_S, MAX_SLOTS, series, slot_size


@pytest.mark.parametrize(
    ("span", "size"),
    [(0, 5), (290, 5), (291, 15), (58 * 60, 60), (58 * 60 + 1, 300), (30 * DAY_S, DAY_S),
     (58 * DAY_S, DAY_S), (58 * DAY_S + 1, 2 * DAY_S)],
)  # fmt: skip
def test_the_slot_is_the_smallest_that_fits_the_span(span: float, size: int) -> None:
    assert slot_size(1_000_000.0, 1_000_000.0 + span) == size


@pytest.mark.parametrize("span", [0, 1, 299, 4000, 86_399, 10 * DAY_S, 400 * DAY_S])
@pytest.mark.parametrize("first", [1_000_000.0, 1_000_004.9, 1_000_086.0])
def test_no_span_makes_more_than_the_most_slots(first: float, span: float) -> None:
    size = slot_size(first, first + span)
    slots = series(first, {}, size, first + span)["slots"]
    assert 1 <= len(slots) <= MAX_SLOTS
    assert slots[0]["at"] <= first < slots[0]["at"] + size
    assert slots[-1]["at"] <= first + span < slots[-1]["at"] + size


def test_every_slot_is_listed_from_the_first_finish_to_now_at_whole_multiples() -> None:
    counted = {200: {"busy": 1}, 203: {"answered": 2, "no_answer": 1}}
    chart = series(1001.0, counted, 5, 1019.0)
    assert chart == {
        "slot_s": 5,
        "slots": [
            {"at": 1000, "calls": {"busy": 1}},
            {"at": 1005, "calls": {}},
            {"at": 1010, "calls": {}},
            {"at": 1015, "calls": {"answered": 2, "no_answer": 1}},
        ],
    }


def test_a_clock_behind_the_stores_still_shows_the_last_calls() -> None:
    chart = series(1001.0, {200: {"busy": 1}, 202: {"busy": 1}}, 5, 1003.0)
    assert [slot["at"] for slot in chart["slots"]] == [1000, 1005, 1010]


def test_no_finished_call_is_an_empty_chart() -> None:
    assert series(None, {}, 5, 1000.0) == {"slot_s": 5, "slots": []}
