from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialer.agents import credentials
from tests.web.api.harness import Api, open_api


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_N", 2**8)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async for opened in open_api(tmp_path):
        yield opened
