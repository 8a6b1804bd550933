"""The dashboard's agents page in headless Chromium, against the app served in process on
loopback over a real store: a manager logs in, watches an agent's state change on the
wallboard as the live pool moves them (and the time in state count on), then reads the
activity report of a past day and downloads it as CSV, whose figures are checked."""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import AsyncIterator
from datetime import date
from datetime import time as wall_time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from actors.agent_pool import LiveAgentPool
from dialer.agents import credentials
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.campaign.compliance import wall_time_instant
from dialer.config import Config
from dialer.store.repository import Repository
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.app import make_app
from dialer.web.state import AGENTS
from tests.e2e.peers import LOOPBACK
from tests.e2e.test_console import CHROMIUM, browser
from tests.e2e.test_dashboard_pages import PASSWORD, VIEWER_ZONE, Served, logged_in, texts
from tests.web.api.test_agent_activity_api import ANN, NEW_YORK, the_period

__all__ = ["browser"]

DAY = date(2026, 3, 2)  # a past Monday in New York, the viewer's zone
DAY_START = wall_time_instant(DAY, wall_time(0), NEW_YORK).timestamp()


@pytest.fixture(autouse=True)
def _chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs the chromium package")
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)  # a quick login


def seeded(store: Repository) -> dict[str, int]:
    store.add_user("manager", PASSWORD, "manager", now=time.time())
    return the_period(store, DAY_START)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    ids = await store.run(seeded)
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    for name in ("Ann", "Dee"):  # the live agents; Bob and Cy were removed
        live.pool.seat(AgentSeat(ids[name], name, f"10{10 + 3 * (name == 'Dee')}"))
    app = make_app(store, live, Config())
    server = TestServer(app, host=LOOPBACK)
    await server.start_server()
    try:
        yield Served(f"http://{LOOPBACK}:{server.port}", app, ids)
    finally:
        await server.close()
        await live.close()
        store.close()


async def test_a_manager_watches_the_wallboard_and_downloads_the_report(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    ann, dee = served.ids["Ann"], served.ids["Dee"]
    pool = served.app[AGENTS].pool
    pool.log_in(ann, time.time(), "phone registered")
    pool.ready(ann, time.time())
    page = await logged_in(browser, served)
    await page.click("nav a[href='#/agents']")
    await page.wait_for_selector(f"#ag-board tr[data-agent='{ann}'][data-state=ready]")
    assert await texts(page, f"#ag-board tr[data-agent='{dee}'] td") == [
        "Dee", "1013", "logged out", "-", "0", "0:00", "0:00", "0:00", "0:00", "-",
    ]  # fmt: skip
    assert await page.text_content("#ag-states .badge.ready") == "ready 1"

    # Ann goes to lunch: the page asks again on its own and shows it, then counts on.
    pool.pause(ann, time.time(), "lunch")
    row = f"#ag-board tr[data-agent='{ann}']"
    await page.wait_for_selector(f"{row}[data-state=paused]", timeout=10_000)
    assert (await texts(page, f"{row} td"))[2] == "paused lunch"
    assert await page.text_content("#ag-states .badge.paused") == "paused 1"
    await page.wait_for_function(
        "(row) => /^0:0[1-9]$/.test(document.querySelector(row + ' td.in-state').textContent)",
        arg=row,
        timeout=10_000,
    )

    # The report of that day, in the viewer's zone.
    assert await page.input_value("#ag-zone") == VIEWER_ZONE
    await page.fill("#ag-from", DAY.isoformat())
    await page.fill("#ag-to", DAY.isoformat())
    await page.click("#ag-show")
    await page.wait_for_selector("body[data-report='2026-03-02/2026-03-02']", state="attached")
    assert await texts(page, f"#ag-report tbody tr[data-agent='{ann}'] td") == [
        "Ann", "1:43:20", "54:20", "0:12", "6:40", "2:08", "40:00lunch 30:00meeting 10:00",
        "2", "1", "3:20", "8.7%", "1.16",
    ]  # fmt: skip
    reasons = f"#ag-report tbody tr[data-agent='{ann}'] .reason"
    assert await texts(page, reasons) == ["lunch 30:00", "meeting 10:00"]
    bob = served.ids["Bob"]
    assert (await texts(page, f"#ag-report tbody tr[data-agent='{bob}'] td"))[0] == "Bob (removed)"
    assert (await texts(page, "#ag-report tfoot td"))[:2] == ["All agents", "1:53:20"]
    async with page.expect_download() as downloading:
        await page.click("#ag-csv")
    download = await downloading.value
    assert download.suggested_filename == "agents-2026-03-02-to-2026-03-02.csv"
    saved = tmp_path / "agents.csv"
    await download.save_as(saved)

    rows = {row["name"]: row for row in csv.DictReader(saved.open(encoding="utf-8"))}
    assert set(rows) == {"Ann", "Bob", "Dee"}  # Cy: removed, and nothing that day
    figures = rows["Ann"]
    for key in ("logged_in_s", "ready_s", "reserved_s", "on_call_s", "wrap_up_s", "paused_s",
                "mean_talk_s", "occupancy", "contacts_per_hour"):  # fmt: skip
        assert float(figures[key]) == ANN[key], key
    assert (figures["calls"], figures["dispositions"]) == ("2", "1")
    assert (figures["paused_s (lunch)"], figures["paused_s (meeting)"]) == ("1800.0", "600.0")
    assert rows["Bob"]["removed_at"] == "2026-03-05T05:00:00Z"
    assert rows["Dee"]["logged_in_s"] == "0.0" and rows["Dee"]["occupancy"] == ""
