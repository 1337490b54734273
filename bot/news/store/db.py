"""Opening the database (a SQLite file or a PostgreSQL URL) and migrating it."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import aiosqlite

from bot.news.errors import StoreError
from bot.news.store.dialect import POSTGRES, SQLITE
from bot.news.store.engine import Database, PgDatabase, SqliteDatabase, sqlite_error
from bot.news.store.migrations import MIGRATIONS, SCHEMA_VERSION, script

log = logging.getLogger(__name__)


#: SQLite page cache per connection, in KiB
CACHE_KIB = 2000
#: the advisory lock key that serialises migrations of one PostgreSQL database
MIGRATION_LOCK = 0x62726965  # "brie"
#: how long connecting to PostgreSQL may take, and how often a lost server is retried at open
CONNECT_TIMEOUT_S = 10.0
CONNECT_ATTEMPTS = 3


def to_ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def from_ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def is_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.split(":", 1)[0] in ("postgresql", "postgres")


def masked(url: str) -> str:
    """The URL without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, ""))


async def open_database(
    target: str | Path, *, password: str | None = None, pool_size: int = 10
) -> Database:
    """Open a SQLite file (creating its folder) or connect to a PostgreSQL URL; migrate.

    Raises StoreError with a sentence when it cannot be used (not a database, a newer schema
    than this version knows, a read-only folder, a refused connection, a wrong password...).
    """
    if is_url(target):
        return await _open_postgres(str(target), password=password, pool_size=pool_size)
    return await _open_sqlite(Path(target))


# ---------------------------------------------------------------------------------- SQLite


async def _open_sqlite(path: Path) -> Database:
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the database {path}: {exc.strerror}"
            ) from None
    try:
        raw = await aiosqlite.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise _open_error(exc, path) from None
    try:
        raw.row_factory = aiosqlite.Row
        await raw.execute("PRAGMA journal_mode=WAL")
        await raw.execute("PRAGMA busy_timeout=10000")
        await raw.execute("PRAGMA foreign_keys=ON")
        await raw.execute("PRAGMA synchronous=NORMAL")
        await raw.execute("PRAGMA temp_store=MEMORY")
        # SQLite's own default (2 MB): the operating system caches the file anyway, and a
        # first poll of 1000 sources filled a 16 MB cache for little (peak RSS 15 MB lower;
        # search and digest times within run-to-run noise, bench/README.md)
        await raw.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        async with raw.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = row[0] if row else 0
        _check_version(version, str(path))
        for number in range(version + 1, SCHEMA_VERSION + 1):
            log.debug("database: applying migration %d", number)
            sql = script(MIGRATIONS[number - 1], SQLITE)
            # executescript commits; run the migration and the version bump in one transaction
            await raw.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        # a file that opens but cannot be written (read-only file or mount) fails here, at
        # start, rather than at the first poll
        await raw.execute("BEGIN IMMEDIATE")
        await raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await raw.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        await raw.close()
        raise _open_error(exc, path) from None
    except StoreError:
        await raw.close()
        raise
    return SqliteDatabase(raw, str(path))


def _open_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """One sentence for a SQLite file that cannot be used, naming what to fix."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return StoreError(
            f"the database {path} is read-only: briefbot must be able to write it (check its"
            " permissions and attributes, or the mount or volume it is on)"
        )
    if not os.access(folder, os.W_OK):
        return StoreError(
            f"the folder {folder} of the database is read-only: briefbot writes the database"
            " and its journal files there (check the permissions, or a read-only mount or"
            " volume)"
        )
    translated = sqlite_error(exc, str(path))
    if translated is not None:
        return translated
    return StoreError(f"{path} is not a usable briefbot database ({exc})")


def _check_version(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where} was written by a newer briefbot (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade briefbot or restore a backup"
        )
    if 0 < version < SCHEMA_VERSION:
        log.info("database: upgrading %s from schema %d to %d", where, version, SCHEMA_VERSION)


# ---------------------------------------------------------------------------------- PostgreSQL


async def _open_postgres(url: str, *, password: str | None, pool_size: int) -> Database:
    import asyncpg

    where = masked(url)
    parts = urlsplit(url)
    kwargs = {}
    if password and parts.password is None:
        kwargs["password"] = password
    database = unquote(parts.path.lstrip("/")) or "(default)"
    pool = None
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=300,
                **kwargs,
            )
            break
        except asyncpg.InvalidPasswordError:
            raise StoreError(
                f"PostgreSQL refused the password for {where}: check the user and"
                " BRIEFBOT_DATABASE_PASSWORD (or the password in the URL)"
            ) from None
        except asyncpg.InvalidCatalogNameError:
            raise StoreError(
                f"PostgreSQL at {where} has no database {database!r}: create it"
                f" (createdb {database}) or fix the URL"
            ) from None
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            raise StoreError(f"PostgreSQL refused {where}: {exc}") from None
        except (TimeoutError, OSError, asyncpg.CannotConnectNowError) as exc:
            if attempt == CONNECT_ATTEMPTS:
                reason = getattr(exc, "strerror", None) or str(exc) or "timed out"
                raise StoreError(
                    f"cannot connect to PostgreSQL at {where} ({reason}): is the server"
                    " running, and are the host and port right?"
                ) from None
            await asyncio.sleep(0.5 * 2**attempt)
        except ValueError as exc:  # a URL asyncpg cannot read
            raise StoreError(f"the database URL {where} is not valid: {exc}") from None
    assert pool is not None
    db = PgDatabase(pool, where)
    db.dsn, db.password = url, password
    try:
        await _migrate_postgres(db)
    except BaseException:
        await db.close()
        raise
    return db


async def _migrate_postgres(db: PgDatabase) -> None:
    import asyncpg

    async with db.connection() as conn:
        # two processes starting together: the second waits here, then finds nothing to do
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            has_schema = await conn.fetchval("SELECT to_regclass('briefbot_schema') IS NOT NULL")
            if has_schema:
                version = await conn.fetchval("SELECT max(version) FROM briefbot_schema") or 0
            else:
                others = await conn.fetchval(
                    "SELECT count(*) FROM information_schema.tables"
                    " WHERE table_schema = current_schema()"
                )
                if others:
                    raise StoreError(
                        f"{db.where} already has {others} tables and is not a briefbot"
                        " database: point briefbot at an empty database of its own"
                    )
                version = 0
            _check_version(version, db.where)
            for number in range(version + 1, SCHEMA_VERSION + 1):
                log.debug("database: applying migration %d", number)
                async with conn.transaction():
                    if number == 1:
                        await conn.execute("CREATE TABLE briefbot_schema (version BIGINT NOT NULL)")
                    await conn.execute(script(MIGRATIONS[number - 1], POSTGRES))
                    await conn.execute("INSERT INTO briefbot_schema (version) VALUES ($1)", number)
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{db.where} could not be migrated: {exc}") from None
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
