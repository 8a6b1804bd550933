"""The TTS preview over the API: a WAV a browser can play, and a clear refusal."""

from __future__ import annotations

import io
import time
import wave

from dialer.contacts.record import ContactRecord
from dialer.store.repository import Repository
from tests.web.api.harness import Api


async def test_a_prompt_comes_back_as_a_playable_wav(api: Api) -> None:
    answer = await api.client.post(
        "/api/tts/preview", json={"text": "Hello Jane, press 1 to confirm."},
        headers=api.auth("manager"),
    )  # fmt: skip
    assert answer.status == 200, await answer.text()
    assert answer.content_type == "audio/wav" and answer.headers["X-TTS-Engine"]
    with wave.open(io.BytesIO(await answer.read())) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() / 8000 > 1.0  # a sentence, not silence or a stub


async def test_an_unknown_voice_is_refused_by_name(api: Api) -> None:
    answer = await api.client.post(
        "/api/tts/preview", json={"text": "Hello", "voice": "Polly.Nobody"},
        headers=api.auth("manager"),
    )  # fmt: skip
    assert answer.status == 422
    assert (await answer.json())["error"]["details"][0]["at"] == "body.voice"


async def test_a_preview_says_the_text_as_a_contacts_call_would(api: Api) -> None:
    manager = api.auth("manager")

    def seed(store: Repository) -> int:
        campaign = store.create_campaign("c", now=time.time())
        record = ContactRecord(2, "Alice Smith", "+14155550100", None, attributes={"day": "Monday"})
        store.import_contacts(campaign, [record], now=time.time())
        return store.list_leads(campaign)[0].id

    lead = await api.store.run(seed)

    async def preview(body: dict[str, object]) -> bytes:
        answer = await api.client.post("/api/tts/preview", json=body, headers=manager)
        assert answer.status == 200, await answer.text()
        return await answer.read()

    filled = await preview({"text": "Hello {{customerName}}, see you {{day}}.", "lead_id": lead})
    assert filled == await preview({"text": "Hello Alice Smith, see you Monday."})
    assert filled != await preview({"text": "Hello Bob Jones, see you Monday."})
    answer = await api.client.post(
        "/api/tts/preview", json={"text": "Your code is {{code}}.", "lead_id": lead},
        headers=manager,
    )  # fmt: skip
    assert answer.status == 422
    assert f"lead {lead} has no value for code" in await answer.text()
    answer = await api.client.post(
        "/api/tts/preview", json={"text": "Hi", "lead_id": 999}, headers=manager
    )
    assert answer.status == 404
