"""The PostgreSQL test harness (tests/pgserver.py): passwords are checked, databases are apart."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests import pgserver
from tests.pgserver import PgServer


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def test_the_right_password_connects_as_an_ordinary_role(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        user, database = await conn.fetchrow("SELECT current_user, current_database()")
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1", user)
    finally:
        await conn.close()
    parts = urlsplit(pg_url)
    assert (user, database) == (parts.username, parts.path.lstrip("/"))
    assert superuser is False


@pytest.mark.parametrize("role", ["app", "superuser"])
async def test_a_wrong_password_is_refused(pg_server: PgServer, pg_url: str, role: str) -> None:
    url = pg_url if role == "app" else pg_server.admin_url
    wrong = with_password(url, urlsplit(url).password + "x")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(wrong)


async def test_the_server_listens_on_loopback_only(pg_server: PgServer) -> None:
    conn = await asyncpg.connect(pg_server.admin_url)
    try:
        listen = await conn.fetchval("SHOW listen_addresses")
    finally:
        await conn.close()
    assert listen == "127.0.0.1"


@pytest.fixture
def other_pg_url(pg_server: PgServer) -> Iterator[str]:
    """A second fresh database in the same test, made the way pg_url makes one."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    return {row["table_name"] for row in rows}


async def test_two_databases_are_different_and_start_empty(pg_url: str, other_pg_url: str) -> None:
    assert urlsplit(pg_url).path != urlsplit(other_pg_url).path
    assert await tables(pg_url) == set() and await tables(other_pg_url) == set()

    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE only_here (id integer PRIMARY KEY)")
    finally:
        await conn.close()
    assert await tables(pg_url) == {"only_here"}
    assert await tables(other_pg_url) == set()


async def test_a_database_is_dropped_after_its_test_even_with_a_connection_left_open(
    pg_server: PgServer,
) -> None:
    name = pg_server.create_database()
    leaked = await asyncpg.connect(pg_server.url(name))
    try:
        pg_server.drop_database(name)
        admin = await asyncpg.connect(pg_server.admin_url)
        try:
            found = await admin.fetchval(
                "SELECT count(*) FROM pg_database WHERE datname = $1", name
            )
        finally:
            await admin.close()
        assert found == 0
    finally:
        leaked.terminate()


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_binaries_skip_on_a_workstation_and_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setattr(pgserver, "find_bin_dir", lambda: None)
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome) as raised:
        pgserver.require_bin_dir()
    assert "apt-get install postgresql" in str(raised.value)
    assert ("CI=true" in str(raised.value)) == bool(ci)
