"""The scheduler's decisions: which missed digests to send on start, what a run posts, and
that a failing source is reported once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bot.config import load_config
from bot.jobs import Jobs
from bot.news.models import Digest, DigestSection, Source, Story
from bot.news.store import Subscription

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)  # a Monday


def sub(id_: int, schedule: str, last_run: datetime | None, paused: str | None = None):
    return Subscription(
        id_, "guild:1", 10 + id_, None, (), schedule, "UTC", NOW, last_run, paused, False
    )


def story() -> Story:
    return Story(1, 1, "Feed", "https://x.test/1", "Title", NOW, NOW)


@dataclass
class Service:
    subs: list
    digest: Digest | None = None
    sources: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)

    def clock(self):
        return NOW

    async def subscriptions(self, scope=None):
        return self.subs

    async def subscription_digest(self, s):
        return self.digest

    async def mark_run(self, sub_id):
        self.runs.append(sub_id)

    async def list_sources(self, scope=None):
        return self.sources

    @property
    def store(self):
        async def get_meta(key):
            return self.meta.get(key)

        async def set_meta(key, value):
            self.meta[key] = value

        return SimpleNamespace(outbox=SimpleNamespace(get_meta=get_meta, set_meta=set_meta))


@dataclass
class Deliverer:
    pending: int = 0
    posted: list = field(default_factory=list)
    notices: list = field(default_factory=list)

    async def resend_pending(self, *, target=None):
        return self.pending

    async def post_digest(self, s, digest, run_key=None):
        if digest.empty:
            return None
        self.posted.append(s.id)
        return True

    async def notify(self, text):
        self.notices.append(text)


def jobs(service, deliverer=None) -> Jobs:
    return Jobs(service, deliverer or Deliverer(), load_config({"default_sources": False}))


async def test_missed_digests_within_the_grace_are_found_once():
    service = Service(
        [
            sub(1, "daily 08:00", NOW - timedelta(days=1)),  # 08:00 today passed 90 min ago
            sub(2, "daily 02:00", NOW - timedelta(days=1)),  # 7.5 h late: past the 6 h grace
            sub(3, "daily 08:00", NOW.replace(hour=8, minute=5)),  # already ran today
            sub(4, "instant", NOW - timedelta(days=1)),
            sub(5, "daily 08:00", NOW - timedelta(days=1), paused="gone"),
        ]
    )
    assert [s.id for s in await jobs(service).missed_subscriptions(NOW)] == [1]


async def test_a_run_with_nothing_new_posts_nothing_but_counts_as_run():
    empty = Digest("t", NOW, NOW, ())
    service, deliverer = Service([sub(1, "hourly", NOW)], digest=empty), Deliverer()
    assert await jobs(service, deliverer).run_subscription(1) is False
    assert deliverer.posted == [] and service.runs == [1]


async def test_a_run_posts_new_stories_then_marks_the_run():
    digest = Digest("t", NOW, NOW, (DigestSection("", "Other", (story(),)),))
    service, deliverer = Service([sub(1, "hourly", NOW)], digest=digest), Deliverer()
    assert await jobs(service, deliverer).run_subscription(1) is True
    assert deliverer.posted == [1] and service.runs == [1]


async def test_a_pending_digest_blocks_a_new_one():
    digest = Digest("t", NOW, NOW, (DigestSection("", "Other", (story(),)),))
    service, deliverer = Service([sub(1, "hourly", NOW)], digest=digest), Deliverer(pending=1)
    assert await jobs(service, deliverer).run_subscription(1) is False
    assert deliverer.posted == [] and service.runs == []


async def test_failing_source_reported_once_and_again_after_it_recovered():
    failing = Source(
        1,
        "https://f.test/",
        "Flaky",
        timedelta(minutes=30),
        last_polled=NOW,
        consecutive_failures=5,
        last_error="HTTP 500",
    )
    service, deliverer = Service([], sources=[failing]), Deliverer()
    j = jobs(service, deliverer)
    await j.report_failing_sources()
    await j.report_failing_sources()
    assert len(deliverer.notices) == 1 and "Flaky" in deliverer.notices[0]
    service.sources = [
        Source(1, "https://f.test/", "Flaky", timedelta(minutes=30), last_polled=NOW)
    ]
    await j.report_failing_sources()
    service.sources = [failing]
    await j.report_failing_sources()
    assert len(deliverer.notices) == 2


async def test_subscription_jobs_follow_the_database():
    service = Service(
        [sub(1, "daily 08:00", NOW), sub(2, "instant", NOW), sub(3, "hourly", NOW, paused="gone")]
    )
    j = jobs(service)
    j.scheduler.start(paused=True)
    try:
        await j.sync_subscriptions()
        assert [job.id for job in j.scheduler.get_jobs()] == ["subscription:1"]
        service.subs = []
        await j.sync_subscriptions()
        assert j.scheduler.get_jobs() == []
    finally:
        j.scheduler.shutdown(wait=False)
