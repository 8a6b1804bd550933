"""Contact-list CSV import: bytes in, validated ContactRecords and a report out.

Pure: no database, no I/O. Decisions a manager will ask about:

* File-level problems (empty file, binary junk, not UTF-8, malformed quoting,
  missing or duplicate mandatory columns, no data rows, too many rows) raise
  ContactImportError and nothing is imported. Row-level problems never raise:
  they become RowError entries and the other rows are imported.
* Line numbers are physical file lines (1 = the header), the line a row starts
  on, so a manager can find it in a text editor.
* Delimiter: "," or ";", whichever occurs more often (outside quotes) in the
  header line; an Excel "sep=;" first line is honoured.
* Columns: customerName, phone, email are mandatory (names are trimmed and
  matched case-insensitively); secondary_phone and timezone are optional; any
  other named column is an attribute (blank values kept as ""). Columns with
  a blank header (Excel's trailing delimiters) are ignored.
* A row needs a name and a phone or an email. A value that is present but
  invalid is a row error even when the other contact field is fine: a dialer
  contact whose number is garbage is a data problem the manager must see.
* Rows whose cells are all blank are skipped silently. A row with a different
  number of fields than the header is a row error.
* Duplicate primary phone numbers (after E.164 normalisation) are merged: the
  first row wins whole, later rows are dropped and counted in
  merged_duplicates, their attributes do not overwrite. Rows with only an
  email are never merged.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from dialer.contacts.phone import PhoneError, check_region, normalize_phone
from dialer.contacts.record import ContactRecord

NAME, PHONE, EMAIL = "customername", "phone", "email"
SECONDARY_PHONE, TIMEZONE = "secondary_phone", "timezone"
MANDATORY_COLUMNS = (NAME, PHONE, EMAIL)
_DISPLAY_NAMES = {NAME: "customerName", PHONE: "phone", EMAIL: "email"}
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


class ContactImportError(Exception):
    """The file as a whole cannot be imported; nothing was imported."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RowError:
    line: int  # physical line the row starts on (1 = the header)
    reason: str


@dataclass
class ImportResult:
    records: list[ContactRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0  # non-blank data rows: records + errors + merged_duplicates
    merged_duplicates: int = 0

    def report(self, max_errors: int = 50) -> str:
        """A summary a manager can read, listing up to `max_errors` rejected rows."""
        lines = [
            f"{self.total_rows} rows read: {len(self.records)} imported, "
            f"{len(self.errors)} rejected, {self.merged_duplicates} duplicate phone numbers merged."
        ]
        lines += [f"  line {error.line}: {error.reason}" for error in self.errors[:max_errors]]
        if len(self.errors) > max_errors:
            lines.append(f"  ... and {len(self.errors) - max_errors} more rejected rows")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (records excluded: they go to the store, not the wire)."""
        return {
            "total_rows": self.total_rows,
            "imported": len(self.records),
            "merged_duplicates": self.merged_duplicates,
            "errors": [{"line": error.line, "reason": error.reason} for error in self.errors],
        }


@dataclass(frozen=True)
class _Columns:
    count: int  # fields a row must have
    name: int
    phone: int
    email: int
    secondary_phone: int | None
    timezone: int | None
    attributes: tuple[tuple[str, int], ...]  # (header as written, index)


def parse_contacts(data: bytes, *, default_region: str, max_rows: int = 50_000) -> ImportResult:
    """Parse and validate a contact CSV. Raises ContactImportError for file-level problems.

    `default_region` (e.g. "US") applies to national-format numbers; an unknown
    region is a caller bug and raises ValueError.
    """
    region = check_region(default_region)
    rows = read_rows(decode_text(data))
    if not rows:
        raise ContactImportError("the file has no header line")
    header_line, header = rows[0]
    columns = _map_columns(header, header_line)
    data_rows = rows[1:]
    if not data_rows:
        raise ContactImportError("the file has a header but no data rows")
    if len(data_rows) > max_rows:
        raise ContactImportError(
            f"the file has {len(data_rows)} data rows; the limit is {max_rows}: split it"
        )
    return _validate_rows(data_rows, columns, region)


def parse_contact(values: Mapping[str, str], *, default_region: str) -> ContactRecord:
    """One contact given as column names and values (the API's event trigger), checked by
    the rules a file's row is; email may be left out. ContactImportError with every
    problem."""
    region = check_region(default_region)
    given = {"email": "", **values}
    header = list(given)
    columns = _map_columns(header, 1)
    problems: list[str] = []
    record = _build_record(1, [given[name] for name in header], columns, region, problems)
    if record is None:
        raise ContactImportError("; ".join(problems))
    return record


def decode_text(data: bytes) -> str:
    """The file as text: UTF-8 with or without BOM; ContactImportError for anything else."""
    if not data:
        raise ContactImportError("the file is empty (0 bytes)")
    if data.startswith(_UTF16_BOMS):
        raise ContactImportError("the file is UTF-16; save it as 'CSV UTF-8'")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ContactImportError(
            f"not a text CSV file: NUL byte at offset {nul} (line {_line_at(data, nul)})"
        )
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise ContactImportError(
            f"not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset} "
            f"(line {_line_at(data, offset)}); save the file as 'CSV UTF-8'"
        ) from None


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_rows(text: str) -> list[tuple[int, list[str]]]:
    """(start line, fields) for every non-blank row, header first, with the delimiter and
    Excel's "sep=" line handled as the module docstring says; ContactImportError if malformed."""
    delimiter, text, skipped_lines = _choose_delimiter(text)
    return _read_rows(text, delimiter, skipped_lines)


def _choose_delimiter(text: str) -> tuple[str, str, int]:
    """Return (delimiter, text without an Excel "sep=" line, physical lines removed)."""
    first_end = text.find("\n")
    first = (text if first_end < 0 else text[:first_end]).rstrip("\r")
    if first.lower() in ("sep=,", "sep=;"):
        return first[-1], ("" if first_end < 0 else text[first_end + 1 :]), 1
    lines = io.StringIO(text, newline="")  # lazy: only reads up to the header
    header = next((line for line in lines if line.strip()), "")
    commas, semicolons = _count_unquoted(header, ","), _count_unquoted(header, ";")
    return ("," if commas >= semicolons else ";"), text, 0


def _count_unquoted(line: str, char: str) -> int:
    # Quote chars toggle; a doubled quote toggles twice, which is what we want.
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def _read_rows(text: str, delimiter: str, skipped_lines: int) -> list[tuple[int, list[str]]]:
    """(start line, fields) for every non-blank row, header included."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for fields in reader:
            line = next_line + skipped_lines
            next_line = reader.line_num + 1
            if any(cell.strip() for cell in fields):
                rows.append((line, fields))
    except csv.Error as exc:
        raise ContactImportError(
            f"malformed CSV near line {next_line + skipped_lines}: {exc}"
            " (check for an unbalanced double quote)"
        ) from None
    return rows


def _map_columns(header: list[str], line: int) -> _Columns:
    positions: dict[str, int] = {}
    attributes: list[tuple[str, int]] = []
    for index, raw in enumerate(header):
        name = raw.strip()
        if not name:
            continue
        key = name.lower()
        if key in positions:
            raise ContactImportError(f"line {line}: duplicate column {name!r}")
        positions[key] = index
        if key not in (*MANDATORY_COLUMNS, SECONDARY_PHONE, TIMEZONE):
            attributes.append((name, index))
    missing = [_DISPLAY_NAMES[key] for key in MANDATORY_COLUMNS if key not in positions]
    if missing:
        raise ContactImportError(
            f"line {line}: missing mandatory column(s): {', '.join(missing)}"
            f" (found: {', '.join(repr(h.strip()) for h in header)})"
        )
    return _Columns(
        count=len(header),
        name=positions[NAME],
        phone=positions[PHONE],
        email=positions[EMAIL],
        secondary_phone=positions.get(SECONDARY_PHONE),
        timezone=positions.get(TIMEZONE),
        attributes=tuple(attributes),
    )


def _validate_rows(
    rows: list[tuple[int, list[str]]], columns: _Columns, region: str
) -> ImportResult:
    result = ImportResult(total_rows=len(rows))
    seen_phones: set[str] = set()
    for line, fields in rows:
        if len(fields) != columns.count:
            result.errors.append(
                RowError(line, f"expected {columns.count} fields, found {len(fields)}")
            )
            continue
        problems: list[str] = []
        record = _build_record(line, fields, columns, region, problems)
        if record is None:
            result.errors.append(RowError(line, "; ".join(problems)))
        elif record.phone is not None and record.phone in seen_phones:
            result.merged_duplicates += 1
        else:
            if record.phone is not None:
                seen_phones.add(record.phone)
            result.records.append(record)
    return result


def _build_record(
    line: int, fields: list[str], columns: _Columns, region: str, problems: list[str]
) -> ContactRecord | None:
    """The record, or None with the reasons appended to `problems`."""
    name = fields[columns.name].strip()
    raw_phone = fields[columns.phone].strip()
    email = fields[columns.email].strip()
    if not name:
        problems.append("missing customerName")
    if not raw_phone and not email:
        problems.append("needs a phone or an email")
    phone = _phone_or_problem("phone", raw_phone, region, problems)
    if email and not _EMAIL.fullmatch(email):
        problems.append(f"email: not a valid address {email!r}")
    secondary = None
    if columns.secondary_phone is not None:
        raw = fields[columns.secondary_phone].strip()
        secondary = _phone_or_problem("secondary_phone", raw, region, problems)
    zone = None
    if columns.timezone is not None:
        raw_zone = fields[columns.timezone].strip()
        if raw_zone:
            zone = _canonical_zones().get(raw_zone.lower())
            if zone is None:
                problems.append(f"timezone: unknown time zone {raw_zone!r}")
    if problems:
        return None
    return ContactRecord(
        line=line,
        name=name,
        phone=phone,
        email=email or None,
        secondary_phone=secondary,
        timezone=zone,
        attributes={header: fields[index].strip() for header, index in columns.attributes},
    )


def _phone_or_problem(column: str, raw: str, region: str, problems: list[str]) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(raw, region)
    except PhoneError as exc:
        problems.append(f"{column}: {exc.reason} ({raw!r})")
        return None


@cache
def _canonical_zones() -> dict[str, str]:
    # Lower-cased lookup so "europe/paris" is accepted as "Europe/Paris".
    return {zone.lower(): zone for zone in zoneinfo.available_timezones()}
