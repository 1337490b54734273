"""Moving a SQLite database into an empty PostgreSQL one, keeping every id and all history.

An admin who outgrows one process moves to PostgreSQL with ``briefbot migrate-to URL``; this
module is that command's core. Opening the target with :meth:`Store.open` creates the schema
(the same migrations as everywhere), then every table is copied in dependency order with its
ids, in one transaction: a copy that fails half-way leaves the target empty, so running the
command again just works. The SQLite side is read inside one read transaction, a consistent
snapshot even if a bot still writes to the file. Afterwards each identity sequence is moved
past the largest copied id (new rows must not collide with old ones) and the row counts of
both sides are compared.

SQLite's FTS5 tables are not copied: PostgreSQL's ``stories.search`` column is generated from
the title and text, so the search index rebuilds itself as rows arrive.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.news.errors import StoreError
from bot.news.store import Store
from bot.news.store.db import is_url, masked
from bot.news.store.engine import PgDatabase, SqliteDatabase

#: every table of the schema, parents before children (foreign keys hold at every insert)
TABLES: tuple[str, ...] = (
    "sources",
    "source_scopes",
    "stories",
    "story_keys",
    "story_topics",
    "story_urls",
    "cluster_waiting",
    "cluster_outlets",
    "meta",
    "subscriptions",
    "posted",
    "deliveries",
    "delivery_parts",
    "llm_cache",
    "topic_corrections",
    "article_texts",
    "notice_settings",
    "notice_incidents",
)

#: rows read from SQLite and written to PostgreSQL at a time
CHUNK = 2000

#: called as rows are copied: (table, rows copied so far in all tables, rows in all tables)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class CopyReport:
    """What was copied where, table by table, and how long it took."""

    source: str
    target: str  # the URL without its password
    tables: tuple[TableCount, ...]
    seconds: float
    #: tables whose SQLite row count moved while we copied: something still writes to the
    #: file, and what it wrote after the snapshot is not in PostgreSQL
    changed: tuple[str, ...] = ()

    @property
    def mismatched(self) -> list[str]:
        """Tables whose row counts differ between the two sides (empty when all is well)."""
        return [t.table for t in self.tables if not t.equal]

    @property
    def rows(self) -> int:
        return sum(t.source for t in self.tables)


async def migrate_to(
    sqlite_path: str | Path,
    url: str,
    *,
    password: str | None = None,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> CopyReport:
    """Copy the SQLite database at ``sqlite_path`` into the empty PostgreSQL database at ``url``.

    Raises StoreError with one sentence when it cannot (not a PostgreSQL URL, no SQLite file,
    a server that refuses, a target that already holds data or has a newer schema). The
    password, from the URL or ``password``, never appears in a message.
    """
    if not is_url(url):
        raise StoreError(
            f"{masked(url)} is not a PostgreSQL URL: give one like"
            " postgresql://user@host:5432/briefbot"
        )
    path = Path(sqlite_path)
    if not await asyncio.to_thread(path.is_file):
        raise StoreError(f"there is no SQLite database at {path} to copy (see [storage] path)")
    source = await Store.open(path)
    try:
        target = await Store.open(url, password=password, pool_size=2)
        try:
            return await copy_store(source, target, progress=progress, chunk=chunk)
        finally:
            await target.close()
    finally:
        await source.close()


async def copy_store(
    source: Store, target: Store, *, progress: Progress | None = None, chunk: int = CHUNK
) -> CopyReport:
    """Copy every table of a SQLite store into an empty PostgreSQL store, then compare counts."""
    src, dst = source.db, target.db
    if not isinstance(src, SqliteDatabase):
        raise StoreError(f"{source.path} is not a SQLite database: only SQLite can be copied")
    if not isinstance(dst, PgDatabase):
        raise StoreError(f"{target.path} is not a PostgreSQL database")
    started = time.monotonic()
    held = [t for t in TABLES if await dst.fetchval(f"SELECT EXISTS (SELECT 1 FROM {t})")]
    if held:
        raise StoreError(
            f"{dst.where} is not empty (it holds {', '.join(held)}): migrate into a new,"
            " empty database"
        )
    async with src.lock:
        # one read transaction: every table from the same moment, while writers carry on
        await src.raw.execute("BEGIN")
        try:
            counts = {t: await src.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
            async with dst.connection() as conn, conn.transaction():
                await _copy_tables(src, conn, dst.where, counts, progress, chunk)
                await _reset_sequences(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"reading {src.where} failed, nothing was copied: {exc}") from None
        finally:
            await src.raw.execute("ROLLBACK")
    changed = tuple(
        [t for t in TABLES if await src.fetchval(f"SELECT count(*) FROM {t}") != counts[t]]
    )
    tables = []
    for t in TABLES:
        tables.append(TableCount(t, counts[t], await dst.fetchval(f"SELECT count(*) FROM {t}")))
    return CopyReport(src.where, dst.where, tuple(tables), time.monotonic() - started, changed)


async def _copy_tables(
    src: SqliteDatabase,
    conn,
    where: str,
    counts: dict[str, int],
    progress: Progress | None,
    chunk: int,
) -> None:
    """COPY each table's rows in chunks over one PostgreSQL connection (in its transaction)."""
    import asyncpg

    total, done = sum(counts.values()), 0
    for table in TABLES:
        try:
            columns = await _columns(conn, src, table)
            names = [c for c, _ in columns]
            convert = [_CONVERT.get(kind, _same) for _, kind in columns]
            if progress:
                progress(table, done, total)
            async for rows in src.stream(f"SELECT {', '.join(names)} FROM {table}", chunk=chunk):
                records = [tuple(f(v) for f, v in zip(convert, r, strict=True)) for r in rows]
                await conn.copy_records_to_table(table, records=records, columns=names)
                done += len(rows)
                if progress:
                    progress(table, done, total)
        except (asyncpg.PostgresError, asyncpg.DataError, ValueError) as exc:
            raise StoreError(
                f"copying {table} into {where} failed, nothing was kept: {exc}"
            ) from None


async def _columns(conn, src: SqliteDatabase, table: str) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of the columns to copy: those both sides have.

    PostgreSQL's generated ``search`` is left out (it computes itself). A column only
    PostgreSQL has takes its default, as an ``ADD COLUMN`` would have given it; a column only
    the SQLite file has would be lost, so that stops the copy.
    """
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        table,
    )
    have = {r["name"] for r in await src.fetch(f"PRAGMA table_info({table})")}
    lost = have - {r["column_name"] for r in rows}
    if lost:
        raise StoreError(
            f"{table} in {src.where} has columns that PostgreSQL's schema lacks"
            f" ({', '.join(sorted(lost))}): is this SQLite file from another briefbot version?"
        )
    return [(r["column_name"], r["data_type"]) for r in rows if r["column_name"] in have]


async def _reset_sequences(conn) -> None:
    """Move every identity sequence past the largest copied id, so new rows get fresh ids."""
    rows = await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({column}), 0) + 1, false)"
            f" FROM {table}",
            table,
            column,
        )


# SQLite keeps whatever type a value arrived with; COPY wants exactly the column's type


def _same(value: Any) -> Any:
    return value


def _integer(value: Any) -> Any:
    return value if value is None or type(value) is int else int(value)


def _text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "bigint": _integer,
    "integer": _integer,
    "text": _text,
}
