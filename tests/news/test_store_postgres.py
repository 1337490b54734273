"""Opening a PostgreSQL store: what an admin is told when the URL, the server or the database
is wrong, and what only PostgreSQL does (migrating once under a lock, no SQLite file)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.news.errors import StoreError
from bot.news.store import Store
from bot.news.store.migrations import SCHEMA_VERSION


def with_password(url: str, password: str) -> str:
    p = urlsplit(url)
    netloc = f"{p.username}:{password}@{p.hostname}:{p.port}"
    return urlunsplit((p.scheme, netloc, p.path, "", ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_new_database_is_migrated_once_even_by_two_processes_at_once(pg_url) -> None:
    first, second = await asyncio.gather(Store.open(pg_url), Store.open(pg_url))
    try:
        versions = await first.db.fetch("SELECT version FROM briefbot_schema ORDER BY version")
        assert [r[0] for r in versions] == list(range(1, SCHEMA_VERSION + 1))
        assert first.engine == "postgresql"
    finally:
        await first.close()
        await second.close()


async def test_a_wrong_password_is_one_sentence_without_the_password(pg_url) -> None:
    wrong = with_password(pg_url, "not-the-password-xyz")
    with pytest.raises(StoreError) as err:
        await Store.open(wrong)
    message = str(err.value)
    assert "refused the password" in message and "BRIEFBOT_DATABASE_PASSWORD" in message
    assert "not-the-password-xyz" not in message


async def test_the_password_may_come_separately(pg_url) -> None:
    password = urlsplit(pg_url).password
    bare = with_password(pg_url, "").replace(":@", "@")
    store = await Store.open(bare, password=password)
    try:
        assert await store.stories.count() == 0
        assert password not in store.path
    finally:
        await store.close()


async def test_a_refused_connection_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(StoreError) as err:
        await Store.open(f"postgresql://briefbot:secret@127.0.0.1:{port}/briefbot")
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "is the server running" in message
    assert "secret" not in message


async def test_a_missing_database_says_how_to_create_it(pg_url) -> None:
    p = urlsplit(pg_url)
    missing = urlunsplit((p.scheme, p.netloc, "/no_such_db", "", ""))
    with pytest.raises(StoreError, match="has no database 'no_such_db'"):
        await Store.open(missing)


async def test_a_database_that_is_not_briefbots_is_refused_untouched(pg_url) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE invoices (id int)")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match="is not a briefbot database"):
        await Store.open(pg_url)
    conn = await asyncpg.connect(pg_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert [t[0] for t in tables] == ["invoices"]
    finally:
        await conn.close()


async def test_a_newer_schema_is_refused(pg_url) -> None:
    store = await Store.open(pg_url)
    await store.db.execute(
        "INSERT INTO briefbot_schema (version) VALUES (?)", (SCHEMA_VERSION + 1,)
    )
    await store.close()
    with pytest.raises(StoreError, match="newer briefbot"):
        await Store.open(pg_url)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
async def test_backup_on_postgres_runs_pg_dump(pg_url, tmp_path) -> None:
    store = await Store.open(pg_url)
    try:
        await store.outbox.set_meta("probe", "kept")
        await store.backup(tmp_path / "copy.dump")
    finally:
        await store.close()
    assert (tmp_path / "copy.dump").read_bytes()[:5] == b"PGDMP"  # pg_restore's format


async def test_backup_on_postgres_without_pg_dump_says_what_to_run(
    pg_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    store = await Store.open(pg_url)
    try:
        with pytest.raises(StoreError, match="pg_dump is not installed") as err:
            await store.backup(tmp_path / "copy")
    finally:
        await store.close()
    assert urlsplit(pg_url).password not in str(err.value)
    assert not (tmp_path / "copy").exists()
