"""In-band DTMF detection: generated tone pairs through G.711, Q.24-style limits, real speech."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from media.audiofile import load_ulaw
from media.dtmf import DtmfDigit
from media.g711 import ulaw_decode_samples, ulaw_encode
from media.inband_dtmf import (
    DTMF_COLUMN_HZ,
    DTMF_ROW_HZ,
    DtmfDuplicateFilter,
    InbandDtmfDetector,
    InbandDtmfLimits,
    analyse_window,
    dbm0_power,
)
from tests.e2e.audio_fixtures import Pcm16, dtmf_keys_pcm16, dtmf_pcm16

KEYS = "123A456B789C*0#D"


def silence(seconds: float) -> Pcm16:
    return np.zeros(round(seconds * 8000), dtype=np.int16)


def through_ulaw(pcm: Pcm16) -> Pcm16:
    return ulaw_decode_samples(ulaw_encode(pcm))


def detect(
    pcm: Pcm16,
    *,
    frame: int = 160,
    timestamp: int = 1000,
    detector: InbandDtmfDetector | None = None,
) -> list[DtmfDigit]:
    """Feed `pcm` (plus 100 ms of silence) frame by frame; every digit reported."""
    detector = detector or InbandDtmfDetector()
    pcm = np.concatenate([pcm, silence(0.1 + frame / 8000)])
    digits: list[DtmfDigit] = []
    for start in range(0, pcm.size - frame + 1, frame):
        digits += detector.feed(pcm[start : start + frame], (timestamp + start) & 0xFFFF_FFFF)
    assert not detector.in_press
    return digits


def keys(pcm: Pcm16, **options: object) -> str:
    return "".join(d.digit for d in detect(pcm, **options))  # type: ignore[arg-type]


def tone(key: str, seconds: float = 0.1, **options: float) -> Pcm16:
    """One key between silences, through G.711."""
    return through_ulaw(np.concatenate([silence(0.05), dtmf_pcm16(key, seconds, **options)]))


# -- the tones ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_each_key_once_through_ulaw_with_noise_at_15_db_snr(key: str) -> None:
    rng = np.random.default_rng(ord(key))
    pair = dtmf_pcm16(key, 0.1, dbm0=-12.0)
    signal = np.concatenate([silence(0.1), pair, silence(0.1)]).astype(np.float64)
    noise_power = np.mean(pair.astype(np.float64) ** 2) / 10 ** (15 / 10)
    noisy = signal + rng.standard_normal(signal.size) * math.sqrt(noise_power)
    digits = detect(through_ulaw(np.clip(noisy, -32768, 32767).astype(np.int16)))
    assert [d.digit for d in digits] == [key]
    assert 90 <= digits[0].duration_ms <= 120
    # The press started 100 ms in: its timestamp is within a window (10 ms) of that.
    assert abs(digits[0].timestamp - (1000 + 800)) <= 80


def test_golden_sequence_with_timestamps_across_the_wrap() -> None:
    # Tones at 100 ms, then every 140 ms: each press starts on its tone's first sample.
    pcm = through_ulaw(dtmf_keys_pcm16("159#*0", tone_s=0.08, gap_s=0.06, lead_s=0.1))
    assert detect(pcm, timestamp=0xFFFF_FC00) == [
        DtmfDigit("1", 80, 0xFFFF_FF20),
        DtmfDigit("5", 80, 896),
        DtmfDigit("9", 80, 2016),
        DtmfDigit("#", 80, 3136),
        DtmfDigit("*", 80, 4256),
        DtmfDigit("0", 80, 5376),
    ]


def goertzel_energy(samples: Pcm16, frequency: float) -> float:
    """The textbook Goertzel recurrence, one sample at a time: the reference."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    previous = before = 0.0
    for sample in samples.tolist():
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return 2 * power / samples.size


def test_window_energies_are_the_goertzel_values() -> None:
    window = through_ulaw(dtmf_pcm16("8", 0.02, dbm0=-15.0, deviation=0.004, phase=0.7))
    analysis = analyse_window(window)
    for index, nominal in enumerate(DTMF_ROW_HZ + DTMF_COLUMN_HZ):
        grid = [goertzel_energy(window, nominal * (1 + d)) for d in (-0.01, 0.0, 0.01)]
        best = int(np.argmax(grid))
        harmonic = goertzel_energy(window, 2 * nominal * (1 + (-0.01, 0.0, 0.01)[best]))
        assert analysis.tones[index] == pytest.approx(grid[best], rel=1e-9)
        assert analysis.harmonics[index] == pytest.approx(harmonic, rel=1e-9, abs=1e-3)
    assert analysis.energy == float(np.sum(window.astype(np.float64) ** 2))
    # 852 + 1336 Hz hold nearly all the energy; each tone is half of it.
    assert analysis.tones[2] + analysis.tones[5] > 0.95 * analysis.energy
    with pytest.raises(ValueError, match="160 samples"):
        analyse_window(window[:100])


@pytest.mark.parametrize("deviation", [-0.015, 0.015])
def test_frequencies_off_by_1_5_percent_are_accepted(deviation: float) -> None:
    assert "".join(keys(tone(k, deviation=deviation)) for k in KEYS) == KEYS


@pytest.mark.parametrize("deviation", [-0.035, -0.03, 0.03, 0.035])
def test_frequencies_off_by_3_percent_or_more_are_refused(deviation: float) -> None:
    assert "".join(keys(tone(k, deviation=deviation)) for k in KEYS) == ""


@pytest.mark.parametrize(
    ("twist_db", "heard"), [(-7.0, True), (3.0, True), (-10.0, False), (6.0, False)]
)
def test_twist_limits_8_db_normal_4_db_reverse(twist_db: float, heard: bool) -> None:
    # Normal twist (negative here): the high tone weaker; reverse: stronger.
    found = "".join(keys(tone(k, twist_db=twist_db, dbm0=-14.0)) for k in KEYS)
    assert found == (KEYS if heard else "")


@pytest.mark.parametrize(
    ("dbm0", "twist_db", "heard"),
    [(-3.0, 0.0, True), (-25.0, 0.0, True), (-40.0, 0.0, False), (-28.0, -5.0, False)],
)
def test_level_limits_per_tone(dbm0: float, twist_db: float, heard: bool) -> None:
    # -28 dBm0 with the high tone 5 dB down: loud enough as a pair, but that tone is below
    # the -30 dBm0 minimum.
    found = "".join(keys(tone(k, dbm0=dbm0, twist_db=twist_db)) for k in KEYS)
    assert found == (KEYS if heard else "")


def with_extra_tone(key: str, frequency: float, db: float) -> Pcm16:
    """The key plus a third sine `db` relative to each of its tones."""
    pair = dtmf_pcm16(key, 0.1, dbm0=-14.0).astype(np.float64)
    n = np.arange(pair.size)
    extra = np.sqrt(2 * dbm0_power(-14.0 + db)) * np.sin(2 * np.pi * frequency * n / 8000)
    return through_ulaw(np.concatenate([silence(0.05), (pair + extra).astype(np.int16)]))


@pytest.mark.parametrize(("db", "heard"), [(-12.0, "1"), (-6.0, "")])
def test_a_third_tone_in_the_group_must_be_8_db_down(db: float, heard: str) -> None:
    # 1633 Hz beside 697 + 1209 ("1"): a chord, not a key. At -6 dB it holds 11 % of the
    # energy, so the share passes: the group margin refuses it.
    assert keys(with_extra_tone("1", 1633.0, db)) == heard


@pytest.mark.parametrize(("db", "heard"), [(-22.0, "9"), (-10.0, "")])
def test_the_high_tones_second_harmonic_must_be_15_db_down(db: float, heard: str) -> None:
    # 2 x 1477 Hz beside "9" (852 + 1477): a harmonic-rich source, not a generator.
    assert keys(with_extra_tone("9", 2 * 1477.0, db)) == heard


# -- durations and gaps -------------------------------------------------------------------


@pytest.mark.parametrize("offset", range(0, 160, 10))
def test_40_ms_is_always_a_press_23_ms_never(offset: int) -> None:
    lead = silence(0.05 + offset / 8000)
    assert keys(through_ulaw(np.concatenate([lead, dtmf_pcm16("6", 0.040)]))) == "6"
    assert keys(through_ulaw(np.concatenate([lead, dtmf_pcm16("6", 0.023)]))) == ""
    assert keys(through_ulaw(np.concatenate([lead, dtmf_pcm16("6", 0.020)]))) == ""


@pytest.mark.parametrize("offset", range(0, 80, 10))
def test_same_key_twice_with_a_40_ms_gap_is_two_presses(offset: int) -> None:
    lead = silence(0.05 + offset / 8000)
    pcm = np.concatenate([lead, dtmf_pcm16("0", 0.06), silence(0.04), dtmf_pcm16("0", 0.06)])
    assert keys(through_ulaw(pcm)) == "00"


@pytest.mark.parametrize("offset", range(0, 80, 10))
def test_a_10_ms_dropout_is_bridged(offset: int) -> None:
    lead = silence(0.05 + offset / 8000)
    pcm = np.concatenate([lead, dtmf_pcm16("0", 0.1), silence(0.01), dtmf_pcm16("0", 0.1, phase=2)])
    digits = detect(through_ulaw(pcm))
    assert [d.digit for d in digits] == ["0"]
    assert 200 <= digits[0].duration_ms <= 230


def test_a_long_press_is_one_digit_reported_when_it_ends() -> None:
    detector = InbandDtmfDetector()
    pcm = through_ulaw(np.concatenate([silence(0.05), dtmf_pcm16("#", 2.0)]))
    reported = [detector.feed(pcm[i : i + 160], i) for i in range(0, pcm.size - 159, 160)]
    assert not any(reported) and detector.in_press
    (digit,) = detector.feed(silence(0.04), pcm.size) + detector.feed(silence(0.02), pcm.size + 320)
    assert digit.digit == "#" and 1990 <= digit.duration_ms <= 2020
    assert not detector.in_press


def test_flush_reports_a_press_cut_off_by_the_end_of_the_audio() -> None:
    detector = InbandDtmfDetector()
    pcm = through_ulaw(np.concatenate([silence(0.05), dtmf_pcm16("C", 0.2)]))
    for i in range(0, pcm.size, 160):
        assert detector.feed(pcm[i : i + 160], i) == []
    digit = detector.flush()
    assert digit is not None and digit.digit == "C"
    assert detector.flush() is None


def test_a_lost_packet_does_not_split_a_press_but_a_long_gap_ends_it() -> None:
    pcm = through_ulaw(np.concatenate([silence(0.04), dtmf_pcm16("7", 0.3), silence(0.1)]))
    frames = [(pcm[i : i + 160], i) for i in range(0, pcm.size, 160)]
    one_lost = [f for f in frames if f[1] != 1600]
    detector = InbandDtmfDetector()
    assert [d.digit for f in one_lost for d in detector.feed(*f)] == ["7"]
    # 60 ms missing inside the tone: what was heard before and after are two presses.
    three_lost = [f for f in frames if f[1] not in (1280, 1440, 1600)]
    detector = InbandDtmfDetector()
    assert [d.digit for f in three_lost for d in detector.feed(*f)] == ["7", "7"]


def test_late_and_duplicate_frames_are_ignored() -> None:
    pcm = through_ulaw(np.concatenate([silence(0.04), dtmf_pcm16("2", 0.1), silence(0.1)]))
    frames = [(pcm[i : i + 160], i) for i in range(0, pcm.size, 160)]
    replayed = [*frames[:4], frames[2], frames[3], *frames[4:], frames[5]]
    detector = InbandDtmfDetector()
    assert [d.digit for f in replayed for d in detector.feed(*f)] == ["2"]


def test_ulaw_payloads_give_the_same_presses_as_samples() -> None:
    # feed_ulaw skips decoding quiet frames: the same digits, durations and timestamps,
    # reported at the same frame, and quiet gaps still separate presses of one key.
    rng = np.random.default_rng(5)
    pcm = dtmf_keys_pcm16("33#B", tone_s=0.06, gap_s=0.045, lead_s=0.3)
    pcm = (pcm + rng.standard_normal(pcm.size) * 100).astype(np.int16)  # gaps stay quiet
    ulaw = ulaw_encode(np.concatenate([pcm, silence(0.2)]))
    by_samples, by_payload = InbandDtmfDetector(), InbandDtmfDetector()
    frames = range(0, len(ulaw), 160)
    expected = [(i, by_samples.feed(ulaw_decode_samples(ulaw[i : i + 160]), i)) for i in frames]
    assert [(i, by_payload.feed_ulaw(ulaw[i : i + 160], i)) for i in frames] == expected
    assert [d.digit for _, digits in expected for d in digits] == list("33#B")


@pytest.mark.parametrize("frame", [80, 240, 400, 8000])
def test_any_frame_size_hears_the_same(frame: int) -> None:
    pcm = through_ulaw(dtmf_keys_pcm16("47*D", tone_s=0.07, gap_s=0.05))
    assert keys(pcm, frame=frame) == "47*D"


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="min_energy_share"):
        InbandDtmfLimits(min_energy_share=0.0)
    with pytest.raises(ValueError, match="end_windows"):
        InbandDtmfLimits(end_windows=1)


# -- talk-off -----------------------------------------------------------------------------

SENTENCES = (
    "Hello, this is a reminder from your pharmacy. Your prescription is ready for pickup. "
    "Press one to confirm, or two to speak with a pharmacist. We are open Monday to Friday "
    "from nine in the morning until six in the evening. Thank you, and have a good day."
)
# espeak-ng voices and pitches (0..99): low male to high female. en+f4 at 99 is the hard
# one: its pitch harmonics land near 941 and 1209 Hz together.
VOICES = (("en-us", 50), ("en-gb", 20), ("en+f3", 70), ("en+f4", 99))


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[Pcm16]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("speech")
    voices = []
    for voice, pitch in VOICES:
        path = folder / f"{voice}.wav"
        argv = ["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(path), SENTENCES]
        subprocess.run(argv, check=True, timeout=60, capture_output=True)
        voices.append(ulaw_decode_samples(load_ulaw(Path(path))))
    return voices


def test_speech_never_sounds_like_a_key(speech: list[Pcm16]) -> None:
    seconds = sum(pcm.size for pcm in speech) / 8000
    assert seconds > 40
    assert [keys(pcm) for pcm in speech] == [""] * len(VOICES)


def test_the_checks_are_what_keep_speech_out(speech: list[Pcm16]) -> None:
    # The control: with only the level checked, the same speech is full of "keys".
    lax = InbandDtmfLimits(
        min_energy_share=0.3, group_margin_db=0.0, max_harmonic_db=20.0,
        normal_twist_db=20.0, reverse_twist_db=20.0,
    )  # fmt: skip
    false_keys = sum(len(detect(pcm, detector=InbandDtmfDetector(lax))) for pcm in speech)
    assert false_keys > 20


def test_keys_pressed_after_speech_are_still_heard(speech: list[Pcm16]) -> None:
    pcm = np.concatenate([speech[3][:40000], through_ulaw(dtmf_keys_pcm16("31"))])
    assert keys(pcm) == "31"


# -- both sources -------------------------------------------------------------------------


def test_a_press_reported_both_ways_is_kept_once_whichever_comes_first() -> None:
    merge = DtmfDuplicateFilter()
    # RFC 4733 at 1.00 s (a 100 ms press); the detector hears its tone 50 ms later.
    assert merge.admit(DtmfDigit("5", 100, 0), inband=False, now=1.00)
    assert not merge.admit(DtmfDigit("5", 110, 0), inband=True, now=1.05)
    # The other way round (the end packets came late).
    assert merge.admit(DtmfDigit("7", 100, 0), inband=True, now=2.00)
    assert not merge.admit(DtmfDigit("7", 100, 0), inband=False, now=2.10)


def test_presses_that_differ_are_all_kept() -> None:
    merge = DtmfDuplicateFilter()
    assert merge.admit(DtmfDigit("5", 100, 0), inband=False, now=1.0)
    assert merge.admit(DtmfDigit("6", 100, 0), inband=True, now=1.05)  # another key
    assert merge.admit(DtmfDigit("5", 100, 0), inband=False, now=1.2)  # same source again
    assert not merge.admit(DtmfDigit("5", 100, 0), inband=True, now=1.25)  # its tone
    assert merge.admit(DtmfDigit("5", 100, 0), inband=True, now=3.0)  # much later


def test_each_report_cancels_at_most_one_from_the_other_source() -> None:
    merge = DtmfDuplicateFilter()
    assert merge.admit(DtmfDigit("1", 60, 0), inband=False, now=1.00)
    assert not merge.admit(DtmfDigit("1", 60, 0), inband=True, now=1.04)
    assert merge.admit(DtmfDigit("1", 60, 0), inband=False, now=1.12)  # pressed again
    assert not merge.admit(DtmfDigit("1", 60, 0), inband=True, now=1.16)
