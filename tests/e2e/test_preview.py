"""Preview dialing under `dialer serve`, in a real browser: the agent is shown each contact
before the dial, skips one (never dialled, back later), calls the next, and is bridged to
the person who answers (SIPp echoing RTP back through the page's fake microphone)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.peers import LOOPBACK, Sipp, free_sip_port, free_tcp_port, require_binary
from tests.e2e.test_agents_serve import PASSWORD, add_agents, query, serve, wait_for
from tests.e2e.test_campaign_recovery import contacts_csv, dialer
from tests.e2e.test_console import _peers, browser, open_console, wait_number

__all__ = ["_peers", "browser"]

SKIP_S = 600.0


async def shown(page: Any) -> str:
    """The name on the preview the page shows now."""
    await page.wait_for_selector("body[data-preview=shown]", state="attached", timeout=15_000)
    return str(await page.text_content("#preview-name"))


async def test_an_agent_skips_one_contact_and_calls_the_next_from_the_preview(
    tmp_path: Path, browser: Any
) -> None:
    require_binary("sipp")
    db = tmp_path / "dialer.db"
    web_port = free_tcp_port()
    await add_agents(db, "1001")
    with Sipp.start_uas("echo_answer", rtp_echo=True, calls=1, timeout_s=90) as person:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sip]\nbind_host = "{LOOPBACK}"\nbind_port = {free_sip_port()}\n'
            f'transports = ["udp"]\n[trunks.default]\nproxy = "sip:{LOOPBACK}:{person.port}"\n'
            f"keepalive_s = 0\n[agents]\nwrap_up_s = 0.5\npreview_skip_s = {SKIP_S}\n"
            f'[web]\nbind_host = "{LOOPBACK}"\nport = {web_port}\n'
        )
        code, out, err = await dialer(
            "campaign", "create", "preview", "--mode", "preview", "--any-hour",
            "--db", str(db), "--json",
        )  # fmt: skip
        assert code == 0 and json.loads(out)["settings"]["mode"] == "preview", err
        assert (await dialer("contacts", "import", "1", str(contacts_csv(tmp_path, 2)),
                             "--db", str(db)))[0] == 0  # fmt: skip
        assert (await dialer("campaign", "start", "1", "--db", str(db)))[0] == 0
        service = await serve(db, config)
        try:
            base = f"http://{LOOPBACK}:{web_port}"
            await wait_for(lambda: _listening(base), 20)
            page = await open_console(browser, base)  # extension 1001, the same password
            await page.click("#ready")
            first = await shown(page)
            assert await page.text_content("#state") == "reserved"  # no one else offers them
            await page.click("#preview-skip")
            second = await shown(page)
            assert {first, second} == {"Contact 0", "Contact 1"}
            assert query(db, "SELECT count(*) FROM attempts") == [(0,)]  # a preview dials nothing
            await page.click("#preview-call")
            # The person answers; the call is the agent's own, answered without asking.
            await page.wait_for_selector("#call-title:text('On call')", timeout=20_000)
            assert await page.text_content("#pop-name") == second
            first_packets = await wait_number(page, "#rtp-in", 0)
            await wait_number(page, "#rtp-in", first_packets + 50)
            await page.click("#hangup")
            over = "body[data-preview=over]"
            await page.wait_for_selector(over, state="attached", timeout=15_000)
            await page.wait_for_selector("#disposition-form:not([hidden])", timeout=5_000)
            await page.fill("#disposition", "sale")
            await page.click("#disposition-submit")
            await page.wait_for_selector(
                "body[data-disposition=saved]", state="attached", timeout=15_000
            )
            # Back to ready after wrap-up, nothing is due: the skipped contact waits.
            await page.wait_for_selector("body[data-state=ready]", state="attached", timeout=10_000)
        finally:
            service.terminate()
            # Promptly, though a console is open: its WebSocket must not hold the stop up.
            _, log = await asyncio.wait_for(service.communicate(), 10)
        assert await person.wait_async(15) == 0, person.report()
    assert service.returncode == 0, log.decode()[-3000:]
    assert PASSWORD not in log.decode()
    (row,) = query(
        db, "SELECT l.name, a.variables, a.disposition, a.agent_id FROM attempts a"
        " JOIN leads l ON l.id = a.lead_id",
    )  # fmt: skip
    name, variables, disposition, agent_id = row
    assert name == second and disposition == "sale" and agent_id is not None
    assert json.loads(str(variables))["DialCallStatus"] == "completed"
    assert json.loads(str(variables))["agent"] == "1001"
    ((attempts, next_at),) = query(
        db, f"SELECT attempts, next_attempt_at FROM leads WHERE name = '{first}'"
    )
    assert attempts == 0 and float(str(next_at)) > time.time() + SKIP_S - 120


def _listening(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/agent", timeout=1):
            return True
    except (urllib.error.URLError, OSError):
        return False
