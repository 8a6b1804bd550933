"""What a command prints: one JSON object with `--json` (for scripts), aligned text otherwise.

Every data command builds one JSON-ready mapping and hands it to `emit`, so the
text a manager reads and the JSON a script parses can never disagree. Text
rendering: scalars as `key  value` lines (a list of scalars joined by commas);
a list of mappings as a table whose columns are the union of their keys
(first-seen order); a nested mapping as indented lines under its key.

Exit codes, the same for every command: 0 the command did its job, 1 it could
not (an unknown campaign, a refused file, an illegal state change), 2 a wrong
command line or configuration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def emit(data: Mapping[str, object], *, as_json: bool) -> int:
    print(json.dumps(data, sort_keys=True, default=str) if as_json else render(data))
    return EXIT_OK


def render(data: Mapping[str, object], indent: str = "") -> str:
    lines: list[str] = []
    scalars = {key: value for key, value in data.items() if not _is_block(value)}
    width = max((len(key) for key in scalars), default=0)
    for key, value in data.items():
        if key in scalars:
            lines.append(f"{indent}{key.ljust(width)}  {_cell(value)}")
        elif isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            if value:
                lines.append(render(value, indent + "  "))
        else:
            assert isinstance(value, Sequence)
            lines.append(f"{indent}{key}: {len(value)}")
            if value:
                lines.append(table(value, indent + "  "))
    return "\n".join(lines)


def table(rows: Sequence[object], indent: str = "") -> str:
    """Rows of mappings as aligned columns; other items one per line."""
    if not all(isinstance(row, Mapping) for row in rows):
        return "\n".join(f"{indent}{_cell(row)}" for row in rows)
    columns: dict[str, None] = {}
    for row in rows:
        assert isinstance(row, Mapping)
        columns.update(dict.fromkeys(row))
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]  # type: ignore[attr-defined]
    widths = [max(len(column), *(len(r[i]) for r in cells)) for i, column in enumerate(columns)]
    header = "  ".join(column.ljust(w) for column, w in zip(columns, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(f"{indent}{line.rstrip()}" for line in [header, *body])


def _is_block(value: object) -> bool:
    """A non-empty mapping, or a list of mappings: rendered under its key, not beside it."""
    if isinstance(value, Mapping):
        return bool(value)
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes)
        and any(isinstance(item, Mapping) for item in value)
    )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str) if value else "-"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(item) for item in value) if value else "-"
    return str(value)
