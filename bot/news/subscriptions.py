"""Subscriptions and the delivery outbox, as the service offers them to the bot.

A mixin of :class:`bot.news.service.NewsService`: it uses the service's store, clock,
topic names and :meth:`digest`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.news.errors import NewsError
from bot.news.filters import NO_FILTERS, Filters
from bot.news.models import Digest
from bot.news.schedules import parse_schedule
from bot.news.store import GLOBAL, Delivery, Store, Subscription
from bot.news.taxonomy import topic_names


class SubscriptionsMixin:
    store: Store
    clock: Callable[[], datetime]
    topic_names: tuple[str, ...]

    if TYPE_CHECKING:

        async def digest(self, **kwargs) -> Digest: ...

        async def subscription_filters(self, sub: Subscription) -> Filters: ...

        async def _save_filters(self, sub_id: int, filters: Filters) -> None: ...

        async def _confirm(self, filters: Filters, scope: str, force: bool) -> list[str]: ...

    async def subscribe(
        self,
        *,
        scope: str,
        channel_id: int | None = None,
        webhook_url: str | None = None,
        topics: Sequence[str] = (),
        schedule: str = "daily 08:00",
        timezone: str = "UTC",
        filters: Filters = NO_FILTERS,
        force: bool = False,
    ) -> Subscription:
        """Create or update the channel's subscription (its ledger, and so what it had, stays).

        Filters that let nothing through raise FilterWarning unless ``force``.
        """
        parse_schedule(schedule, timezone)  # raises ScheduleError with a sentence
        topics = topic_names(topics, self.topic_names)
        if webhook_url is not None and not webhook_url.startswith("https://"):
            raise NewsError("a webhook URL starts with https://")
        await self._confirm(filters, scope, force)
        sub = await self.store.outbox.subscribe(
            scope=scope,
            channel_id=channel_id,
            webhook_url=webhook_url,
            topics=topics,
            schedule=schedule,
            timezone=timezone,
            now=self.clock(),
        )
        await self._save_filters(sub.id, filters)
        return sub

    async def unsubscribe(self, scope: str, subscription_id: int) -> bool:
        gone = await self.store.outbox.unsubscribe(scope, subscription_id)
        if gone:
            await self._save_filters(subscription_id, Filters())
        return gone

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
            filters=await self.subscription_filters(sub),
        )

    async def enqueue_delivery(
        self,
        sub: Subscription | None,
        target: str,
        digest: Digest,
        payloads: Sequence[dict],
        *,
        run_key: str | None = None,
        owner: str | None = None,
        lease: timedelta | None = None,
    ) -> Delivery | None:
        """Record a digest before it is sent. None: that run (``run_key``) was enqueued
        already, by this process or another, and must not be sent again."""
        clusters = [s.cluster_id or s.id for s in digest.stories]
        return await self.store.outbox.enqueue(
            subscription_id=sub.id if sub else None,
            target=target,
            cluster_ids=clusters,
            payloads=payloads,
            now=self.clock(),
            run_key=run_key,
            owner=owner,
            lease=lease,
        )

    async def pending_deliveries(self) -> list[Delivery]:
        return await self.store.outbox.pending()

    async def claim_deliveries(self, owner: str, lease: timedelta) -> list[Delivery]:
        """Pending deliveries no live process holds, leased to ``owner`` (oldest first)."""
        return await self.store.outbox.claim(owner, self.clock(), lease=lease)

    async def release_delivery(self, delivery: Delivery, owner: str) -> None:
        await self.store.outbox.release(owner, delivery.id)

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
