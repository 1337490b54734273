"""Two workers storing the same story from two outlets at the same moment (PostgreSQL).

Both have looked the link up and found nothing before either claims it, so luck cannot help:
the database's unique key on story links decides. One story stays, both outlets are credited.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.news.service import NewsService
from bot.news.store import GLOBAL
from bot.news.store import stories as story_sql
from tests.news.conftest import make_config
from tests.news.feeds import BASE, item, rss


@pytest.mark.timeout(60)
async def test_two_workers_one_story_from_two_outlets_one_cluster_both_credited(
    tmp_path, pg_url, feed_server, clock, monkeypatch
) -> None:
    shared = item(
        1,
        title="Chipmaker opens a new fab in Arizona",
        link="https://wire.example/chip-fab",
        published=BASE + timedelta(minutes=-10),
    )
    feed_server.add("/a.xml", rss([shared], title="Outlet A"))
    feed_server.add("/b.xml", rss([shared], title="Outlet B"))
    config = make_config(tmp_path, storage={"url": pg_url})
    one = await NewsService.open(config, clock=clock)
    two = await NewsService.open(config, clock=clock)
    try:
        a, _ = await one.store.sources.add(**_source(feed_server.url("/a.xml"), "Outlet A", clock))
        b, _ = await one.store.sources.add(**_source(feed_server.url("/b.xml"), "Outlet B", clock))

        # hold both writes just before they claim the link, until both got there
        barrier = asyncio.Barrier(2)
        original = story_sql._claim_urls
        raced = []

        async def claim_together(db, claims):
            if claims:
                raced.append(sorted(claims))
                await asyncio.wait_for(barrier.wait(), 20)
            return await original(db, claims)

        monkeypatch.setattr(story_sql, "_claim_urls", claim_together)
        reports = await asyncio.gather(one.poller.run([a]), two.poller.run([b]))
        assert raced == [[shared.link], [shared.link]]  # both really tried to store it
        assert sorted(r.new_stories for r in reports) == [0, 1]
        await one.cluster()
        await two.cluster()

        db = one.store.db
        assert await db.fetchval("SELECT count(*) FROM stories WHERE url = ?", (shared.link,)) == 1
        story_id = await db.fetchval("SELECT id FROM stories WHERE url = ?", (shared.link,))
        keys = await db.fetch("SELECT source_id, story_id FROM story_keys ORDER BY source_id")
        assert [(r[0], r[1]) for r in keys] == [(a.id, story_id), (b.id, story_id)]
        outlets = await db.fetch("SELECT source_id FROM cluster_outlets ORDER BY source_id")
        assert [r[0] for r in outlets] == [a.id, b.id]
        # the reader sees it once, with the other outlet named
        [story] = await one.store.stories.recent(scope=None, since=BASE - timedelta(hours=10))
        assert story.other_outlets == 1
        assert story.also_covered_by == ("Outlet B",) or story.also_covered_by == ("Outlet A",)
        for source in await one.store.sources.list():
            assert source.story_count == 1  # both outlets show they contribute
    finally:
        await one.close()
        await two.close()


def _source(url: str, name: str, clock) -> dict:
    return {
        "url": url,
        "name": name,
        "interval": timedelta(minutes=30),
        "backfill": 0,
        "full_text": False,
        "scope": GLOBAL,
        "now": clock(),
    }
