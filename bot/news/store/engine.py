"""The two engines behind one small interface: SQLite (aiosqlite) and PostgreSQL (asyncpg).

The store's SQL is written once, with ``?`` placeholders and syntax both engines accept; what
differs by engine lives in :mod:`bot.news.store.dialect`. This module only runs statements:

- ``Database`` is what the store holds: autocommit statements, and ``transaction()``.
- ``Conn`` is one connection inside a transaction, with the same statement methods.

SQLite has one connection, which is the one writer: writes and transactions take
``Database.lock``; reads share the connection (aiosqlite serialises them). PostgreSQL has a
pool: every statement or transaction takes a connection of its own, and the database's
locks and constraints settle races between processes.

Rows support ``row["name"]``, ``row[0]`` and unpacking on both engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import aiosqlite

from bot.news.errors import StoreError
from bot.news.store.dialect import POSTGRES, SQLITE, Dialect

log = logging.getLogger(__name__)

Row = Any  # aiosqlite.Row or asyncpg.Record: both index by name and position


class Conn:
    """Statement methods over one connection (the SQLite one, or a pooled Postgres one)."""

    dialect: Dialect

    async def fetch(self, sql: str, args: Sequence = ()) -> list[Row]:
        raise NotImplementedError

    async def fetchone(self, sql: str, args: Sequence = ()) -> Row | None:
        rows = await self.fetch(sql, args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, args: Sequence = ()) -> Any:
        row = await self.fetchone(sql, args)
        return None if row is None else row[0]

    async def fetch_planned_for(self, sql: str, args: Sequence = ()) -> list[Row]:
        """``fetch``, planned for these very arguments: a search's plan depends on how common
        its words are, which a plan cached for any arguments cannot see."""
        return await self.fetch(sql, args)

    async def execute(self, sql: str, args: Sequence = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        raise NotImplementedError

    def stream(self, sql: str, args: Sequence = (), *, chunk: int = 2000):
        """The rows of a large query, ``chunk`` at a time (an async iterator of lists)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------- errors

#: SQLite's primary result codes that say something about the file or the disk, not the SQL
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


def sqlite_error(exc: sqlite3.Error, where: str) -> StoreError | None:
    """The sentence for a SQLite failure of the file or the disk; None for anything else
    (a constraint, a bug in our SQL), which stays what it is."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_FULL:
        return StoreError(
            f"the database {where} cannot grow: the disk is full (or the file reached its size"
            " limit); free some space and briefbot carries on where it stopped"
        )
    if code == _SQLITE_READONLY:
        return StoreError(
            f"the database {where} is read-only: briefbot must be able to write the file and"
            " its folder (check the permissions, or a read-only mount or volume)"
        )
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreError(
            f"{where} is not a usable briefbot database: the file is damaged or not SQLite"
            f" ({exc}); restore a backup (briefbot backup makes one), or move the file away"
            " to start afresh"
        )
    if code == _SQLITE_IOERR:
        return StoreError(f"reading or writing the database {where} failed ({exc}): check the disk")
    if code == _SQLITE_CANTOPEN:
        return StoreError(
            f"cannot open the database {where} ({exc}): check that its folder exists and that"
            " briefbot may write there"
        )
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(
            f"the database {where} stayed locked by another program; try again when it is done"
        )
    return None


@contextlib.contextmanager
def _sqlite_errors(where: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        translated = sqlite_error(exc, where)
        if translated is None:
            raise
        raise translated from exc


def _pg_error(exc: BaseException, where: str) -> StoreError | None:
    """The sentence for a lost PostgreSQL server, a full disk or a read-only server."""
    import asyncpg

    if isinstance(exc, asyncpg.DiskFullError | asyncpg.InsufficientResourcesError):
        return StoreError(
            f"PostgreSQL at {where} cannot store more ({exc}): its disk is full; free some"
            " space and briefbot carries on where it stopped"
        )
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return StoreError(f"PostgreSQL at {where} accepts no writes ({exc}): is it a standby?")
    lost = (
        asyncpg.PostgresConnectionError,
        asyncpg.ConnectionDoesNotExistError,
        asyncpg.AdminShutdownError,
        asyncpg.CannotConnectNowError,
        OSError,
    )
    if isinstance(exc, lost):
        reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
        return StoreError(
            f"lost the connection to PostgreSQL at {where} ({reason}); briefbot retries"
        )
    return None


@contextlib.contextmanager
def _pg_errors(where: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        translated = _pg_error(exc, where)
        if translated is None:
            raise
        raise translated from exc


# ---------------------------------------------------------------------------------- SQLite


class SqliteConn(Conn):
    """Statements on the one SQLite connection; a failing file or disk raises StoreError."""

    dialect = SQLITE

    def __init__(self, db: aiosqlite.Connection, where: str = "") -> None:
        self._db = db
        self._where = where

    async def fetch(self, sql: str, args: Sequence = ()) -> list[Row]:
        with _sqlite_errors(self._where):
            async with self._db.execute(sql, tuple(args)) as cur:
                return list(await cur.fetchall())

    async def execute(self, sql: str, args: Sequence = ()) -> int:
        with _sqlite_errors(self._where):
            async with self._db.execute(sql, tuple(args)) as cur:
                return cur.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        if rows:
            with _sqlite_errors(self._where):
                await self._db.executemany(sql, rows)

    async def stream(self, sql: str, args: Sequence = (), *, chunk: int = 2000):
        with _sqlite_errors(self._where):
            async with self._db.execute(sql, tuple(args)) as cur:
                while rows := await cur.fetchmany(chunk):
                    yield list(rows)


class Database(Conn):
    """Autocommit statements and transactions; see the module docstring."""

    #: where the data lives, fit to print (a path, or a URL without its password)
    where: str

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    async def hold_lock(self, key: int) -> bool:
        """Whether this process holds the role named by ``key`` (taking it if it is free).

        A role is one process at a time among all that share the database (the clusterer);
        it is held until the process ends or loses its connection.
        """
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, db: aiosqlite.Connection, where: str) -> None:
        self.raw = db
        self.where = where
        self.lock = asyncio.Lock()
        self._conn = SqliteConn(db, where)

    async def fetch(self, sql: str, args: Sequence = ()) -> list[Row]:
        return await self._conn.fetch(sql, args)

    async def execute(self, sql: str, args: Sequence = ()) -> int:
        async with self.lock:
            return await self._conn.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        async with self.lock:
            await self._conn.executemany(sql, rows)

    def stream(self, sql: str, args: Sequence = (), *, chunk: int = 2000):
        return self._conn.stream(sql, args, chunk=chunk)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """BEGIN IMMEDIATE ... COMMIT under the writer lock, rolled back on error."""
        async with self.lock:
            with _sqlite_errors(self.where):
                await self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self.raw.in_transaction:  # SQLite may have rolled back itself (disk full)
                    with _sqlite_errors(self.where):
                        await self.raw.execute("ROLLBACK")
                raise
            else:
                try:
                    with _sqlite_errors(self.where):
                        await self.raw.execute("COMMIT")
                except BaseException:
                    if self.raw.in_transaction:  # a COMMIT that failed leaves it open
                        with contextlib.suppress(sqlite3.Error):
                            await self.raw.execute("ROLLBACK")
                    raise

    async def hold_lock(self, key: int) -> bool:
        return True  # one process has the file: it holds every role

    async def close(self) -> None:
        await self.raw.close()


# ---------------------------------------------------------------------------------- PostgreSQL

_PLACEHOLDER = re.compile(r"\?")


@functools.lru_cache(maxsize=2048)
def numbered(sql: str) -> str:
    """``?`` placeholders -> ``$1, $2, ...`` (the store's SQL has no ``?`` in literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    """asyncpg's command tag ('UPDATE 3', 'INSERT 0 1') -> the number of rows."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PgConn(Conn):
    dialect = POSTGRES

    def __init__(self, conn) -> None:
        self._conn = conn

    async def fetch(self, sql: str, args: Sequence = ()) -> list[Row]:
        return await self._conn.fetch(numbered(sql), *args)

    async def fetch_planned_for(self, sql: str, args: Sequence = ()) -> list[Row]:
        # asyncpg prepares every statement; after five runs PostgreSQL may switch to a
        # generic plan, which guessed 205 matches for a word that had 47,161 (139 ms instead
        # of 6 ms, bench/README.md)
        async with self._conn.transaction():
            await self._conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            return await self._conn.fetch(numbered(sql), *args)

    async def execute(self, sql: str, args: Sequence = ()) -> int:
        return _rowcount(await self._conn.execute(numbered(sql), *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        if rows:
            await self._conn.executemany(numbered(sql), rows)

    async def stream(self, sql: str, args: Sequence = (), *, chunk: int = 2000):
        # a server-side cursor needs a transaction; inside one already, a savepoint is harmless
        async with self._conn.transaction():
            batch: list[Row] = []
            async for row in self._conn.cursor(numbered(sql), *args, prefetch=chunk):
                batch.append(row)
                if len(batch) >= chunk:
                    yield batch
                    batch = []
            if batch:
                yield batch


class PgDatabase(Database):
    dialect = POSTGRES

    def __init__(self, pool, where: str) -> None:
        self.pool = pool
        self.where = where
        self._held: dict[int, Any] = {}  # role key -> the connection holding its lock
        #: how to reach the server again (pg_dump); never printed
        self.dsn: str = ""
        self.password: str | None = None

    async def fetch(self, sql: str, args: Sequence = ()) -> list[Row]:
        with _pg_errors(self.where):
            async with self.pool.acquire() as conn:
                return await PgConn(conn).fetch(sql, args)

    async def fetch_planned_for(self, sql: str, args: Sequence = ()) -> list[Row]:
        async with self.pool.acquire() as conn:
            return await PgConn(conn).fetch_planned_for(sql, args)

    async def execute(self, sql: str, args: Sequence = ()) -> int:
        with _pg_errors(self.where):
            async with self.pool.acquire() as conn:
                return await PgConn(conn).execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        with _pg_errors(self.where):
            async with self.pool.acquire() as conn:
                await PgConn(conn).executemany(sql, rows)

    async def stream(self, sql: str, args: Sequence = (), *, chunk: int = 2000):
        with _pg_errors(self.where):
            async with self.pool.acquire() as conn:
                async for batch in PgConn(conn).stream(sql, args, chunk=chunk):
                    yield batch

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A pooled connection in a transaction; a lost server or full disk is a StoreError."""
        with _pg_errors(self.where):
            async with self.pool.acquire() as conn, conn.transaction():
                yield PgConn(conn)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled asyncpg connection, for what only PostgreSQL does (advisory locks, COPY)."""
        async with self.pool.acquire() as conn:
            yield conn

    async def hold_lock(self, key: int) -> bool:
        import asyncpg

        conn = self._held.get(key)
        if conn is not None:
            try:
                await conn.fetchval("SELECT 1")
                return True
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                log.warning("database: lost the connection holding lock %#x", key)
                del self._held[key]
                await self.pool.release(conn)
                return False
        conn = await self.pool.acquire()
        try:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                self._held[key] = conn
                return True
        except BaseException:
            await self.pool.release(conn)
            raise
        await self.pool.release(conn)
        return False

    async def close(self) -> None:
        for conn in self._held.values():
            with contextlib.suppress(Exception):
                await self.pool.release(conn)
        self._held.clear()
        await self.pool.close()
