"""libespeak-ng in process, through ctypes: the fast path (~4 ms a sentence; the CLI ~20 ms).

The library keeps all its state in globals (current voice, parameters, the
synthesis callback), so one process has one `EspeakLibrary`, shared by every
engine, and every call into it holds one lock: rendering runs in worker threads,
and two threads inside espeak at once corrupt each other's audio.

Synchronous mode (`AUDIO_OUTPUT_SYNCHRONOUS`): `espeak_Synth` returns when the
text is spoken, having handed the samples to our callback in the calling
thread. `espeakINITIALIZE_DONT_EXIT` keeps the library from calling exit() when
its data is missing. Text goes in as UTF-8 without the SSML or phoneme flags, so
it is only ever read aloud, never interpreted.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Final

from tts.errors import EngineError
from tts.espeak_voices import EspeakVoice, variants_in

_LIBRARY: Final = "libespeak-ng.so.1"
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_INITIALIZE_DONT_EXIT: Final = 0x8000
_POS_CHARACTER: Final = 1
_CHARS_UTF8: Final = 1
_ENDPAUSE: Final = 0x1000  # a sentence-final pause, so sentences rendered apart join naturally
_RATE: Final = 1
_PITCH: Final = 3
_EE_OK: Final = 0
_MAX_SAMPLES: Final = 22050 * 600  # ten minutes: beyond that the text is not a prompt

# int callback(short *wav, int numsamples, espeak_EVENT *events)
_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


_SHARED_LOCK: Final = threading.Lock()
_shared: EspeakLibrary | None = None


class _EspeakVoiceStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated tag)*, then a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class EspeakLibrary:
    """The process's libespeak-ng. Use `EspeakLibrary.shared()`; raises EngineError if absent."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(_LIBRARY)
        except OSError as exc:
            raise EngineError(f"cannot load {_LIBRARY}: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoiceStruct))
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_Info.restype = ctypes.c_char_p
        self._lib = lib
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._samples = 0
        self._callback = _Callback(self._on_samples)  # kept referenced: the library holds it
        with self._lock:
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_DONT_EXIT)
            if rate <= 0:
                raise EngineError("libespeak-ng cannot initialise: is espeak-ng-data installed?")
            lib.espeak_SetSynthCallback(self._callback)
            data_path = ctypes.c_char_p()
            version = lib.espeak_Info(ctypes.byref(data_path))
        self.sample_rate: int = rate
        self.version: str = (version or b"").decode()
        self.data_path = Path((data_path.value or b"").decode())
        self._voices = self._list_voices()
        self._variants = variants_in(self.data_path)

    @staticmethod
    def shared() -> EspeakLibrary:
        """The one instance (initialised on first use): espeak's state is per process."""
        global _shared
        with _SHARED_LOCK:
            if _shared is None:
                _shared = EspeakLibrary()
            return _shared

    def voices(self) -> tuple[EspeakVoice, ...]:
        return self._voices

    def variants(self) -> frozenset[str]:
        return self._variants

    def synthesize(self, text: str, voice: str, *, speed_wpm: int, pitch: int) -> tuple[bytes, int]:
        """16-bit PCM at `sample_rate`, and that rate."""
        encoded = text.replace("\0", " ").encode("utf-8") + b"\0"
        with self._lock:
            self._chunks, self._samples = [], 0
            if self._lib.espeak_SetVoiceByName(voice.encode("utf-8")) != _EE_OK:
                raise EngineError(f"espeak-ng has no voice {voice!r}")
            # Parameters after the voice: selecting a voice resets them.
            self._lib.espeak_SetParameter(_RATE, speed_wpm, 0)
            self._lib.espeak_SetParameter(_PITCH, pitch, 0)
            flags = _CHARS_UTF8 | _ENDPAUSE
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, flags, None, None
            )
            self._lib.espeak_Synchronize()
            if status != _EE_OK:
                raise EngineError(f"espeak_Synth failed with status {status}")
            if self._samples > _MAX_SAMPLES:
                raise EngineError("espeak-ng output longer than ten minutes: text too long")
            pcm = b"".join(self._chunks)
            self._chunks = []
        return pcm, self.sample_rate

    def _on_samples(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0 and wav:
            self._samples += count
            if self._samples > _MAX_SAMPLES:
                return 1  # abort this synthesis
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def _list_voices(self) -> tuple[EspeakVoice, ...]:
        with self._lock:
            listed = self._lib.espeak_ListVoices(None)
            voices: list[EspeakVoice] = []
            index = 0
            while listed[index]:
                entry = listed[index].contents
                voices.append(
                    EspeakVoice(
                        identifier=(entry.identifier or b"").decode(),
                        name=(entry.name or b"").decode(),
                        languages=_languages(entry.languages),
                    )
                )
                index += 1
        return tuple(voices)


def _languages(address: int | None) -> tuple[tuple[str, int], ...]:
    """espeak's packed language list: a priority byte, a NUL-terminated tag, ..., a 0 byte."""
    languages: list[tuple[str, int]] = []
    while address:
        priority = ctypes.c_ubyte.from_address(address).value
        if priority == 0:
            break
        tag = ctypes.string_at(address + 1)
        languages.append((tag.decode().lower(), priority))
        address += len(tag) + 2
    return tuple(languages)
