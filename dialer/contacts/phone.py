"""Phone-number normalisation to E.164, tolerant of what spreadsheets do to numbers.

Contact lists come out of Excel, so before libphonenumber sees a number we undo
Excel's damage: the leading apostrophe that forces text, scientific notation
("4.15555E+09", "4,15555E+09" in comma-decimal locales), a trailing ".0" from a
float column, plus the usual spaces, dots, dashes, parentheses, a `tel:` prefix
and a leading "00" international prefix.

Scientific notation is expanded only when the mantissa carries every digit of
the number ("4.155550100E+09"). When it carries fewer ("4.15555E+09", "4.16E+09")
the missing trailing digits are unknown - Excel rounds to fit the cell - so we
refuse instead of inventing zeros and dialling a stranger.

Parsing is the dominant cost of a large import, so results are cached by the
cleaned string and region: repeated numbers (duplicates, shared switchboards)
are parsed once.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

_MAX_INPUT_CHARS = 64  # bounds regex and parser work on junk cells
_SEPARATORS = str.maketrans("", "", " \t\u00a0.-()/")
_SCIENTIFIC = re.compile(r"([0-9])(?:[.,]([0-9]*))?[eE]\+?([0-9]{1,2})")
_FLOAT_TAIL = re.compile(r"([0-9]+)\.0+")
_DIALLABLE = re.compile(r"\+?[0-9]+")
_UNKNOWN_ZONE = "Etc/Unknown"

DIGITS_LOST = "number mangled by scientific notation (digits lost)"


class PhoneError(ValueError):
    """A phone number that cannot be turned into a valid E.164 number."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_phone(text: str, default_region: str) -> str:
    """Return `text` as E.164 ("+14155550100") or raise PhoneError with the reason.

    `default_region` (ISO 3166 alpha-2, e.g. "US") applies to national-format
    numbers. An unknown region is a caller bug and raises ValueError.
    """
    region = check_region(default_region)
    cleaned = _undo_spreadsheet_damage(text)
    e164, reason = _parse_cleaned(cleaned, region)
    if e164 is None:
        raise PhoneError(reason)
    return e164


def check_region(region: str) -> str:
    """The region upper-cased; ValueError if libphonenumber does not know it."""
    upper = region.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default region {region!r}")
    return upper


def time_zones_for(e164: str) -> tuple[str, ...]:
    """IANA zones the number may be in (several for large countries); () if unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = phone_timezone.time_zones_for_number(number)
    return tuple(zone for zone in zones if zone != _UNKNOWN_ZONE)


def _undo_spreadsheet_damage(text: str) -> str:
    """Strip decoration and expand Excel artefacts; returns "+digits" or "digits"."""
    value = text.strip()
    if not value:
        raise PhoneError("empty")
    if len(value) > _MAX_INPUT_CHARS:
        raise PhoneError("too long")
    if value.startswith("'"):
        value = value[1:].strip()
    if value[:4].lower() == "tel:":
        value = value[4:].split(";", 1)[0].strip()
    scientific = _SCIENTIFIC.fullmatch(value)
    if scientific:
        value = _expand_scientific(*scientific.groups())
    float_tail = _FLOAT_TAIL.fullmatch(value)
    if float_tail:
        value = float_tail.group(1)
    value = value.translate(_SEPARATORS)
    if value.startswith("00"):
        value = "+" + value[2:]
    if not value:
        raise PhoneError("empty")
    if not _DIALLABLE.fullmatch(value):
        bad = next((ch for ch in value if not (ch.isdigit() and ch.isascii()) and ch != "+"), "")
        if not bad:  # only a plus where digits were expected ("00", "+")
            raise PhoneError("no digits after the international prefix")
        raise PhoneError(f"unexpected character {bad!r}")
    return value


def _expand_scientific(lead: str, fraction: str | None, exponent_text: str) -> str:
    digits = lead + (fraction or "")
    exponent = int(exponent_text)
    fraction_len = len(digits) - 1
    if fraction_len < exponent:
        raise PhoneError(DIGITS_LOST)
    if fraction_len > exponent:
        raise PhoneError("not a possible number (has a fractional part)")
    return digits


_POSSIBILITY_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a possible number (wrong length)",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "local number only (add the area code)",
}

_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a possible number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


@lru_cache(maxsize=65_536)
def _parse_cleaned(cleaned: str, region: str) -> tuple[str | None, str]:
    # Returns (e164, "") or (None, reason) rather than raising, so failures are cached too.
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as exc:
        return None, _PARSE_REASONS.get(exc.error_type, "not a possible number")
    # Most numbers of a list are from its own region: checking that region first skips
    # phonenumbers' search for the number's region (a quarter of the import's time);
    # a number from anywhere else (+1 876 Jamaica in a US list) takes the full check.
    if phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(
        number
    ):
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), ""
    possibility = phonenumbers.is_possible_number_with_reason(number)
    reason = _POSSIBILITY_REASONS.get(possibility)
    if reason is not None:
        return None, reason
    number_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if number_region == phonenumbers.UNKNOWN_REGION:
        number_region = region
    return None, f"invalid for region {number_region}"
