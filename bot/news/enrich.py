"""Enrichment at ingest: clean text, condense, tag. Runs once per new or edited story.

CPU work, called off the event loop (in a worker thread) by the poll pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.news.clean import clean_text, clean_title
from bot.news.condense import condense
from bot.news.store import Candidate
from bot.news.topics import Tagger

log = logging.getLogger(__name__)


#: how much of a cluster the tagger reads: its first outlets, up to this many characters
CLUSTER_OUTLETS = 8
CLUSTER_CHARS = 4000


def tagging_input(headline: str, lead: str, points: Sequence[str]) -> tuple[str, str]:
    """What the tagger reads of a story, at ingest and on retag alike."""
    return headline, " ".join((lead, *points))


def cluster_tagging_input(
    members: Sequence[tuple[str, str, Sequence[str]]],
) -> tuple[str, str]:
    """What the tagger reads of a story cluster: the first outlet's headline, then every
    outlet's headline, lead and points (each sentence once), oldest outlet first.

    One outlet's teaser is often too thin to tell a topic; together, the outlets that
    covered a story say what it is about, and every story of the cluster gets one answer.
    """
    seen: set[str] = set()
    parts: list[str] = []
    size = 0
    for i, (headline, lead, points) in enumerate(members[:CLUSTER_OUTLETS]):
        for sentence in (headline if i else "", lead, *points):
            key = " ".join(sentence.lower().split())
            if not key or key in seen or size + len(sentence) > CLUSTER_CHARS:
                continue
            seen.add(key)
            parts.append(sentence)
            size += len(sentence) + 1
    return members[0][0] if members else "", " ".join(parts)


def group_tagging_input(members: Sequence[tuple[str, str, Sequence[str]]]) -> tuple[str, str]:
    """What the tagger reads of a group of stories: one story's :func:`tagging_input`, a
    cluster's :func:`cluster_tagging_input`."""
    if len(members) == 1:
        return tagging_input(*members[0])
    return cluster_tagging_input(members)


class Enricher:
    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger

    def enrich(
        self, candidates: Sequence[Candidate], *, texts: dict[str, str] | None = None
    ) -> None:
        """Fill text, condensed and topics in place. ``texts`` maps keys to full article text."""
        if not candidates:
            return
        for cand in candidates:
            full = (texts or {}).get(cand.key)
            body = full or clean_text(cand.entry.content_html or cand.entry.summary_html)
            cand.text = body
            cand.condensed = condense(clean_title(cand.entry.title), body)
        items = [
            tagging_input(c.condensed.headline, c.condensed.lead, c.condensed.points)
            for c in candidates
        ]
        categories = [c.entry.categories for c in candidates]
        tags = self.tagger.tag_many(items, categories)
        for cand, topics in zip(candidates, tags, strict=True):
            cand.topics = tuple(topics)

    def retag(
        self,
        rows: Sequence[tuple[str, str]],
        categories: Sequence[Sequence[str]] | None = None,
    ) -> list[tuple[str, ...]]:
        return [tuple(t) for t in self.tagger.tag_many(list(rows), categories)]
