"""parse_contacts: encodings, delimiters, columns, row rules, limits, and junk input."""

from __future__ import annotations

import random

import pytest

from dialer.contacts.csv_import import (
    ContactImportError,
    ImportResult,
    RowError,
    parse_contacts,
)
from dialer.contacts.record import ContactRecord

HEADER = "customerName,phone,email"


def parse(text: str, **kwargs: int) -> ImportResult:
    return parse_contacts(text.encode(), default_region="US", **kwargs)


def refused(data: bytes) -> str:
    with pytest.raises(ContactImportError) as caught:
        parse_contacts(data, default_region="US")
    return caught.value.reason


def assert_counts_add_up(result: ImportResult) -> None:
    total = len(result.records) + len(result.errors) + result.merged_duplicates
    assert total == result.total_rows


def test_valid_rows_become_records_with_e164_and_line_numbers() -> None:
    result = parse(
        "customerName,phone,email,plan\n"
        "Ann,(415) 555-0100,ann@example.com,gold\n"
        "Bob,+44 20 7946 0958,,\n"
    )
    assert result.records == [
        ContactRecord(2, "Ann", "+14155550100", "ann@example.com", attributes={"plan": "gold"}),
        ContactRecord(3, "Bob", "+442079460958", None, attributes={"plan": ""}),
    ]
    assert result.errors == []
    assert result.total_rows == 2


def test_utf8_bom_is_stripped_and_unicode_names_survive() -> None:
    data = b"\xef\xbb\xbf" + f"{HEADER}\nZo\u00eb M\u00fcller,4155550100,\n".encode()
    result = parse_contacts(data, default_region="US")
    assert [r.name for r in result.records] == ["Zo\u00eb M\u00fcller"]


def test_invalid_utf8_is_a_file_error_naming_offset_and_line() -> None:
    data = f"{HEADER}\nAnn,4155550100,\n".encode() + b"Caf\xe9,4155550101,\n"
    reason = refused(data)
    offset = data.index(b"\xe9")
    assert f"offset {offset}" in reason
    assert "line 3" in reason
    assert "UTF-8" in reason


def test_invalid_utf8_offset_counts_the_bom() -> None:
    data = b"\xef\xbb\xbf" + HEADER.encode() + b"\n\xff,4155550100,\n"
    offset = data.index(b"\xff")
    assert f"offset {offset}" in refused(data)


def test_semicolon_delimiter_is_detected_from_the_header() -> None:
    result = parse("customerName;phone;email;note\nAnn;4155550100;;a, b, c\n")
    assert result.records[0].attributes == {"note": "a, b, c"}


def test_comma_delimiter_wins_even_when_data_has_semicolons() -> None:
    result = parse(f"{HEADER},note\nAnn,4155550100,,x;y;z\n")
    assert result.records[0].attributes == {"note": "x;y;z"}


def test_delimiter_inside_quoted_header_is_not_counted() -> None:
    result = parse('"customerName";"phone";"email";"a,b,c,d"\nAnn;4155550100;;1\n')
    assert result.records[0].attributes == {"a,b,c,d": "1"}


def test_excel_sep_line_is_honoured_and_lines_still_count() -> None:
    result = parse("sep=;\ncustomerName;phone;email\nAnn;4155550100;\nBob;555;\n")
    assert result.records[0].line == 3
    assert result.errors == [RowError(4, "phone: too short ('555')")]


def test_quoted_fields_with_delimiters_newlines_and_quotes() -> None:
    result = parse(
        f"{HEADER},note\r\n"
        '"Smith, Ann",4155550100,,"line one\r\nline two, ""quoted"""\r\n'
        "Bob,4155550101,,\r\n"
    )
    assert result.records[0].name == "Smith, Ann"
    assert result.records[0].attributes["note"] == 'line one\r\nline two, "quoted"'
    assert result.records[1].line == 4  # the quoted newline took a physical line


def test_crlf_and_lf_give_the_same_records() -> None:
    body = f"{HEADER}\nAnn,4155550100,\nBob,4155550101,\n"
    assert parse(body).records == parse(body.replace("\n", "\r\n")).records


def test_header_names_are_trimmed_and_case_insensitive() -> None:
    result = parse(" CUSTOMERNAME , Phone ,EMAIL, Secondary_Phone ,Plan \nAnn,4155550100,,,x\n")
    assert result.records[0].attributes == {"Plan": "x"}


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("name,phone,email", "customerName"),
        ("customerName,email", "phone"),
        ("customerName,phone", "email"),
        ("customerName", "phone, email"),
    ],
)
def test_missing_mandatory_column_is_named(header: str, missing: str) -> None:
    reason = refused(f"{header}\nAnn,4155550100,\n".encode())
    assert f"missing mandatory column(s): {missing}" in reason


def test_duplicate_header_is_a_file_error() -> None:
    assert "duplicate column 'Phone'" in refused(b"customerName,phone,email,Phone\nA,1,2,3\n")


def test_blank_header_columns_are_ignored() -> None:
    result = parse(f"{HEADER},,\nAnn,4155550100,,,\n")
    assert result.records[0].attributes == {}


def test_optional_secondary_phone_and_timezone() -> None:
    result = parse(
        f"{HEADER},secondary_phone,timezone\n"
        "Ann,4155550100,,'2125550199,america/new_york\n"
        "Bob,4155550101,,,\n"
        "Cy,4155550102,,555,Mars/Olympus\n"
    )
    assert result.records[0].secondary_phone == "+12125550199"
    assert result.records[0].timezone == "America/New_York"
    assert result.records[1].secondary_phone is None
    assert result.records[1].timezone is None
    assert result.errors == [
        RowError(
            4, "secondary_phone: too short ('555'); timezone: unknown time zone 'Mars/Olympus'"
        )
    ]


def test_row_needs_a_name() -> None:
    result = parse(f"{HEADER}\n  ,4155550100,\n")
    assert result.errors == [RowError(2, "missing customerName")]


def test_row_needs_a_phone_or_an_email() -> None:
    result = parse(f"{HEADER}\nAnn,,\nBob,,bob@example.com\n")
    assert result.errors == [RowError(2, "needs a phone or an email")]
    assert result.records[0].phone is None
    assert result.records[0].email == "bob@example.com"


@pytest.mark.parametrize(
    "email",
    ["bob", "bob@example", "a@b@example.com", "bob smith@example.com", "bob@.com", "@x.com"],
)
def test_invalid_email_is_a_row_error(email: str) -> None:
    result = parse(f'{HEADER}\nBob,4155550100,"{email}"\n')
    assert result.errors == [RowError(2, f"email: not a valid address {email!r}")]


def test_invalid_phone_with_valid_email_is_still_a_row_error() -> None:
    result = parse(f"{HEADER}\nAnn,555,ann@example.com\n")
    assert result.records == []
    assert result.errors == [RowError(2, "phone: too short ('555')")]


def test_excel_mangled_numbers_in_a_file() -> None:
    result = parse(f'{HEADER}\nAnn,\'4155550100,\nBob,4.16E+09,\nCy,"4,155550101E+09",\n')
    assert [r.phone for r in result.records] == ["+14155550100", "+14155550101"]
    assert result.errors == [
        RowError(3, "phone: number mangled by scientific notation (digits lost) ('4.16E+09')")
    ]


def test_blank_rows_are_skipped_silently_but_counted_as_lines() -> None:
    result = parse(f"{HEADER}\n\nAnn,4155550100,\n , ,\n,,\r\n\nBob,4155550101,\n")
    assert [r.line for r in result.records] == [3, 7]
    assert result.total_rows == 2
    assert result.errors == []


def test_wrong_field_count_is_a_row_error() -> None:
    result = parse(f"{HEADER}\nAnn,4155550100\nBob,4155550101,,extra\nCy,4155550102,\n")
    assert result.errors == [
        RowError(2, "expected 3 fields, found 2"),
        RowError(3, "expected 3 fields, found 4"),
    ]
    assert [r.name for r in result.records] == ["Cy"]


def test_duplicate_phones_merge_first_wins() -> None:
    result = parse(
        f"{HEADER},plan\n"
        "Ann,(415) 555-0100,ann@example.com,gold\n"
        "Bob,4155550101,,silver\n"
        "Ann again,+1 415 555 0100,other@example.com,bronze\n"
        "Ann thrice,'4155550100,,\n"
        "Email only,,e@example.com,\n"
        "Email only,,e@example.com,\n"
    )
    assert [r.name for r in result.records] == ["Ann", "Bob", "Email only", "Email only"]
    assert result.records[0].attributes == {"plan": "gold"}
    assert result.records[0].email == "ann@example.com"
    assert result.merged_duplicates == 2
    assert_counts_add_up(result)


def test_report_and_to_dict() -> None:
    result = parse(f"{HEADER}\nAnn,4155550100,\nAnn,4155550100,\nBob,555,\n")
    assert result.to_dict() == {
        "total_rows": 3,
        "imported": 1,
        "merged_duplicates": 1,
        "errors": [{"line": 4, "reason": "phone: too short ('555')"}],
    }
    report = result.report()
    assert report.splitlines() == [
        "3 rows read: 1 imported, 1 rejected, 1 duplicate phone numbers merged.",
        "  line 4: phone: too short ('555')",
    ]


def test_report_truncates_long_error_lists() -> None:
    result = parse(HEADER + "\n" + "X,555,\n" * 60)
    lines = result.report(max_errors=5).splitlines()
    assert len(lines) == 7
    assert lines[-1] == "  ... and 55 more rejected rows"


def test_row_limit_refuses_60000_rows_and_imports_nothing() -> None:
    rows = "".join(f"P{i},+1415555{i % 10000:04d},\n" for i in range(60_000))
    reason = refused((HEADER + "\n" + rows).encode())
    assert reason == "the file has 60000 data rows; the limit is 50000: split it"


def test_row_limit_is_configurable_and_blank_rows_do_not_count() -> None:
    text = f"{HEADER}\nA,4155550100,\n\n\nB,4155550101,\n"
    assert len(parse(text, max_rows=2).records) == 2
    with pytest.raises(ContactImportError, match="the limit is 1"):
        parse(text, max_rows=1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\n\r\n  \n", "the file has no header line"),
        (HEADER.encode(), "the file has a header but no data rows"),
        (f"{HEADER}\r\n\r\n,,\r\n".encode(), "the file has a header but no data rows"),
        (b"\xff\xfec\x00u\x00", "the file is UTF-16; save it as 'CSV UTF-8'"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a text CSV file: NUL byte at offset 5 (line 1)"),
    ],
)
def test_file_level_problems(data: bytes, expected: str) -> None:
    assert refused(data) == expected


def test_unbalanced_quote_is_a_file_error_with_a_line() -> None:
    reason = refused(f'{HEADER}\nAnn,4155550100,\nBob,"4155550101,\nCy,4155550102,\n'.encode())
    assert reason.startswith("malformed CSV near line 3")


def test_unknown_region_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown default region"):
        parse_contacts(f"{HEADER}\nA,4155550100,\n".encode(), default_region="ZZZ")


def test_random_byte_mutations_only_raise_our_error() -> None:
    seed_file = (
        "\ufeffcustomerName;phone;email;secondary_phone;timezone;note\r\n"
        'Ann;(415) 555-0100;ann@example.com;\'2125550199;Europe/Paris;"a;b\r\nc"\r\n'
        "Bob;4,155550101E+09;;;;x\r\n"
        "Zo\u00eb;+44 20 7946 0958;z@example.co.uk;;;\r\n"
    ).encode()
    rng = random.Random(1234)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(seed_file)
        for _ in range(rng.randint(1, 8)):
            action = rng.randrange(3)
            position = rng.randrange(len(data) + 1)
            if action == 0 and data:
                data[min(position, len(data) - 1)] = rng.randrange(256)
            elif action == 1:
                data.insert(position, rng.choice(b'";,\r\n\x00\xff"' + bytes([rng.randrange(256)])))
            elif data:
                del data[min(position, len(data) - 1)]
        try:
            result = parse_contacts(bytes(data), default_region="FR", max_rows=10)
        except ContactImportError as exc:
            assert exc.reason
            outcomes["refused"] += 1
        else:
            assert_counts_add_up(result)
            outcomes["ok"] += 1
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0  # both paths exercised
