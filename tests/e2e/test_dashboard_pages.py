"""The dashboard's health, calendar and compare pages in headless Chromium, against the app
served in process on loopback over a real store: a manager logs in and reads the figures
seeded there (and the health page follows them on its own); an admin also sees the
configuration, its secret redacted."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from actors.agent_pool import LiveAgentPool
from dialer.agents import credentials
from dialer.agents.pool import AgentPool, AgentSeat
from dialer.campaign.model import CampaignEvent
from dialer.config import Config, WebhookSettings
from dialer.contacts.record import ContactRecord
from dialer.store.repository import Repository
from dialer.store.sqlite import SqliteStore
from dialer.store.worker import StoreWorker
from dialer.web.api.system_ops import TRUNK_RTT
from dialer.web.app import make_app
from dialer.web.state import AGENTS, METRICS
from tests.e2e.peers import LOOPBACK
from tests.e2e.test_console import CHROMIUM, browser
from tests.web.api.test_stats_api import AUTUMN, SPRING, seed

__all__ = ["browser"]

PASSWORD = "a.manager.password"
SECRET = "webhook.secret.e2e"
WEEKLY = {"kind": "weekly", "days": ["Mon", "Thu"], "at": "09:30", "zone": "America/New_York",
          "starts": "2026-03-01", "ends_on": "2026-03-31"}  # fmt: skip
VIEWER_ZONE = "America/New_York"


@pytest.fixture(autouse=True)
def _chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs the chromium package")
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)  # a quick login


@dataclass
class Served:
    base: str
    app: web.Application
    ids: dict[str, int]  # the seeded campaigns, by name


def seeded(store: Repository) -> dict[str, int]:
    now = time.time()
    for role in ("manager", "admin"):
        store.add_user(role, PASSWORD, role, now=now)
    ids = {"Spring": seed(store, "Spring", SPRING, now=now),
           "Autumn": seed(store, "Autumn", AUTUMN, now=now)}  # fmt: skip
    weekly = store.create_campaign("Weekly", now=now, settings={"schedule": WEEKLY})
    store.set_campaign_state(weekly, CampaignEvent.SCHEDULE, now=now, next_run_at=now + 60)
    live = store.create_campaign("Live", now=now)
    people = [ContactRecord(2, "Ann", "+14155550191", None),
              ContactRecord(3, "Bob", "+14155550192", None)]  # fmt: skip
    store.import_contacts(live, people, now=now)
    store.set_campaign_state(live, CampaignEvent.START, now=now)
    return ids | {"Weekly": weekly, "Live": live}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    store = StoreWorker(lambda: SqliteStore(tmp_path / "dialer.db"))
    ids = await store.run(seeded)
    live = LiveAgentPool(AgentPool(wrap_up_s=0.0))
    live.pool.seat(AgentSeat(1, "Ann Agent", "1001"))
    app = make_app(store, live, Config(webhooks=WebhookSettings(secret=SECRET)))
    app[METRICS].gauge(TRUNK_RTT, "as Dialer registers it", "trunk", lambda: {"default": 0.0123})
    server = TestServer(app, host=LOOPBACK)
    await server.start_server()
    try:
        yield Served(f"http://{LOOPBACK}:{server.port}", app, ids)
    finally:
        await server.close()
        await live.close()
        store.close()


async def logged_in(browser: Any, served: Served, username: str = "manager") -> Any:
    context = await browser.new_context(timezone_id=VIEWER_ZONE)
    page = await context.new_page()
    await page.goto(f"{served.base}/dashboard")
    await page.wait_for_selector("body[data-view=login-view]", state="attached")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_selector("body[data-view=list-view]", state="attached")
    return page


async def texts(page: Any, selector: str) -> list[str]:
    return [str(await e.text_content()) for e in await page.query_selector_all(selector)]


async def days(page: Any, cells: str) -> list[str]:
    return [
        str(await cell.get_attribute("data-date")) for cell in await page.query_selector_all(cells)
    ]


async def test_the_health_page_shows_the_figures_and_follows_them(
    browser: Any, served: Served
) -> None:
    pool, metrics = served.app[AGENTS].pool, served.app[METRICS]
    pool.log_in(1, time.time())
    pool.ready(1, time.time())
    metrics.call_started()
    metrics.call_started()
    page = await logged_in(browser, served)
    await page.click("nav a[href='#/health']")
    await page.wait_for_selector("body[data-health-at]", state="attached")
    shown = {key: await page.text_content(f"#h-{key}")
             for key in ("running", "paused", "scheduled", "calls", "due", "webhooks")}  # fmt: skip
    assert shown == {"running": "1", "paused": "0", "scheduled": "1", "calls": "2", "due": "2",
                     "webhooks": "0"}  # fmt: skip
    # Spring's 5 calls and Autumn's 3 ended just now; Autumn's one was rejected.
    assert await page.text_content("#h-errors") == "12.5% (1 of 8 calls, last 15 min)"
    assert await texts(page, "#h-trunks tr[data-trunk=default] td") == [
        "default", "12.3 ms", "answered"
    ]  # fmt: skip
    assert await texts(page, "#h-agents tr[data-agent=ready] td") == ["ready", "1"]
    assert await page.is_hidden("#h-admin")  # the settings are the admins'
    metrics.call_started()  # the page asks again on its own
    await page.wait_for_selector("#h-calls:text-is('3')", timeout=10_000)
    await page.click("nav a[href='#/campaigns']")
    await page.wait_for_selector("body[data-view=list-view]", state="attached")
    admin = await logged_in(browser, served, "admin")
    await admin.click("nav a[href='#/health']")
    await admin.wait_for_selector("#h-admin:not([hidden])")
    assert await texts(admin, "#h-settings tr[data-key='webhooks.secret'] td") == [
        "webhooks.secret", '"<redacted>"'
    ]  # fmt: skip
    assert SECRET not in str(await admin.content())


async def test_the_calendar_puts_a_weekly_campaign_on_its_days(
    browser: Any, served: Served
) -> None:
    page = await logged_in(browser, served)
    weekly = served.ids["Weekly"]
    await page.evaluate("location.hash = '#/calendar/2026-03'")
    await page.wait_for_selector("body[data-calendar='2026-03']", state="attached")
    assert await page.text_content("#cal-month") == "March 2026"
    # Mondays and Thursdays, through its ends_on
    assert await days(page, f"#cal-grid td:has(li[data-campaign='{weekly}'])") == [
        "2026-03-02", "2026-03-05", "2026-03-09", "2026-03-12", "2026-03-16", "2026-03-19",
        "2026-03-23", "2026-03-26", "2026-03-30",
    ]  # fmt: skip
    # Its wall time in New York, before and after the change to summer time (Mar 8).
    assert await texts(page, "td[data-date='2026-03-05'] li a") == ["09:30 Weekly"]
    assert await texts(page, "td[data-date='2026-03-09'] li a") == ["09:30 Weekly"]
    assert await page.get_attribute("td[data-date='2026-03-02'] li a", "href") == (
        f"#/campaigns/{weekly}"
    )  # fmt: skip
    assert await page.query_selector("td[data-date='2026-03-03'] li") is None
    await page.click("#cal-next")
    await page.wait_for_selector("body[data-calendar='2026-04']", state="attached")
    # It ends on March 31: only the grid's first days, March's last, show a run.
    assert await days(page, "#cal-grid td.other-month:has(li)") == ["2026-03-30"]
    assert await page.query_selector_all("#cal-grid td:not(.other-month) li") == []
    await page.click("#cal-prev")
    await page.wait_for_selector("body[data-calendar='2026-03']", state="attached")
    await page.click("td[data-date='2026-03-02'] li a")
    await page.wait_for_selector("body[data-view=campaign-view]", state="attached")


async def test_the_compare_page_puts_two_campaigns_side_by_side(
    browser: Any, served: Served
) -> None:
    page = await logged_in(browser, served)
    spring, autumn = served.ids["Spring"], served.ids["Autumn"]
    await page.click("nav a[href='#/compare']")
    await page.wait_for_selector(f"#cmp-list input[value='{spring}']")
    await page.check(f"#cmp-list input[value='{spring}']")
    await page.wait_for_selector(f"body[data-compared='{spring}']", state="attached")
    await page.check(f"#cmp-list input[value='{autumn}']")
    await page.wait_for_selector("body[data-compared*=',']", state="attached")
    assert await texts(page, "#cmp-table thead th a") == ["Autumn", "Spring"]  # newest first

    async def row(figure: str) -> list[str]:
        return await texts(page, f"#cmp-table tr[data-figure={figure}] td")

    assert await row("leads") == ["3", "5"]
    assert await row("reached") == ["2 (66.7%)", "2 (40%)"]
    assert await row("voicemail") == ["0 (0%)", "1 (20%)"]
    assert await row("success_rate") == ["66.7%", "50%"]
    assert await row("abandonment") == ["0% (0 of 0)", "50% (1 of 2)"]
    assert await row("mean_answered_s") == ["50 s", "15 s"]
    await page.uncheck(f"#cmp-list input[value='{autumn}']")
    await page.wait_for_selector(f"body[data-compared='{spring}']", state="attached")
    assert await row("leads") == ["5"]
