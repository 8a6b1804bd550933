"""`POST /api/tts/preview`: hear a prompt before a campaign speaks it (a WAV file back),
as said to a real contact if a `lead_id` is given.

The app's renderer is made at the first preview (the TTS engines start then)
and shares the prompt cache with the campaigns; it renders off the event loop.
The engine, the voice and whether the fallback spoke come back as headers.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from dialer.commands.tts import wav_bytes
from dialer.config import TtsSettings
from dialer.web.api import schemas
from dialer.web.api.errors import ApiError, Detail
from dialer.web.api.operation import ApiCall, Operation
from tts.errors import TtsError, UnknownVoice
from tts.renderer import Renderer
from tts.templates import MissingValues, Template, TemplateError

MAX_TEXT = 1000  # a prompt, not a book: each preview is rendered while a manager waits


class SpeechPreview:
    """The app's renderer, made when first needed (starting the engines is not free)."""

    def __init__(self, settings: TtsSettings) -> None:
        self.settings = settings
        self._renderer: Renderer | None = None

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            self._renderer = Renderer(self.settings)
        return self._renderer

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


SPEECH = web.AppKey("speech", SpeechPreview)


async def preview_speech(call: ApiCall) -> web.Response:
    renderer = call.request.app[SPEECH].renderer
    text, voice, language = call.body["text"], call.body.get("voice"), call.body.get("language")
    if "lead_id" in call.body:
        text = await _as_said_to(call, text, call.body["lead_id"])
    try:
        prompt = await asyncio.to_thread(
            renderer.render_prompt, text, voice=voice, language=language
        )
    except UnknownVoice as exc:
        raise ApiError(422, "no engine has that voice", [Detail("body.voice", str(exc))]) from None
    except TtsError as exc:
        raise ApiError(503, f"the speech engines failed: {exc}") from None
    return web.Response(
        body=wav_bytes(prompt.audio),
        content_type="audio/wav",
        headers={
            "X-TTS-Engine": prompt.engine,
            "X-TTS-Voice": prompt.voice,
            "X-TTS-Fallback": "true" if prompt.fallback_used else "false",
        },
    )


async def _as_said_to(call: ApiCall, text: str, lead_id: int) -> str:
    """The text with its `{{placeholders}}` filled in as a call to that contact would."""
    lead = await call.read(lambda store: store.get_lead(lead_id))
    try:
        return Template(text).render(lead.template_values())
    except MissingValues as exc:
        reason = f"lead {lead_id} has no value for {', '.join(sorted(exc.names))}"
        raise ApiError(422, "the text cannot be said to that contact",
                       [Detail("body.text", reason)]) from None  # fmt: skip
    except TemplateError as exc:
        raise ApiError(422, "the text is not a template", [Detail("body.text", str(exc))]) from None


async def close_speech(app: web.Application) -> None:
    app[SPEECH].close()


_PREVIEW = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        "voice": {"type": "string", "maxLength": 100, "description": "as <Say voice=...>"},
        "language": {"type": "string", "maxLength": 20, "description": "as <Say language=...>"},
        "lead_id": {
            **schemas.ID,
            "description": "fill the text's {{placeholders}} from this contact, as its call would",
        },
    },
    "required": ["text"],
    "additionalProperties": False,
}

OPERATIONS = [
    Operation("POST", "/api/tts/preview", preview_speech, "Render a prompt as a WAV file", "tts",
              body=_PREVIEW, produces="audio/wav", refusals=(503,)),
]  # fmt: skip
