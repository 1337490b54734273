"""The store: all SQL lives in this package, for SQLite and PostgreSQL alike.

``Store.open`` takes a SQLite path or a ``postgresql://`` URL; the tables below it (sources,
stories, outbox) run the same SQL on either engine (see ``engine`` and ``dialect``). Writes
that belong together go in ``async with store.transaction() as db:``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.news.errors import StoreError
from bot.news.store.corrections import ArticleCache, Correction, CorrectionTable
from bot.news.store.db import open_database
from bot.news.store.engine import Conn, Database, PgDatabase, SqliteDatabase
from bot.news.store.notices import Incident, NoticeSetting, NoticeTable
from bot.news.store.outbox import Delivery, DeliveryPart, Outbox, Subscription
from bot.news.store.sources import GLOBAL, SourceTable
from bot.news.store.stories import Candidate, IngestOutcome, StoryTable

__all__ = [
    "GLOBAL",
    "Candidate",
    "Conn",
    "Correction",
    "Delivery",
    "DeliveryPart",
    "Incident",
    "IngestOutcome",
    "NoticeSetting",
    "Store",
    "Subscription",
]


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sources = SourceTable(db)
        self.stories = StoryTable(db)
        self.outbox = Outbox(db)
        self.corrections = CorrectionTable(db)
        self.articles = ArticleCache(db)
        self.notices = NoticeTable(db, self.outbox)

    @property
    def path(self) -> str:
        """Where the data lives: the SQLite file, or the PostgreSQL URL without its password."""
        return self.db.where

    @property
    def engine(self) -> str:
        return self.db.dialect.name

    @classmethod
    async def open(
        cls, target: str | Path, *, password: str | None = None, pool_size: int = 10
    ) -> Store:
        """A SQLite file path, or a ``postgresql://`` URL (``password`` if not in the URL)."""
        return cls(await open_database(target, password=password, pool_size=pool_size))

    async def close(self) -> None:
        await self.db.close()

    def transaction(self):
        """``async with store.transaction() as db:`` for a batch of writes."""
        return self.db.transaction()

    async def _pg_dump(self, target: Path) -> None:
        """PostgreSQL's own consistent copy, made by pg_dump when it is installed."""
        assert isinstance(self.db, PgDatabase)
        pg_dump = shutil.which("pg_dump")
        how = f"back it up with pg_dump: pg_dump --format=custom --file={target} '{self.db.where}'"
        if pg_dump is None:
            raise StoreError(f"the database is PostgreSQL and pg_dump is not installed here; {how}")
        target.parent.mkdir(parents=True, exist_ok=True)
        parts = urlsplit(self.db.dsn)
        env = dict(os.environ)
        if parts.password or self.db.password:
            env["PGPASSWORD"] = unquote(parts.password or "") or self.db.password or ""
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = f"{parts.username}@" if parts.username else ""
        dsn = urlunsplit((parts.scheme, user + host, parts.path, parts.query, ""))
        proc = await asyncio.create_subprocess_exec(
            pg_dump,
            "--format=custom",
            f"--file={target}",
            f"--dbname={dsn}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _out, err = await proc.communicate()
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip().splitlines()
            raise StoreError(
                f"pg_dump could not back up {self.db.where}: {detail[-1] if detail else 'failed'}"
            )

    async def backup(self, target: str | Path) -> None:
        """A consistent online copy (SQLite's backup API), safe while the bot runs.

        On PostgreSQL the server's own tool makes the copy: ``pg_dump`` (custom format, for
        ``pg_restore``) when it is installed, else a sentence saying to run it.
        """
        if isinstance(self.db, PgDatabase):
            await self._pg_dump(Path(target))
            return
        assert isinstance(self.db, SqliteDatabase)
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)

        # the copy is written from aiosqlite's thread, so the target may not be tied to ours
        dest = sqlite3.connect(str(target), check_same_thread=False)
        try:
            await self.db.raw.backup(dest)
        except sqlite3.Error as exc:
            raise StoreError(f"backup to {target} failed: {exc}") from None
        finally:
            dest.close()
