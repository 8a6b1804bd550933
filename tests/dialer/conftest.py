"""What the command-line tests share: the command run in process on a test database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialer.cli import main
from dialer.store.sqlite import SqliteStore


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "dialer.db"


@pytest.fixture
def run(db: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`run("contacts", "list", "1")`: the command on the test's database, its exit status
    (argparse's usage errors included) and what it printed."""

    def run(*argv: str) -> Ran:
        try:
            code = main([*argv, "--db", str(db)])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    yield run


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db)
    yield opened
    opened.close()
