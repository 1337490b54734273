"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.feedserver import FeedServer


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A loopback feed server for this test; see tests/feedserver.py for its API."""
    async with FeedServer() as server:
        yield server
