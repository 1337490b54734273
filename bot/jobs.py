"""Scheduler wiring: the poll job, the heartbeat, and one digest job per subscription.

The scheduler belongs to the bot, not to a cog: jobs must keep running whatever cogs are
loaded. Subscription jobs are rebuilt from the database at start and updated whenever a
subscription changes, so the database stays the only truth about what is scheduled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.deliver import Deliverer
from bot.news.errors import NewsError, StoreError
from bot.news.schedules import parse_schedule
from bot.news.service import NewsService
from bot.news.store import Subscription
from bot.notices import Notifier
from bot.render import escape
from bot.shards import ShardSet

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(minutes=1)
#: how late a scheduled job may still fire (APScheduler's misfire grace)
MISFIRE_GRACE = timedelta(seconds=300)
#: how often a bot process looks for deliveries nobody holds (a dead process's) and, when
#: workers poll, runs the instant subscriptions; more often when the delivery lease is shorter
DELIVER_EVERY = timedelta(seconds=30)
#: the first poll after start comes soon, not a whole interval later (None: an interval later,
#: as the tests that poll by hand ask)
FIRST_POLL = timedelta(seconds=5)
#: the meta key holding the ids of failing sources already reported to the log channel
REPORTED_FAILING_KEY = "reported_failing_sources"


def job_id(sub_id: int) -> str:
    return f"subscription:{sub_id}"


class Jobs:
    """Owns the AsyncIOScheduler and what each of its jobs does."""

    def __init__(
        self,
        service: NewsService,
        deliverer: Deliverer,
        config: Config,
        *,
        poll_every: timedelta = POLL_EVERY,
        first_poll: timedelta | None = FIRST_POLL,
        deliver_every: timedelta | None = None,
    ) -> None:
        self.service = service
        self.deliverer = deliverer
        self.config = config
        self.shards = ShardSet.of(config.discord.shards, config.discord.shard_ids)
        self.poll_every = poll_every
        # a dead process's deliveries are free once its lease ends: look at least that often,
        # or a 3 s lease still strands them for up to 30 s
        lease = timedelta(seconds=config.worker.lease_seconds)
        self.deliver_every = deliver_every or min(DELIVER_EVERY, lease)
        self.first_poll = first_poll
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            },
        )
        self._tasks: set[asyncio.Task] = set()
        self._poll_lock = asyncio.Lock()
        #: the last poll failed for the database (disk full, read-only): told once
        self._store_trouble = False
        self.catch_up_task: asyncio.Task | None = None
        self.notifier = Notifier(service, deliverer, self.shards.owns_scope)

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start the clock jobs and the subscription jobs; catch up in the background."""
        first = {}
        if self.first_poll is not None:
            first["next_run_time"] = datetime.now(UTC) + self.first_poll
        if self.config.discord.poll:
            self.scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=self.poll_every.total_seconds()),
                id="poll",
                **first,
            )
        else:
            log.info("polling is left to `briefbot worker` processes ([discord] poll = false)")
        self.scheduler.add_job(
            self.deliver,
            IntervalTrigger(seconds=self.deliver_every.total_seconds()),
            id="deliver",
        )
        self.scheduler.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=self.config.discord.heartbeat_interval.total_seconds()),
            id="heartbeat",
        )
        await self._write_heartbeat()
        self.scheduler.start()
        await self.sync_subscriptions()
        self.catch_up_task = self.spawn(self.catch_up())

    def spawn(self, coro) -> asyncio.Task:
        """Run a coroutine in the background, tracked so shutdown can wait for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _track_current(self) -> None:
        """A scheduled job's task joins the tracked ones, so shutdown lets it finish.

        APScheduler's shutdown does not wait for running coroutine jobs; without this a
        heartbeat caught mid-write at SIGTERM was cancelled and logged a traceback.
        """
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def shutdown(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop scheduling; give work under way ``timeout`` seconds to finish, then cancel it.

        A cancelled delivery stays pending in the outbox and is resent on the next start.
        """
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.deliverer.drain(timeout)
        me = asyncio.current_task()
        pending = [t for t in self._tasks if not t.done() and t is not me]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2)

    # ------------------------------------------------------------------ jobs

    async def heartbeat(self) -> None:
        """The scheduled job (tracked, so shutdown lets a write in progress finish)."""
        self._track_current()
        await self._write_heartbeat()

    async def _write_heartbeat(self) -> None:
        try:
            await self.service.heartbeat()
        except NewsError as exc:
            log.warning("could not write the heartbeat: %s", exc)

    async def poll(self) -> None:
        """Poll what is due, send what instant subscriptions have not had, retry leftovers."""
        self._track_current()
        async with self._poll_lock:
            try:
                report = await self.service.poll(due_only=True)
            except NewsError as exc:
                log.error("poll failed: %s", exc)
                if isinstance(exc, StoreError) and not self._store_trouble:
                    # the bot keeps serving; the admins hear once, not every minute
                    self._store_trouble = True
                    await self.deliverer.notify(f"Polling stopped: {exc}.")
                return
            if self._store_trouble:
                self._store_trouble = False
                log.info("poll: the database takes writes again; polling resumed")
                await self.deliverer.notify("Polling resumed: the database takes writes again.")
            if report.new_stories:
                log.info("poll: %d new stories", report.new_stories)
            try:
                await self.report_failing_sources()
                await self.tell_notices()
                await self.deliverer.resend_pending()
                await self.run_instant()
            except NewsError as exc:
                log.error("delivery after the poll failed: %s", exc)

    async def deliver(self) -> None:
        """Take over deliveries nobody holds; run instant subscriptions when workers poll."""
        self._track_current()
        try:
            await self.deliverer.resend_pending()
            # a subscription paused while delivering is told within one round
            await self.tell_notices()
            if not self.config.discord.poll:
                await self.report_failing_sources()
                await self.run_instant()
        except NewsError as exc:
            log.error("delivery round failed: %s", exc)

    async def run_instant(self) -> None:
        for sub in await self.service.subscriptions():
            if not sub.paused_reason and _instant(sub) and self.owns(sub):
                await self.run_subscription(sub.id)

    def owns(self, sub: Subscription) -> bool:
        """Is this subscription this process's to run (its guild is on our shards)?"""
        return self.shards.owns_scope(sub.scope)

    async def scheduled_run(self, sub_id: int) -> bool:
        """The scheduler's job: a run named by its minute, so that two processes that both
        schedule the subscription (a shard handed over, a misconfiguration) post it once."""
        sub = await self._subscription(sub_id)
        now = self.service.clock()
        due = None
        if sub is not None:
            # the fire time this run is for (a job may fire late, within the misfire grace),
            # the same key the catch-up after a restart would give it
            with contextlib.suppress(NewsError):
                due = parse_schedule(sub.schedule, sub.timezone).next_run(now - MISFIRE_GRACE)
        if due is None or due > now:
            due = now.replace(second=0, microsecond=0)
        self._track_current()
        return await self._run(sub, run_key=run_key(sub_id, due))

    async def run_subscription(self, sub_id: int, *, run_key: str | None = None) -> bool:
        """Post what the subscription's target has not had; True when something was posted.

        A digest still pending for the target (Discord was down) goes first; while it stays
        pending no new digest is built, as it would repeat the pending one's stories.
        ``run_key`` names a scheduled run: one already enqueued is not enqueued again.
        """
        self._track_current()
        return await self._run(await self._subscription(sub_id), run_key=run_key)

    async def _run(self, sub: Subscription | None, *, run_key: str | None) -> bool:
        if sub is None or sub.paused_reason:
            return False
        if await self.deliverer.resend_pending(target=sub.target):
            log.warning("subscription %s: an earlier digest is still pending; skipping", sub.id)
            return False
        digest = await self.service.subscription_digest(sub)
        posted = await self.deliverer.post_digest(sub, digest, run_key=run_key)
        if posted is False:
            return False  # pending or refused; last_run stays, so the next run looks back as far
        await self.service.mark_run(sub.id)
        return posted is True

    async def catch_up(self) -> None:
        """Resend what a previous run left pending; send digests missed while the bot was down."""
        try:
            await self.deliverer.resend_pending()
            for sub, due in await self._missed():
                log.info("subscription %s missed its digest while the bot was down", sub.id)
                await self.run_subscription(sub.id, run_key=run_key(sub.id, due))
        except Exception:
            log.exception("catching up after start failed")

    async def missed_subscriptions(self, now: datetime | None = None) -> list[Subscription]:
        """Scheduled subscriptions whose last due run passed while the bot was down,
        no longer ago than ``discord.missed_digest_grace``."""
        return [sub for sub, _due in await self._missed(now)]

    async def _missed(self, now: datetime | None = None) -> list[tuple[Subscription, datetime]]:
        """:meth:`missed_subscriptions`, each with the due time it missed."""
        now = now or self.service.clock()
        grace = self.config.discord.missed_digest_grace
        missed = []
        for sub in await self.service.subscriptions():
            if sub.paused_reason or sub.last_run is None or _instant(sub) or not self.owns(sub):
                continue
            try:
                due = parse_schedule(sub.schedule, sub.timezone).next_run(sub.last_run)
            except NewsError:
                continue
            if due is not None and due <= now and now - due <= grace:
                missed.append((sub, due))
        return missed

    # ------------------------------------------------------------------ subscription jobs

    async def sync_subscriptions(self) -> None:
        """Make the scheduler's subscription jobs match the database."""
        subs = await self.service.subscriptions()
        wanted = {
            job_id(s.id): s
            for s in subs
            if not s.paused_reason and not _instant(s) and self.owns(s)
        }
        for job in self.scheduler.get_jobs():
            if job.id.startswith("subscription:") and job.id not in wanted:
                job.remove()
        for sub in wanted.values():
            self.schedule(sub)

    def schedule(self, sub: Subscription) -> None:
        """Add or replace the subscription's job (none for instant or paused ones)."""
        self.unschedule(sub.id)
        if sub.paused_reason or _instant(sub) or not self.owns(sub):
            return
        try:
            trigger = parse_schedule(sub.schedule, sub.timezone).trigger
        except NewsError as exc:
            log.error("subscription %s has a schedule that no longer works: %s", sub.id, exc)
            return
        self.scheduler.add_job(
            self.scheduled_run,
            trigger,
            args=[sub.id],
            id=job_id(sub.id),
            replace_existing=True,
        )

    def unschedule(self, sub_id: int) -> None:
        job = self.scheduler.get_job(job_id(sub_id))
        if job is not None:
            job.remove()

    def next_run(self, sub_id: int) -> datetime | None:
        job = self.scheduler.get_job(job_id(sub_id))
        return job.next_run_time if job is not None else None

    async def _subscription(self, sub_id: int) -> Subscription | None:
        for sub in await self.service.subscriptions():
            if sub.id == sub_id:
                return sub
        return None

    # ------------------------------------------------------------------ notices

    async def tell_notices(self) -> int:
        """Tell each server with a notices channel what it has not been told (its shards')."""
        try:
            return await self.notifier.run()
        except NewsError as exc:
            log.error("telling servers their notices failed: %s", exc)
            return 0

    async def report_failing_sources(self) -> None:
        """Tell the log channel once about each source that keeps failing; forget recovered ones.

        With several bot processes, the one running shard 0 does this."""
        if not self.shards.primary:
            return
        store_meta = self.service.store.outbox
        raw = await store_meta.get_meta(REPORTED_FAILING_KEY)
        reported = set(json.loads(raw)) if raw else set()
        sources = await self.service.list_sources()
        failing = {s.id: s for s in sources if s.status == "failing"}
        for source_id, source in failing.items():
            if source_id in reported:
                continue
            await self.deliverer.notify(
                f"Source {escape(source.name)} <{source.url}> keeps failing "
                f"({source.consecutive_failures} polls in a row): "
                f"{escape(source.last_error or 'no detail')}."
                " It will be retried with backoff; /sources list shows its state."
            )
        now_reported = sorted(failing)
        if set(now_reported) != reported:
            await store_meta.set_meta(REPORTED_FAILING_KEY, json.dumps(now_reported))


def run_key(sub_id: int, due: datetime) -> str:
    """The name of a subscription's run due at ``due``: the scheduled job and the catch-up
    after a restart give the same run the same name, so it is enqueued once."""
    return f"{sub_id}:{int(due.timestamp())}"


def _instant(sub: Subscription) -> bool:
    try:
        return parse_schedule(sub.schedule, sub.timezone).instant
    except NewsError:
        return False
