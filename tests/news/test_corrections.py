"""Topic corrections as admins meet them: /retag and `briefbot retag --story`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.news.errors import NewsError
from bot.news.retagging import StoryNotFoundError
from bot.news.service import NewsService
from bot.news.store import GLOBAL
from tests.news.conftest import make_config
from tests.news.feeds import BASE, item, rss

A, B = "guild:1", "guild:2"
WEEK = timedelta(days=7)

ROBOT = item(
    1,
    published=BASE - timedelta(days=3),
    title="Warehouse robot learns to fold laundry in under a minute",
    description=(
        "<p>The robot folds towels in under a minute after training on video of people at"
        " home. The team tested it in three warehouses across Ohio. Shirts remain harder"
        " than towels for the arm.</p>"
    ),
)
#: a later report of the same work: three days on, so it is a story of its own (not in
#: ROBOT's cluster, which would simply share the cluster's topics)
ROBOT_AGAIN = item(
    7,
    title="Warehouse robot now folds laundry in under a minute",
    link="https://other.example/robot-laundry",
    guid="urn:other:7",
    description=(
        "<p>The robot folds towels in under a minute after training on video of people at"
        " home, its makers say. The team tested it in three warehouses in Ohio. Shirts are"
        " still harder than towels for the arm.</p>"
    ),
)
CHIPS = item(
    2,
    title="Chipmaker opens a new fab for accelerators",
    description="<p>The plant will make accelerators for data centres from next year.</p>",
)


async def _digest_ids(service: NewsService, scope: str | None, topic: str) -> set[int]:
    digest = await service.digest(scope=scope, topics=[topic], since=WEEK, widen=False, limit=50)
    return {s.id for s in digest.stories}


async def _story_id(service: NewsService, title_word: str) -> int:
    stories = await service.stories(since=timedelta(days=30))
    return next(s.id for s in stories if title_word in s.title)


async def test_a_guild_correction_changes_its_own_digests_and_no_one_elses(
    service, feed_server
) -> None:
    feed_server.add("/feed.xml", rss([ROBOT, CHIPS]))
    await service.add_source(feed_server.url("/feed.xml"), scope=GLOBAL, backfill=5)
    robot = await _story_id(service, "robot")
    stored = (await service.store.stories.visible(robot, None)).topics
    assert "regulation" not in stored

    seen = await service.retag_story(robot, ["Regulation", "society"], scope=A)
    assert seen.topics == ("regulation", "society")

    assert robot in await _digest_ids(service, A, "regulation")  # at once, in A's digest
    assert robot not in await _digest_ids(service, B, "regulation")  # never in B's
    assert robot not in await _digest_ids(service, None, "regulation")
    assert (await service.store.stories.visible(robot, None)).topics == stored
    [in_b] = [s for s in (await service.digest(scope=B, since=WEEK)).stories if s.id == robot]
    assert in_b.topics == stored
    assert await service.correction_counts(scope=A) == {"regulation": 1, "society": 1}
    assert await service.correction_counts(scope=B) == {}

    # a second correction of the same story replaces the first
    await service.retag_story(robot, ["none"], scope=A)
    assert robot not in await _digest_ids(service, A, "regulation")
    assert await service.correction_counts(scope=A) == {}


async def test_the_operators_correction_is_what_everyone_reads_and_survives_retag(
    service, feed_server
) -> None:
    feed_server.add("/feed.xml", rss([ROBOT, CHIPS]))
    await service.add_source(feed_server.url("/feed.xml"), scope=GLOBAL, backfill=5)
    robot = await _story_id(service, "robot")
    await service.retag_story(robot, ["safety"])
    for scope in (A, B, None):
        assert robot in await _digest_ids(service, scope, "safety")
    [story] = await service.stories(topic="safety", since=timedelta(days=30))
    assert story.id == robot and story.topics == ("safety",)
    await service.retag()  # tagging everything again keeps what the operator said
    [story] = await service.stories(topic="safety", since=timedelta(days=30))
    assert story.topics == ("safety",)
    # a guild's own correction wins over the operator's, for that guild
    await service.retag_story(robot, ["business"], scope=A)
    assert robot in await _digest_ids(service, A, "business")
    assert robot not in await _digest_ids(service, A, "safety")
    assert robot in await _digest_ids(service, B, "safety")


async def test_a_story_the_guild_cannot_see_or_an_unknown_topic_is_refused(
    service, feed_server
) -> None:
    feed_server.add("/b.xml", rss([ROBOT]))
    await service.add_source(feed_server.url("/b.xml"), scope=B)
    robot = await _story_id(service, "robot")
    with pytest.raises(StoryNotFoundError, match=f"no story #{robot}"):
        await service.retag_story(robot, ["safety"], scope=A)
    with pytest.raises(StoryNotFoundError):
        await service.retag_story(99999, ["safety"], scope=B)
    with pytest.raises(NewsError, match="unknown topic 'sports'"):
        await service.retag_story(robot, ["sports"], scope=B)
    with pytest.raises(NewsError, match="one or more topics"):
        await service.retag_story(robot, [" "], scope=B)
    assert await service.correction_counts(scope=B) == {}


@pytest.fixture
async def embedded(tmp_path, clock) -> AsyncIterator[NewsService]:
    config = make_config(tmp_path, taxonomy={"embeddings": True})
    svc = await NewsService.open(config, clock=clock)
    try:
        yield svc
    finally:
        await svc.close()


async def test_a_correction_is_an_example_for_the_guilds_later_stories(
    embedded, feed_server
) -> None:
    service = embedded
    feed_server.add("/one.xml", rss([ROBOT, CHIPS], title="One"))
    await service.add_source(feed_server.url("/one.xml"), scope=GLOBAL, backfill=5)
    robot = await _story_id(service, "robot")
    await service.retag_story(robot, ["regulation"], scope=A)

    feed_server.add("/two.xml", rss([ROBOT_AGAIN], title="Two"))
    await service.add_source(feed_server.url("/two.xml"), scope=GLOBAL, backfill=5)
    again = await _story_id(service, "now folds")
    assert "regulation" not in (await service.store.stories.visible(again, None)).topics
    assert again in await _digest_ids(service, A, "regulation")  # the vote of A's example
    assert again not in await _digest_ids(service, B, "regulation")
    chips = await _story_id(service, "Chipmaker")
    assert chips not in await _digest_ids(service, A, "regulation")  # not near: no vote
