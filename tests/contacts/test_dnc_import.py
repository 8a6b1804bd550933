"""parse_dnc: the two file shapes, Excel damage, per-line errors, and files refused whole."""

from __future__ import annotations

import pytest

from dialer.contacts.dnc_import import DncImportError, DncImportResult, LineError, parse_dnc


def parse(text: str) -> DncImportResult:
    return parse_dnc(text.encode(), default_region="US")


def refused(data: bytes) -> str:
    with pytest.raises(DncImportError) as caught:
        parse_dnc(data, default_region="US")
    return caught.value.reason


def assert_counts_add_up(result: DncImportResult) -> None:
    assert len(result.numbers) + len(result.errors) + result.duplicates == result.total_lines


def test_one_number_per_line_undoes_excel_damage_in_file_order() -> None:
    result = parse(
        "(415) 555-0100\n"
        "'4155550101\n"
        "4.155550102E+09\n"
        "4155550103.0\n"
        "tel:+1-415-555-0104\n"
        "0044 20 7946 0958\n"
    )
    assert result.numbers == (
        "+14155550100",
        "+14155550101",
        "+14155550102",
        "+14155550103",
        "+14155550104",
        "+442079460958",
    )
    assert result.errors == ()
    assert result.total_lines == 6


def test_a_line_is_one_number_so_a_comma_decimal_mantissa_is_not_split() -> None:
    assert parse("4,155550100E+09\n").numbers == ("+14155550100",)


def test_bad_lines_name_the_physical_line_and_reason_and_the_rest_is_kept() -> None:
    result = parse("4155550100\n\n12\r\n4.15555E+09\n\n   \nnot a number\n4155550101\n")
    assert result.numbers == ("+14155550100", "+14155550101")
    assert result.errors == (
        LineError(3, "too short ('12')"),
        LineError(4, "number mangled by scientific notation (digits lost) ('4.15555E+09')"),
        LineError(7, "unexpected character 'n' ('not a number')"),
    )
    assert_counts_add_up(result)


def test_repeated_numbers_are_kept_once_and_counted() -> None:
    result = parse("4155550100\n+1 415 555 0100\n4155550101\n(415) 555-0101\n")
    assert result.numbers == ("+14155550100", "+14155550101")
    assert result.duplicates == 2
    assert_counts_add_up(result)


def test_a_long_junk_line_is_quoted_back_shortened() -> None:
    (error,) = parse("4155550100\n" + "x" * 500 + "\n").errors
    assert error.line == 2
    assert error.reason.startswith("too long ('" + "x" * 40 + "...")
    assert len(error.reason) < 80


def test_csv_with_a_phone_column_any_case_comma_or_semicolon_other_columns_ignored() -> None:
    comma = parse("name,Phone ,note\nAnn,(415) 555-0100,asked\nBob,4155550101,\n")
    semicolon = parse("name;PHONE\nAnn;(415) 555-0100\nBob;4155550101\n")
    expected = ("+14155550100", "+14155550101")
    assert comma.numbers == semicolon.numbers == expected


def test_csv_bad_rows_are_line_errors_and_blank_rows_are_skipped() -> None:
    result = parse("phone,name\n4155550100,Ann\n,\n\n,Bob\n4155550101\n12,Cy\n")
    assert result.numbers == ("+14155550100",)
    assert result.errors == (
        LineError(5, "no phone number"),
        LineError(6, "expected 2 fields, found 1"),
        LineError(7, "too short ('12')"),
    )
    assert_counts_add_up(result)


def test_csv_quoted_cells_and_an_excel_sep_line() -> None:
    result = parse('sep=;\nname;phone\n"Doe; Ann";"4,155550100E+09"\n')
    assert result.numbers == ("+14155550100",)


def test_utf8_bom_and_crlf_are_accepted() -> None:
    data = b"\xef\xbb\xbfphone\r\n4155550100\r\n"
    assert parse_dnc(data, default_region="US").numbers == ("+14155550100",)
    data = b"\xef\xbb\xbf4155550100\r\n4155550101\r\n"
    assert parse_dnc(data, default_region="US").numbers == ("+14155550100", "+14155550101")


def test_the_region_applies_to_national_numbers() -> None:
    result = parse_dnc(b"020 7946 0958\n", default_region="gb")
    assert result.numbers == ("+442079460958",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty (0 bytes)"),
        (b"4155550100\n\x00\x01\x02\x89PNG", "NUL byte at offset 11 (line 2)"),
        ("phone\n4155550100\n".encode("utf-16"), "UTF-16"),
        (b"4155550100\nCaf\xe9\n", "not valid UTF-8: byte 0xe9 at offset 14 (line 2)"),
        (b"\n  \r\n\n", "no numbers (only blank lines)"),
        (b"Phone\n\n", "a header but no data lines"),
        (b'phone,name\n4155550100,"Ann\n', "malformed CSV"),
        (b"phone,Phone\n4155550100,1\n", "duplicate column 'phone'"),
        (b"sep=,\nname,number\n", "line 2: no 'phone' column (found: 'name', 'number')"),
    ],
)
def test_files_refused_whole(data: bytes, reason: str) -> None:
    assert reason in refused(data)


@pytest.mark.parametrize("header", ["name,number", "Number;Customer Name", "msisdn,opted_out"])
def test_a_header_without_a_phone_column_refuses_the_file_rather_than_guess(header: str) -> None:
    reason = refused(f"{header}\nAnn,4155550100\n".encode())
    assert reason.startswith("line 1 looks like a CSV header but has no 'phone' column (found:")


def test_a_file_with_only_bad_lines_is_a_result_with_no_numbers_for_the_caller() -> None:
    result = parse("12\nabc\n")
    assert result.numbers == ()
    assert [error.line for error in result.errors] == [1, 2]


def test_an_unknown_region_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="unknown default region"):
        parse_dnc(b"4155550100\n", default_region="XX")


def test_report_and_dict_say_what_happened_per_line() -> None:
    result = parse("4155550100\n12\n4155550100\n")
    assert result.report() == (
        "3 lines read: 1 numbers, 1 rejected, 1 repeated numbers merged.\n"
        "  line 2: too short ('12')"
    )
    assert result.to_dict() == {
        "total_lines": 3,
        "numbers": 1,
        "duplicates": 1,
        "errors": [{"line": 2, "reason": "too short ('12')"}],
    }
    many = parse("12\n" * 60)
    assert many.report(max_errors=50).endswith("... and 10 more rejected lines")
