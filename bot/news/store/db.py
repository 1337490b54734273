"""Opening the SQLite database: pragmas, migrations, one connection that is the one writer."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.news.errors import StoreError
from bot.news.store.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)


#: SQLite page cache per connection, in KiB
CACHE_KIB = 2000


def to_ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def from_ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


async def open_database(path: str | Path) -> aiosqlite.Connection:
    """Open (creating the folder), set pragmas, apply pending migrations.

    Raises StoreError with a sentence when the file cannot be used (not a database,
    newer schema than this version knows, read-only folder...).
    """
    path = Path(path)
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the database {path}: {exc.strerror}"
            ) from None
    try:
        db = await aiosqlite.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from None
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=10000")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA temp_store=MEMORY")
        # SQLite's own default (2 MB): the operating system caches the file anyway, and a
        # first poll of 1000 sources filled a 16 MB cache for little (peak RSS 15 MB lower;
        # search and digest times within run-to-run noise, bench/README.md)
        await db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        await migrate(db, path)
    except sqlite3.DatabaseError as exc:
        await db.close()
        raise StoreError(f"{path} is not a usable briefbot database ({exc})") from None
    except StoreError:
        await db.close()
        raise
    return db


async def migrate(db: aiosqlite.Connection, path: Path) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = row[0] if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer briefbot (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade briefbot or restore a backup"
        )
    if 0 < version < SCHEMA_VERSION:
        log.info("database: upgrading %s from schema %d to %d", path, version, SCHEMA_VERSION)
    for number in range(version + 1, SCHEMA_VERSION + 1):
        log.debug("database: applying migration %d", number)
        script = MIGRATIONS[number - 1]
        # executescript commits; run the migration and the version bump in one transaction
        await db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


@contextlib.asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error. The connection is the one writer."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    else:
        await db.execute("COMMIT")
