"""The sans-IO rule, checked: core modules never import I/O, threads or the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELL = {
    "dialer/sip/transport.py",
    "media/clock.py",
    "media/session.py",
    "media/ports.py",
    "media/webrtc.py",  # aiortc: a shell by nature (DESIGN.md)
    "dialer/flow/webhook.py",
    "dialer/flow/runner.py",
    "dialer/flow/preparation.py",
}
CORE = sorted(
    str(path.relative_to(ROOT))
    for folder in ("dialer/sip", "dialer/campaign", "dialer/contacts", "dialer/flow", "media")
    for path in (ROOT / folder).glob("*.py")
    if str(path.relative_to(ROOT)) not in SHELL
)
FORBIDDEN = {"asyncio", "socket", "threading", "time", "selectors", "uvloop", "subprocess"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_exist() -> None:
    assert "dialer/sip/endpoint.py" in CORE and "media/rtp.py" in CORE


@pytest.mark.parametrize("module", CORE)
def test_core_module_is_sans_io(module: str) -> None:
    assert not imported_modules(ROOT / module) & FORBIDDEN
