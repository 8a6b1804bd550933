"""gTTS (Google Translate's voice): online only, always bounded by `gtts_timeout_s`.

gTTS's own `timeout` bounds each socket operation of each request, not the whole
call: a server trickling bytes, or a long text split into several requests, could
take longer. So the request runs on a small thread pool of its own and the caller
waits at most the timeout for it; an abandoned request still ends by its socket
timeout, and the pool's size bounds how many can linger. The MP3 it returns is
decoded with PyAV and resampled to 8 kHz μ-law.

Google has one voice per language and accent, chosen by the Translate domain
(`tld`): en-GB speaks from google.co.uk, fr-CA from google.ca. Gender and pitch
cannot be chosen; below `SLOW_BELOW_WPM` it speaks slowly, else at its pace.
"""

from __future__ import annotations

import concurrent.futures
import tempfile
from collections.abc import Sequence
from typing import Final

import gtts
import requests
from gtts.lang import tts_langs

from media.audiofile import AudioFileError, load_ulaw
from tts.engine import EngineVoice, VoiceListing
from tts.errors import EngineError, UnknownVoice
from tts.voices import Voice, language_of_native, primary_language

SLOW_BELOW_WPM: Final = 120
_MAX_REQUESTS: Final = 4  # requests in flight (and at most lingering after a timeout)

# Accents gTTS reaches through a regional Google domain.
ACCENTS: Final = {
    "en-US": ("en", "com"),
    "en-GB": ("en", "co.uk"),
    "en-AU": ("en", "com.au"),
    "en-CA": ("en", "ca"),
    "en-IN": ("en", "co.in"),
    "en-IE": ("en", "ie"),
    "en-ZA": ("en", "co.za"),
    "en-NG": ("en", "com.ng"),
    "fr-FR": ("fr", "fr"),
    "fr-CA": ("fr", "ca"),
    "pt-BR": ("pt", "com.br"),
    "pt-PT": ("pt", "pt"),
    "es-ES": ("es", "es"),
    "es-MX": ("es", "com.mx"),
    "es-US": ("es", "us"),
    "zh-CN": ("zh-CN", "com"),
    "zh-TW": ("zh-TW", "com"),
}
_ALIASES: Final = {"he": "iw", "nb": "no", "jv": "jw", "fil": "tl", "cmn": "zh"}


class GttsEngine:
    name = "gtts"

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._languages = frozenset(tts_langs())
        self._requests = concurrent.futures.ThreadPoolExecutor(_MAX_REQUESTS, "gtts")

    @property
    def version(self) -> str:
        return str(gtts.__version__)

    def resolve(self, voice: Voice) -> EngineVoice:
        tag = voice.language
        if voice.native is not None:
            own = language_of_native(voice.native)
            if own is None:
                raise UnknownVoice(f"gtts has no voice {voice.native!r}: name a language instead")
            if tag is not None and primary_language(tag) != primary_language(own):
                raise UnknownVoice(f"voice {voice.native!r} does not speak {tag}")
            tag = tag or own
        assert tag is not None
        lang, tld = self._google_language(tag)
        return EngineVoice(self.name, f"{lang}@{tld}", tag)

    def synthesize(self, text: str, voice: EngineVoice, *, speed_wpm: int, pitch: int) -> bytes:
        lang, _, tld = voice.name.partition("@")
        request = self._requests.submit(self._mp3, text, lang, tld, speed_wpm < SLOW_BELOW_WPM)
        try:
            mp3 = request.result(timeout=self._timeout_s)
        except concurrent.futures.TimeoutError:
            request.cancel()  # if still queued behind lingering requests
            raise EngineError(f"no answer from Google within {self._timeout_s:g} s") from None
        with tempfile.NamedTemporaryFile(suffix=".mp3") as file:
            file.write(mp3)
            file.flush()
            try:
                return load_ulaw(file.name)
            except AudioFileError as exc:
                raise EngineError(f"Google sent audio that cannot be decoded: {exc}") from exc

    def voices(self) -> Sequence[VoiceListing]:
        accents = [VoiceListing(tag, (tag,), f"google.{tld}") for tag, (_, tld) in ACCENTS.items()]
        others = sorted(self._languages - {lang for lang, _ in ACCENTS.values()})
        return accents + [VoiceListing(lang, (lang,), "google.com") for lang in others]

    def close(self) -> None:
        self._requests.shutdown(wait=False, cancel_futures=True)

    def _google_language(self, tag: str) -> tuple[str, str]:
        if tag in ACCENTS:
            return ACCENTS[tag]
        if tag in self._languages:
            return tag, "com"
        primary = primary_language(tag)
        primary = _ALIASES.get(primary, primary)
        if primary in self._languages:
            return primary, "com"
        raise UnknownVoice(f"gtts cannot speak {tag}")

    def _mp3(self, text: str, lang: str, tld: str, slow: bool) -> bytes:
        """One synthesis on the request pool; its exceptions reach the waiting caller."""
        try:
            speech = gtts.gTTS(
                text, tld=tld, lang=lang, slow=slow, lang_check=False, timeout=self._timeout_s
            )
            mp3 = b"".join(speech.stream())
        except (gtts.gTTSError, requests.RequestException, OSError) as exc:
            raise EngineError(str(exc)) from exc
        except ValueError as exc:  # an answer gTTS cannot parse (base64, UTF-8)
            raise EngineError(f"unreadable answer from Google: {exc}") from exc
        except AssertionError as exc:  # gTTS asserts there is something left to say
            raise EngineError(f"nothing to say: {exc}") from exc
        if not mp3:
            raise EngineError("Google sent no audio")
        return mp3
