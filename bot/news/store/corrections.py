"""SQL for topic corrections (an admin's topics for one story in one scope) and the cache of
article texts fetched for feeds that carry only a teaser."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.news.store.db import from_ts, to_ts
from bot.news.store.engine import Conn, Database


@dataclass(frozen=True, slots=True)
class Correction:
    """Topics an admin gave a story, and the text the tagger read of it then."""

    scope: str
    story_id: int
    topics: tuple[str, ...]
    headline: str
    body: str
    created: datetime


class CorrectionTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, db: Conn, correction: Correction) -> None:
        """Store (or replace) a scope's correction of a story, inside the caller's transaction."""
        c = correction
        await db.execute(
            "INSERT INTO topic_corrections (scope, story_id, topics, headline, body, created)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, story_id) DO UPDATE SET"
            " topics = excluded.topics, headline = excluded.headline, body = excluded.body,"
            " created = excluded.created",
            (c.scope, c.story_id, json.dumps(list(c.topics)), c.headline, c.body, to_ts(c.created)),
        )

    async def for_scopes(self, scopes: Sequence[str]) -> list[Correction]:
        """The corrections of these scopes, oldest first."""
        if not scopes:
            return []
        marks = ",".join("?" * len(scopes))
        rows = await self._db.fetch(
            "SELECT scope, story_id, topics, headline, body, created FROM topic_corrections"
            f" WHERE scope IN ({marks}) ORDER BY created, scope, story_id",
            tuple(scopes),
        )
        return [
            Correction(
                r["scope"],
                r["story_id"],
                tuple(json.loads(r["topics"])),
                r["headline"],
                r["body"],
                from_ts(r["created"]),
            )
            for r in rows
        ]

    async def version(self, scopes: Sequence[str]) -> tuple[int, int]:
        """(count, newest created) of these scopes' corrections: cheap, for caching."""
        if not scopes:
            return (0, 0)
        marks = ",".join("?" * len(scopes))
        row = await self._db.fetchone(
            f"SELECT count(*), max(created) FROM topic_corrections WHERE scope IN ({marks})",
            tuple(scopes),
        )
        return (int(row[0]), int(row[1] or 0)) if row else (0, 0)


class ArticleCache:
    """Extracted article texts by canonical URL ('' when the page gave none)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_many(self, urls: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for lo in range(0, len(urls), 500):
            chunk = list(urls[lo : lo + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetch(
                f"SELECT url, text FROM article_texts WHERE url IN ({marks})", chunk
            )
            out.update({r[0]: r[1] for r in rows})
        return out

    async def put_many(self, texts: dict[str, str], now: datetime) -> None:
        if not texts:
            return
        await self._db.executemany(
            "INSERT INTO article_texts (url, text, fetched) VALUES (?, ?, ?) ON CONFLICT (url)"
            " DO UPDATE SET text = excluded.text, fetched = excluded.fetched",
            [(u, t, to_ts(now)) for u, t in texts.items()],
        )
