"""The README's main job: `dialer demo` on a fresh machine's defaults."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


async def test_demo_places_a_call_and_runs_a_campaign(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer.cli",
        "demo",
        "--keep",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 150)
    assert process.returncode == 0, err.decode()[-3000:]
    result = json.loads(out)
    assert result["call"]["outcome"] == "completed" and result["call"]["echo_matches_prompt"]
    campaign = result["campaign"]
    assert campaign["state"] == "completed"
    assert campaign["leads"] == {"completed": 9, "max_retries": 3}  # ...1 and ...2 numbers
    assert campaign["attempts"] == 9 + 3 * 2  # the misses were retried once
    with open(campaign["results_csv"], newline="", encoding="utf-8") as results:
        rows = list(csv.DictReader(results))
    assert len(rows) == 12 and {row["state"] for row in rows} == {"completed", "max_retries"}
