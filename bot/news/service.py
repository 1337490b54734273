"""NewsService: the one entry point to the core. The command line and the bot use only this.

Build it with :meth:`NewsService.open` (it opens the store and, unless one is passed in, an
HTTP session it then owns) and stop it with :meth:`close`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bot.config import Config, SourceConfig
from bot.news.briefings import BriefingsMixin
from bot.news.cluster import HOLD, ClusterBatch, ClusterIndex, ClusterItem
from bot.news.defaults import DEFAULT_SOURCES
from bot.news.digest import arrange_digest
from bot.news.enrich import Enricher, group_tagging_input
from bot.news.fetch import USER_AGENT, Fetcher, FetchSettings
from bot.news.filtering import FilteringMixin
from bot.news.filters import Filters
from bot.news.llm import LLMCondenser
from bot.news.matcher import FilterSet, removed_counts, representatives
from bot.news.models import Digest, PollReport, Story
from bot.news.notices import NoticesMixin
from bot.news.operations import OperationsMixin
from bot.news.poll import Poller, Progress
from bot.news.retagging import RetagMixin
from bot.news.sources import SourcesMixin, host_name
from bot.news.store import GLOBAL, Store
from bot.news.subscriptions import SubscriptionsMixin
from bot.news.taxonomy import topic_names
from bot.news.topics import DEFAULT_TOPICS, Tagger, Topic, taxonomy_from_config
from bot.news.urls import canonical_url
from bot.news.worker import worker_name

log = logging.getLogger(__name__)

#: the lock that makes one process (of all sharing a PostgreSQL database) the clusterer
CLUSTER_LOCK = 0x636C7573  # "clus"
#: how long an in-process poll holds what it claimed (it is not renewed: a whole pass)
IN_PROCESS_LEASE = timedelta(minutes=30)

#: how long a thread may hold the GIL while another waits for it (see NewsService.open)
SWITCH_INTERVAL_S = 0.001


def utcnow() -> datetime:
    return datetime.now(UTC)


def fetch_settings(config: Config) -> FetchSettings:
    f = config.fetch
    return FetchSettings(
        timeout_s=f.timeout_s,
        connect_timeout_s=f.connect_timeout_s,
        max_bytes=f.max_bytes,
        concurrency=f.concurrency,
        per_host_concurrency=f.per_host_concurrency,
        user_agent=f.user_agent or USER_AGENT,
        allow_private_networks=f.allow_private_networks,
        allowed_hosts=tuple(h.lower() for h in f.allowed_hosts),
        max_new_per_poll=f.max_new_per_poll,
    )


def taxonomy(config: Config) -> tuple[Topic, ...]:
    t = config.taxonomy
    if t.mode == "default":
        return DEFAULT_TOPICS
    items = [dataclasses.asdict(x) for x in t.topics]
    return taxonomy_from_config(items, extend_default=t.mode == "extend")


class NewsService(
    SourcesMixin,
    SubscriptionsMixin,
    FilteringMixin,
    OperationsMixin,
    BriefingsMixin,
    RetagMixin,
    NoticesMixin,
):
    """The facade: sources, polling and reading here; subscriptions, operations, briefings,
    topic corrections and per-server notices in mixins."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        tagger: Tagger,
        clock: Callable[[], datetime] = utcnow,
        session: aiohttp.ClientSession | None = None,
        llm_session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.config = config
        self._llm_session = llm_session
        self.store = store
        self.fetcher = fetcher
        self.topics = tuple(tagger.topics)  # the taxonomy the tagger was built with
        self.topic_names = tuple(t.name for t in self.topics)
        self.tagger = tagger
        self.clock = clock
        self._owned_session = session
        self.enricher = Enricher(tagger)
        self._forget_clusters()
        self._cluster_lock = asyncio.Lock()
        self._cluster_leader = False
        self._poll_owner = f"poll:{worker_name()}"
        llm = None
        if config.llm.enabled and llm_session is not None:
            # the model endpoint is the admin's own choice (often a local Ollama), so it goes
            # through its own plain session rather than the feed fetcher's private-network guard
            llm = LLMCondenser(llm_session, config.llm, self.topic_names)
        self.poller = Poller(
            store,
            fetcher,
            self.enricher,
            cap=config.fetch.max_interval,
            clock=clock,
            llm=llm,
            articles=config.fetch.articles,
        )

    @classmethod
    async def open(
        cls,
        config: Config,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], datetime] = utcnow,
        sync: bool = True,
    ) -> NewsService:
        """Open the store, build the fetcher and tagger, and sync config sources into the store."""
        # The service runs CPU work (parsing, enrichment, clustering) and SQLite in threads
        # beside the event loop. Each time the loop gives up the GIL for a system call it
        # waits up to a switch interval to get it back from a busy thread: 5 ms by default,
        # which a poll pays thousands of times. 1 ms keeps the loop (and a Discord gateway
        # heartbeat on it) responsive; the threads' own throughput barely changes.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        store = await Store.open(config.storage.target, password=config.storage.password)
        owned = None
        try:
            settings = fetch_settings(config)
            if session is None:
                session = owned = Fetcher.make_session(settings)
            tagger = await asyncio.to_thread(
                Tagger, taxonomy(config), embeddings=config.taxonomy.embeddings
            )
            llm_session = aiohttp.ClientSession() if config.llm.enabled else None
            service = cls(
                config,
                store,
                Fetcher(session, settings),
                tagger=tagger,
                clock=clock,
                session=owned,
                llm_session=llm_session,
            )
            if sync:
                await service.sync_config()
        except BaseException:
            if owned is not None:
                await owned.close()
            await store.close()
            raise
        return service

    async def close(self) -> None:
        self.poller.close()
        if self._llm_session is not None:
            await self._llm_session.close()
        if self._owned_session is not None:
            await self._owned_session.close()
        await self.store.close()

    async def sync_config(self) -> None:
        """Config sources (or the built-in defaults) and webhook subscriptions into the store."""
        cfg = self.config
        wanted: Sequence[SourceConfig] = cfg.sources
        if not wanted and cfg.default_sources:
            wanted = DEFAULT_SOURCES
        now = self.clock()
        for sc in wanted:
            url = canonical_url(sc.url) or sc.url
            await self.store.sources.add(
                url=url,
                name=sc.name or host_name(url),
                interval=sc.interval or cfg.fetch.default_interval,
                backfill=sc.backfill,
                full_text=sc.full_text,
                scope=GLOBAL,
                now=now,
                from_config=True,
            )
        await self.store.sources.unsync_config([canonical_url(s.url) or s.url for s in wanted])
        await self.store.outbox.sync_config(
            [
                {
                    "webhook_url": str(s.webhook_url),
                    "schedule": s.schedule,
                    "timezone": s.timezone,
                    "topics": tuple(s.topics),
                }
                for s in cfg.subscriptions
            ],
            now,
        )
        await self._sync_config_filters(cfg.subscriptions)

    # ------------------------------------------------------------------ polling

    async def poll(
        self, *, due_only: bool = True, scope: str | None = None, progress: Progress | None = None
    ) -> PollReport:
        """One pass over the sources that are due (or all of them)."""
        now = self.clock()
        if due_only and self.store.engine == "postgresql" and scope is None:
            # workers may be polling too: claim what is due, as they do, so no source is
            # fetched twice (the poll's write ends each lease)
            sources = await self.store.sources.claim(
                self._poll_owner, now, limit=100_000, lease=IN_PROCESS_LEASE
            )
        elif due_only:
            sources = await self.store.sources.due(now, scope)
        else:
            sources = await self.store.sources.list(scope, with_counts=False)
        report = await self.poller.run(sources, progress)
        await self.cluster(report.new_story_ids)
        await self._prune_if_due()
        return report

    async def stale(self, *, scope: str | None = None) -> bool:
        return bool(await self.store.sources.due(self.clock(), scope))

    def _forget_clusters(self) -> None:
        """Start the clustering index afresh; the next pass reloads it from the store.

        Called when stories the index may hold leave the store (a removed source, or a
        retention shorter than the index's reach), and when this process becomes the one that
        clusters, so that it holds none that are gone and misses none placed elsewhere.
        """
        self._clusters = ClusterIndex()
        self._index_loaded = False

    async def cluster(self, new_ids: Sequence[int] = ()) -> None:
        """Place stories waiting for a cluster (``cluster_waiting``, from any worker) against
        the index of the last two windows.

        One process clusters at a time (with PostgreSQL, the one holding the clustering lock;
        the others only store); its index lives as long as the service, so a pass reads only
        the waiting stories (after a start, the whole recent past once).
        """
        async with self._cluster_lock:
            leader = await self.store.db.hold_lock(CLUSTER_LOCK)
            if not leader:
                self._cluster_leader = False
                return
            if not self._cluster_leader:
                self._forget_clusters()
                self._cluster_leader = True
            if not new_ids and not await self.store.stories.any_waiting():
                return
            await self._cluster_locked()

    async def _cluster_locked(self) -> None:
        since = self.clock() - HOLD
        index = self._clusters
        await asyncio.to_thread(index.forget_before, since)
        batch = index.batch()
        # a story is stored in a cluster of its own (its id) until it joins one; the few
        # stored otherwise are remembered, so that only real moves are written back
        stored: dict[int, int | None] = {}
        placed: list[int] = []
        try:
            async for chunk in self.store.stories.for_clustering(
                since, waiting_only=self._index_loaded
            ):
                new = [_cluster_item(r) for r in chunk if not r["clustered"]]
                known = [_cluster_item(r) for r in chunk if r["clustered"]]
                stored.update((i.id, i.cluster_id) for i in new if i.cluster_id != i.id)
                placed.extend(i.id for i in new)
                await asyncio.to_thread(_add_to_batch, batch, new, known)
            mapping = await asyncio.to_thread(batch.finish) if len(batch) else {}
        except BaseException:
            self._forget_clusters()  # a batch half taken in leaves the index's counts off
            raise
        self._index_loaded = True
        new_set = set(placed)
        # new stories that joined a cluster, and earlier ones that found one by being joined
        changes = [
            (story, cluster)
            for story, cluster in mapping.items()
            if story not in new_set or cluster != stored.get(story, story)
        ]
        async with self.store.transaction() as db:
            if changes:
                await self.store.stories.set_clusters(db, changes)
            await self.store.stories.mark_clustered(db, placed, older_than=since)
        if changes:  # a cluster that gained a story is tagged again from all of its text
            await self._tag_clusters({cluster for _, cluster in changes})

    async def _tag_clusters(
        self, cluster_ids: Iterable[int], fixed: Mapping[int, Sequence[str]] | None = None
    ) -> tuple[int, int]:
        """Tag each of these clusters that several stories share from all of their text,
        and give every story in it those topics (:meth:`_tag_groups`). ``fixed``: the
        operator's corrections, when the caller has them. Returns (stories read, changed)."""
        groups: dict[int, list[Any]] = {}
        rows = await self.store.stories.cluster_members(list(cluster_ids))
        for row in rows:
            groups.setdefault(row["cluster_id"], []).append(row)
        shared = [members for members in groups.values() if len(members) > 1]
        if not shared:
            return len(rows), 0
        if fixed is None:
            fixed = await self._global_corrections()
        return len(rows), await self._tag_groups(shared, fixed)

    async def _tag_groups(
        self, groups: Sequence[Sequence[Any]], fixed: Mapping[int, Sequence[str]]
    ) -> int:
        """Tag each group of stored stories (one story, or a cluster several share) from
        its text (:func:`group_tagging_input`) and give every story in it those topics;
        the operator's corrections (``fixed``) stand. Returns how many stories changed."""
        items = [
            group_tagging_input([(r["headline"], r["lead"], json.loads(r["points"])) for r in g])
            for g in groups
        ]
        # categories are unique within a story already: a story's own list stays as it is
        categories = [
            list(dict.fromkeys(c for r in g for c in json.loads(r["categories"]))) for g in groups
        ]
        tags = await asyncio.to_thread(self.enricher.retag, items, categories)
        updates = [
            (r["id"], fixed.get(r["id"], topics))
            for group, topics in zip(groups, tags, strict=True)
            for r in group
        ]
        async with self.store.transaction() as db:
            return await self.store.stories.set_topics(db, updates)

    # ------------------------------------------------------------------ reading

    def _resolve_topics(self, topics: Sequence[str]) -> tuple[list[str], str | None]:
        """Taxonomy names stay topics; anything else becomes a search query."""
        known, free = [], []
        for t in topics:
            name = t.strip().lower()
            if name in self.topic_names:
                known.append(name)
            elif t.strip():
                free.append(t.strip())
        return known, " ".join(free) or None

    async def search(
        self,
        query: str,
        *,
        scope: str | None = None,
        since: timedelta | None = None,
        topics: Sequence[str] = (),
        limit: int = 20,
        offset: int = 0,
    ) -> list[Story]:
        start = self.clock() - since if since else None
        return await self.store.stories.search(
            query, scope=scope, since=start, topics=topics, limit=limit, offset=offset
        )

    async def stories(
        self,
        *,
        scope: str | None = None,
        topic: str | None = None,
        source: str | None = None,
        since: timedelta = timedelta(days=7),
        limit: int = 50,
    ) -> list[Story]:
        source_id = (await self.store.sources.find(source, scope)).id if source else None
        topics = topic_names([topic] if topic else [], self.topic_names)
        return await self.store.stories.recent(
            scope=scope, since=self.clock() - since, topics=topics, source_id=source_id, limit=limit
        )

    async def digest(
        self,
        *,
        scope: str | None = None,
        topics: Sequence[str] = (),
        since: timedelta | None = None,
        limit: int | None = None,
        exclude_posted_to: str | None = None,
        announce_only: bool = False,
        widen: bool = True,
        filters: Filters | None = None,
    ) -> Digest:
        """The condensed briefing for a window, grouped into topic sections.

        ``filters`` are applied before ranking; ``Digest.removed`` says what each removed.
        """
        now = self.clock()
        since = since or self.config.digest.default_since
        limit = limit or self.config.digest.limit
        wanted, query = self._resolve_topics(topics)
        notice = None
        matcher = FilterSet(filters) if filters else None
        stories = await self._select(
            scope, wanted, query, now - since, exclude_posted_to, announce_only
        )
        shown, removed = representatives(stories, matcher)
        if not shown and widen and since < timedelta(days=7):
            stories = await self._select(
                scope, wanted, query, now - timedelta(days=7), exclude_posted_to, announce_only
            )
            wider, wider_removed = representatives(stories, matcher)
            if wider:
                shown, removed = wider, wider_removed
                notice = f"Nothing new in the last {_human(since)}; showing the last 7 days."
                since = timedelta(days=7)
        title = self.config.digest.title
        if wanted:
            title += " · " + ", ".join(_topic_title(self.topics, t) for t in wanted)
        if query:
            title += f" · “{query}”"
        digest = arrange_digest(
            shown,
            topics=self.topics,
            now=now,
            since=now - since,
            limit=matcher.lead_limit(limit) if matcher else limit,
            wanted_topics=wanted,
            title=title,
            notice=notice,
        )
        return dataclasses.replace(digest, removed=removed_counts(removed))

    async def _select(self, scope, wanted, query, start, exclude, announce_only) -> list[Story]:
        # a scope with corrections sees other topics than the stored ones: its topic filter
        # is applied after its corrections, to the window's stories
        corrected = await self.has_corrections(scope)
        in_sql = () if corrected else wanted
        if query:
            stories = await self.store.stories.search(
                query, scope=scope, since=start, topics=in_sql, limit=200
            )
        else:
            stories = await self.store.stories.recent(
                scope=scope,
                since=start,
                topics=in_sql,
                exclude_target=exclude,
                announce_only=announce_only,
                limit=2000,
            )
        if not corrected:
            return stories
        stories = await self.with_corrections(stories, scope)
        if wanted:
            stories = [s for s in stories if set(s.topics) & set(wanted)]
        return stories

    async def topic_counts(
        self, *, scope: str | None = None, since: timedelta = timedelta(days=7)
    ) -> list[tuple[Topic, int]]:
        counts = await self.store.stories.topic_counts(scope=scope, since=self.clock() - since)
        return [(t, counts.get(t.name, 0)) for t in self.topics]

    async def retag(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Tag every stored story again with the current taxonomy; returns how many changed.

        Tagging reads what it read at ingest and clustering (headline, lead and points; a
        cluster several stories share, all of theirs), so a retag with an unchanged
        taxonomy changes nothing. Stories are read a page at a time.
        """
        total = await self.store.stories.count()
        fixed = await self._global_corrections()
        shared: set[int] = set()
        after = 0
        while page := await self.store.stories.shared_clusters(after_id=after):
            shared.update(page)
            after = page[-1]
        changed = done = last = 0
        while rows := await self.store.stories.for_retag(after_id=last):
            # the operator's corrections stand whatever the taxonomy now says
            alone = [[r] for r in rows if r["cluster_id"] not in shared]
            changed += await self._tag_groups(alone, fixed) if alone else 0
            done, last = done + len(alone), rows[-1]["id"]
            if progress:
                progress(min(done, total), total)
        ordered = sorted(shared)
        for start in range(0, len(ordered), 200):
            read, retagged = await self._tag_clusters(ordered[start : start + 200], fixed)
            changed, done = changed + retagged, done + read
            if progress:
                progress(min(done, total), total)
        return changed


def _topic_title(topics: Sequence[Topic], name: str) -> str:
    for t in topics:
        if t.name == name:
            return t.title
    return name


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:g} hours"
    return f"{hours / 24:g} days"


def _add_to_batch(batch: ClusterBatch, new: list[ClusterItem], known: list[ClusterItem]) -> None:
    batch.add(known, new=False)
    batch.add(new, new=True)


def _cluster_item(row: Mapping[str, Any]) -> ClusterItem:
    return ClusterItem(
        id=row["id"],
        source_id=row["source_id"],
        published=datetime.fromtimestamp(row["published"], UTC),
        text=f"{row['headline']} {row['lead']}",
        cluster_id=row["cluster_id"],
    )
