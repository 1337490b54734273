"""NewsService: the one entry point to the core. The command line and the bot use only this.

Build it with :meth:`NewsService.open` (it opens the store and, unless one is passed in, an
HTTP session it then owns) and stop it with :meth:`close`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from bot import __version__
from bot.config import Config, SourceConfig
from bot.news.cluster import ClusterItem, assign_clusters
from bot.news.defaults import DEFAULT_SOURCES
from bot.news.digest import arrange_digest, pick_representatives
from bot.news.discover import find_feed_links
from bot.news.enrich import Enricher
from bot.news.errors import FetchError, InvalidURLError, NewsError, NotAFeedError, ParseError
from bot.news.fetch import USER_AGENT, Fetcher, FetchSettings
from bot.news.llm import LLMCondenser, LLMSettings
from bot.news.models import Digest, PollReport, Source, Story
from bot.news.opml import read_opml, write_opml
from bot.news.parse import parse_feed
from bot.news.poll import Poller, Progress
from bot.news.schedules import parse_schedule
from bot.news.store import GLOBAL, Delivery, Store, Subscription
from bot.news.store.db import to_ts
from bot.news.topics import DEFAULT_TOPICS, Tagger, Topic, taxonomy_from_config
from bot.news.urls import canonical_url

log = logging.getLogger(__name__)

CLUSTER_WINDOW = timedelta(hours=48)
HEARTBEAT_KEY = "heartbeat"
PRUNE_KEY = "last_prune"
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class AddedSource:
    source: Source
    #: a sentence for the user when the URL was a page and a feed was found on it
    note: str | None
    report: PollReport


@dataclass(frozen=True)
class ImportReport:
    added: tuple[Source, ...]
    skipped: tuple[tuple[str, str], ...]  # (url, reason)


@dataclass(frozen=True)
class Status:
    version: str
    sources_ok: int
    sources_failing: tuple[Source, ...]
    sources_total: int
    stories: int
    last_poll: datetime | None
    subscriptions: tuple[tuple[Subscription, datetime | None], ...]


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
    )


def taxonomy(config: Config) -> tuple[Topic, ...]:
    t = config.taxonomy
    if t.mode == "default":
        return DEFAULT_TOPICS
    items = [dataclasses.asdict(x) for x in t.topics]
    return taxonomy_from_config(items, extend_default=t.mode == "extend")


class NewsService:
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
        self.topics = tagger_topics = tuple(tagger_topics_of(tagger, config))
        self.topic_names = tuple(t.name for t in tagger_topics)
        self.tagger = tagger
        self.clock = clock
        self._owned_session = session
        self.enricher = Enricher(tagger)
        llm = None
        if config.llm.enabled and llm_session is not None:
            # the model endpoint is the admin's own choice (often a local Ollama), so it goes
            # through its own plain session rather than the feed fetcher's private-network guard
            llm = LLMCondenser(
                llm_session, LLMSettings(**dataclasses.asdict(config.llm)), self.topic_names
            )
        self.poller = Poller(
            store, fetcher, self.enricher, cap=config.fetch.max_interval, clock=clock, llm=llm
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
        store = await Store.open(config.storage.path)
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
                name=sc.name or _host_name(url),
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

    # ------------------------------------------------------------------ sources

    async def add_source(
        self,
        url: str,
        *,
        scope: str = GLOBAL,
        name: str | None = None,
        interval: timedelta | None = None,
        backfill: int = 0,
        full_text: bool = False,
    ) -> AddedSource:
        """Fetch the URL once to confirm it is a feed (or a page naming one); add and ingest it."""
        feed_url, result, parsed, note = await self._resolve_feed(url)
        existing = await self.store.sources.by_url(feed_url)
        source, created = await self.store.sources.add(
            url=feed_url,
            name=(name or parsed.title or _host_name(feed_url)).strip()[:100],
            interval=interval or self.config.fetch.default_interval,
            backfill=backfill,
            full_text=full_text,
            scope=scope,
            now=self.clock(),
        )
        report = PollReport()
        if created or existing is None:
            outcome = await self.poller.poll_source(source, result=result)
            totals = {"ok": 0, "nm": 0, "failed": 0, "new": [], "updated": 0, "failures": []}
            await self.poller.write([outcome], totals)
            await self._cluster(totals["new"])
            report = PollReport(ok=1, new_stories=len(totals["new"]))
            source = await self.store.sources.get(source.id) or source
        return AddedSource(source, note, report)

    async def _resolve_feed(self, url: str):
        clean = canonical_url(url.strip())
        if not clean:
            raise InvalidURLError(f"{url!r} is not an http(s) URL")
        result = await self.fetcher.fetch(clean)
        now = self.clock()
        try:
            parsed = await asyncio.to_thread(
                parse_feed, result.body, url=result.url, headers=result.headers, fetched_at=now
            )
            return result.permanent_url or clean, result, parsed, None
        except NotAFeedError:
            links = find_feed_links(result.body, result.url)
            if not links:
                raise NotAFeedError(
                    f'{clean} is a web page, and it names no feed (no <link rel="alternate">)'
                ) from None
        errors = []
        for link in links[:3]:
            try:
                found = await self.fetcher.fetch(link)
                parsed = await asyncio.to_thread(
                    parse_feed, found.body, url=found.url, headers=found.headers, fetched_at=now
                )
            except (FetchError, ParseError) as exc:
                errors.append(f"{link}: {exc}")
                continue
            note = f"{clean} is a web page; using the feed it names: {link}"
            return link, found, parsed, note
        raise NotAFeedError(f"{clean} names feeds, but none could be read: " + "; ".join(errors))

    async def test_source(self, url: str, *, count: int = 3) -> tuple[str, list[Story]]:
        """Preview a feed's newest condensed stories without adding it."""
        feed_url, _result, parsed, _note = await self._resolve_feed(url)
        from bot.news.identity import content_hash
        from bot.news.store import Candidate

        newest = sorted(parsed.entries, key=lambda e: e.published, reverse=True)[:count]
        cands = [Candidate("", e, content_hash(e)) for e in newest]
        await asyncio.to_thread(self.enricher.enrich, cands)
        now = self.clock()
        stories = [
            Story(
                id=0,
                source_id=0,
                source_name=parsed.title or _host_name(feed_url),
                url=c.entry.link,
                title=c.entry.title,
                published=c.entry.published,
                first_seen=now,
                headline=c.condensed.headline,
                lead=c.condensed.lead,
                points=c.condensed.points,
                topics=c.topics,
                image=c.entry.image,
            )
            for c in cands
            if c.condensed is not None
        ]
        return parsed.title or feed_url, stories

    async def remove_source(self, ref: str, *, scope: str = GLOBAL) -> Source:
        source = await self.store.sources.find(ref, scope)
        owners = await self.store.sources.scope_owners(source.id)
        if scope not in owners:
            raise NewsError(
                f"{source.name} is a server-wide source from the bot's configuration; "
                "only the bot's operator can remove it"
            )
        await self.store.sources.remove(source.id, scope)
        return source

    async def list_sources(self, *, scope: str | None = None) -> list[Source]:
        return await self.store.sources.list(scope)

    async def import_opml(self, data: bytes, *, scope: str = GLOBAL) -> ImportReport:
        """Add every feed of an OPML file. Feeds are not fetched here: the next poll does that."""
        added, skipped = [], []
        for feed in read_opml(data):
            url = canonical_url(feed.url)
            if not url:
                skipped.append((feed.url, "not an http(s) URL"))
                continue
            try:
                source, _ = await self.store.sources.add(
                    url=url,
                    name=feed.title or _host_name(url),
                    interval=self.config.fetch.default_interval,
                    backfill=0,
                    full_text=False,
                    scope=scope,
                    now=self.clock(),
                )
            except NewsError as exc:
                skipped.append((feed.url, str(exc)))
                continue
            added.append(source)
        return ImportReport(tuple(added), tuple(skipped))

    async def export_opml(self, *, scope: str | None = None) -> str:
        return write_opml(await self.store.sources.list(scope, with_counts=False))

    # ------------------------------------------------------------------ polling

    async def poll(
        self, *, due_only: bool = True, scope: str | None = None, progress: Progress | None = None
    ) -> PollReport:
        """One pass over the sources that are due (or all of them)."""
        now = self.clock()
        sources = (
            await self.store.sources.due(now, scope)
            if due_only
            else await self.store.sources.list(scope, with_counts=False)
        )
        report = await self.poller.run(sources, progress)
        await self._cluster(list(report.new_story_ids))
        await self._prune_if_due()
        return report

    async def _prune_if_due(self) -> None:
        """Retention runs at most hourly, as part of polling."""
        now = self.clock()
        last = await self.store.outbox.get_meta(PRUNE_KEY)
        if last and now.timestamp() - int(last) < PRUNE_EVERY.total_seconds():
            return
        removed = await self.prune()
        await self.store.outbox.set_meta(PRUNE_KEY, str(to_ts(now)))
        if removed:
            log.info(
                "retention: removed %d stories older than %d days",
                removed,
                self.config.storage.retention_days,
            )

    async def stale(self, *, scope: str | None = None) -> bool:
        return bool(await self.store.sources.due(self.clock(), scope))

    async def _cluster(self, new_ids: Sequence[int]) -> None:
        if not new_ids:
            return
        now = self.clock()
        rows = await self.store.stories.recent_for_clustering(now - CLUSTER_WINDOW * 2)
        new_set = set(new_ids)

        def item(r) -> ClusterItem:
            return ClusterItem(
                id=r["id"],
                source_id=r["source_id"],
                published=datetime.fromtimestamp(r["published"], UTC),
                text=f"{r['headline']} {r['lead']}",
                cluster_id=r["cluster_id"],
            )

        new = [item(r) for r in rows if r["id"] in new_set]
        recent = [item(r) for r in rows if r["id"] not in new_set]
        if not new:
            return
        mapping = await asyncio.to_thread(assign_clusters, new, recent, window=CLUSTER_WINDOW)
        current = {r["id"]: r["cluster_id"] for r in rows}
        changes = [
            (sid, cid)
            for sid, cid in mapping.items()
            if cid is not None and current.get(sid) != cid
        ]
        if changes:
            async with self.store.lock, self.store.transaction() as db:
                await self.store.stories.set_clusters(db, changes)

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
        found = await self.store.stories.search(
            query, scope=scope, since=start, topics=topics, limit=limit, offset=offset
        )
        return await self.store.stories._with_outlets(found)

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
        topics = [topic] if topic else []
        if topic and topic not in self.topic_names:
            raise NewsError(f"no topic {topic!r}; topics: {', '.join(self.topic_names)}")
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
    ) -> Digest:
        """The condensed briefing for a window, grouped into topic sections."""
        now = self.clock()
        since = since or self.config.digest.default_since
        limit = limit or self.config.digest.limit
        wanted, query = self._resolve_topics(topics)
        notice = None
        stories = await self._select(
            scope, wanted, query, now - since, exclude_posted_to, announce_only
        )
        if not stories and widen and since < timedelta(days=7):
            stories = await self._select(
                scope, wanted, query, now - timedelta(days=7), exclude_posted_to, announce_only
            )
            if stories:
                notice = f"Nothing new in the last {_human(since)}; showing the last 7 days."
                since = timedelta(days=7)
        title = self.config.digest.title
        if wanted:
            title += " · " + ", ".join(_topic_title(self.topics, t) for t in wanted)
        if query:
            title += f" · “{query}”"
        return arrange_digest(
            pick_representatives(stories),
            topics=self.topics,
            now=now,
            since=now - since,
            limit=limit,
            wanted_topics=wanted,
            title=title,
            notice=notice,
        )

    async def _select(self, scope, wanted, query, start, exclude, announce_only) -> list[Story]:
        if query:
            found = await self.store.stories.search(
                query, scope=scope, since=start, topics=wanted, limit=200
            )
            return await self.store.stories._with_outlets(found)
        return await self.store.stories.recent(
            scope=scope,
            since=start,
            topics=wanted,
            exclude_target=exclude,
            announce_only=announce_only,
            limit=2000,
        )

    async def topic_counts(
        self, *, scope: str | None = None, since: timedelta = timedelta(days=7)
    ) -> list[tuple[Topic, int]]:
        counts = await self.store.stories.topic_counts(scope=scope, since=self.clock() - since)
        return [(t, counts.get(t.name, 0)) for t in self.topics]

    async def retag(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Tag every stored story again with the current taxonomy; returns how many changed."""
        batches = await self.store.stories.iter_for_retag()
        total = sum(len(b) for b in batches)
        changed, done = 0, 0
        for rows in batches:
            tags = await asyncio.to_thread(
                self.enricher.retag, [(r["title"], f"{r['lead']} {r['text'][:600]}") for r in rows]
            )
            updates = [(list(t), r["id"]) for r, t in zip(rows, tags, strict=True)]
            async with self.store.lock, self.store.transaction() as db:
                for topics, story_id in updates:
                    import json

                    cur = await db.execute(
                        "UPDATE stories SET topics = ? WHERE id = ? AND topics != ?",
                        (json.dumps(topics), story_id, json.dumps(topics)),
                    )
                    if cur.rowcount:
                        changed += 1
                        await db.execute("DELETE FROM story_topics WHERE story_id = ?", (story_id,))
                        await db.executemany(
                            "INSERT INTO story_topics (topic, story_id, rank) VALUES (?, ?, ?)",
                            [(t, story_id, i) for i, t in enumerate(topics)],
                        )
            done += len(rows)
            if progress:
                progress(done, total)
        return changed

    # ------------------------------------------------------------------ subscriptions, outbox

    async def subscribe(
        self,
        *,
        scope: str,
        channel_id: int | None = None,
        webhook_url: str | None = None,
        topics: Sequence[str] = (),
        schedule: str = "daily 08:00",
        timezone: str = "UTC",
    ) -> Subscription:
        parse_schedule(schedule, timezone)  # raises ScheduleError with a sentence
        unknown = [t for t in topics if t not in self.topic_names]
        if unknown:
            raise NewsError(f"unknown topic {unknown[0]!r}; topics: {', '.join(self.topic_names)}")
        if webhook_url is not None and not webhook_url.startswith("https://"):
            raise NewsError("a webhook URL starts with https://")
        return await self.store.outbox.subscribe(
            scope=scope,
            channel_id=channel_id,
            webhook_url=webhook_url,
            topics=topics,
            schedule=schedule,
            timezone=timezone,
            now=self.clock(),
        )

    async def unsubscribe(self, scope: str, subscription_id: int) -> bool:
        return await self.store.outbox.unsubscribe(scope, subscription_id)

    async def subscriptions(self, scope: str | None = None) -> list[Subscription]:
        return await self.store.outbox.subscriptions(scope)

    async def subscription_digest(self, sub: Subscription) -> Digest:
        """What a subscription would post now: stories its target has not had, no backlog."""
        now = self.clock()
        since = now - sub.last_run if sub.last_run else timedelta(hours=24)
        since = min(max(since, timedelta(hours=24)), timedelta(days=7))
        return await self.digest(
            scope=sub.scope if sub.scope != GLOBAL else None,
            topics=sub.topics,
            since=since,
            exclude_posted_to=sub.target,
            announce_only=True,
            widen=False,
        )

    async def enqueue_delivery(
        self, sub: Subscription | None, target: str, digest: Digest, payloads: Sequence[dict]
    ) -> Delivery:
        clusters = [s.cluster_id or s.id for s in digest.stories]
        return await self.store.outbox.enqueue(
            subscription_id=sub.id if sub else None,
            target=target,
            cluster_ids=clusters,
            payloads=payloads,
            now=self.clock(),
        )

    async def pending_deliveries(self) -> list[Delivery]:
        return await self.store.outbox.pending()

    async def part_sent(self, delivery: Delivery, seq: int, message_id: str) -> None:
        await self.store.outbox.part_sent(delivery.id, seq, message_id)

    async def delivered(self, delivery: Delivery) -> None:
        await self.store.outbox.delivered(delivery, self.clock())

    async def delivery_failed(self, delivery: Delivery, error: str, *, give_up: bool) -> None:
        await self.store.outbox.attempt_failed(delivery.id, error, give_up=give_up)

    async def pause_subscription(self, sub_id: int, reason: str | None) -> None:
        await self.store.outbox.pause(sub_id, reason)

    async def mark_run(self, sub_id: int) -> None:
        await self.store.outbox.mark_run(sub_id, self.clock())

    # ------------------------------------------------------------------ operations

    async def heartbeat(self) -> None:
        await self.store.outbox.set_meta(HEARTBEAT_KEY, str(to_ts(self.clock())))

    async def last_heartbeat(self) -> datetime | None:
        value = await self.store.outbox.get_meta(HEARTBEAT_KEY)
        return datetime.fromtimestamp(int(value), UTC) if value else None

    async def prune(self) -> int:
        return await self.store.outbox.prune(
            self.clock(), timedelta(days=self.config.storage.retention_days)
        )

    async def status(self, *, scope: str | None = None) -> Status:
        sources = await self.store.sources.list(scope)
        subs = await self.store.outbox.subscriptions(scope) if scope else []
        now = self.clock()
        upcoming = []
        for sub in subs:
            schedule = parse_schedule(sub.schedule, sub.timezone)
            upcoming.append((sub, None if sub.paused_reason else schedule.next_run(now)))
        polled = [s.last_polled for s in sources if s.last_polled]
        return Status(
            version=__version__,
            sources_ok=sum(1 for s in sources if s.status == "ok"),
            sources_failing=tuple(s for s in sources if s.status == "failing"),
            sources_total=len(sources),
            stories=sum(s.story_count for s in sources),
            last_poll=max(polled) if polled else None,
            subscriptions=tuple(upcoming),
        )


def tagger_topics_of(tagger: Tagger, config: Config) -> Sequence[Topic]:
    topics = getattr(tagger, "topics", None)
    return topics if topics else taxonomy(config)


def _topic_title(topics: Sequence[Topic], name: str) -> str:
    for t in topics:
        if t.name == name:
            return t.title
    return name


def _host_name(url: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:g} hours"
    return f"{hours / 24:g} days"
