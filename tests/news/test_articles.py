"""Article pages for feeds that give only a cut teaser (issue 16, part 1): loopback pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.news import articles
from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import item, rss

PARAGRAPHS = [
    "The European Commission fined the chatbot maker 20 million euros on Monday under the AI"
    " Act, the first penalty the law has produced since it took effect.",
    "Officials said the company had failed to tell users they were talking to a machine and"
    " had kept no records of the data its model was trained on.",
    "The company said it would appeal the decision before the General Court in Luxembourg and"
    " that it had already changed the disclosure shown to users.",
    "Lawyers expect the ruling to guide how national regulators treat general-purpose models.",
]
TEASER = "<p>The European Commission fined the chatbot maker 20 million euros on Monday…</p>"
WHOLE = (
    "<p>The commission fined a startup for misleading users. The startup said it would appeal."
    " Lawyers said the case would take a year.</p>"
)


def page(title: str = "EU fines chatbot maker") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><nav>Home · World</nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>© News</footer></body></html>"
    ).encode()


@pytest.fixture
async def reader(tmp_path, clock, storage) -> AsyncIterator[NewsService]:
    config = make_config(tmp_path, storage=storage, fetch={"articles": True})
    svc = await NewsService.open(config, clock=clock)
    try:
        yield svc
    finally:
        await svc.close()


async def _texts(service: NewsService) -> dict[str, str]:
    stories = await service.stories(since=timedelta(days=30), limit=100)
    rows = await service.store.stories.by_ids([s.id for s in stories], with_text=True)
    return {s.title: s.text for s in rows}


async def test_a_cut_teaser_is_replaced_by_its_article_page_once(reader, feed_server) -> None:
    feed_server.add("/a/1.html", page(), content_type="text/html; charset=utf-8")
    teaser = item(1, title="EU fines chatbot maker", link=feed_server.url("/a/1.html"))
    teaser.description = TEASER
    whole = item(2, title="Startup fined", link=feed_server.url("/a/2.html"), description=WHOLE)
    feed_server.add("/one.xml", rss([teaser, whole], title="One"))
    await reader.add_source(feed_server.url("/one.xml"), backfill=5)

    texts = await _texts(reader)
    assert "General Court in Luxembourg" in texts["EU fines chatbot maker"]
    assert "Home · World" not in texts["EU fines chatbot maker"]
    assert feed_server.hits("/a/2.html") == 0  # a whole text needs no page
    stories = await reader.stories(since=timedelta(days=30))
    [story] = [s for s in stories if s.title == "EU fines chatbot maker"]
    assert not story.lead.endswith("…") and story.points  # a briefing, not half a sentence
    # another outlet's item with the same link reads the cached text: no second fetch
    again = item(3, title="EU fines chatbot maker again", link=feed_server.url("/a/1.html"))
    again.description = TEASER
    feed_server.add("/two.xml", rss([again], title="Two"))
    await reader.add_source(feed_server.url("/two.xml"), backfill=5)
    assert feed_server.hits("/a/1.html") == 1


async def test_pages_that_give_nothing_better_leave_the_teaser(reader, feed_server) -> None:
    feed_server.add("/a/pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    feed_server.add(
        "/a/paywall.html",
        b"<html><body><article><p>Subscribe to read.</p></article></body></html>",
        content_type="text/html",
    )
    feed_server.add_status("/a/gone.html", 404)
    items = []
    for n, path in enumerate(("/a/pdf", "/a/paywall.html", "/a/gone.html"), start=1):
        it = item(n, title=f"Teaser {n}", link=feed_server.url(path))
        it.description = f"<p>Story {n} starts here and is cut...</p>"
        items.append(it)
    feed_server.add("/feed.xml", rss(items))
    added = await reader.add_source(feed_server.url("/feed.xml"), backfill=5)
    assert added.report.failed == 0
    texts = await _texts(reader)
    assert texts == {f"Teaser {n}": f"Story {n} starts here and is cut..." for n in (1, 2, 3)}
    assert [feed_server.hits(p) for p in ("/a/pdf", "/a/paywall.html", "/a/gone.html")] == [
        1,
        1,
        1,
    ]


@pytest.mark.parametrize("switch", ["config", "source"])
async def test_articles_off_in_config_or_for_a_source(tmp_path, clock, feed_server, switch):
    feed_server.add("/a/1.html", page(), content_type="text/html")
    teaser = item(1, title="EU fines chatbot maker", link=feed_server.url("/a/1.html"))
    teaser.description = TEASER
    feed_server.add("/feed.xml", rss([teaser]))
    fetch = {"articles": switch != "config"}
    service = await NewsService.open(make_config(tmp_path, fetch=fetch), clock=clock)
    try:
        await service.add_source(
            feed_server.url("/feed.xml"), full_text=False if switch == "source" else None
        )
        assert feed_server.hits("/a/1.html") == 0
        assert (await _texts(service))["EU fines chatbot maker"] == TEASER[3:-4]
    finally:
        await service.close()


async def test_a_big_first_poll_fetches_a_bounded_number_of_pages(reader, feed_server) -> None:
    items = []
    for n in range(1, 31):
        feed_server.add(f"/a/{n}.html", page(f"Story {n}"), content_type="text/html")
        it = item(n, title=f"Story {n}", link=feed_server.url(f"/a/{n}.html"))
        it.description = f"<p>Story {n} is only a teaser…</p>"
        items.append(it)
    feed_server.add("/feed.xml", rss(items))
    await reader.add_source(feed_server.url("/feed.xml"), backfill=3)
    fetched = [n for n in range(1, 31) if feed_server.hits(f"/a/{n}.html")]
    assert len(fetched) == articles.PER_POLL
    assert {1, 2, 3} <= set(fetched)  # the stories announced first get their pages
    assert feed_server.peak_concurrency() <= articles.CONCURRENCY + 1  # + the feed itself


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("The model ships today. It costs less than the last one.", False),
        ("The model ships today and costs…", True),
        ("The model ships today and costs [...]", True),
        ("The model ships today.", True),
        ("", True),
    ],
)
def test_what_counts_as_a_teaser(text: str, teaser: bool) -> None:
    assert articles.is_teaser(text) is teaser
