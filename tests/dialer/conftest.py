"""What the command-line tests share: the command run in process on a test database,
passwords on stdin or asked on a terminal, scrypt at a low cost."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialer.agents import credentials
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


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Any:
    def feed(text: str) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    return feed


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A terminal on stdin: getpass's answers in order; the prompts asked kept in `.asked`."""

    class Terminal(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.answers: list[str] = []
            self.asked: list[str] = []

        def isatty(self) -> bool:
            return True

        def getpass(self, prompt: str = "") -> str:
            self.asked.append(prompt)
            if not self.answers:
                raise EOFError
            return self.answers.pop(0)

    fake = Terminal()
    monkeypatch.setattr("sys.stdin", fake)
    monkeypatch.setattr("getpass.getpass", fake.getpass)
    return fake
