"""Do-not-call list files: bytes in, E.164 numbers and per-line errors out.

Pure: no database, no I/O. Decisions a manager will ask about:

* Two shapes, told apart by the first non-blank line: a CSV whose header has a
  `phone` column (case-insensitive; "," or ";"; Excel's "sep=" line honoured;
  other columns ignored), or else one number per line. In the latter the whole
  line is the number, so Excel's "4,15E+09" from a comma-decimal locale is not
  split at its comma.
* A first line that looks like a header (two or more cells, one of them a word)
  but has no `phone` column refuses the file: guessing which column holds the
  numbers could block the wrong people, or nobody.
* File-level refusals are those of contact lists (0 bytes, NUL bytes, UTF-16,
  not UTF-8, malformed quoting; see `csv_import.decode_text`), plus a file with
  no data line at all. They raise DncImportError.
* A line whose number cannot be normalised is a LineError naming the physical
  line (1 = the first line of the file) and the reason; the other lines are
  kept. Whether a file with no valid number at all is refused is the caller's
  call, with the errors in hand.
* A number repeated in the file is kept once and counted in `duplicates`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialer.contacts.csv_import import ContactImportError, decode_text, read_rows
from dialer.contacts.phone import PhoneError, check_region, normalize_phone

PHONE = "phone"
_WORD = re.compile(r"[^\W\d]+(?:[ _-][^\W\d]+)*")  # "name", "Phone Number": a header cell
_SHOWN_CHARS = 40  # of a rejected value quoted back in a report


class DncImportError(Exception):
    """The file as a whole cannot be imported; nothing may be imported from it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LineError:
    line: int  # physical line (1 = the first line of the file)
    reason: str


@dataclass(frozen=True)
class DncImportResult:
    numbers: tuple[str, ...]  # E.164, each once, in file order
    errors: tuple[LineError, ...]
    total_lines: int  # non-blank data lines: numbers + errors + duplicates
    duplicates: int

    def report(self, max_errors: int = 50) -> str:
        """A summary a manager can read, listing up to `max_errors` rejected lines."""
        lines = [
            f"{self.total_lines} lines read: {len(self.numbers)} numbers, "
            f"{len(self.errors)} rejected, {self.duplicates} repeated numbers merged."
        ]
        lines += [f"  line {error.line}: {error.reason}" for error in self.errors[:max_errors]]
        if len(self.errors) > max_errors:
            lines.append(f"  ... and {len(self.errors) - max_errors} more rejected lines")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the numbers go to the store, not the wire)."""
        return {
            "total_lines": self.total_lines,
            "numbers": len(self.numbers),
            "duplicates": self.duplicates,
            "errors": [{"line": error.line, "reason": error.reason} for error in self.errors],
        }


def parse_dnc(data: bytes, *, default_region: str) -> DncImportResult:
    """Parse a do-not-call file. Raises DncImportError for file-level problems.

    `default_region` (e.g. "US") applies to national-format numbers; an unknown
    region is a caller bug and raises ValueError.
    """
    region = check_region(default_region)
    try:
        text = decode_text(data)
        lines = [(n, line.strip()) for n, line in enumerate(text.split("\n"), start=1)]
        first = next(((n, line) for n, line in lines if line), None)
        if first is None:
            raise DncImportError("the file has no numbers (only blank lines)")
        cells: list[tuple[int, str | LineError]]
        if _is_phone_header(first[1]):
            cells = _csv_phone_cells(read_rows(text))
        else:
            _refuse_header_without_phone(*first)
            cells = [(n, line) for n, line in lines if line]
    except ContactImportError as exc:
        raise DncImportError(exc.reason) from None
    if not cells:
        raise DncImportError("the file has a header but no data lines")
    return _normalise(cells, region)


def _is_phone_header(line: str) -> bool:
    if line.lower() in ("sep=,", "sep=;"):
        return True
    return any(PHONE in _header_cells(line, delimiter) for delimiter in ",;")


def _header_cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip().lower() for cell in next(csv.reader([line], delimiter=delimiter))]


def _refuse_header_without_phone(line_number: int, line: str) -> None:
    for delimiter in ",;":
        cells = _header_cells(line, delimiter)
        if len(cells) > 1 and any(_WORD.fullmatch(cell) for cell in cells):
            found = ", ".join(repr(cell) for cell in cells)
            raise DncImportError(
                f"line {line_number} looks like a CSV header but has no 'phone' column"
                f" (found: {found})"
            )


def _csv_phone_cells(rows: list[tuple[int, list[str]]]) -> list[tuple[int, str | LineError]]:
    """(line, raw phone cell, or the reason the row has none) for every data row."""
    (header_line, header), data_rows = rows[0], rows[1:]
    names = [cell.strip().lower() for cell in header]
    if names.count(PHONE) > 1:
        raise DncImportError(f"line {header_line}: duplicate column 'phone'")
    if PHONE not in names:  # a "sep=" line followed by a header without it
        found = ", ".join(repr(cell.strip()) for cell in header)
        raise DncImportError(f"line {header_line}: no 'phone' column (found: {found})")
    index = names.index(PHONE)
    cells: list[tuple[int, str | LineError]] = []
    for line, fields in data_rows:
        if len(fields) != len(header):
            reason = f"expected {len(header)} fields, found {len(fields)}"
            cells.append((line, LineError(line, reason)))
        elif not fields[index].strip():
            cells.append((line, LineError(line, "no phone number")))
        else:
            cells.append((line, fields[index].strip()))
    return cells


def _normalise(cells: Sequence[tuple[int, str | LineError]], region: str) -> DncImportResult:
    numbers: dict[str, None] = {}  # insertion-ordered set
    errors: list[LineError] = []
    duplicates = 0
    for line, cell in cells:
        if isinstance(cell, LineError):
            errors.append(cell)
            continue
        try:
            number = normalize_phone(cell, region)
        except PhoneError as exc:
            shown = cell if len(cell) <= _SHOWN_CHARS else cell[:_SHOWN_CHARS] + "..."
            errors.append(LineError(line, f"{exc.reason} ({shown!r})"))
            continue
        if number in numbers:
            duplicates += 1
        else:
            numbers[number] = None
    return DncImportResult(tuple(numbers), tuple(errors), len(cells), duplicates)
