"""The dashboard in a real browser against `dialer serve` and a SIPp trunk: a manager logs
in, starts a campaign from the list, watches its live figures reach completed, and
downloads the results."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port, require_binary
from tests.e2e.test_agents_serve import cli, query, serve, wait_for
from tests.e2e.test_campaign_recovery import contacts_csv, dialer
from tests.e2e.test_console import _peers, browser
from tests.e2e.test_preview import _listening

__all__ = ["_peers", "browser"]

PASSWORD = "a.manager.password"


async def test_a_manager_starts_a_campaign_watches_it_complete_and_exports_it(
    tmp_path: Path, browser: Any
) -> None:
    require_binary("sipp")
    db = tmp_path / "dialer.db"
    web_port = free_tcp_port()
    code, _, err = await cli("user", "add", "mia", "--role", "manager", "--password-stdin",
                             "--db", str(db), stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, err
    code, _, err = await dialer(
        "campaign", "create", "Spring", "--max-attempts", "1", "--duration", "0.3",
        "--any-hour", "--db", str(db), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert (await dialer("contacts", "import", "1", str(contacts_csv(tmp_path, 3)),
                         "--db", str(db)))[0] == 0  # fmt: skip
    with Sipp.start_uas("campaign_mix", timeout_s=90) as trunk:  # ...0 answers, 1 busy, 2 away
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {free_sip_port()}\n'
            f'transports = ["udp"]\n[trunks.default]\nproxy = "sip:{LOOPBACK}:{trunk.port}"\n'
            f'keepalive_s = 0\n[web]\nbind_host = "{LOOPBACK}"\nport = {web_port}\n'
        )
        service = await serve(db, config)
        base = f"http://{LOOPBACK}:{web_port}"
        try:
            await wait_for(lambda: _listening(base), 20)
            page = await browser.new_page(accept_downloads=True)
            await page.goto(base)  # / leads to the dashboard, which asks for a login
            await page.wait_for_selector("body[data-view=login-view]", state="attached")
            await page.fill("#username", "mia")
            await page.fill("#password", "wrong password")
            await page.click("#login")
            await page.wait_for_selector("#error:not([hidden])")
            assert "wrong username or password" in (await page.text_content("#error") or "")
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            row = "tr[data-campaign='1']"
            await page.wait_for_selector(row)
            assert await page.text_content(f"{row} .badge") == "draft"
            await page.click(f"{row} button[data-action=start]")
            await page.wait_for_selector(f"{row} .badge.running", timeout=10_000)
            await page.click(f"{row} a")
            await page.wait_for_selector("body[data-view=campaign-view]", state="attached")
            # The live figures move on their own until the campaign is completed.
            await page.wait_for_selector("body[data-state=completed]", state="attached",
                                         timeout=60_000)  # fmt: skip
            figures = {key: await page.text_content(f"#c-{key}")
                       for key in ("total", "completed", "failed", "remaining")}  # fmt: skip
            assert figures == {"total": "3", "completed": "1", "failed": "2", "remaining": "0"}
            outcomes = {await r.get_attribute("data-outcome"): await r.text_content()
                        for r in await page.query_selector_all("#c-outcomes tr")}  # fmt: skip
            assert set(outcomes) == {"answered", "busy", "no_answer"}
            assert await page.get_attribute("#c-bar", "style") == "width: 100%;"
            async with page.expect_download() as downloading:
                await page.click("#c-export")
            download = await downloading.value
            saved = tmp_path / "results.csv"
            await download.save_as(saved)
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
    assert service.returncode == 0, log.decode()[-3000:]
    assert PASSWORD not in log.decode()
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert sorted(r["customerName"] for r in rows) == ["Contact 0", "Contact 1", "Contact 2"]
    assert sorted(r["state"] for r in rows) == ["completed", "max_retries", "max_retries"]
    (start,) = query(db, "SELECT actor, after FROM audit_log WHERE action = 'campaign.start'")
    assert start[0] == "mia" and json.loads(str(start[1]))["state"] == "running"
