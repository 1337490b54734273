"""A feed's own categories as evidence for topics: a nudge, never a veto nor a topic alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.news.topics import DEFAULT_TOPICS, Tagger, Topic

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset" / "topics.jsonl"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(DEFAULT_TOPICS)


def _row(title_start: str) -> tuple[str, str]:
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["title"].startswith(title_start):
            return row["title"], row["summary"]
    raise AssertionError(title_start)


def test_a_category_naming_a_topic_tips_a_borderline_story(tagger) -> None:
    story = _row("Slack says its AI can make sense")
    assert tagger.tag_many([story]) == [()]
    assert tagger.tag_many([story], [["Apps"]]) == [("products",)]
    assert tagger.tag_many([story], [["Mobile Apps", "AI"]]) == [("products",)]


def test_categories_that_name_no_topic_change_nothing(tagger) -> None:
    stories = [_row("Slack says its AI"), _row("We don’t need AI regulation")]
    plain = tagger.tag_many(stories)
    assert tagger.tag_many(stories, [["AI", "News", "Featured"], ["storytype:standard"]]) == plain
    assert tagger.tag_many(stories, [[], []]) == plain


def test_a_category_alone_is_no_topic_and_no_veto(tagger) -> None:
    assert tagger.tag_many([("", "")], [["Regulation"]]) == [()]
    robot = Topic("robotics", "Robotics", "Robots", phrases=("robot",), exclude=("robot vacuum",))
    custom = Tagger([robot], embeddings=False)
    assert custom.tag_many([("A robot vacuum review", "")], [["Robotics"]]) == [()]
    assert custom.tag_many([("Weekly roundup", "")], [["Robotics"]]) == [()]
    # and a category naming another topic takes nothing away
    story = ("EU lawmakers pass the AI Act", "The regulation sets duties for providers.")
    assert "regulation" in tagger.tag_many([story], [["Business"]])[0]


async def test_the_feeds_category_reaches_the_stored_topics(tmp_path, clock, feed_server) -> None:
    from datetime import timedelta
    from xml.sax.saxutils import escape

    from bot.news.service import NewsService
    from tests.news.conftest import make_config

    title, summary = _row("LGND wants to make ChatGPT for the Earth")

    # days apart, so the two never cluster (a cluster is tagged as one, from all its text)
    def feed(name: str, category: str, day: int) -> str:
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            "<link>https://apps.example/</link><description>x</description>"
            f"<item><title>{escape(title)}</title><link>https://{name}.example/slack</link>"
            f"{category}<description>{escape(summary)}</description>"
            f"<pubDate>{day} Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"
        )

    feed_server.add("/plain.xml", feed("plain", "", 10))
    feed_server.add("/apps.xml", feed("apps", "<category>Startups</category>", 20))
    config = make_config(tmp_path, taxonomy={"embeddings": True})
    service = await NewsService.open(config, clock=clock)
    try:
        await service.add_source(feed_server.url("/plain.xml"))
        await service.add_source(feed_server.url("/apps.xml"))
        stories = await service.stories(since=timedelta(days=30))
        topics = {s.url.split("//")[1].split(".")[0]: s.topics for s in stories}
        assert "business" not in topics["plain"]
        assert "business" in topics["apps"]
        assert await service.retag() == 0  # a retag reads the stored categories too
    finally:
        await service.close()
