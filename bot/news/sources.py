"""Adding, testing, removing, importing and exporting sources, as the service offers them.

A mixin of :class:`bot.news.service.NewsService`: it uses the service's config, store,
fetcher, poller, enricher and clock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.news.discover import find_feed_links
from bot.news.errors import (
    FetchError,
    InvalidURLError,
    NewsError,
    NotAFeedError,
    ParseError,
    SourceLimitError,
)
from bot.news.fetch import Fetcher
from bot.news.models import PollReport, Source, Story
from bot.news.opml import read_opml, write_opml
from bot.news.parse import parse_feed
from bot.news.poll import new_totals
from bot.news.store import GLOBAL, Store
from bot.news.urls import canonical_url

if TYPE_CHECKING:
    from bot.news.enrich import Enricher
    from bot.news.poll import Poller


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


#: characters a display name loses: control characters, bidirectional overrides and isolates
#: (they reorder the text around them), zero-width spaces and the byte-order mark
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def display_name(text: str | None) -> str:
    """A name as typed, on one line, without invisible characters; at most 100 characters."""
    return " ".join(_INVISIBLE.sub(" ", text or "").split())[:100]


def host_name(url: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


class SourcesMixin:
    config: Config
    store: Store
    fetcher: Fetcher
    clock: Callable[[], datetime]
    enricher: Enricher
    poller: Poller

    if TYPE_CHECKING:

        async def cluster(self, new_ids: Sequence[int] = ()) -> None: ...

        def _forget_clusters(self) -> None: ...

    async def add_source(
        self,
        url: str,
        *,
        scope: str = GLOBAL,
        name: str | None = None,
        interval: timedelta | None = None,
        backfill: int = 0,
        full_text: bool | None = None,
    ) -> AddedSource:
        """Fetch the URL once to confirm it is a feed (or a page naming one); add and ingest it.

        A server (any scope but the global one) may own at most
        ``discord.max_sources_per_guild`` sources; one more raises SourceLimitError, before
        anything is fetched.
        """
        limit = self._source_limit(scope)
        if limit is not None and await self.store.sources.owned_count(scope) >= limit:
            raise SourceLimitError(limit)
        feed_url, result, parsed, note = await self._resolve_feed(url)
        source, created = await self.store.sources.add(
            url=feed_url,
            name=display_name(name) or display_name(parsed.title) or host_name(feed_url),
            interval=interval or self.config.fetch.default_interval,
            backfill=backfill,
            full_text=full_text,
            scope=scope,
            now=self.clock(),
            limit=limit,
        )
        report = PollReport()
        if created:  # a feed another scope already polls is not ingested again
            outcome = await self.poller.poll_source(source, result=result)
            totals = new_totals()
            await self.poller.write([outcome], totals)
            await self.cluster(totals["new"])
            # a first read that failed after the feed parsed (enrichment, storage) is said,
            # not reported as "ok, 0 stories": the source stays and is retried
            report = PollReport(
                ok=int(outcome.ok),
                failed=int(not outcome.ok),
                new_stories=len(totals["new"]),
                failures=tuple(totals["failures"]),
                warnings=tuple(totals["warnings"]),
            )
            source = await self.store.sources.get(source.id) or source
        return AddedSource(source, note, report)

    def _source_limit(self, scope: str) -> int | None:
        """The most sources the scope may own: None for the operator's global scope."""
        return None if scope == GLOBAL else self.config.discord.max_sources_per_guild

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
                source_name=parsed.title or host_name(feed_url),
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
        if await self.store.sources.remove(source.id, scope):
            self._forget_clusters()  # its stories are gone: the index must not hold them
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
                    name=feed.title or host_name(url),
                    interval=self.config.fetch.default_interval,
                    backfill=0,
                    full_text=None,
                    scope=scope,
                    now=self.clock(),
                    limit=self._source_limit(scope),
                )
            except NewsError as exc:
                skipped.append((feed.url, str(exc)))
                continue
            added.append(source)
        return ImportReport(tuple(added), tuple(skipped))

    async def export_opml(self, *, scope: str | None = None) -> str:
        return write_opml(await self.store.sources.list(scope, with_counts=False))
