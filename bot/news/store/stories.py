"""SQL for stories: identity look-ups, batched ingest, search, selection for digests."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.news.errors import QueryError
from bot.news.models import Condensed, ParsedEntry, Story
from bot.news.store.db import from_ts, to_ts
from bot.news.store.dialect import SQLITE, Dialect
from bot.news.store.engine import Conn, Database, Row
from bot.news.store.sources import visible_scopes

_STORY_COLUMNS = (
    "st.id, st.source_id, so.name AS source_name, st.url, st.title, st.published, st.first_seen,"
    " st.headline, st.lead, st.points, st.topics, st.image, st.author, st.cluster_id"
)


@dataclass(slots=True)
class Candidate:
    """A parsed entry that may be new or edited, with its key, hash and (maybe) enrichment."""

    key: str
    entry: ParsedEntry
    hash: str
    text: str = ""
    condensed: Condensed | None = None
    topics: tuple[str, ...] = ()
    backlog: bool = False


@dataclass(slots=True)
class IngestOutcome:
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)


def _story(row: Row, *, text: str = "", snippet: str = "", **extra) -> Story:
    return Story(
        id=row["id"],
        source_id=row["source_id"],
        source_name=row["source_name"],
        url=row["url"],
        title=row["title"],
        published=from_ts(row["published"]),
        first_seen=from_ts(row["first_seen"]),
        headline=row["headline"] or row["title"],
        lead=row["lead"],
        points=tuple(json.loads(row["points"])),
        topics=tuple(json.loads(row["topics"])),
        image=row["image"],
        author=row["author"],
        cluster_id=row["cluster_id"],
        text=text,
        snippet=snippet,
        **extra,
    )


_Outlets = tuple[dict[int, int], dict[int, list[tuple[int, str]]]]


def _outlet_fields(outlets: _Outlets, cluster_id: int | None, source_id: int) -> dict:
    """``also_covered_by`` and ``other_outlets`` for a story of that cluster and source."""
    counts, named = outlets
    count = counts.get(cluster_id, 0)
    if count < 2:
        return {}
    others = [n for i, n in named.get(cluster_id, ()) if i != source_id]
    return {
        "also_covered_by": tuple(dict.fromkeys(others[:NAMED_OUTLETS])),
        "other_outlets": count - 1,
    }


#: outlets named with a story (the rest are counted)
NAMED_OUTLETS = 10

#: how many of the newest matching stories a search ranks: about two weeks of a big
#: server's stories for a common word (ranking costs ~5 µs a match; 4,000 put the
#: slowest common-word searches past 25 ms over 100k stories on a slow machine)
SEARCH_WINDOW = 2_500

#: a body at least this long, with the same title, is the same story under another URL;
#: shorter ones ("Podcast", no text) are too generic to merge on
MIN_TWIN_BODY = 100

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str, *, prefix: bool = True, dialect: Dialect = SQLITE) -> str:
    """User text -> a safe match expression: every word required, the last one as a prefix
    (when ``prefix`` and it has three letters or more).

    Nothing the user types reaches the engine's query syntax (no NEAR, column filters, stray
    quotes or operators); a query with no words at all is refused with a sentence.
    """
    words = _WORD.findall(text.lower())[:12]
    if not words:
        raise QueryError("type one or more words to search for (letters or digits)")
    return dialect.search_query(words, prefix=prefix and len(words[-1]) >= 3)


class StoryTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ identity

    async def known(
        self, source_id: int, keys: Sequence[str], *, db: Conn | None = None
    ) -> dict[str, tuple[int | None, str]]:
        """key -> (story id, or None for a tombstone; content hash) for keys seen before."""
        out: dict[str, tuple[int | None, str]] = {}
        for chunk in _chunks(keys, 500):
            marks = ",".join("?" * len(chunk))
            rows = await (db or self._db).fetch(
                f"SELECT k.key, k.story_id, st.content_hash FROM story_keys k"
                f" LEFT JOIN stories st ON st.id = k.story_id"
                f" WHERE k.source_id = ? AND k.key IN ({marks})",
                (source_id, *chunk),
            )
            for key, story_id, digest in rows:
                out[key] = (story_id, digest or "")
        return out

    async def ingest(
        self,
        db: Conn,
        source_id: int,
        candidates: Sequence[Candidate],
        now: datetime,
    ) -> IngestOutcome:
        """Write a source's candidates inside the caller's transaction.

        Known keys with a changed hash are edits (updated in place, never reposted); tombstoned
        keys are ignored; a URL another source already brought is the same story seen twice,
        and this source is credited as one more outlet of it. When two workers bring the same
        URL at the same moment, the ``story_urls`` key decides: the loser's row is dropped and
        its key points at the winner's story.
        """
        outcome = IngestOutcome()
        if not candidates:
            return outcome
        known = await self.known(source_id, [c.key for c in candidates], db=db)
        fresh = [c for c in candidates if c.key not in known]
        by_url = await _story_ids_by_url(db, {c.entry.link for c in fresh if c.entry.link})
        by_hash: dict[str, int] = {}  # the same title and body again under another key
        hashes = list({c.hash for c in fresh})
        for chunk in _chunks(hashes, 500):
            marks = ",".join("?" * len(chunk))
            rows = await db.fetch(
                f"SELECT content_hash, min(id) FROM stories WHERE source_id = ?"
                f" AND content_hash IN ({marks}) GROUP BY content_hash",
                (source_id, *chunk),
            )
            by_hash.update({h: i for h, i in rows})

        # which candidates are new stories, and which are another key for a known one
        new: list[Candidate] = []
        seen_keys: set[str] = set()
        reuse: dict[str, int] = {}  # key -> an existing story's id
        pending_url: dict[str, Candidate] = {}
        pending_hash: dict[str, Candidate] = {}
        alias: dict[str, Candidate] = {}  # key -> the new candidate it repeats
        for cand in fresh:
            if cand.key in seen_keys:  # a duplicate within one fetch
                continue
            seen_keys.add(cand.key)
            link = cand.entry.link
            same = by_url.get(link) if link else None
            twin = len(cand.entry.content_html) >= MIN_TWIN_BODY
            if same is None and twin:
                same = by_hash.get(cand.hash)
            if same is not None:
                reuse[cand.key] = same
                continue
            earlier = pending_url.get(link) if link else None
            if earlier is None and twin:
                earlier = pending_hash.get(cand.hash)
            if earlier is not None:
                alias[cand.key] = earlier
                continue
            new.append(cand)
            if link:
                pending_url[link] = cand
            pending_hash[cand.hash] = cand

        ids = await db.dialect.reserve_ids(db, "stories", len(new))
        id_of = {c.key: i for c, i in zip(new, ids, strict=True)}
        stamp = to_ts(now)
        story_rows = []
        for cand in new:
            e, cd = cand.entry, cand.condensed or Condensed(cand.entry.title, "")
            story_id = id_of[cand.key]
            story_rows.append(
                (
                    story_id,
                    source_id,
                    e.link,
                    e.guid,
                    e.title,
                    to_ts(e.published),
                    to_ts(e.updated),
                    int(e.date_estimated),
                    stamp,
                    e.author,
                    e.content_html,
                    cand.text,
                    json.dumps(list(e.categories)),
                    e.image,
                    cd.headline,
                    cd.lead,
                    json.dumps(list(cd.points)),
                    json.dumps(list(cand.topics)),
                    cand.hash,
                    story_id,
                    int(cand.backlog),
                )
            )
        if story_rows:
            await db.executemany(
                "INSERT INTO stories (id, source_id, url, guid, title, published, updated,"
                " date_estimated, first_seen, author, content_html, text, categories, image,"
                " headline, lead, points, topics, content_hash, cluster_id, backlog)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                story_rows,
            )
        # claim the URLs: a concurrent worker that stored one first wins it
        lost = await _claim_urls(db, {c.entry.link: id_of[c.key] for c in new if c.entry.link})
        if lost:
            dropped = set(lost.values())
            await db.executemany("DELETE FROM stories WHERE id = ?", [(i,) for i in dropped])
            winners = await _story_ids_by_url(db, set(lost))
            for cand in new:
                if cand.entry.link in lost:
                    reuse[cand.key] = winners[cand.entry.link]
                    del id_of[cand.key]
            new = [c for c in new if c.key in id_of]
            story_rows = [r for r in story_rows if r[0] not in dropped]
        for key, cand in alias.items():
            if cand.key in id_of:
                id_of[key] = id_of[cand.key]
            else:
                reuse[key] = reuse[cand.key]

        key_rows = [(source_id, k, i) for k, i in id_of.items()]
        key_rows += [(source_id, k, i) for k, i in reuse.items()]
        topic_rows = [(t, id_of[c.key], r) for c in new for r, t in enumerate(c.topics)]
        outcome.new_ids.extend(id_of[c.key] for c in new)
        if story_rows:
            # each new story waits for the clusterer (whichever process holds that role)
            await db.executemany(
                "INSERT INTO cluster_waiting (story_id) VALUES (?)", [(r[0],) for r in story_rows]
            )
            await db.executemany(
                "INSERT INTO cluster_outlets (cluster_id, source_id, first)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(row[0], row[1], row[5]) for row in story_rows],
            )
        if reuse:
            # this source is one more outlet of a story another source brought first
            await db.executemany(
                "INSERT INTO cluster_outlets (cluster_id, source_id, first)"
                " SELECT cluster_id, ?, published FROM stories"
                " WHERE id = ? AND cluster_id IS NOT NULL ON CONFLICT DO NOTHING",
                [(source_id, i) for i in sorted(set(reuse.values()))],
            )
        if key_rows:
            await db.executemany(
                "INSERT INTO story_keys (source_id, key, story_id) VALUES (?,?,?)"
                " ON CONFLICT DO NOTHING",
                key_rows,
            )
        if topic_rows:
            await db.executemany(
                "INSERT INTO story_topics (topic, story_id, rank) VALUES (?,?,?)"
                " ON CONFLICT DO NOTHING",
                topic_rows,
            )

        edits = []
        for cand in candidates:
            story_id, digest = known.get(cand.key, (None, None))
            if story_id is None or digest == cand.hash or cand.condensed is None:
                continue
            e, cd = cand.entry, cand.condensed
            edits.append(
                (
                    e.title,
                    e.content_html,
                    cand.text,
                    cd.headline,
                    cd.lead,
                    json.dumps(list(cd.points)),
                    json.dumps(list(cand.topics)),
                    cand.hash,
                    to_ts(e.updated or now),
                    e.image,
                    story_id,
                )
            )
            outcome.updated_ids.append(story_id)

        if edits:
            await db.executemany(
                "UPDATE stories SET title = ?, content_html = ?, text = ?, headline = ?, lead = ?,"
                " points = ?, topics = ?, content_hash = ?, updated = ?, image = coalesce(?, image)"
                " WHERE id = ?",
                edits,
            )
            await db.executemany(
                "DELETE FROM story_topics WHERE story_id = ?", [(e[-1],) for e in edits]
            )
            await db.executemany(
                "INSERT INTO story_topics (topic, story_id, rank) VALUES (?,?,?)"
                " ON CONFLICT DO NOTHING",
                [(t, e[-1], r) for e in edits for r, t in enumerate(json.loads(e[6]))],
            )
        return outcome

    # ------------------------------------------------------------------ reading

    async def by_ids(self, ids: Sequence[int], *, with_text: bool = False) -> list[Story]:
        if not ids:
            return []
        out: dict[int, Story] = {}
        extra = ", st.text" if with_text else ""
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetch(
                f"SELECT {_STORY_COLUMNS}{extra} FROM stories st"
                " JOIN sources so ON so.id = st.source_id"
                f" WHERE st.id IN ({marks})",
                chunk,
            )
            for row in rows:
                out[row["id"]] = _story(row, text=row["text"] if with_text else "")
        return [out[i] for i in ids if i in out]

    async def in_cluster(self, story_id: int, *, scope: str | None, limit: int = 50) -> list[Story]:
        """The story, then the others of its cluster visible in ``scope`` (earliest first),
        with their text; [] when the story is unknown or not visible there."""
        where, args = self._scope_filter(scope)
        select = (
            f"SELECT {_STORY_COLUMNS}, st.text FROM stories st"
            " JOIN sources so ON so.id = st.source_id WHERE "
        )
        row = await self._db.fetchone(select + f"st.id = ?{where}", (story_id, *args))
        if row is None:
            return []
        first = _story(row, text=row["text"] or "")
        if first.cluster_id is None:
            return [first]
        rows = await self._db.fetch(
            select + f"st.cluster_id = ? AND st.id != ?{where} ORDER BY st.published, st.id"
            " LIMIT ?",
            (first.cluster_id, story_id, *args, limit - 1),
        )
        return [first, *(_story(r, text=r["text"] or "") for r in rows)]

    def _scope_filter(self, scope: str | None) -> tuple[str, tuple]:
        scopes = visible_scopes(scope)
        if scopes is None:
            return "", ()
        marks = ",".join("?" * len(scopes))
        return (
            f" AND st.source_id IN (SELECT source_id FROM source_scopes WHERE scope IN ({marks}))",
            scopes,
        )

    async def search(
        self,
        query: str,
        *,
        scope: str | None,
        since: datetime | None,
        topics: Sequence[str] = (),
        limit: int = 20,
        offset: int = 0,
    ) -> list[Story]:
        """BM25-ranked (title weighted 10x text) among the newest matches.

        News search favours what is recent: only the newest ``SEARCH_WINDOW`` stories that
        match are ranked. Ranking every match of a common word across the whole store would
        cost hundreds of milliseconds; FTS5 walks its matches newest first and stops there.
        """
        dialect = self._db.dialect
        exact = fts_query(query, prefix=False, dialect=dialect)
        where, args = self._scope_filter(scope)
        if since is not None:
            where += " AND st.published >= ?"
            args = (*args, to_ts(since))
        if topics:
            where, args = where + _topic_filter(topics), (*args, *topics)
        wanted = limit + offset
        sql = dialect.search_sql(where)
        ids = [
            r[0]
            for r in await self._db.fetch_planned_for(sql, (exact, *args, SEARCH_WINDOW, wanted))
        ]
        # The last word as a prefix too ("anthrop" finds Anthropic), only when whole words
        # do not fill the page: a common word's prefix spans many terms and costs twice.
        match = fts_query(query, dialect=dialect)
        if len(ids) < wanted and match != exact:
            rows = await self._db.fetch_planned_for(sql, (match, *args, SEARCH_WINDOW, wanted))
            ids = [r[0] for r in rows]
        ids = ids[offset:wanted]
        stories = await self.by_ids(ids, with_text=True)
        words = _WORD.findall(query.lower())
        outlets = await self._outlets({s.cluster_id for s in stories})
        return [
            _replace(
                s,
                snippet=make_snippet(s.text, words) or s.lead,
                text="",
                **_outlet_fields(outlets, s.cluster_id, s.source_id),
            )
            for s in stories
        ]

    async def recent(
        self,
        *,
        scope: str | None,
        since: datetime,
        until: datetime | None = None,
        topics: Sequence[str] = (),
        source_id: int | None = None,
        exclude_target: str | None = None,
        announce_only: bool = False,
        limit: int = 500,
    ) -> list[Story]:
        """Stories published in the window, newest first, with cluster-mates' outlets filled in."""
        where, args = self._scope_filter(scope)
        where += " AND st.published >= ?"
        args = (*args, to_ts(since))
        if until is not None:
            where += " AND st.published <= ?"
            args = (*args, to_ts(until))
        if topics:
            where, args = where + _topic_filter(topics), (*args, *topics)
        if source_id is not None:
            where += " AND st.source_id = ?"
            args = (*args, source_id)
        if exclude_target is not None:
            items, value = self._db.dialect.json_ints("d.cluster_ids")
            where += (
                " AND st.cluster_id NOT IN (SELECT cluster_id FROM posted WHERE target = ?)"
                f" AND st.cluster_id NOT IN (SELECT {value} FROM deliveries d, {items}"
                " WHERE d.target = ? AND d.status = 'pending')"
            )
            args = (*args, exclude_target, exclude_target)
        if announce_only:
            where += " AND st.backlog = 0"
        rows = await self._db.fetch(
            f"SELECT {_STORY_COLUMNS} FROM stories st JOIN sources so ON so.id = st.source_id"
            f" WHERE 1 = 1{where} ORDER BY st.published DESC, st.id DESC LIMIT ?",
            (*args, limit),
        )
        # the outlets are looked up first, so each story is built once, complete
        outlets = await self._outlets({r["cluster_id"] for r in rows})
        return [_story(r, **_outlet_fields(outlets, r["cluster_id"], r["source_id"])) for r in rows]

    async def _outlets(self, clusters: set[int | None]) -> _Outlets:
        """Per cluster of more than one outlet: how many outlets, and the first few by name."""
        clusters.discard(None)
        counts: dict[int, int] = {}
        named: dict[int, list[tuple[int, str]]] = {}  # cluster -> (source id, name), earliest first
        for chunk in _chunks(sorted(clusters), 500):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetch(
                f"SELECT cluster_id, count(*) FROM cluster_outlets WHERE cluster_id IN ({marks})"
                " GROUP BY cluster_id HAVING count(*) > 1",
                chunk,
            )
            counts.update({c: n for c, n in rows})
        for chunk in _chunks(sorted(counts), 500):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetch(
                "SELECT c.cluster_id, c.source_id, so.name FROM ("
                " SELECT cluster_id, source_id, row_number() OVER"
                " (PARTITION BY cluster_id ORDER BY first, source_id) AS n FROM cluster_outlets"
                f" WHERE cluster_id IN ({marks})"
                f") c JOIN sources so ON so.id = c.source_id WHERE c.n <= {NAMED_OUTLETS + 1}"
                " ORDER BY c.cluster_id, c.n",
                chunk,
            )
            for cluster_id, source_id, name in rows:
                named.setdefault(cluster_id, []).append((source_id, name))
        return counts, named

    async def set_topics(self, db: Conn, updates: Sequence[tuple[int, Sequence[str]]]) -> int:
        """Store new topics (story id, topics best first); returns how many stories changed."""
        changed = 0
        for story_id, topics in updates:
            encoded = json.dumps(list(topics))
            if await db.execute(
                "UPDATE stories SET topics = ? WHERE id = ? AND topics != ?",
                (encoded, story_id, encoded),
            ):
                changed += 1
                await db.execute("DELETE FROM story_topics WHERE story_id = ?", (story_id,))
                await db.executemany(
                    "INSERT INTO story_topics (topic, story_id, rank) VALUES (?, ?, ?)",
                    [(t, story_id, i) for i, t in enumerate(topics)],
                )
        return changed

    async def set_clusters(self, db: Conn, changes: Sequence[tuple[int, int]]) -> None:
        """Move stories (story id, cluster id) into clusters, keeping cluster_outlets in step.

        Outlets credited to the story's old cluster (another source that brought the same
        link) move with it."""
        await db.executemany(
            "UPDATE stories SET cluster_id = ? WHERE id = ?", [(c, s) for s, c in changes]
        )
        least = db.dialect.least("cluster_outlets.first", "excluded.first")
        moved = [(s, c) for s, c in changes if s != c]
        # a story that joined another cluster leaves the one-story cluster it founded; the
        # outlets credited there (the same link from another source) come along
        await db.executemany(
            "INSERT INTO cluster_outlets (cluster_id, source_id, first)"
            " SELECT CAST(? AS BIGINT), source_id, first FROM cluster_outlets WHERE cluster_id = ?"
            f" ON CONFLICT (cluster_id, source_id) DO UPDATE SET first = {least}",
            [(c, s) for s, c in moved],
        )
        await db.executemany(
            "DELETE FROM cluster_outlets WHERE cluster_id = ?", [(s,) for s, c in moved]
        )
        await db.executemany(
            "INSERT INTO cluster_outlets (cluster_id, source_id, first)"
            " SELECT CAST(? AS BIGINT), source_id, published FROM stories WHERE id = ?"
            f" ON CONFLICT (cluster_id, source_id) DO UPDATE SET first = {least}",
            [(c, s) for s, c in changes],
        )

    async def topic_counts(self, *, scope: str | None, since: datetime) -> dict[str, int]:
        where, args = self._scope_filter(scope)
        rows = await self._db.fetch(
            "SELECT t.topic, count(*) FROM story_topics t JOIN stories st ON st.id = t.story_id"
            f" WHERE st.published >= ?{where} GROUP BY t.topic",
            (to_ts(since), *args),
        )
        return {r[0]: r[1] for r in rows}

    async def count(self) -> int:
        return await self._db.fetchval("SELECT count(*) FROM stories")

    async def for_clustering(
        self, since: datetime, *, waiting_only: bool, chunk: int = 2000
    ) -> AsyncIterator[list[Row]]:
        """Stories published since ``since``, ``chunk`` rows at a time (the first poll of many
        sources brings tens of thousands): all of them (to fill an empty index), or only
        those still waiting to be placed (in ``cluster_waiting``), whichever worker stored
        them. ``clustered`` says which is which."""
        join = "JOIN" if waiting_only else "LEFT JOIN"
        async for rows in self._db.stream(
            "SELECT st.id, st.source_id, st.published, st.headline, st.lead, st.cluster_id,"
            " (w.story_id IS NULL) AS clustered FROM stories st"
            f" {join} cluster_waiting w ON w.story_id = st.id"
            " WHERE st.published >= ? ORDER BY st.id",
            (to_ts(since),),
            chunk=chunk,
        ):
            yield rows

    async def mark_clustered(self, db: Conn, ids: Sequence[int], *, older_than: datetime) -> None:
        """The stories a clustering pass placed are done; so are waiting ones too old to
        cluster (an old item first seen today), which no pass would ever read."""
        for chunk in _chunks(sorted(ids), 500):
            marks = ",".join("?" * len(chunk))
            await db.execute(f"DELETE FROM cluster_waiting WHERE story_id IN ({marks})", chunk)
        await db.execute(
            "DELETE FROM cluster_waiting WHERE story_id IN (SELECT w.story_id FROM"
            " cluster_waiting w JOIN stories st ON st.id = w.story_id WHERE st.published < ?)",
            (to_ts(older_than),),
        )

    async def any_waiting(self) -> bool:
        """Whether a story waits to be clustered."""
        return await self._db.fetchone("SELECT story_id FROM cluster_waiting LIMIT 1") is not None

    async def visible(self, story_id: int, scope: str | None) -> Story | None:
        """One story, if a source ``scope`` sees brought it (None: any source)."""
        where, args = self._scope_filter(scope)
        row = await self._db.fetchone(
            f"SELECT {_STORY_COLUMNS} FROM stories st JOIN sources so ON so.id = st.source_id"
            f" WHERE st.id = ?{where}",
            (story_id, *args),
        )
        return _story(row) if row is not None else None

    async def cluster_members(self, cluster_ids: Sequence[int]) -> list[Row]:
        """What tagging reads of every story in these clusters (headline, lead, points,
        categories), by cluster and then oldest first."""
        rows: list[Row] = []
        for chunk in _chunks(sorted(set(cluster_ids)), 500):
            marks = ",".join("?" * len(chunk))
            rows += await self._db.fetch(
                "SELECT id, cluster_id, headline, lead, points, categories FROM stories"
                f" WHERE cluster_id IN ({marks}) ORDER BY cluster_id, published, id",
                chunk,
            )
        return rows

    async def shared_clusters(self, *, after_id: int, limit: int = 500) -> list[int]:
        """The next clusters (by id) that more than one story shares."""
        rows = await self._db.fetch(
            "SELECT cluster_id FROM stories WHERE cluster_id > ? GROUP BY cluster_id"
            " HAVING COUNT(*) > 1 ORDER BY cluster_id LIMIT ?",
            (after_id, limit),
        )
        return [r[0] for r in rows]

    async def for_retag(self, *, after_id: int, limit: int = 500) -> list[Row]:
        """The next stories by id, with what tagging reads: headline, lead, points and the
        feed's categories."""
        return await self._db.fetch(
            "SELECT id, cluster_id, headline, lead, points, categories FROM stories"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )


async def _story_ids_by_url(db: Conn, urls: set[str]) -> dict[str, int]:
    """url -> the story that link belongs to, for links already stored."""
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(urls), 500):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetch(f"SELECT url, story_id FROM story_urls WHERE url IN ({marks})", chunk)
        out.update({u: i for u, i in rows})
    return out


async def _claim_urls(db: Conn, claims: dict[str, int]) -> dict[str, int]:
    """Record each new story's link; returns the links someone else claimed first
    (url -> our story id, now to drop). Sorted, so two workers lock links in one order."""
    won: set[str] = set()
    for chunk in _chunks(sorted(claims), 400):
        values = ",".join("(?, ?)" * 1 for _ in chunk)
        args = [x for url in chunk for x in (url, claims[url])]
        rows = await db.fetch(
            f"INSERT INTO story_urls (url, story_id) VALUES {values}"
            " ON CONFLICT (url) DO NOTHING RETURNING url",
            args,
        )
        won.update(r[0] for r in rows)
    return {u: i for u, i in claims.items() if u not in won}


def _topic_filter(topics: Sequence[str]) -> str:
    marks = ",".join("?" * len(topics))
    # EXISTS walks the window newest first; IN would build the set of every tagged story
    return (
        " AND EXISTS (SELECT 1 FROM story_topics t WHERE t.story_id = st.id"
        f" AND t.topic IN ({marks}))"
    )


def make_snippet(text: str, words: Sequence[str], width: int = 160) -> str:
    """The part of the text around the first query word, cut at word boundaries."""
    if not text:
        return ""
    lowered = text.lower()
    hits = [i for i in (lowered.find(w) for w in words) if i >= 0]
    if not hits:
        return text[:width].rsplit(" ", 1)[0] + ("…" if len(text) > width else "")
    start = max(0, min(hits) - width // 3)
    if start:
        start = text.find(" ", start) + 1 or start
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    piece = " ".join(text[start:end].split())
    return ("…" if start else "") + piece + ("…" if end < len(text) else "")


def _replace(story: Story, **changes) -> Story:
    from dataclasses import replace

    return replace(story, **changes)


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
