"""Filters as the service offers them: checking them, previewing them, keeping them.

A mixin of :class:`bot.news.service.NewsService` (it uses the service's store, clock,
config, topics and sources). Checks and previews read stored stories through the story
store's ``recent`` and do the rest in Python, off the event loop.

Where a subscription's filters are kept: until the subscriptions table has its ``filters``
column, they are a JSON text in ``meta`` under ``subscription_filters:<id>``, read and
written only by :meth:`subscription_filters` and :meth:`_save_filters` below. Moving to
the column changes those two methods and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.news.filters import NO_FILTERS, FilterError, Filters, FilterWarning
from bot.news.matcher import FilterSet, Terms, normalize, story_text
from bot.news.models import Digest, Source, Story
from bot.news.preview import Preview, replay
from bot.news.schedules import parse_schedule
from bot.news.store import GLOBAL, Store, Subscription
from bot.news.taxonomy import topic_names

if TYPE_CHECKING:
    from bot.config import Config, SubscriptionConfig
    from bot.news.topics import Topic

#: how far back a filter is tried before the user is told it matches nothing
CHECK_WINDOW = timedelta(days=30)
PREVIEW_WINDOW = timedelta(days=7)
#: stories read for a check or a preview (a month of a busy server)
READ_LIMIT = 20_000
_KEY = "subscription_filters:{}"


class FilteringMixin:
    store: Store
    clock: Callable[[], datetime]
    config: Config
    topics: tuple[Topic, ...]
    topic_names: tuple[str, ...]

    if TYPE_CHECKING:

        async def list_sources(self, *, scope: str | None = None) -> list[Source]: ...

        async def digest(self, **kwargs) -> Digest: ...

    async def filtered_digest(
        self, *, filters: Filters = NO_FILTERS, scope: str | None = None, **options
    ) -> Digest:
        """:meth:`digest` with filters, once the sources they name are known to exist."""
        await self.check_filters(filters, scope=scope, warn=False)
        return await self.digest(scope=scope, filters=filters or None, **options)

    async def subscriptions_with_filters(
        self, scope: str | None = None
    ) -> list[tuple[Subscription, Filters]]:
        """The scope's subscriptions, each with its filters (for /subscriptions)."""
        subs = await self.store.outbox.subscriptions(scope)
        return [(sub, await self.subscription_filters(sub)) for sub in subs]

    # ------------------------------------------------------------------ checks

    async def check_filters(
        self, filters: Filters, *, scope: str | None = None, warn: bool = True
    ) -> list[str]:
        """Raise FilterError for a source that does not exist or a pattern that stalls;
        return warnings (one sentence each) for filters that would let nothing through.

        ``warn=False`` checks only the sources (cheap: no stories are read).
        """
        if not filters:
            return []
        await self._check_sources(filters, scope)
        if not warn:
            return []
        stories = await self._read(scope, since=self.clock() - CHECK_WINDOW)
        return await asyncio.to_thread(_warnings, filters, stories)

    async def _check_sources(self, filters: Filters, scope: str | None) -> None:
        if not filters.sources:
            return
        known = set()
        for s in await self.list_sources(scope=scope):
            known |= {str(s.id), normalize(s.name)}
        for entry in (*filters.only_sources, *filters.never_sources):
            if normalize(entry) not in known:
                raise FilterError(
                    f"there is no source {entry!r} here; use a name or id from /sources list"
                )

    async def _read(
        self, scope: str | None, *, since: datetime, topics: Sequence[str] = ()
    ) -> list[Story]:
        """Stories by publication date, also those a source had when it was added (which a
        subscription never posts): a fresh install previews the same as a running one."""
        return await self.store.stories.recent(
            scope=None if scope == GLOBAL else scope,
            since=since,
            topics=topics,
            limit=READ_LIMIT,
        )

    # ------------------------------------------------------------------ preview

    async def preview_subscription(
        self,
        *,
        scope: str | None = None,
        topics: Sequence[str] = (),
        schedule: str = "daily 08:00",
        timezone: str = "UTC",
        filters: Filters = NO_FILTERS,
        days: timedelta = PREVIEW_WINDOW,
    ) -> Preview:
        """What a subscription with these settings would have posted over the last ``days``."""
        sched = parse_schedule(schedule, timezone)
        wanted = topic_names(topics, self.topic_names)
        await self._check_sources(filters, scope)
        end = self.clock()
        start = end - days
        stories = await self._read(scope, since=start - timedelta(days=1), topics=wanted)
        title = self.config.digest.title
        titles = {t.name: t.title for t in self.topics}
        if wanted:
            title += " · " + ", ".join(titles.get(t, t) for t in wanted)
        return await asyncio.to_thread(
            replay,
            stories,
            schedule=sched,
            filters=filters,
            start=start,
            end=end,
            topics=self.topics,
            wanted_topics=wanted,
            limit=self.config.digest.limit,
            title=title,
        )

    async def preview_with_warnings(
        self, *, scope: str | None = None, filters: Filters = NO_FILTERS, **settings
    ) -> tuple[Preview, list[str]]:
        """:meth:`preview_subscription` and :meth:`check_filters` in one call, for /subscribe."""
        warnings = await self.check_filters(filters, scope=scope)
        return await self.preview_subscription(scope=scope, filters=filters, **settings), warnings

    # ------------------------------------------------------------------ keeping them

    async def subscription_filters(self, sub: Subscription) -> Filters:
        """The subscription's filters (none when it has never had any)."""
        return Filters.from_json(await self.store.outbox.get_meta(_KEY.format(sub.id)))

    async def _save_filters(self, sub_id: int, filters: Filters) -> None:
        # written on every subscribe, so a reused subscription id never inherits old filters
        await self.store.outbox.set_meta(_KEY.format(sub_id), filters.to_json())

    async def set_subscription_filters(
        self, scope: str, sub_id: int, filters: Filters, *, force: bool = False
    ) -> tuple[Subscription, list[str]]:
        """Change only a subscription's filters; what its channel already had stays had.

        The delivery ledger is kept per channel and the last run is unchanged, so the next
        digest holds only stories the channel has not had, whatever the filters were.
        """
        sub = next(
            (s for s in await self.store.outbox.subscriptions(scope) if s.id == sub_id), None
        )
        if sub is None:
            raise FilterError(
                f"this server has no subscription {sub_id}; /subscriptions lists them"
            )
        warnings = await self._confirm(filters, scope, force)
        await self._save_filters(sub.id, filters)
        return sub, warnings

    async def _confirm(self, filters: Filters, scope: str, force: bool) -> list[str]:
        warnings = await self.check_filters(filters, scope=scope)
        if warnings and not force:
            raise FilterWarning(
                " ".join(warnings) + " Nothing would be posted; set force to save it anyway."
            )
        return warnings

    async def _sync_config_filters(self, configured: Sequence[SubscriptionConfig]) -> None:
        """Give each configured webhook subscription the filters its [[subscriptions]] lists."""
        by_key = {
            (str(c.webhook_url), c.schedule, c.timezone, tuple(c.topics)): c for c in configured
        }
        for sub in await self.store.outbox.subscriptions(GLOBAL):
            c = by_key.get((sub.webhook_url, sub.schedule, sub.timezone, sub.topics))
            if sub.from_config and c is not None:
                await self._save_filters(sub.id, config_filters(c))


def config_filters(c: SubscriptionConfig) -> Filters:
    """A [[subscriptions]] entry's filters (already checked when the config was loaded)."""
    return Filters(
        include=tuple(c.include),
        exclude=tuple(c.exclude),
        sources=tuple(c.sources),
        min_outlets=c.min_outlets,
        max_stories=c.max_stories,
    )


def _warnings(filters: Filters, stories: Sequence[Story]) -> list[str]:
    """Sentences for terms and thresholds that match no story; a stalling pattern raises."""
    texts = [story_text(s) for s in stories]
    out = []
    for what, terms in (("include", filters.include), ("exclude", filters.exclude)):
        for term in terms:
            compiled = Terms.compile([term])
            if not any(compiled.search(t, strict=True) for t in texts):
                out.append(f"The {what} term {term!r} matches no story of the last 30 days.")
    if filters.min_outlets > 1 and not any(s.cluster_size >= filters.min_outlets for s in stories):
        out.append(f"No story of the last 30 days was covered by {filters.min_outlets} outlets.")
    if not out and stories:
        kept, _ = FilterSet(filters, strict=True).representatives(stories)
        if not kept:
            out.append("Together, the filters let no story of the last 30 days through.")
    return out
