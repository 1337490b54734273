"""The core as a user meets it through the service: sources, polling, identity, search, scopes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.news.errors import DuplicateSourceError, NewsError, NotAFeedError, QueryError
from bot.news.service import NewsService
from bot.news.store import GLOBAL
from tests.news.conftest import make_config
from tests.news.feeds import Item, item, rss


async def _stories(service: NewsService) -> list:
    return await service.stories(since=timedelta(days=365), limit=500)


async def _announceable(service: NewsService, target: str = "channel:1") -> list:
    digest = await service.digest(
        since=timedelta(days=30),
        exclude_posted_to=target,
        announce_only=True,
        widen=False,
        limit=50,
    )
    return list(digest.stories)


async def test_first_add_stores_backlog_without_announcing_it(service, feed_server) -> None:
    feed_server.add("/feed.xml", rss([item(n) for n in range(1, 6)]))
    added = await service.add_source(feed_server.url("/feed.xml"))
    assert added.source.name == "Example News"
    assert len(await _stories(service)) == 5  # stored, searchable
    assert await service.search("story number") != []
    assert await _announceable(service) == []  # but nothing would be posted to a channel


async def test_backfill_announces_only_the_newest(service, feed_server) -> None:
    feed_server.add("/feed.xml", rss([item(n) for n in range(1, 6)]))
    await service.add_source(feed_server.url("/feed.xml"), backfill=2)
    announced = await _announceable(service)
    assert sorted(s.url for s in announced) == [
        "https://news.example/story/1",
        "https://news.example/story/2",
    ]


async def test_new_item_after_first_poll_is_announced_once(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(n) for n in range(2, 5)]))
    await service.add_source(feed_server.url("/feed.xml"))
    feed_server.add("/feed.xml", rss([item(n) for n in range(1, 5)]))
    clock.advance(timedelta(hours=1))
    report = await service.poll()
    assert (report.ok, report.new_stories) == (1, 1)
    assert [s.url for s in await _announceable(service)] == ["https://news.example/story/1"]


async def test_redated_and_reordered_items_are_not_new(service, feed_server, clock) -> None:
    items = [item(n) for n in range(1, 5)]
    feed_server.add("/feed.xml", rss(items))
    await service.add_source(feed_server.url("/feed.xml"))
    redated = [
        Item(i.title, i.link, i.guid, i.description, i.published + timedelta(days=2))
        for i in reversed(items)
    ]
    feed_server.add("/feed.xml", rss(redated))
    clock.advance(timedelta(hours=3))
    report = await service.poll(due_only=False)
    assert (report.new_stories, report.updated_stories) == (0, 0)
    assert len(await _stories(service)) == 4


async def test_edited_story_is_updated_in_place_not_reposted(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1), item(2)]))
    await service.add_source(feed_server.url("/feed.xml"), backfill=2)
    edited = item(1, title="Story number 1, corrected headline")
    feed_server.add("/feed.xml", rss([edited, item(2)]))
    clock.advance(timedelta(hours=1))
    report = await service.poll(due_only=False)
    assert (report.new_stories, report.updated_stories) == (0, 1)
    stories = await _stories(service)
    assert len(stories) == 2
    assert "Story number 1, corrected headline" in [s.title for s in stories]


async def test_unreliable_guids_fall_back_to_link_keys(service, feed_server, clock) -> None:
    # every item carries the same guid: guid keys would collapse them into one story
    items = [item(n, guid="same-guid-for-all") for n in range(1, 6)]
    feed_server.add("/feed.xml", rss(items))
    added = await service.add_source(feed_server.url("/feed.xml"))
    assert len(await _stories(service)) == 5
    source = await service.store.sources.get(added.source.id)
    assert source.key_mode == "link"
    clock.advance(timedelta(hours=1))
    report = await service.poll(due_only=False)
    assert report.new_stories == 0


async def test_same_canonical_url_from_two_sources_is_one_story(service, feed_server) -> None:
    feed_server.add(
        "/a.xml", rss([item(1, link="https://news.example/story/1?utm_source=a")], title="Outlet A")
    )
    feed_server.add(
        "/b.xml",
        rss(
            [item(1, guid="other-guid", link="https://NEWS.example/story/1?fbclid=x#top")],
            title="Outlet B",
        ),
    )
    await service.add_source(feed_server.url("/a.xml"))
    await service.add_source(feed_server.url("/b.xml"))
    stories = await _stories(service)
    assert [s.url for s in stories] == ["https://news.example/story/1"]


async def test_not_modified_poll_stores_nothing(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]), etag='"v1"')
    await service.add_source(feed_server.url("/feed.xml"))
    clock.advance(timedelta(hours=1))
    report = await service.poll(due_only=False)
    assert (report.ok, report.not_modified) == (0, 1)
    assert feed_server.requests[-1].headers.get("if-none-match") == '"v1"'


async def test_failing_source_backs_off_and_is_shown_failing(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    added = await service.add_source(feed_server.url("/feed.xml"))
    feed_server.add_status("/feed.xml", 500)
    waits = []
    for _ in range(3):
        clock.advance(timedelta(days=2))
        report = await service.poll(due_only=False)
        assert report.failed == 1
        source = await service.store.sources.get(added.source.id)
        waits.append(source.next_poll - clock.now)
    assert source.status == "failing"
    assert source.consecutive_failures == 3
    assert "500" in source.last_error
    assert waits[0] < waits[1] < waits[2]  # exponential backoff
    listed = await service.list_sources()
    assert listed[0].status == "failing"  # never silently dropped
    feed_server.add("/feed.xml", rss([item(1)]))
    clock.advance(timedelta(days=2))
    await service.poll(due_only=False)
    assert (await service.store.sources.get(added.source.id)).status == "ok"


async def test_retry_after_is_honoured(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    added = await service.add_source(feed_server.url("/feed.xml"))
    feed_server.add_status("/feed.xml", 429, retry_after="7200")
    await service.poll(due_only=False)
    source = await service.store.sources.get(added.source.id)
    assert source.next_poll - clock.now >= timedelta(hours=2)


async def test_pruned_story_never_comes_back(tmp_path, feed_server, clock) -> None:
    config = make_config(tmp_path, storage={"retention_days": 1})
    service = await NewsService.open(config, clock=clock)
    try:
        feed_server.add("/feed.xml", rss([item(1)]))
        await service.add_source(feed_server.url("/feed.xml"), backfill=1)
        clock.advance(timedelta(days=5))
        await service.poll(due_only=False)  # polling runs retention
        assert await _stories(service) == []
        clock.advance(timedelta(hours=2))
        report = await service.poll(due_only=False)
        assert report.new_stories == 0  # its key is a tombstone
        assert await _stories(service) == []
    finally:
        await service.close()


async def test_permanent_redirect_updates_the_stored_url(service, feed_server, clock) -> None:
    feed_server.add("/new.xml", rss([item(1)]))
    added = await service.add_source(feed_server.url("/new.xml"))
    feed_server.add_redirect("/new.xml", feed_server.url("/newer.xml"), status=301)
    feed_server.add("/newer.xml", rss([item(1)]))
    clock.advance(timedelta(hours=1))
    await service.poll(due_only=False)
    source = await service.store.sources.get(added.source.id)
    assert source.url == feed_server.url("/newer.xml")


async def test_html_page_uses_the_feed_it_names(service, feed_server) -> None:
    page = (
        f'<html><head><link rel="alternate" type="application/rss+xml" '
        f'href="{feed_server.url("/feed.xml")}"></head><body>Hi</body></html>'
    ).encode()
    feed_server.add("/", page, content_type="text/html")
    feed_server.add("/feed.xml", rss([item(1)]))
    added = await service.add_source(feed_server.url("/"))
    assert added.source.url == feed_server.url("/feed.xml")
    assert added.note and "web page" in added.note


async def test_page_without_feed_is_a_clear_error(service, feed_server) -> None:
    feed_server.add("/", b"<html><body>No feed here</body></html>", content_type="text/html")
    with pytest.raises(NotAFeedError, match="web page"):
        await service.add_source(feed_server.url("/"))
    assert await service.list_sources() == []


async def test_adding_twice_is_refused(service, feed_server) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"))
    with pytest.raises(DuplicateSourceError):
        await service.add_source(feed_server.url("/feed.xml"))


@pytest.mark.parametrize(
    "query",
    [
        '"',
        'story"',
        "NEAR(story number)",
        "title:story",
        "story OR",
        "AND",
        "*",
        "story*",
        "'; DROP TABLE stories; --",
        "^story",
        "story -number",
        "(((",
        "story + number",
    ],
)
async def test_hostile_search_queries_are_safe(service, feed_server, query) -> None:
    feed_server.add("/feed.xml", rss([item(n) for n in range(1, 4)]))
    await service.add_source(feed_server.url("/feed.xml"))
    try:
        results = await service.search(query)
    except QueryError as exc:
        assert "words" in str(exc)
    else:
        assert isinstance(results, list)
    assert len(await _stories(service)) == 3


async def test_search_ranks_title_matches_first(service, feed_server) -> None:
    feed_server.add(
        "/feed.xml",
        rss(
            [
                item(1, title="Quarterly report", description="<p>Mentions open weights once.</p>"),
                item(2, title="Open weights model released", description="<p>A release.</p>"),
            ]
        ),
    )
    await service.add_source(feed_server.url("/feed.xml"))
    results = await service.search("open weights")
    assert [r.url for r in results][:1] == ["https://news.example/story/2"]
    assert results[0].snippet


async def test_guilds_see_and_remove_only_their_own_sources(service, feed_server) -> None:
    feed_server.add("/a.xml", rss([item(1)], title="Guild A feed"))
    feed_server.add("/g.xml", rss([item(2)], title="Global feed"))
    await service.add_source(feed_server.url("/a.xml"), scope="guild:1")
    await service.add_source(feed_server.url("/g.xml"), scope=GLOBAL)
    assert {s.name for s in await service.list_sources(scope="guild:1")} == {
        "Guild A feed",
        "Global feed",
    }
    assert {s.name for s in await service.list_sources(scope="guild:2")} == {"Global feed"}
    assert await service.search("story", scope="guild:2") != []
    assert {s.url for s in await service.search("story", scope="guild:2")} == {
        "https://news.example/story/2"
    }
    with pytest.raises(NewsError):
        await service.remove_source("Guild A feed", scope="guild:2")
    with pytest.raises(NewsError, match="configuration"):
        await service.remove_source("Global feed", scope="guild:1")
    await service.remove_source("Guild A feed", scope="guild:1")
    assert {s.name for s in await service.list_sources()} == {"Global feed"}


async def test_shared_source_is_fetched_once_and_survives_one_owner_leaving(
    service, feed_server
) -> None:
    feed_server.add("/a.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/a.xml"), scope="guild:1")
    await service.add_source(feed_server.url("/a.xml"), scope="guild:2")
    assert len(await service.list_sources()) == 1
    await service.remove_source(feed_server.url("/a.xml"), scope="guild:1")
    assert len(await service.list_sources(scope="guild:2")) == 1
    assert len(await _stories(service)) == 1


async def test_opml_round_trip(service, feed_server) -> None:
    opml = (
        b'<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        b'<outline text="Folder"><outline type="rss" text="One" xmlUrl="https://one.example/feed"/>'
        b'<outline type="rss" text="Two" xmlUrl="https://two.example/rss"/></outline>'
        b'<outline type="rss" text="Bad" xmlUrl="ftp://three.example/"/></body></opml>'
    )
    report = await service.import_opml(opml)
    assert [s.name for s in report.added] == ["One", "Two"]
    assert report.skipped[0][0] == "ftp://three.example/"
    exported = await service.export_opml()
    assert 'xmlUrl="https://one.example/feed"' in exported and "<opml" in exported


def test_core_does_not_import_discord() -> None:
    code = (
        "import sys, bot.news, bot.news.service, bot.news.poll, bot.news.store, bot.news.worker;"
        "print('discord' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env
    )
    assert out.stdout.strip() == "False"


async def test_one_story_under_two_urls_in_one_feed_is_stored_once(service, feed_server) -> None:
    twin = item(1, link="https://news.example/story/1-amp", guid="urn:story:1:amp")
    feed_server.add("/feed.xml", rss([item(1), twin, item(2)]))
    await service.add_source(feed_server.url("/feed.xml"))
    assert sorted(s.url for s in await _stories(service)) == [
        "https://news.example/story/1",
        "https://news.example/story/2",
    ]


async def test_search_finds_a_word_typed_in_part(service, feed_server) -> None:
    titles = ["Anthropic raises prices", "Anthropomorphic robots on show", "Chip exports fall"]
    feed_server.add("/feed.xml", rss([item(n, title=t) for n, t in enumerate(titles, 1)]))
    await service.add_source(feed_server.url("/feed.xml"))
    assert {s.title for s in await service.search("anthrop")} == set(titles[:2])


async def test_search_ranks_only_the_newest_matches(service, feed_server, monkeypatch) -> None:
    from bot.news.store import stories as story_sql

    monkeypatch.setattr(story_sql, "SEARCH_WINDOW", 3)
    feed_server.add("/feed.xml", rss([item(n, title=f"Chip story {n}") for n in range(1, 6)]))
    await service.add_source(feed_server.url("/feed.xml"))
    first = await service.search("chip", limit=2)
    rest = await service.search("chip", limit=2, offset=2)
    found = [s.url for s in first + rest]
    # five stories match, but only the three stored last are ranked
    assert len(found) == len(set(found)) == 3
    assert all(s.snippet for s in first + rest)


async def test_same_event_from_two_outlets_is_one_digest_entry(service, feed_server) -> None:
    event = (
        "<p>The European Commission fined the chatbot maker 20 million euros on Monday "
        "under the AI Act. The company said it would appeal the ruling.</p>"
    )
    feed_server.add(
        "/a.xml",
        rss(
            [
                item(
                    1,
                    title="EU fines chatbot maker under the AI Act",
                    link="https://a.example/eu-fine",
                    description=event,
                )
            ],
            title="Outlet A",
        ),
    )
    feed_server.add(
        "/b.xml",
        rss(
            [
                item(
                    1,
                    title="Chatbot maker fined by EU under AI Act",
                    link="https://b.example/fine",
                    guid="b1",
                    description=event.replace("Monday", "Monday morning"),
                )
            ],
            title="Outlet B",
        ),
    )
    await service.add_source(feed_server.url("/a.xml"))
    await service.add_source(feed_server.url("/b.xml"))
    digest = await service.digest(since=timedelta(days=30))
    assert len(digest.stories) == 1
    [story] = digest.stories
    assert story.cluster_size == 2
    assert set(story.also_covered_by) == {"Outlet A", "Outlet B"} - {story.source_name}
    [found] = [s for s in await service.search("chatbot fined") if s.id == story.id]
    assert found.cluster_size == 2 and found.also_covered_by == story.also_covered_by


async def test_a_story_after_a_restart_joins_the_cluster_of_one_from_before(
    tmp_path, feed_server, clock
) -> None:
    event = (
        "<p>The European Commission fined the chatbot maker 20 million euros on Monday "
        "under the AI Act. The company said it would appeal the ruling.</p>"
    )
    a = rss(
        [item(1, title="EU fines chatbot maker", link="https://a.example/1", description=event)],
        title="Outlet A",
    )
    b = rss(
        [item(1, title="Chatbot maker fined by EU", link="https://b.example/1", description=event)],
        title="Outlet B",
    )
    feed_server.add("/a.xml", a)
    feed_server.add("/b.xml", b)
    first = await NewsService.open(make_config(tmp_path), clock=clock)
    try:
        await first.add_source(feed_server.url("/a.xml"))
    finally:
        await first.close()
    second = await NewsService.open(make_config(tmp_path), clock=clock)  # the bot restarted
    try:
        await second.add_source(feed_server.url("/b.xml"))
        [story] = (await second.digest(since=timedelta(days=30))).stories
        assert story.cluster_size == 2
        # a removed source's stories leave the clustering index with it
        await second.remove_source(feed_server.url("/a.xml"))
        [story] = (await second.digest(since=timedelta(days=30))).stories
        assert story.cluster_size == 1
        assert len(second._clusters) == 0  # reloaded from the store at the next poll
    finally:
        await second.close()


async def test_a_broken_feed_that_still_yields_stories_is_read_with_a_warning(
    service, feed_server, clock
) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"))
    whole = rss([item(n) for n in range(1, 6)])
    feed_server.add("/feed.xml", whole[: whole.index(b"<item>", whole.index(b"Story number 3"))])
    clock.advance(timedelta(hours=1))
    report = await service.poll(due_only=False)
    assert (report.ok, report.failed) == (1, 0)
    assert report.new_stories >= 1  # the items before the break are kept
    assert report.warnings and report.warnings[0][0] == "Example News"


async def test_retag_applies_a_changed_taxonomy_to_stored_stories(tmp_path, feed_server, clock):
    body = (
        "<p>The robot folds towels in under a minute. It was trained on video of people at"
        " home. The team tested it in three warehouses. Shirts remain harder than towels."
        " The arm costs less than a car. A rival faces a copyright lawsuit over its videos.</p>"
    )
    story = item(1, title="Warehouse robot learns to fold laundry", description=body)
    feed_server.add("/feed.xml", rss([story]))
    first = await NewsService.open(make_config(tmp_path), clock=clock)
    try:
        await first.add_source(feed_server.url("/feed.xml"))
        assert await first.retag() == 0  # the same taxonomy tags the same story the same way
    finally:
        await first.close()
    robotics = {
        "mode": "extend",
        "topics": [{"name": "robotics", "title": "Robotics", "phrases": ["robot"]}],
    }
    second = await NewsService.open(make_config(tmp_path, taxonomy=robotics), clock=clock)
    try:
        assert await second.stories(topic="robotics", since=timedelta(days=30)) == []
        assert await second.retag() == 1
        [story] = await second.stories(topic="robotics", since=timedelta(days=30))
        assert "robotics" in story.topics
        assert await second.retag() == 0  # nothing left to change
    finally:
        await second.close()


async def test_topic_names_are_taken_as_typed_and_unknown_ones_named(service) -> None:
    # `stories --topic` and a subscription accept what `digest --topic` accepts, and
    # refuse an unknown name with the same sentence, listing the topics there are
    assert await service.stories(topic=" Regulation ") == []
    sub = await service.subscribe(scope=GLOBAL, channel_id=42, topics=["Safety", "research"])
    assert sub.topics == ("safety", "research")
    for call in (
        service.stories(topic="sports"),
        service.subscribe(scope=GLOBAL, channel_id=43, topics=["safety", "sports"]),
    ):
        with pytest.raises(NewsError) as err:
            await call
        assert str(err.value).startswith("unknown topic 'sports'; topics: regulation, ")
