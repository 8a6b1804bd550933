"""The dashboard in a real browser against `dialer serve` and a SIPp trunk: a manager logs
in, makes a campaign in the form (contacts uploaded, message previewed, hours and retries
set), launches it, watches its live figures reach completed, and downloads the results."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port, require_binary
from tests.e2e.test_agents_serve import cli, query, serve, wait_for
from tests.e2e.test_campaign_recovery import contacts_csv
from tests.e2e.test_console import _peers, browser
from tests.e2e.test_preview import _listening

__all__ = ["_peers", "browser"]

PASSWORD = "a.manager.password"


async def add_manager(db: Path) -> None:
    code, _, err = await cli("user", "add", "mia", "--role", "manager", "--password-stdin",
                             "--db", str(db), stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, err


def serve_config(folder: Path, trunk: Sipp, web_port: int) -> Path:
    """Serve on free loopback ports, the default trunk `trunk`, the library in `folder`."""
    config = folder / "config.toml"
    config.write_text(
        f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {free_sip_port()}\n'
        f'transports = ["udp"]\n[trunks.default]\nproxy = "sip:{LOOPBACK}:{trunk.port}"\n'
        f'keepalive_s = 0\n[web]\nbind_host = "{LOOPBACK}"\nport = {web_port}\n'
        f'[flows]\nlibrary_dir = "{folder / "library"}"\n'
    )
    return config


async def test_a_manager_creates_a_campaign_in_the_form_watches_it_complete_and_exports_it(
    tmp_path: Path, browser: Any
) -> None:
    require_binary("sipp")
    db = tmp_path / "dialer.db"
    web_port = free_tcp_port()
    await add_manager(db)
    contacts = contacts_csv(tmp_path, 3)
    with contacts.open("a", encoding="utf-8") as rows:
        rows.write("Nobody,not a number,\n")  # line 5: refused, and said so in the report
    with Sipp.start_uas("campaign_mix", timeout_s=90) as trunk:  # ...0 answers, 1 busy, 2 away
        service = await serve(db, serve_config(tmp_path, trunk, web_port))
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
            await page.wait_for_selector("body[data-view=list-view]", state="attached")
            await page.click("nav a[href='#/new']")
            await page.wait_for_selector("body[data-view=create-view]", state="attached")
            await page.fill("#n-name", "Spring")
            await page.fill("#n-tags", "renewals, lab")
            # The contacts: the upload makes the draft, and its report names the bad row.
            await page.set_input_files("#n-csv", str(contacts))
            await page.click("#n-upload")
            await page.wait_for_selector("#n-upload:enabled")
            summary = await page.text_content("#n-report-summary") or ""
            assert summary.startswith("3 of 4 rows imported"), summary
            refused = await page.query_selector_all("#n-report-errors tbody tr")
            assert len(refused) == 1
            assert (await refused[0].text_content() or "").startswith("5")
            # The message, heard as the first contact will hear it.
            await page.fill("#n-say", "Hello {{customerName}}, your order is ready.")
            await page.click("#n-preview")
            await page.wait_for_selector("#n-audio[data-bytes]:not([hidden])")
            assert int(await page.get_attribute("#n-audio", "data-bytes") or 0) > 1000
            # When, how often, how many: any hour (a lab trunk), one attempt each.
            await page.check("#n-any-hour")
            await page.fill("#n-max-attempts", "1")
            await page.fill("#n-max-concurrent", "3")
            await page.click("#n-save")  # the button stays disabled until the save is done
            await page.wait_for_selector("#n-save:enabled")
            assert await page.text_content("#n-review dd[data-review=Contacts]") == "3"
            assert await page.text_content("#n-review dd[data-review=Attempts]") == (
                "1, 60 min apart, after busy, failed, no_answer"
            )
            assert await page.text_content("#n-review dd[data-review^=Recipients]") == ("any hour")
            await page.click("#n-launch")
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
            # The chart has the three calls in bars, one band per outcome.
            assert await page.get_attribute("#c-chart", "data-calls") == "3"
            bands = await page.query_selector_all("#c-chart rect[data-kind]")
            charted = [(await b.get_attribute("data-kind"), await b.get_attribute("data-count"))
                       for b in bands]  # fmt: skip
            assert sorted(kind for kind, _ in charted) == ["answered", "busy", "no_answer"]
            assert {count for _, count in charted} == {"1"}
            async with page.expect_download() as downloading:
                await page.click("#c-export")
            download = await downloading.value
            saved = tmp_path / "results.csv"
            await download.save_as(saved)
            await page.click("nav a[href='#/campaigns']")
            row = "tr[data-campaign='1']"
            await page.wait_for_selector(f"{row} .badge.completed")
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
    assert service.returncode == 0, log.decode()[-3000:]
    assert PASSWORD not in log.decode()
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert sorted(r["customerName"] for r in rows) == ["Contact 0", "Contact 1", "Contact 2"]
    assert sorted(r["state"] for r in rows) == ["completed", "max_retries", "max_retries"]
    said = (tmp_path / "library" / "flows" / "campaign-1" / "main.xml").read_text()
    assert "Hello {{customerName}}, your order is ready." in said
    (campaign,) = query(db, "SELECT settings, tags FROM campaigns")
    settings = json.loads(str(campaign[0]))
    assert settings["recipient_hours"] is None and settings["retry"]["max_attempts"] == 1
    assert settings["flow"].endswith("campaign-1/main.xml")
    actions = [row[0] for row in query(db, "SELECT action FROM audit_log WHERE actor = 'mia'")]
    assert {"campaign.create", "contacts.import", "flow.save", "campaign.start"} <= set(actions)


async def test_the_list_starts_pauses_resumes_and_after_confirmation_stops_a_campaign(
    tmp_path: Path, browser: Any
) -> None:
    require_binary("sipp")
    db = tmp_path / "dialer.db"
    web_port = free_tcp_port()
    await add_manager(db)
    code, _, err = await cli("campaign", "create", "Autumn", "--max-concurrent", "1",
                             "--ring-timeout", "50", "--max-attempts", "1", "--any-hour",
                             "--db", str(db))  # fmt: skip
    assert code == 0, err
    code, _, err = await cli("contacts", "import", "1", str(contacts_csv(tmp_path, 3)),
                             "--db", str(db))  # fmt: skip
    assert code == 0, err
    with Sipp.start_uas("ring_forever", timeout_s=90) as trunk:  # the first call rings on
        service = await serve(db, serve_config(tmp_path, trunk, web_port))
        base = f"http://{LOOPBACK}:{web_port}"
        try:
            await wait_for(lambda: _listening(base), 20)
            page = await browser.new_page()
            await page.goto(base)
            await page.wait_for_selector("body[data-view=login-view]", state="attached")
            await page.fill("#username", "mia")
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            row = "tr[data-campaign='1']"
            await page.wait_for_selector(f"{row} .badge.draft")
            for action, state in (("start", "running"), ("pause", "paused"),
                                  ("resume", "running")):  # fmt: skip
                await page.click(f"{row} button[data-action={action}]")
                await page.wait_for_selector(f"{row} .badge.{state}", timeout=10_000)
            # Stopping asks first, saying how many contacts it leaves uncalled.
            asked: list[str] = []

            async def answer(dialog: Any) -> None:
                asked.append(dialog.message)
                await (dialog.accept() if len(asked) > 1 else dialog.dismiss())

            page.on("dialog", answer)
            done = await page.text_content(f"{row} td:nth-child(4)") or ""
            uncalled = 3 - int(done.split(" of ")[0])
            await page.click(f"{row} button[data-action=stop]")
            await page.wait_for_selector(f"{row} .badge.running")  # dismissed: still running
            await page.click(f"{row} button[data-action=stop]")
            await page.wait_for_selector(f"{row} .badge.stopped", timeout=10_000)
        finally:
            service.terminate()
            _, log = await asyncio.wait_for(service.communicate(), 15)
    assert service.returncode == 0, log.decode()[-3000:]
    plural = "s" if uncalled != 1 else ""
    expected = (
        f'Stop "Autumn" for good? {uncalled} contact{plural} not yet called will not be called.'
    )
    assert asked == [expected, expected]
    actions = [row[0] for row in query(db, "SELECT action FROM audit_log ORDER BY id")]
    assert actions[-4:] == ["campaign.start", "campaign.pause", "campaign.resume", "campaign.stop"]
