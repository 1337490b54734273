"""A story several outlets covered is tagged from all of their text, as one story."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.news.enrich import cluster_tagging_input
from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import item, rss

#: one outlet's teaser says too little to tell the topic ...
THIN = item(
    1,
    title="Mistral puts Magistral out for anyone",
    description="<p>Mistral released Magistral on Tuesday.</p>",
)
#: ... another outlet's report of the same news says it is open weights
RICH = item(
    2,
    title="Mistral puts Magistral out for anyone to download",
    link="https://other.example/magistral",
    guid="urn:other:2",
    description=(
        "<p>Mistral released the weights of Magistral under the Apache 2.0 license on Hugging"
        " Face. Developers can download and fine-tune the open-source model. The open weights"
        " run on a single GPU.</p>"
    ),
)


@pytest.fixture
async def embedded(tmp_path, clock, storage) -> AsyncIterator[NewsService]:
    config = make_config(tmp_path, storage=storage, taxonomy={"embeddings": True})
    svc = await NewsService.open(config, clock=clock)
    try:
        yield svc
    finally:
        await svc.close()


async def _topics(service: NewsService) -> dict[str, tuple[str, ...]]:
    stories = await service.stories(since=timedelta(days=30))
    return {s.title: s.topics for s in stories}


async def test_a_thin_teaser_takes_the_topics_of_its_whole_cluster(embedded, feed_server) -> None:
    service = embedded
    feed_server.add("/one.xml", rss([THIN], title="One"))
    await service.add_source(feed_server.url("/one.xml"), backfill=5)
    alone = (await _topics(service))[THIN.title]
    assert "open-source" not in alone  # one line from one outlet: not enough to tell

    feed_server.add("/two.xml", rss([RICH], title="Two"))
    await service.add_source(feed_server.url("/two.xml"), backfill=5)
    topics = await _topics(service)
    assert topics[THIN.title] == topics[RICH.title]  # one story, one answer
    assert "open-source" in topics[THIN.title]
    digest = await service.digest(topics=["open-source"], since=timedelta(days=7), widen=False)
    assert len(digest.stories) == 1 and digest.stories[0].other_outlets == 1
    assert await service.retag() == 0  # a retag reads the cluster's text too


def test_the_cluster_text_reads_each_sentence_once_oldest_outlet_first() -> None:
    headline, text = cluster_tagging_input(
        [
            ("EU passes the AI Act", "Parliament passed the AI Act.", ["Fines reach 7%."]),
            ("EU adopts AI Act", "Parliament passed the AI Act.", ["It applies in 2026."]),
        ]
    )
    assert headline == "EU passes the AI Act"
    assert text == (
        "Parliament passed the AI Act. Fines reach 7%. EU adopts AI Act It applies in 2026."
    )
