"""What a command prints for people: aligned scalars, nested blocks and tables."""

from __future__ import annotations

from dialer.commands.output import render


def test_scalars_align_and_nested_blocks_indent() -> None:
    text = render(
        {
            "campaign": 3,
            "state": "running",
            "ratio": 0.25,
            "paused": False,
            "next_run_at": None,
            "outcomes": ["busy", "no_answer"],
            "delays": {},
            "retry": {"max_attempts": 3, "goal": "confirmed=true"},
        }
    )
    assert text.splitlines() == [
        "campaign     3",
        "state        running",
        "ratio        0.25",
        "paused       no",
        "next_run_at  -",
        "outcomes     busy, no_answer",
        "delays       -",
        "retry:",
        "  max_attempts  3",
        "  goal          confirmed=true",
    ]


def test_a_list_of_records_is_a_table_of_their_keys() -> None:
    text = render({"leads": [{"id": 1, "name": "Ann"}, {"id": 22, "state": "completed"}]})
    assert text.splitlines() == [
        "leads: 2",
        "  id  name  state",
        "  1   Ann   -",
        "  22  -     completed",
    ]
