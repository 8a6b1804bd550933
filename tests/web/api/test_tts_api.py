"""The TTS preview over the API: a WAV a browser can play, and a clear refusal."""

from __future__ import annotations

import io
import wave

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
