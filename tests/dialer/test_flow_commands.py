"""Flows from the command line: `dialer flow check`, and campaigns refusing broken flows
and contacts their flow cannot speak to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.store.sqlite import SqliteStore

MENU = """<Response>
  <Gather numDigits="1" action="press-{{Digits}}.xml">
    <Say>Hello {{customerName}}, your appointment is on {{date}}.</Say>
  </Gather>
</Response>"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "main.xml").write_text(MENU)
    (folder / "press-1.xml").write_text('<Response><Set name="confirmed" value="true"/></Response>')
    (folder / "press-2.xml").write_text(
        "<Response><Say>{{agent_name}} will call you.</Say></Response>"
    )
    return folder


def test_flow_check_lists_documents_placeholders_and_contacts_lacking_values(
    run: Any, store: SqliteStore, flows: Path, tmp_path: Path
) -> None:
    checked = run("flow", "check", str(flows / "main.xml"), "--json")
    assert checked.code == 0, checked.err
    report = checked.json()
    assert sorted(Path(d).name for d in report["documents"]) == [
        "main.xml",
        "press-1.xml",
        "press-2.xml",
    ]
    assert report["placeholders"] == ["agent_name", "customerName", "date"]
    campaign = store.create_campaign("c", now=0.0)
    contacts = tmp_path / "c.csv"
    contacts.write_text(
        "customerName,phone,email,date,agent_name\n"
        "Ann,+14155550100,,March 15,Bea\nBob,+14155550101,,,Bea\n"
    )
    assert run("contacts", "import", str(campaign), str(contacts)).code == 0
    checked = run("flow", "check", str(flows / "main.xml"), "--campaign", str(campaign), "--json")
    bob = next(lead.id for lead in store.list_leads(campaign) if lead.name == "Bob")
    assert checked.json()["contacts_lacking_values"] == [{"lead": bob, "missing": "date"}]


def test_a_broken_flow_is_refused_with_each_problem_and_its_line(
    run: Any, store: SqliteStore, flows: Path
) -> None:
    (flows / "press-1.xml").write_text("<Response>\n\n<Sya/></Response>")
    (flows / "press-2.xml").write_text('<Response>\n<Say voice="nobody">x</Say></Response>')
    checked = run("flow", "check", str(flows / "main.xml"))
    assert checked.code == 1
    assert "press-1.xml: line 3: <Sya> is not supported" in checked.err
    assert "press-2.xml: line 2:" in checked.err and "nobody" in checked.err
    created = run("campaign", "create", "x", "--flow", str(flows / "main.xml"))
    assert created.code == 1 and created.err.startswith("dialer: flow:")
    assert store.list_campaigns() == []
    (flows / "press-9.xml").write_text("<Response><Redirect>../../etc/passwd</Redirect></Response>")
    (flows / "press-2.xml").write_text("<Response/>")
    escaped = run("flow", "check", str(flows / "main.xml"))
    assert escaped.code == 1 and "outside the flow folder" in escaped.err
    (flows / "press-9.xml").write_text("<Response>\n<Play>thanks.wav</Play></Response>")
    missing = run("flow", "check", str(flows / "main.xml"))
    assert missing.code == 1
    assert "press-9.xml: line 2: no audio file 'thanks.wav' beside the flow" in missing.err
    (flows / "press-1.xml").write_text("<Response/>")
    (flows / "thanks.wav").write_bytes(b"")  # there, if not playable: the call will say
    assert run("flow", "check", str(flows / "main.xml")).code == 0
    (flows / "press-2.xml").write_text(
        "<Response>\n<Dial>+19005550100</Dial>\n<Dial><Sip>sip:x@192.0.2.1</Sip></Dial>"
        "\n<Dial><Client>1001</Client></Dial><Dial><Queue>sales</Queue></Dial></Response>"
    )
    dials = run("flow", "check", str(flows / "main.xml"))
    assert dials.code == 1  # toll fraud's front door, shut before anyone is called
    assert "press-2.xml: line 2: <Dial> to a number is refused: only agents" in dials.err
    assert "press-2.xml: line 3: <Dial> to a SIP address is refused" in dials.err
    assert "line 4" not in dials.err  # an agent's extension, a queue: agents only


def test_a_campaign_does_not_start_while_contacts_lack_values(
    run: Any, store: SqliteStore, flows: Path, tmp_path: Path
) -> None:
    made = run("campaign", "create", "c", "--flow", str(flows / "main.xml"), "--json")
    assert made.code == 0, made.err
    assert made.json()["settings"]["flow"] == str(flows / "main.xml")
    contacts = tmp_path / "c.csv"
    contacts.write_text(
        "customerName,phone,email,date,agent_name\nAnn,+14155550100,,March 15,Bea\n"
        "Bob,+14155550101,,,Bea\n"
    )
    assert run("contacts", "import", "1", str(contacts)).code == 0
    refused = run("campaign", "start", "1")
    assert refused.code == 1
    assert "1 contacts have no value for what the flow says" in refused.err
    assert "date" in refused.err and store.get_campaign(1).state == "draft"
    bob = next(lead.id for lead in store.list_leads(1) if lead.name == "Bob")
    assert run("contacts", "complete", str(bob)).code == 0  # no longer to be called
    assert run("campaign", "start", "1", "--json").json()["state"] == "running"
