"""Take the README's screenshots of the dashboard (docs/*.png), on loopback.

    .venv/bin/python scripts/screenshots.py

It runs what the dashboard's e2e test runs: `dialer serve` on a scratch database, a
SIPp trunk (tests/e2e/scenarios/campaign_mix.xml: numbers ending in 1 are busy, in 2
ring and give up, the rest answer), a manager, and headless Chromium; then it saves the
campaign list, a campaign's live page, the new-campaign form with a contact list's report,
the system health, the calendar and two campaigns compared.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOST, SIP_PORT, TRUNK_PORT, WEB_PORT = "127.0.0.1", 25070, 25080, 28080
PASSWORD = "a.manager.password"


def dialer(db: Path, *args: str, stdin: str = "") -> None:
    command = [sys.executable, "-m", "dialer.cli", *args, "--db", str(db)]
    subprocess.run(command, input=stdin, text=True, check=True, capture_output=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        db = folder / "dialer.db"
        contacts = folder / "contacts.csv"
        rows = [f"Contact {i},+1415555{i:04d},contact{i}@example.com,gold" for i in range(40)]
        contacts.write_text("customerName,phone,email,plan\n" + "\n".join(rows) + "\n")
        dialer(db, "user", "add", "mia", "--role", "manager", "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
        for name in ("Spring reminders", "Renewals"):
            dialer(db, "campaign", "create", name, "--max-attempts", "1", "--duration", "2",
                   "--max-concurrent", "4", "--any-hour", "--tags", "lab")  # fmt: skip
        dialer(db, "campaign", "create", "Weekly survey", "--repeat", "weekly", "--on", "Tue",
               "--at", "10:00", "--zone", "America/New_York", "--any-hour")  # fmt: skip
        dialer(db, "contacts", "import", "1", str(contacts))
        dialer(db, "contacts", "import", "2", str(contacts))
        config = folder / "config.toml"
        config.write_text(
            f'[sip]\nbind_host = "{HOST}"\nbind_port = {SIP_PORT}\ntransports = ["udp"]\n'
            f'[trunks.default]\nproxy = "sip:{HOST}:{TRUNK_PORT}"\nkeepalive_s = 0\ncps = 2\n'
            f'[web]\nbind_host = "{HOST}"\nport = {WEB_PORT}\n'
            f'[flows]\nlibrary_dir = "{folder / "library"}"\n'
        )
        scenario = ROOT / "tests" / "e2e" / "scenarios" / "campaign_mix.xml"
        trunk = subprocess.Popen(
            ["sipp", "-sf", str(scenario), "-i", HOST, "-p", str(TRUNK_PORT), "-bg",
             "-nostdin", "-timeout", "120s"], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        serve = subprocess.Popen(
            [sys.executable, "-m", "dialer.cli", "serve", "--db", str(db), "--config",
             str(config)], stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            shoot(f"http://{HOST}:{WEB_PORT}", contacts)
        finally:
            serve.terminate()
            serve.wait(15)
            trunk.terminate()
            subprocess.run(["pkill", "-f", f"sipp -sf {scenario}"], check=False)


def shoot(base: str, contacts: Path) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/dashboard", timeout=1).close()
            break
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    DOCS.mkdir(exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(base)
        page.fill("#username", "mia")
        page.fill("#password", PASSWORD)
        page.click("#login")
        for campaign in ("2", "1"):
            page.click(f"tr[data-campaign='{campaign}'] button[data-action=start]")
            page.wait_for_selector(f"tr[data-campaign='{campaign}'] .badge.running")
        page.screenshot(path=str(DOCS / "dashboard-campaigns.png"), full_page=True)
        page.click("tr[data-campaign='1'] a")
        page.wait_for_function(
            "() => Number(document.querySelector('#c-completed').textContent) > 12"
        )
        page.screenshot(path=str(DOCS / "dashboard-campaign.png"), full_page=True)
        page.click("nav a[href='#/health']")
        page.wait_for_selector("body[data-health-at]", state="attached")
        page.screenshot(path=str(DOCS / "dashboard-health.png"), full_page=True)
        page.click("nav a[href='#/calendar']")
        page.wait_for_selector("body[data-calendar]", state="attached")
        page.screenshot(path=str(DOCS / "dashboard-calendar.png"), full_page=True)
        page.click("nav a[href='#/compare']")
        for campaign in ("1", "2"):
            page.check(f"#cmp-list input[value='{campaign}']")
        page.wait_for_selector("body[data-compared*=',']", state="attached")
        page.screenshot(path=str(DOCS / "dashboard-compare.png"), full_page=True)
        page.click("nav a[href='#/new']")
        page.fill("#n-name", "Autumn reminders")
        page.fill("#n-tags", "reminders")
        broken = contacts.with_name("autumn.csv")
        broken.write_text(contacts.read_text() + "Nobody,not a number,,gold\n")
        page.set_input_files("#n-csv", str(broken))
        page.click("#n-upload")
        page.wait_for_selector("#n-report:not([hidden])")
        page.click("#n-preview")
        page.wait_for_selector("#n-audio[data-bytes]:not([hidden])")
        page.screenshot(path=str(DOCS / "dashboard-new.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
