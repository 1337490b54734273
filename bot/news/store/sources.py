"""SQL for sources and who owns them (scopes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.news.errors import DuplicateSourceError, SourceLimitError, SourceNotFoundError
from bot.news.models import Source
from bot.news.store.db import from_ts, to_ts
from bot.news.store.engine import Conn, Database, Row

GLOBAL = "global"


def _columns(db: Conn) -> str:
    scopes = db.dialect.group_concat("scope", " ")
    return (
        "s.id, s.url, s.name, s.interval_s, s.backfill, s.full_text, s.etag, s.last_modified, "
        "s.last_polled, s.last_success, s.last_error, s.consecutive_failures, s.next_poll, "
        "s.key_mode, s.created, "
        f"(SELECT {scopes} FROM source_scopes WHERE source_id = s.id) AS scopes"
    )


def _source(row: Row, count: int = 0) -> Source:
    return Source(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        interval=timedelta(seconds=row["interval_s"]),
        backfill=row["backfill"],
        full_text={1: True, -1: False}.get(row["full_text"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled=from_ts(row["last_polled"]),
        last_success=from_ts(row["last_success"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        next_poll=from_ts(row["next_poll"]),
        key_mode=row["key_mode"],
        created=from_ts(row["created"]),
        story_count=count,
        scopes=tuple(sorted((row["scopes"] or "").split())),
    )


def visible_scopes(scope: str | None) -> tuple[str, ...] | None:
    """A guild sees the global sources and its own; None means every source (the operator)."""
    if scope is None:
        return None
    return (GLOBAL,) if scope == GLOBAL else (GLOBAL, scope)


class SourceTable:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._columns = _columns(db)

    async def get(self, source_id: int) -> Source | None:
        row = await self._db.fetchone(
            f"SELECT {self._columns}, (SELECT count(DISTINCT story_id) FROM story_keys"
            " WHERE source_id = s.id AND story_id IS NOT NULL) AS n FROM sources s WHERE s.id = ?",
            (source_id,),
        )
        return _source(row, row["n"]) if row else None

    async def by_url(self, url: str) -> Source | None:
        row = await self._db.fetchone(
            f"SELECT {self._columns} FROM sources s WHERE s.url = ?", (url,)
        )
        return _source(row) if row else None

    async def list(self, scope: str | None = None, *, with_counts: bool = True) -> list[Source]:
        scopes = visible_scopes(scope)
        where, args = "", ()
        if scopes is not None:
            marks = ",".join("?" * len(scopes))
            where = f"WHERE s.id IN (SELECT source_id FROM source_scopes WHERE scope IN ({marks}))"
            args = scopes
        counts: dict[int, int] = {}
        if with_counts:
            # a story another source brought first counts for this one too (it is an outlet)
            rows = await self._db.fetch(
                "SELECT source_id, count(DISTINCT story_id) FROM story_keys"
                " WHERE story_id IS NOT NULL GROUP BY source_id"
            )
            counts = {r[0]: r[1] for r in rows}
        rows = await self._db.fetch(
            f"SELECT {self._columns} FROM sources s {where} ORDER BY lower(s.name), s.id", args
        )
        return [_source(r, counts.get(r["id"], 0)) for r in rows]

    async def find(self, ref: str, scope: str | None) -> Source:
        """A source by id, URL or name, among those the scope can see."""
        ref = ref.strip()
        for source in await self.list(scope, with_counts=False):
            if ref in (str(source.id), source.url) or ref.lower() == source.name.lower():
                return source
        raise SourceNotFoundError(
            f"no source {ref!r} here; `sources list` shows their ids and names"
        )

    async def add(
        self,
        *,
        url: str,
        name: str,
        interval: timedelta,
        backfill: int,
        full_text: bool | None,
        scope: str,
        now: datetime,
        from_config: bool = False,
        limit: int | None = None,
    ) -> tuple[Source, bool]:
        """Add the URL for the scope. Returns (source, created); the feed row is shared by URL.

        ``limit``: the most sources the scope may own; one more raises SourceLimitError.
        """
        async with self._db.transaction() as db:
            if limit is not None:
                owned_now = await db.fetchval(
                    "SELECT count(*) FROM source_scopes WHERE scope = ?", (scope,)
                )
                already = await db.fetchval(
                    "SELECT count(*) FROM source_scopes c JOIN sources s ON s.id = c.source_id"
                    " WHERE c.scope = ? AND s.url = ?",
                    (scope, url),
                )
                if owned_now >= limit and not already:
                    raise SourceLimitError(limit)
            # ON CONFLICT: two processes adding the same URL at once end with one row
            source_id = await db.fetchval(
                "INSERT INTO sources"
                " (url, name, interval_s, backfill, full_text, created, next_poll)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING RETURNING id",
                (
                    url,
                    name,
                    int(interval.total_seconds()),
                    backfill,
                    _full_text_code(full_text),
                    to_ts(now),
                    to_ts(now),
                ),
            )
            created = source_id is not None
            if not created:
                source_id = await db.fetchval("SELECT id FROM sources WHERE url = ?", (url,))
                owned = await db.fetchone(
                    "SELECT from_config FROM source_scopes WHERE source_id = ? AND scope = ?",
                    (source_id, scope),
                )
                if owned is not None and not from_config:
                    raise DuplicateSourceError(f"{url} is already a source here")
                if from_config:
                    await db.execute(
                        "UPDATE sources SET name = ?, interval_s = ?, backfill = ?, full_text = ?"
                        " WHERE id = ?",
                        (
                            name,
                            int(interval.total_seconds()),
                            backfill,
                            _full_text_code(full_text),
                            source_id,
                        ),
                    )
            await db.execute(
                "INSERT INTO source_scopes (source_id, scope, from_config, added)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (source_id, scope)"
                " DO UPDATE SET from_config = "
                + db.dialect.greatest("source_scopes.from_config", "excluded.from_config"),
                (source_id, scope, int(from_config), to_ts(now)),
            )
        source = await self.get(source_id)
        assert source is not None
        return source, created

    async def owned_count(self, scope: str) -> int:
        """How many sources the scope owns itself (not the global ones it also reads)."""
        return await self._db.fetchval(
            "SELECT count(*) FROM source_scopes WHERE scope = ?", (scope,)
        )

    async def remove(self, source_id: int, scope: str) -> bool:
        """Drop the scope's ownership; the feed and its stories go when nobody owns it.

        Returns True when the source itself was deleted.
        """
        async with self._db.transaction() as db:
            removed = await db.execute(
                "DELETE FROM source_scopes WHERE source_id = ? AND scope = ?", (source_id, scope)
            )
            if removed == 0:
                raise SourceNotFoundError("that source is not one of this scope's own sources")
            left = await db.fetchval(
                "SELECT count(*) FROM source_scopes WHERE source_id = ?", (source_id,)
            )
            if left == 0:
                await db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
                # its stories go by cascade; the clusters they were in lose this outlet
                await db.execute("DELETE FROM cluster_outlets WHERE source_id = ?", (source_id,))
                return True
            return False

    async def unsync_config(self, keep_urls: Sequence[str]) -> int:
        """Remove config ownership from sources no longer in the config; returns how many."""
        rows = await self._db.fetch(
            "SELECT s.id, s.url FROM sources s JOIN source_scopes c ON c.source_id = s.id"
            " WHERE c.scope = ? AND c.from_config = 1",
            (GLOBAL,),
        )
        keep = set(keep_urls)
        stale = [r["id"] for r in rows if r["url"] not in keep]
        for source_id in stale:
            await self.remove(source_id, GLOBAL)
        return len(stale)

    async def due(self, now: datetime, scope: str | None = None) -> list[Source]:
        """Sources whose next poll has come, except those a worker holds a lease on."""
        stamp = to_ts(now)
        held = {
            r[0]
            for r in await self._db.fetch(
                "SELECT id FROM sources WHERE lease_until IS NOT NULL AND lease_until >= ?",
                (stamp,),
            )
        }
        sources = await self.list(scope, with_counts=False)
        return [
            s for s in sources if (s.next_poll is None or s.next_poll <= now) and s.id not in held
        ]

    async def claim(
        self, owner: str, now: datetime, *, limit: int, lease: timedelta
    ) -> list[Source]:
        """Lease up to ``limit`` due sources to ``owner`` (a worker), most overdue first.

        One short transaction: rows another worker is claiming at the same moment are skipped
        (``FOR UPDATE SKIP LOCKED``), and a lease that ran out (its worker vanished) is free.
        """
        stamp = to_ts(now)
        async with self._db.transaction() as db:
            rows = await db.fetch(
                "UPDATE sources SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM sources WHERE coalesce(next_poll, 0) <= ?"
                " AND (lease_until IS NULL OR lease_until < ?)"
                f" ORDER BY coalesce(next_poll, 0), id LIMIT ?{db.dialect.skip_locked}"
                ") RETURNING id",
                (owner, stamp + int(lease.total_seconds()), stamp, stamp, limit),
            )
        ids = [r[0] for r in rows]
        if not ids:
            return []
        # only the claimed rows (reading every source here made a claim O(all sources))
        found = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found += await self._db.fetch(
                f"SELECT {self._columns} FROM sources s WHERE s.id IN ({marks})", chunk
            )
        found.sort(key=lambda r: (r["name"].lower(), r["id"]))
        return [_source(r) for r in found]

    async def renew(self, owner: str, ids: Sequence[int], until: datetime) -> int:
        """Extend the owner's leases while it works; returns how many it still holds."""
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        return await self._db.execute(
            f"UPDATE sources SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})",
            (to_ts(until), owner, *ids),
        )

    async def release(self, owner: str, ids: Sequence[int] | None = None) -> int:
        """Give back the owner's leases (all, or those ids) without polling them."""
        sql, args = (
            "UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
            [owner],
        )
        if ids is not None:
            if not ids:
                return 0
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            args.extend(ids)
        return await self._db.execute(sql, args)

    async def record_results(
        self,
        db: Conn,
        now: datetime,
        *,
        oks: Sequence[tuple[int, datetime, str | None, str | None, str | None]] = (),
        fails: Sequence[tuple[int, str | None, datetime]] = (),
        moves: Sequence[tuple[int, str]] = (),
        floods: Sequence[tuple[int, str | None]] = (),
    ) -> None:
        """Store polls' outcomes inside the caller's transaction.

        ``oks``: (source id, next poll, etag, last-modified, new key mode or None);
        ``fails``: (source id, error sentence, next poll); ``moves``: (source id, new URL)
        after a permanent redirect; ``floods``: (source id, what a poll over the per-poll cap
        did, or None for a poll within it): a run of capped polls is one flood, dated by
        its first. A polled source's lease ends here.
        """
        stamp = to_ts(now)
        if oks:
            await db.executemany(
                "UPDATE sources SET last_polled = ?, last_success = ?, last_error = NULL,"
                " consecutive_failures = 0, next_poll = ?, etag = ?, last_modified = ?,"
                " key_mode = coalesce(?, key_mode), lease_owner = NULL, lease_until = NULL"
                " WHERE id = ?",
                [(stamp, stamp, to_ts(n), e, m, k, i) for i, n, e, m, k in oks],
            )
        if fails:
            await db.executemany(
                "UPDATE sources SET last_polled = ?, last_error = ?,"
                " consecutive_failures = consecutive_failures + 1, next_poll = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                [(stamp, error, to_ts(n), i) for i, error, n in fails],
            )
        flooded = [(stamp, note, i) for i, note in floods if note]
        if flooded:
            await db.executemany(
                "UPDATE sources SET flood_since = coalesce(flood_since, ?), flood_note = ?"
                " WHERE id = ?",
                flooded,
            )
        calm = [i for i, note in floods if not note]
        if calm:
            await db.execute(
                "UPDATE sources SET flood_since = NULL, flood_note = NULL"
                f" WHERE flood_since IS NOT NULL AND id IN ({','.join('?' * len(calm))})",
                calm,
            )
        if moves:
            # a permanent redirect moves the feed; keep the old URL if the new one is taken
            await db.executemany(
                "UPDATE sources SET url = ? WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM sources o WHERE o.url = ?)",
                [(u, i, u) for i, u in moves],
            )

    async def scope_owners(self, source_id: int) -> list[str]:
        rows = await self._db.fetch(
            "SELECT scope FROM source_scopes WHERE source_id = ?", (source_id,)
        )
        return [r[0] for r in rows]


def _full_text_code(full_text: bool | None) -> int:
    """sources.full_text: 1 every article page, -1 none, 0 teasers only (the default)."""
    return 0 if full_text is None else (1 if full_text else -1)
