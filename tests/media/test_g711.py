"""G.711 tables against golden values (the ITU/Sun reference code, as audioop had it)."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

from media import g711

SAMPLES = [
    0,
    1,
    -1,
    2,
    -2,
    4,
    -5,
    100,
    -100,
    1000,
    -1000,
    4096,
    -4096,
    12345,
    -12345,
    32000,
    -32000,
    32767,
    -32768,
]
PCM = struct.pack(f"<{len(SAMPLES)}h", *SAMPLES)
CODES = bytes([0x00, 0x0F, 0x10, 0x7E, 0x7F, 0x80, 0x8F, 0xF0, 0xFE, 0xFF, 0x55, 0xD5, 0x2A, 0xAA])


def test_ulaw_encode_golden() -> None:
    assert g711.ulaw_encode(PCM).hex() == "ffff7eff7efe7ef272ce4eaf2f971780008000"


def test_alaw_encode_golden() -> None:
    assert g711.alaw_encode(PCM).hex() == "d5d555d555d555d353fa7a851abd3daa2aaa2a"


def test_ulaw_decode_golden() -> None:
    decoded = struct.unpack(f"<{len(CODES)}h", g711.ulaw_decode(CODES))
    assert decoded == (
        -32124,
        -16764,
        -15996,
        -8,
        0,
        32124,
        16764,
        120,
        8,
        0,
        -716,
        716,
        -5372,
        5372,
    )


def test_alaw_decode_golden() -> None:
    decoded = struct.unpack(f"<{len(CODES)}h", g711.alaw_decode(CODES))
    assert decoded == (
        -5504,
        -6784,
        -2752,
        -880,
        -848,
        5504,
        6784,
        688,
        880,
        848,
        -8,
        8,
        -32256,
        32256,
    )


def test_transcoding_tables_golden() -> None:
    assert g711.ulaw_to_alaw(CODES).hex() == "2a253a55d5aaa5d2d5d573f30181"
    assert g711.alaw_to_ulaw(CODES).hex() == "2924395051a9a4d6d0d17efe0080"
    assert len(g711.ULAW_TO_ALAW) == len(g711.ALAW_TO_ULAW) == 256


def test_silence_constants_decode_to_near_zero() -> None:
    assert g711.ulaw_decode(bytes([g711.ULAW_SILENCE])) == b"\x00\x00"
    assert abs(g711.alaw_decode_samples(bytes([g711.ALAW_SILENCE]))[0]) <= 8
    assert g711.silence(160) == b"\xff" * 160
    assert g711.silence(3, alaw=True) == b"\xd5\xd5\xd5"


def test_round_trip_error_is_within_one_quantisation_step() -> None:
    x = np.linspace(-32768, 32767, 5000).astype(np.int16)
    for encode, decode in (
        (g711.ulaw_encode, g711.ulaw_decode_samples),
        (g711.alaw_encode, g711.alaw_decode_samples),
    ):
        back = decode(encode(x)).astype(np.int32)
        error = np.abs(back - x.astype(np.int32))
        # G.711 steps grow with amplitude: at most 1/16 of the value, plus the smallest step.
        assert np.all(error <= np.abs(x.astype(np.int32)) / 16 + 64)


def test_every_code_survives_decode_encode() -> None:
    codes = bytes(range(256))
    # μ-law has two zeros (0x7F and 0xFF); everything else maps back to itself.
    ulaw_back = g711.ulaw_encode(g711.ulaw_decode(codes))
    assert [c for c in range(256) if ulaw_back[c] != c] == [0x7F]
    assert g711.alaw_encode(g711.alaw_decode(codes)) == codes


def test_array_input_equals_bytes_input() -> None:
    x = np.array(SAMPLES, dtype=np.int16)
    assert g711.ulaw_encode(x) == g711.ulaw_encode(PCM)
    assert g711.alaw_encode(x) == g711.alaw_encode(PCM)


def test_bad_input_raises_g711_error() -> None:
    with pytest.raises(g711.G711Error):
        g711.ulaw_encode(b"\x00\x01\x02")
    with pytest.raises(g711.G711Error):
        g711.alaw_encode(np.zeros(4, dtype=np.float32))


def test_bit_exact_with_audioop_when_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16)
    pcm = every.astype("<i2").tobytes()
    assert g711.ulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)
    assert g711.alaw_encode(pcm) == audioop.lin2alaw(pcm, 2)
    codes = bytes(range(256))
    assert g711.ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert g711.alaw_decode(codes) == audioop.alaw2lin(codes, 2)
