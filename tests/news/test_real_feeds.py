"""Real-world feed shapes as a new user adds them: every feed feedparser reads yields stories.

Each document under tests/data/feeds (feedparser's and gofeed's test feeds, real AI-blog
feeds, and the shapes in ``shapes/`` that once failed) is served from loopback and added
with ``NewsService.add_source`` (bench/real_feeds.py does the work; run it on
../shared/feeds for the whole corpus). Refusals must be sentences.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.real_feeds import FEEDS, feed_files, is_sentence, run
from bot.news import embed
from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import Item, rss
from tests.news.feeds import item as make_item


async def test_every_feed_feedparser_reads_yields_its_stories() -> None:
    outcomes = await run(FEEDS, verbose=False)
    assert outcomes.get("ok, no stories", []) == []
    assert outcomes.get("refused", []) == []  # feedparser read entries, we refused
    assert outcomes.get("not a sentence", []) == []
    # the corpus is really read: most of its files end "ok"
    assert len(outcomes["ok"]) >= 700
    # the shapes that once failed are among them (not merely merged away)
    ok = {line.split(":", 1)[0] for line in outcomes["ok"]}
    for name in (
        "shapes/atom_prefixed_root.xml",
        "shapes/long_comment_prologue.xml",
        "shapes/rdf_doctype_served_html.xml",
        "shapes/koi8r_rss.xml",
        "shapes/atom_hex_ids.xml",
        "shapes/rss090_rdf_lab.xml",
    ):
        assert name in ok, name


def test_the_corpus_has_the_shapes() -> None:
    names = {p.name for p in feed_files(FEEDS / "shapes")}
    assert len(names) >= 12


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("' Red'", False),
        ("' by'", False),
        ("KeyError", False),
        ("HTTP 404 Not Found", False),
        ("The feed is not well-formed XML (unclosed token at line 3).", True),
        ("could not fetch http://x.example/: the server closed the connection", True),
    ],
)
def test_is_sentence(message: str, expected: bool) -> None:
    assert is_sentence(message) is expected


async def test_a_large_vocabulary_does_not_fail_the_next_feed(
    tmp_path, clock, feed_server, monkeypatch
) -> None:
    """A feed that fills the word cache, then one with words cached before: both are read
    (the second failed with the error "' Red'" and "ok, 0 stories" on adding it)."""
    monkeypatch.setattr(embed, "CACHE_WORDS", 400)
    config = make_config(tmp_path, taxonomy={"embeddings": True})
    service = await NewsService.open(config, clock=clock)
    try:
        common = [make_item(n, topic_text="Red Planet rovers by NASA") for n in range(1, 4)]
        feed_server.add("/small.xml", rss(common, title="Small"))
        first = await service.add_source(feed_server.url("/small.xml"))
        assert (first.report.ok, first.report.new_stories) == (1, 3)

        big = [
            Item(
                title=f"Red report {n} by the desk",
                link=f"https://big.example/{n}",
                guid=f"big-{n}",
                description=" ".join(f"zq{n}w{k}x" for k in range(12)) + " Red by Sorry.",
                published=clock.now - timedelta(hours=n),
            )
            for n in range(60)
        ]
        feed_server.add("/big.xml", rss(big, title="Big"))
        added = await service.add_source(feed_server.url("/big.xml"))
        assert added.report.failures == ()
        assert (added.report.ok, added.report.new_stories) == (1, 60)
        listed = {s.name: s for s in await service.list_sources()}
        assert listed["Big"].last_error is None
        assert listed["Big"].story_count == 60
    finally:
        await service.close()


async def test_adding_says_when_the_first_read_failed(tmp_path, clock, feed_server) -> None:
    """A failure after the feed parsed is told on adding, not reported as "0 stories"."""
    service = await NewsService.open(make_config(tmp_path), clock=clock)
    try:

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("enrichment broke")

        service.enricher.enrich = broken  # type: ignore[method-assign]
        feed_server.add("/feed.xml", rss([make_item(1)]))
        added = await service.add_source(feed_server.url("/feed.xml"))
        assert (added.report.ok, added.report.failed) == (0, 1)
        # a bug's own text is logged, not shown: the admin reads a sentence about it
        [(_name, error)] = added.report.failures
        assert "unexpected error (RuntimeError)" in error and "retried" in error
    finally:
        await service.close()
