"""Operations: heartbeat, retention and status, as the service offers them.

A mixin of :class:`bot.news.service.NewsService`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import __version__
from bot.config import Config
from bot.news.cluster import HOLD
from bot.news.models import Source
from bot.news.schedules import parse_schedule
from bot.news.store import GLOBAL, NoticeSetting, Store, Subscription
from bot.news.store.db import to_ts

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "heartbeat"
PRUNE_KEY = "last_prune"
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Status:
    version: str
    sources_ok: int
    sources_failing: tuple[Source, ...]
    sources_total: int
    stories: int
    last_poll: datetime | None
    subscriptions: tuple[tuple[Subscription, datetime | None], ...]
    #: a server's notices setting (None for the operator's view)
    notices: NoticeSetting | None = None


class OperationsMixin:
    config: Config
    store: Store
    clock: Callable[[], datetime]
    _forget_clusters: Callable[[], None]

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
            # a story several sources brought counts once for the operator
            stories=(
                await self.store.stories.count()
                if scope is None
                else sum(s.story_count for s in sources)
            ),
            last_poll=max(polled) if polled else None,
            subscriptions=tuple(upcoming),
            notices=(
                await self.store.notices.setting(scope) if scope and scope != GLOBAL else None
            ),
        )

    async def _prune_if_due(self) -> None:
        """Retention runs at most hourly, as part of polling."""
        now = self.clock()
        last = await self.store.outbox.get_meta(PRUNE_KEY)
        if last and now.timestamp() - int(last) < PRUNE_EVERY.total_seconds():
            return
        removed = await self.prune()
        await self.store.outbox.set_meta(PRUNE_KEY, str(to_ts(now)))
        if removed:
            if timedelta(days=self.config.storage.retention_days) < HOLD:
                self._forget_clusters()  # stories the clustering index holds may be gone
            log.info(
                "retention: removed %d stories older than %d days",
                removed,
                self.config.storage.retention_days,
            )
