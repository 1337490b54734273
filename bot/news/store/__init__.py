"""The SQLite store: all SQL lives in this package.

One aiosqlite connection is the one writer; writes take ``Store.lock`` and group their
statements in transactions. Readers share the connection (aiosqlite serialises them).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite

from bot.news.errors import StoreError
from bot.news.store.db import open_database, transaction
from bot.news.store.outbox import Delivery, DeliveryPart, Outbox, Subscription
from bot.news.store.sources import GLOBAL, SourceTable
from bot.news.store.stories import Candidate, IngestOutcome, StoryTable

__all__ = [
    "GLOBAL",
    "Candidate",
    "Delivery",
    "DeliveryPart",
    "IngestOutcome",
    "Store",
    "Subscription",
]


class Store:
    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self.db = db
        self.path = path
        self.lock = asyncio.Lock()
        self.sources = SourceTable(db, self.lock)
        self.stories = StoryTable(db)
        self.outbox = Outbox(db, self.lock)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        return cls(await open_database(path), str(path))

    async def close(self) -> None:
        await self.db.close()

    def transaction(self):
        """``async with store.lock, store.transaction() as db:`` for a batch of writes."""
        return transaction(self.db)

    async def backup(self, target: str | Path) -> None:
        """A consistent online copy (SQLite's backup API), safe while the bot runs."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)

        # the copy is written from aiosqlite's thread, so the target may not be tied to ours
        dest = sqlite3.connect(str(target), check_same_thread=False)
        try:
            await self.db.backup(dest)
        except sqlite3.Error as exc:
            raise StoreError(f"backup to {target} failed: {exc}") from None
        finally:
            dest.close()
