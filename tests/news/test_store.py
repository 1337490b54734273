"""The database: migrations on open, re-open, refusing what it cannot use, backups."""

from __future__ import annotations

import sqlite3

import pytest

from bot.news.errors import StoreError
from bot.news.store import Store
from bot.news.store.dialect import SQLITE
from bot.news.store.migrations import MIGRATIONS, SCHEMA_VERSION, script


async def test_new_database_is_migrated_and_reopens(tmp_path) -> None:
    path = tmp_path / "nested" / "db.sqlite3"
    store = await Store.open(path)
    await store.outbox.set_meta("probe", "kept")
    await store.close()
    store = await Store.open(path)
    try:
        assert await store.outbox.get_meta("probe") == "kept"
        assert await store.db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
        assert await store.db.fetchval("PRAGMA journal_mode") == "wal"
    finally:
        await store.close()


async def test_older_schema_is_upgraded_in_place_keeping_its_data(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(script(MIGRATIONS[0], SQLITE))
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO sources (url, name, interval_s, created)"
        " VALUES ('https://a.example/feed', 'A', 60, 0)"
    )
    conn.execute(
        "INSERT INTO stories (source_id, title, published, first_seen, cluster_id)"
        " VALUES (1, 'Kept', 0, 0, 1)"
    )
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        assert [s.name for s in await store.sources.list()] == ["A"]
        assert await store.stories.count() == 1
        assert await store.outbox.subscriptions() == []  # a table of a later migration
    finally:
        await store.close()


async def test_newer_schema_is_refused_with_a_sentence(tmp_path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer briefbot"):
        await Store.open(path)


async def test_a_file_that_is_not_a_database_is_refused(tmp_path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable briefbot database"):
        await Store.open(path)


async def test_backup_is_a_consistent_copy(tmp_path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        await store.outbox.set_meta("heartbeat", "123")
        await store.backup(tmp_path / "backup" / "copy.sqlite3")
    finally:
        await store.close()
    copy = await Store.open(tmp_path / "backup" / "copy.sqlite3")
    try:
        assert await copy.outbox.get_meta("heartbeat") == "123"
    finally:
        await copy.close()
