"""Acceptance: the digest of real feeds reads clean.

Real AI-company blog feeds (tests/data/feeds/ai-blogs) go through the whole core: fetch from a
loopback server, parse, clean, condense, tag, cluster, store, digest. What a reader sees must
have no HTML, no entities, no boilerplate, no cut words, no repeated sentence, and no key
point that is a teaser cut with "…" or a question.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

from bot.news.clean import BOILERPLATE
from bot.news.condense import content_words, near_duplicate
from tests.news.feeds import item, rss

FEEDS = Path(__file__).parent.parent / "data" / "feeds" / "ai-blogs"
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,5}|#x[0-9a-fA-F]{2,4});")


def _pieces(story) -> list[str]:
    return [p for p in (story.headline, story.lead, *story.points) if p]


async def test_digest_of_real_feeds_reads_clean(service, feed_server, clock) -> None:
    for path in sorted(FEEDS.glob("*.xml")):
        feed_server.add(f"/{path.name}", path.read_bytes(), content_type="application/rss+xml")
        await service.add_source(feed_server.url(f"/{path.name}"))
    digest = await service.digest(since=timedelta(days=3650), limit=40)
    stories = digest.stories
    assert len(stories) >= 40
    for story in stories:
        text = await _full_text(service, story.id)
        for piece in _pieces(story):
            assert not TAG.search(piece), piece
            assert not ENTITY.search(piece), piece
            assert html.unescape(piece) == piece or "&" not in piece, piece
            for name, pattern in BOILERPLATE:
                assert not pattern.search(piece), (name, piece)
        for piece in (story.lead, *story.points):
            if piece.endswith("…"):
                kept = piece[:-1].rstrip(" ,;:")
                last = kept.split()[-1]
                # the shortened piece ends on a whole word of the story's text
                assert re.search(rf"{re.escape(last)}(?=[\s,.;:!?)\"'’”—-]|$)", text), piece
        for point in story.points:  # a key point is a whole statement, not a teaser
            assert not point.rstrip("\"'”’)").endswith(("…", "...", "?")), point
            assert len(point.split()) >= 3, point
        words = [content_words(p) for p in (story.lead, *story.points) if p]
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                assert not near_duplicate(words[i], words[j]), story.id


async def test_a_story_without_text_gets_a_headline_and_no_invented_points(
    service, feed_server
) -> None:
    feed_server.add(
        "/feed.xml", rss([item(1, title="OpenAI names a new chief scientist", description="")])
    )
    await service.add_source(feed_server.url("/feed.xml"), backfill=1)
    [story] = (await service.digest(since=timedelta(days=30))).stories
    assert story.headline == "OpenAI names a new chief scientist"
    assert story.lead == "" and story.points == ()


async def _full_text(service, story_id: int) -> str:
    [story] = await service.store.stories.by_ids([story_id], with_text=True)
    return story.text
