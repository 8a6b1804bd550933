"""Message templates: placeholders, missing values, malformed text."""

from __future__ import annotations

import pytest

from tts.templates import MissingValues, Template, TemplateError


def test_placeholders_are_filled() -> None:
    template = Template("Hello {{customerName}}, your appointment is on {{ date }}.")
    assert template.placeholders == frozenset({"customerName", "date"})
    filled = template.render({"customerName": "Maria", "date": "Tuesday", "unused": "x"})
    assert filled == "Hello Maria, your appointment is on Tuesday."


def test_text_without_placeholders() -> None:
    template = Template("Thank you. {single} braces are text.")
    assert template.placeholders == frozenset()
    assert template.render({}) == "Thank you. {single} braces are text."


def test_a_placeholder_used_twice_and_names_with_dots_and_dashes() -> None:
    template = Template("{{a}} and {{a}}; {{contact.first-name}}{{_x}}")
    assert template.placeholders == frozenset({"a", "contact.first-name", "_x"})
    assert template.render({"a": "1", "contact.first-name": "Jo", "_x": "!"}) == "1 and 1; Jo!"


def test_values_are_spoken_as_given() -> None:
    hostile = "$(rm -rf /); `id` {{date}} <speak> \"'"
    assert Template("Hi {{name}}.").render({"name": hostile}) == f"Hi {hostile}."


@pytest.mark.parametrize(
    ("values", "missing"),
    [({}, {"name", "date"}), ({"name": "Jo"}, {"date"}), ({"name": "", "date": "x"}, {"name"}),
     ({"name": "  ", "date": "\t"}, {"name", "date"})],
)  # fmt: skip
def test_missing_or_empty_values_are_an_error(values: dict[str, str], missing: set[str]) -> None:
    template = Template("Hello {{name}}, on {{date}}.")
    assert template.missing(values) == missing
    with pytest.raises(MissingValues) as raised:
        template.render(values)
    assert raised.value.names == missing
    assert str(raised.value) == f"no value for {', '.join(sorted(missing))}"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [("Hello {{name", 6, "unclosed placeholder"),
     ("Hello {{}}", 6, "empty placeholder"),
     ("Hello {{  }} there", 6, "empty placeholder"),
     ("Hi {{first name}}", 3, "invalid placeholder name 'first name'"),
     ("Hi {{1st}}", 3, "invalid placeholder name"),
     ("Hi {{a{{b}}", 3, "invalid placeholder name 'a{{b'"),
     ("Hi }} there", 3, "'}}' without an opening '{{'"),
     ("{{a}} then }}", 11, "'}}' without an opening"),
     ("ok {{a}} {{b", 9, "unclosed placeholder '{{b'")],
)  # fmt: skip
def test_malformed_placeholders_name_the_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(TemplateError) as raised:
        Template(text)
    assert raised.value.position == position
    assert reason in str(raised.value) and f"(char {position})" in str(raised.value)


def test_templates_compare_by_text() -> None:
    assert Template("{{a}}") == Template("{{a}}") and len({Template("x"), Template("x")}) == 1
