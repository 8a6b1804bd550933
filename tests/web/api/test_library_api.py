"""Flows and prompts uploaded over the API: checked whole before they are kept, named by
the path a campaign's settings use, and never changed under a campaign still dialling."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import aiohttp
import numpy as np

from tests.web.api.harness import Api

MAIN = """<Response>
  <Gather numDigits="1" action="press-{{Digits}}.xml">
    <Say>Hello {{customerName}}, your order {{order}} is ready. Press 1 to confirm.</Say>
  </Gather>
</Response>"""
PRESS_1 = "<Response><Play>thanks.wav</Play></Response>"


def wav(seconds: float = 0.5) -> bytes:
    samples = (np.sin(np.arange(int(8000 * seconds)) * 0.3) * 8000).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(samples.tobytes())
    return out.getvalue()


def form(*files: tuple[str, bytes]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, content in files:
        data.add_field("file", content, filename=name, content_type="application/octet-stream")
    return data


async def put_flow(api: Api, name: str, *files: tuple[str, bytes]) -> aiohttp.ClientResponse:
    return await api.client.put(
        f"/api/flows/{name}", data=form(*files), headers=api.auth("manager")
    )


async def test_a_flow_is_uploaded_listed_shown_and_a_campaign_can_use_it(api: Api) -> None:
    manager = api.auth("manager")
    answer = await put_flow(
        api, "orders", ("main.xml", MAIN.encode()), ("press-1.xml", PRESS_1.encode()),
        ("thanks.wav", wav()),
    )  # fmt: skip
    assert answer.status == 200, await answer.text()
    saved = await answer.json()
    assert saved["files"] == ["main.xml", "press-1.xml", "thanks.wav"]
    assert saved["placeholders"] == ["customerName", "order"]
    assert Path(saved["path"]).read_text() == MAIN
    listed = await (await api.client.get("/api/flows", headers=manager)).json()
    assert [flow["name"] for flow in listed["flows"]] == ["orders"] and listed["total"] == 1
    shown = await (await api.client.get("/api/flows/orders", headers=manager)).json()
    assert shown["documents"] == {"main.xml": MAIN, "press-1.xml": PRESS_1}
    answer = await api.client.post(
        "/api/campaigns", json={"name": "Orders", "settings": {"flow": saved["path"]}},
        headers=manager,
    )  # fmt: skip
    assert answer.status == 201, await answer.text()
    (entry,) = await api.store.run(lambda s: s.list_audit(target="flow:orders"))
    assert (entry.action, entry.actor, entry.before) == ("flow.save", "manager", None)
    assert entry.after is not None and entry.after["files"] == saved["files"]


async def test_a_broken_upload_is_refused_with_every_reason_and_the_flow_stays_whole(
    api: Api,
) -> None:
    manager = api.auth("manager")
    answer = await put_flow(api, "orders", ("main.xml", PRESS_1.encode()), ("thanks.wav", wav()))
    assert answer.status == 200, await answer.text()
    before = await (await api.client.get("/api/flows/orders", headers=manager)).json()
    # A document that does not parse, one that plays a file that is not there, and audio
    # that is not audio.
    answer = await put_flow(
        api, "orders", ("main.xml", b"<Response><Say>unclosed</Response>"),
        ("press-1.xml", PRESS_1.encode()), ("other.wav", b"RIFF....WAVEfmt nonsense"),
    )  # fmt: skip
    assert answer.status == 422
    details = (await answer.json())["error"]["details"]
    messages = " | ".join(d["message"] for d in details)
    assert all(d["at"] == "form.file" for d in details)
    assert "main.xml: line 1: not well-formed" in messages, messages
    assert "press-1.xml: line 1: no audio file 'thanks.wav'" in messages, messages
    assert "other.wav" in messages, messages
    assert ".staging" not in messages  # the uploader's names, not our folders
    after = await (await api.client.get("/api/flows/orders", headers=manager)).json()
    assert after["documents"] == before["documents"] and after["files"] == before["files"]
    for files, reason in [
        ((("../main.xml", MAIN.encode()),), "plain name"),
        ((("other.xml", PRESS_1.encode()),), "no main.xml"),
        ((("main.xml", MAIN.encode()), ("run.sh", b"#!/bin/sh")), "neither"),
    ]:
        answer = await put_flow(api, "fresh", *files)
        assert answer.status == 422, files
        assert reason in str(await answer.json()), files
    assert (await api.client.get("/api/flows/fresh", headers=manager)).status == 404
    answer = await put_flow(api, "no%20spaces", ("main.xml", MAIN.encode()))
    assert answer.status == 400  # the name is the path's
    assert [e.action for e in await api.store.run(lambda s: s.list_audit())] == ["flow.save"]


async def test_what_a_campaign_still_dialling_uses_cannot_be_replaced_or_removed(
    api: Api,
) -> None:
    manager = api.auth("manager")
    saved = await (await put_flow(api, "orders", ("main.xml", PRESS_1.encode()),
                                  ("thanks.wav", wav()))).json()  # fmt: skip
    answer = await api.client.put(
        "/api/prompts/welcome", data=form(("welcome.wav", wav(1.0))), headers=manager
    )
    prompt = await answer.json()
    ids = []
    for settings in ({"flow": saved["path"]}, {"prompt_file": prompt["path"]}):
        answer = await api.client.post(
            "/api/campaigns", json={"name": "c", "settings": settings}, headers=manager
        )
        ids.append((await answer.json())["campaign"])
    for campaign in ids:
        answer = await api.client.post(f"/api/campaigns/{campaign}/start", headers=manager)
        assert answer.status == 200, await answer.text()
    answer = await put_flow(api, "orders", ("main.xml", PRESS_1.encode()), ("thanks.wav", wav()))
    assert answer.status == 409 and f"campaign {ids[0]} (running)" in await answer.text()
    assert (await api.client.delete("/api/flows/orders", headers=manager)).status == 409
    assert (await api.client.delete("/api/prompts/welcome", headers=manager)).status == 409
    for campaign in ids:
        await api.client.post(f"/api/campaigns/{campaign}/stop", headers=manager)
    assert (await api.client.delete("/api/flows/orders", headers=manager)).status == 200
    assert (await api.client.delete("/api/prompts/welcome", headers=manager)).status == 200
    assert (await api.client.get("/api/flows/orders", headers=manager)).status == 404
    assert not Path(saved["path"]).parent.exists()
    listed = await (await api.client.get("/api/prompts", headers=manager)).json()
    assert listed == {"prompts": [], "total": 0}


async def test_a_prompt_is_decoded_before_it_is_kept(api: Api) -> None:
    manager = api.auth("manager")
    answer = await api.client.put(
        "/api/prompts/welcome", data=form(("welcome.wav", wav(1.5))), headers=manager
    )
    assert answer.status == 200, await answer.text()
    prompt = await answer.json()
    assert prompt["duration_s"] == 1.5 and prompt["path"].endswith("welcome.wav")
    answer = await api.client.put(
        "/api/prompts/welcome", data=form(("welcome.wav", b"RIFF not really a wav")),
        headers=manager,
    )  # fmt: skip
    assert answer.status == 422
    assert (await api.client.put(
        "/api/prompts/welcome", data=form(("welcome.exe", wav())), headers=manager
    )).status == 422  # fmt: skip
    # The one kept is still the good one.
    listed = await (await api.client.get("/api/prompts", headers=manager)).json()
    assert [(p["name"], p["duration_s"]) for p in listed["prompts"]] == [("welcome", 1.5)]
    # A new format replaces the old file, not beside it.
    answer = await api.client.put(
        "/api/prompts/welcome", data=form(("welcome.ulaw", b"\xff" * 8000)), headers=manager
    )
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["duration_s"] == 1.0
    assert sorted(p.name for p in Path(prompt["path"]).parent.iterdir()) == ["welcome.ulaw"]
    actions = [e.action for e in await api.store.run(lambda s: s.list_audit())]
    assert actions == ["prompt.save", "prompt.save"]
