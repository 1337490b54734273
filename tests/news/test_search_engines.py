"""Search ranks comparably on both engines: the same corpus, the same queries, the same top
stories (FTS5's BM25 on SQLite, a weighted tsvector with ts_rank on PostgreSQL)."""

from __future__ import annotations

from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import item, rss

CORPUS = [
    ("EU fines chatbot maker under the AI Act", "The European Commission fined the company."),
    ("Open weights model released by a French lab", "The lab published the weights today."),
    ("Chipmaker opens a new fab in Arizona", "The fab will make chips for AI servers."),
    ("Quarterly report shows cloud growth", "Revenue rose; open weights were mentioned once."),
    ("Senate hearing on AI safety rules", "Lawmakers asked labs about safety testing."),
    ("Robotics startup raises $50 million", "Investors back humanoid robots for warehouses."),
    ("New benchmark for reasoning models", "Researchers released a reasoning benchmark."),
    ("Datacenter power demand keeps climbing", "Utilities warn about datacenter load."),
]
QUERIES = ["AI Act", "open weights", "Arizona fab", "safety", "robots", "benchmark", "datacenter"]


async def top_stories(config, feed_url: str, clock) -> dict[str, list[str]]:
    service = await NewsService.open(config, clock=clock)
    try:
        await service.add_source(feed_url)
        return {q: [s.title for s in await service.search(q, limit=3)] for q in QUERIES}
    finally:
        await service.close()


async def test_the_same_queries_find_the_same_top_stories_on_both_engines(
    tmp_path, pg_url, feed_server, clock
) -> None:
    items = [
        item(n, title=t, description=f"<p>{d}</p>") for n, (t, d) in enumerate(CORPUS, start=1)
    ]
    feed_server.add("/feed.xml", rss(items))
    url = feed_server.url("/feed.xml")
    on_sqlite = await top_stories(make_config(tmp_path), url, clock)
    on_postgres = await top_stories(make_config(tmp_path, storage={"url": pg_url}), url, clock)
    for query in QUERIES:
        assert on_sqlite[query], query
        assert on_sqlite[query][0] == on_postgres[query][0], query
        assert set(on_sqlite[query]) == set(on_postgres[query]), query
