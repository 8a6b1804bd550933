"""normalize_phone: national/international forms, Excel damage, clear refusal reasons."""

from __future__ import annotations

import pytest

from dialer.contacts.phone import DIGITS_LOST, PhoneError, normalize_phone, time_zones_for


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("1 415 555 0100", "US", "+14155550100"),
        ("+1 415-555-0100", "US", "+14155550100"),
        ("+1 415-555-0100", "FR", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "DE", "+33612345678"),
        ("0033612345678", "GB", "+33612345678"),
        ("030 12345678", "DE", "+493012345678"),
        ("+49 (30) 1234-5678", "US", "+493012345678"),
        ("tel:+1-415-555-0100", "US", "+14155550100"),
        ("TEL:+14155550100;ext=12", "US", "+14155550100"),
        ("  +14155550100\t", "us", "+14155550100"),
        ("876 927 1234", "US", "+18769271234"),  # Jamaica shares +1: valid, though not US
        ("+7 727 258 1234", "RU", "+77272581234"),  # Kazakhstan shares +7 with Russia
    ],
)
def test_valid_numbers_become_e164(text: str, region: str, expected: str) -> None:
    assert normalize_phone(text, region) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'4155550100", "+14155550100"),  # Excel's force-text apostrophe
        ("' 415 555 0100", "+14155550100"),
        ("4.155550100E+09", "+14155550100"),  # mantissa holds every digit
        ("4,155550100E+09", "+14155550100"),  # comma-decimal locale
        ("4.155550100e9", "+14155550100"),
        ("4155550100.0", "+14155550100"),  # float column
    ],
)
def test_excel_damage_is_undone_when_lossless(text: str, expected: str) -> None:
    assert normalize_phone(text, "US") == expected


@pytest.mark.parametrize(
    "text", ["4.16E+09", "4,16E+09", "4.15555E+09", "4,15555E+09", "4.1555501E+09", "4E+09"]
)
def test_scientific_notation_that_lost_digits_is_refused(text: str) -> None:
    # Excel rounds to fit the cell, so implied trailing zeros are unknown digits.
    with pytest.raises(PhoneError) as caught:
        normalize_phone(text, "US")
    assert caught.value.reason == DIGITS_LOST


@pytest.mark.parametrize(
    ("text", "region", "reason"),
    [
        ("", "US", "empty"),
        ("   ", "US", "empty"),
        ("'", "US", "empty"),
        ("555", "US", "too short"),
        ("+1 415 555 0100 0000 00", "US", "too long"),
        ("555-0100", "US", "local number only (add the area code)"),
        ("416 000 0000", "US", "invalid for region US"),
        ("+44 20 1234 567", "US", "invalid for region GB"),
        ("+33 6 12", "US", "too short"),
        ("+33 6 1234 5678 9", "DE", "too long"),
        ("+999 1234 5678", "US", "unknown country code"),
        ("1-800-FLOWERS", "US", "unexpected character 'F'"),
        ("4155550100 x12", "US", "unexpected character 'x'"),
        ("00", "US", "no digits after the international prefix"),  # found by schemathesis
        ("+", "US", "no digits after the international prefix"),
        ("4.1555501234E+09", "US", "not a possible number (has a fractional part)"),
        ("9" * 80, "US", "too long"),
    ],
)
def test_bad_numbers_are_refused_with_a_reason(text: str, region: str, reason: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_phone(text, region)
    assert caught.value.reason == reason


def test_cached_failures_still_raise_each_time() -> None:
    for _ in range(3):
        with pytest.raises(PhoneError, match="too short"):
            normalize_phone("555", "US")


def test_unknown_default_region_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown default region"):
        normalize_phone("4155550100", "XX")


def test_time_zones_for_known_and_unknown_numbers() -> None:
    assert time_zones_for("+14155550100") == ("America/Los_Angeles",)
    assert time_zones_for("+33612345678") == ("Europe/Paris",)
    assert time_zones_for("") == ()
    assert time_zones_for("junk") == ()
    assert time_zones_for("+80012345678") == ()  # international freephone: no zone
