"""Message templates: `{{customerName}}` placeholders filled from a contact's fields.

`Template(text)` parses once and refuses a malformed placeholder (`{{name`,
`{{}}`, `{{two words}}`, a stray `}}`) with a `TemplateError` naming its
position. `render(values)` fills every placeholder, and raises `MissingValues`
naming each one without a value or with an empty (blank) one: a gap in the
audio is a campaign error found at validation, never something a callee hears.

Values are substituted as given: the result is text for a speech engine, which
receives it on stdin or through a library call, never through a shell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

_OPEN: Final = "{{"
_CLOSE: Final = "}}"
_NAME: Final = re.compile(r"[^\W\d][\w.-]*")  # a letter or _, then letters, digits, _ . -


class TemplateError(ValueError):
    """A malformed template; `position` is the 0-based index of the offending text."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (char {position})")
        self.reason = reason
        self.position = position


class MissingValues(ValueError):
    """Placeholders with no value, or an empty one; `names` says which."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(f"no value for {', '.join(sorted(names))}")
        self.names = names


class Template:
    """Parsed text with `{{ name }}` placeholders (white space inside the braces allowed)."""

    __slots__ = ("_parts", "placeholders", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts = _parse(text)  # literal text, or a placeholder name as a 1-tuple
        self.placeholders = frozenset(part[0] for part in self._parts if isinstance(part, tuple))

    def missing(self, values: Mapping[str, str]) -> frozenset[str]:
        """The placeholders `values` gives no usable value for."""
        return frozenset(name for name in self.placeholders if not values.get(name, "").strip())

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every placeholder filled; raises MissingValues."""
        missing = self.missing(values)
        if missing:
            raise MissingValues(missing)
        return "".join(part if isinstance(part, str) else values[part[0]] for part in self._parts)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _parse(text: str) -> tuple[str | tuple[str], ...]:
    parts: list[str | tuple[str]] = []
    position = 0
    while True:
        opening = text.find(_OPEN, position)
        stray = text.find(_CLOSE, position, None if opening < 0 else opening)
        if stray >= 0:
            raise TemplateError("'}}' without an opening '{{'", stray)
        if opening < 0:
            break
        closing = text.find(_CLOSE, opening + len(_OPEN))
        if closing < 0:
            raise TemplateError(f"unclosed placeholder {text[opening : opening + 20]!r}", opening)
        name = text[opening + len(_OPEN) : closing].strip()
        if not name:
            raise TemplateError("empty placeholder '{{}}'", opening)
        if _NAME.fullmatch(name) is None:
            raise TemplateError(f"invalid placeholder name {name!r}", opening)
        if opening > position:
            parts.append(text[position:opening])
        parts.append((name,))
        position = closing + len(_CLOSE)
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)
