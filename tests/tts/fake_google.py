"""A stand-in for Google Translate's speech endpoint behind an HTTPS proxy, on loopback only.

This machine has no internet, so gTTS's success path (its request, the MP3 it gets
back, our decoding of it) is checked against this double: a proxy on 127.0.0.1 that
accepts gTTS's CONNECT, speaks TLS with a throwaway self-signed certificate (gTTS
does not verify certificates) and answers the batchexecute call with an MP3 tone.
It records each CONNECT target and request body.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np


def mp3_tone(seconds: float, rate: int = 24000) -> bytes:
    """A 440 Hz tone as MP3, as Google sends speech (24 kHz mono)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=rate)
        stream.layout = "mono"
        samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 8000
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def self_signed(folder: Path) -> ssl.SSLContext:
    key, certificate = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=translate.google.com", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    return context


@dataclass
class FakeGoogle:
    mp3: bytes
    tls: ssl.SSLContext
    connects: list[str] = field(default_factory=list)  # "translate.google.co.uk:443"
    requests: list[list[object]] = field(default_factory=list)  # [text, lang, slow, "null"]
    _listening: socket.socket = field(default_factory=socket.socket)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self._listening.getsockname()[1])

    def start(self) -> None:
        self._listening.bind(("127.0.0.1", 0))
        self._listening.listen(8)
        self._listening.settimeout(0.05)
        self._server = threading.Thread(target=self._serve, daemon=True)
        self._server.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.join()
        self._listening.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listening.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        with connection:
            head = _read_head(connection)
            self.connects.append(head.split(b" ")[1].decode())
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self.tls.wrap_socket(connection, server_side=True) as secure:
                head, _, body = _read_head(secure, keep_rest=True).partition(b"\r\n\r\n")
                length = int(_header(head, b"content-length"))
                while len(body) < length:
                    body += secure.recv(65536)
                self.requests.append(_rpc_parameters(body.decode()))
                audio = base64.b64encode(self.mp3).decode()
                line = f'[["wrb.fr","jQ1olc","[\\"{audio}\\"]",null,null,null,"generic"]]'
                payload = f")]}}'\n\n{len(line)}\n{line}\n".encode()
                secure.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                    + payload
                )


def _read_head(connection: socket.socket, keep_rest: bool = False) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(1 if not keep_rest else 65536)  # CONNECT: nothing past it
        if not chunk:
            break
        data += chunk
    return data


def _header(head: bytes, name: bytes) -> bytes:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return b"0"


def _rpc_parameters(body: str) -> list[object]:
    request = json.loads(urllib.parse.parse_qs(body)["f.req"][0])
    parameters: list[object] = json.loads(request[0][0][1])
    return parameters
