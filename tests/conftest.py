"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.feedserver import FeedServer
from tests.pgserver import PgServer, require_bin_dir


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A loopback feed server for this test; see tests/feedserver.py for its API."""
    async with FeedServer() as server:
        yield server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session (one initdb); see tests/pgserver.py.

    Without the server binaries the Postgres tests are skipped on a workstation, but fail in CI
    (CI=true): an engine skipped there is an engine nobody tests.
    """
    with PgServer(require_bin_dir()) as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh empty database for this test, as postgresql://briefbot:PASSWORD@127.0.0.1:PORT/NAME.

    The briefbot role owns it and is not a superuser; the database is dropped afterwards, even
    if the test left connections open.
    """
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
