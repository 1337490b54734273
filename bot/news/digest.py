"""Choose, rank and group the stories of a digest. Pure: no I/O, no clock.

A story's rank is recency (halving every 12 hours) times a bonus for every
doubling of the outlets covering it, times how well it fits the wanted topics.
The best ``limit`` become lead stories grouped into topic sections in taxonomy
order; the next ones are listed as one-line "more stories".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.news.models import Digest, DigestSection, Story
from bot.news.topics import Topic

HALF_LIFE_HOURS = 12.0
#: outlets named with a story (the rest are counted)
NAMED_OUTLETS = 10
#: rank bonus per doubling of the number of outlets (2 outlets = x2, 4 = x3)
COVERAGE_WEIGHT = 1.0
#: a story without any taxonomy topic ranks as if this much less relevant
NO_TOPIC_FIT = 0.7
MORE_CAP = 15
OTHER_TITLE = "Other"
#: a lead longer than this reads as a paragraph, not a lead
LEAD_LIMIT = 300


def rank_score(story: Story, *, now: datetime, fit: float = 1.0) -> float:
    age_hours = max(0.0, (now - story.published).total_seconds() / 3600)
    recency = 0.5 ** (age_hours / HALF_LIFE_HOURS)
    coverage = 1.0 + COVERAGE_WEIGHT * math.log2(max(1, story.cluster_size))
    return fit * recency * coverage


def _writing_quality(story: Story) -> tuple:
    lead = len(story.lead)
    within = 0 < lead <= LEAD_LIMIT
    return (
        bool(story.lead) and bool(story.points),
        within,
        lead if within else -lead,
        -story.published.timestamp(),
        -story.id,
    )


def pick_representatives(stories: Sequence[Story]) -> list[Story]:
    """One story per cluster: the best written, naming the other outlets.

    Best written means it has a lead and key points, then the longest lead
    within :data:`LEAD_LIMIT`, then the earliest. Stories without a cluster id
    stand alone. Output follows the order in which clusters first appear.
    """
    groups: dict[object, list[Story]] = {}
    for s in stories:
        key = ("cluster", s.cluster_id) if s.cluster_id is not None else ("story", s.id)
        groups.setdefault(key, []).append(s)
    out = []
    for members in groups.values():
        rep = max(members, key=_writing_quality)
        others = sorted((m for m in members if m is not rep), key=lambda m: (m.published, m.id))
        names: dict[str, None] = {}  # insertion-ordered set: big clusters stay linear
        for m in others:
            names[m.source_name] = None
            names.update(dict.fromkeys(m.also_covered_by))
        names.update(dict.fromkeys(rep.also_covered_by))
        names.pop(rep.source_name, None)
        names.pop("", None)
        count = max(len(names), rep.other_outlets, *(m.other_outlets for m in others))
        names = dict.fromkeys(list(names)[:NAMED_OUTLETS])
        topics = rep.topics or next((m.topics for m in others if m.topics), ())
        out.append(replace(rep, also_covered_by=tuple(names), other_outlets=count, topics=topics))
    return out


def arrange_digest(
    stories: Sequence[Story],
    *,
    topics: Sequence[Topic],
    now: datetime,
    since: datetime,
    limit: int,
    wanted_topics: Sequence[str] = (),
    title: str = "News digest",
    notice: str | None = None,
) -> Digest:
    """Rank one representative story per cluster and lay out the digest.

    With ``wanted_topics`` only stories carrying one of them are included and
    each sits in its first wanted topic; otherwise every story is included and
    one with no known topic goes to the "Other" section (topic "").
    """
    order = [t.name for t in topics]
    known = set(order)
    wanted = [t for t in dict.fromkeys(wanted_topics) if t in known]
    wanted_set = set(wanted)
    titles = {t.name: t.title for t in topics}

    candidates: list[tuple[float, int, Story, str]] = []
    for s in stories:
        if s.published < since:
            continue
        own = [t for t in s.topics if t in known]
        if wanted_set:
            hits = [t for t in own if t in wanted_set]
            if not hits:
                continue
            section, fit = hits[0], 1.0
        elif own:
            section, fit = own[0], 1.0
        else:
            section, fit = "", NO_TOPIC_FIT
        candidates.append((rank_score(s, now=now, fit=fit), s.id, s, section))

    keep = max(0, limit) + MORE_CAP
    # nsmallest on (-score, id): highest score first, ties by lower id, in O(n log k);
    # a few spare places cover stories dropped as repeats, else sort everything
    ranked = heapq.nsmallest(keep + 8, candidates, key=_rank_key)
    chosen = _distinct(ranked, keep)
    if len(chosen) < keep and len(ranked) < len(candidates):
        chosen = _distinct(sorted(candidates, key=_rank_key), keep)

    leads, more = chosen[: max(0, limit)], [s for s, _ in chosen[max(0, limit) :]]
    by_section: dict[str, list[Story]] = {}
    for s, section in leads:
        by_section.setdefault(section, []).append(s)
    sections = [
        DigestSection(topic=name, title=titles[name], stories=tuple(by_section[name]))
        for name in order
        if name in by_section
    ]
    if "" in by_section:
        sections.append(DigestSection(topic="", title=OTHER_TITLE, stories=tuple(by_section[""])))
    return Digest(
        title=title,
        since=since,
        until=now,
        sections=tuple(sections),
        more=tuple(more[:MORE_CAP]),
        notice=notice,
        topics=tuple(wanted),
    )


def _rank_key(c: tuple[float, int, Story, str]) -> tuple[float, int]:
    return (-c[0], c[1])


def _distinct(
    ranked: Sequence[tuple[float, int, Story, str]], keep: int
) -> list[tuple[Story, str]]:
    """Each story, and each cluster, once: the caller may pass more than one per cluster."""
    chosen: list[tuple[Story, str]] = []
    seen_ids: set[int] = set()
    seen_clusters: set[int] = set()
    for _, _, s, section in ranked:
        if s.id in seen_ids or (s.cluster_id is not None and s.cluster_id in seen_clusters):
            continue
        seen_ids.add(s.id)
        if s.cluster_id is not None:
            seen_clusters.add(s.cluster_id)
        chosen.append((s, section))
        if len(chosen) == keep:
            break
    return chosen
