"""NewsService.story_briefing on both engines: the cluster across sources, scopes, bad ids."""

from __future__ import annotations

import pytest

from bot.news.errors import StoryNotFoundError
from tests.news.feeds import BASE, item, rss

FIRST = item(
    1,
    title="EU fines chatbot maker Acme under the AI Act",
    description="<p>The European Commission fined Acme €20 million on Monday under the AI Act. "
    "Acme said it would appeal the decision at the European Court of Justice.</p>",
    published=BASE,
)
SECOND = item(
    2,
    link="https://wire.example/acme-fine",
    guid="wire-1",
    title="EU fines chatbot maker Acme €20 million under the AI Act",
    description="<p>Regulators in Brussels fined the chatbot maker Acme €20 million under the "
    "AI Act. Officials said the penalty was four percent of its European revenue.</p>",
    published=BASE,
)


async def test_a_story_briefing_reads_every_outlet_of_its_cluster(service, feed_server) -> None:
    feed_server.add("/a.xml", rss([FIRST], title="Policy Daily"))
    feed_server.add("/b.xml", rss([SECOND], title="Policy Wire"))
    await service.add_source(feed_server.url("/a.xml"), backfill=1)
    await service.add_source(feed_server.url("/b.xml"), backfill=1)
    await service.cluster()
    stories = await service.stories(limit=10)
    assert len({s.cluster_id for s in stories}) == 1, "the two outlets' stories are one cluster"
    briefing = await service.story_briefing(stories[0].id)
    assert set(briefing.outlets) == {"Policy Daily", "Policy Wire"}
    assert briefing.headline.startswith("EU fines chatbot maker Acme")
    shown = [*briefing.points, *(b for s in briefing.sections for b in (s.summary, *s.bullets))]
    assert {b.outlet for b in shown} <= {"Policy Daily", "Policy Wire"}


async def test_an_unknown_or_invisible_story_is_a_sentence(service, feed_server) -> None:
    with pytest.raises(StoryNotFoundError, match="there is no story 4242"):
        await service.story_briefing(4242)
    feed_server.add("/a.xml", rss([FIRST], title="Policy Daily"))
    await service.add_source(feed_server.url("/a.xml"), scope="guild:1", backfill=1)
    story = (await service.stories(limit=1))[0]
    assert (await service.story_briefing(story.id, scope="guild:1")).story_id == story.id
    with pytest.raises(StoryNotFoundError):
        await service.story_briefing(story.id, scope="guild:2")  # another server's source


async def test_a_cluster_of_one_has_no_sections(service, feed_server) -> None:
    feed_server.add("/a.xml", rss([FIRST], title="Policy Daily"))
    await service.add_source(feed_server.url("/a.xml"), backfill=1)
    story = (await service.stories(limit=1))[0]
    briefing = await service.story_briefing(story.id)
    assert briefing.sections == ()
    assert briefing.outlets == ("Policy Daily",)
    assert briefing.lead.startswith("The European Commission fined Acme")
