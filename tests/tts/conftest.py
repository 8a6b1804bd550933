"""What the TTS tests share: settings on a temporary cache, and no way out to the internet.

Every test runs with HTTPS_PROXY pointing at a closed port on 127.0.0.1, so gTTS
(which honours the proxy variables) fails exactly as it does offline, on any
machine, and nothing beyond 127.0.0.0/8 is ever contacted. Tests that need a
proxy that hangs or trickles start one on loopback themselves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dialer.config import TtsSettings
from tts.renderer import Renderer

from .fake_google import FakeGoogle, mp3_tone, self_signed

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def use_proxy(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def closed_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A loopback port bound but not listening (connections refused), as the proxy."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        use_proxy(monkeypatch, port)
        yield port


@pytest.fixture
def hanging_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A proxy that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        port = listening.getsockname()[1]
        use_proxy(monkeypatch, port)
        yield port


@pytest.fixture
def trickling_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A proxy that answers one header byte every 50 ms, forever: each read is quick, so
    only a bound on the whole request ends it."""
    stop = threading.Event()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(16)
    listening.settimeout(0.05)

    def trickle(connection: socket.socket) -> None:
        with connection:
            payload = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: yes\r\n" * 100_000
            for index in range(len(payload)):
                if stop.wait(0.05):
                    return
                try:
                    connection.sendall(payload[index : index + 1])
                except OSError:
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listening.accept()
            except TimeoutError:
                continue
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    use_proxy(monkeypatch, listening.getsockname()[1])
    yield listening.getsockname()[1]
    stop.set()
    server.join()
    listening.close()


@pytest.fixture
def fake_google(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeGoogle]:
    """Google's speech endpoint answering a 1.5 s MP3 tone, through a loopback proxy."""
    google = FakeGoogle(mp3_tone(1.5), self_signed(tmp_path))
    google.start()
    use_proxy(monkeypatch, google.port)
    yield google
    google.stop()


@pytest.fixture
def settings(tmp_path: Path) -> TtsSettings:
    return TtsSettings(cache_dir=str(tmp_path / "tts-cache"))


@pytest.fixture
def make_renderer(settings: TtsSettings) -> Iterator[Callable[..., Renderer]]:
    """`make_renderer(engine="gtts", retry_after_s=0)`: settings fields and Renderer options."""
    made: list[Renderer] = []
    options = {"workers", "retry_after_s", "per_sentence", "memory_cache_mb"}

    def make(**overrides: Any) -> Renderer:
        fields = {k: v for k, v in overrides.items() if k not in options}
        renderer = Renderer(
            replace(settings, **fields), **{k: v for k, v in overrides.items() if k in options}
        )
        made.append(renderer)
        return renderer

    yield make
    for renderer in made:
        renderer.close()
