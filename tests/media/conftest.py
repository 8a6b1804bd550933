"""Fixtures shared by the media shell tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from media.clock import MediaClock


@pytest.fixture
async def clock() -> AsyncIterator[MediaClock]:
    media_clock = MediaClock()
    media_clock.start()
    yield media_clock
    await media_clock.stop()
