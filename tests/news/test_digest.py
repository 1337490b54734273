"""Digest ranking and grouping (pure functions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.news.digest import MORE_CAP, arrange_digest, pick_representatives
from bot.news.models import Story
from bot.news.topics import DEFAULT_TOPICS

NOW = datetime(2026, 9, 20, 12, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)


def story(id: int, topics=(), hours: float = 1, covered=(), **kw) -> Story:
    published = NOW - timedelta(hours=hours)
    return Story(
        id=id,
        source_id=kw.pop("source_id", id),
        source_name=kw.pop("source_name", f"Outlet {id}"),
        url=None,
        title=f"Story {id}",
        published=published,
        first_seen=published,
        topics=tuple(topics),
        also_covered_by=tuple(covered),
        **kw,
    )


def arrange(stories, limit=10, **kw):
    return arrange_digest(stories, topics=DEFAULT_TOPICS, now=NOW, since=SINCE, limit=limit, **kw)


def test_sections_follow_taxonomy_order() -> None:
    d = arrange([story(1, ["society"]), story(2, ["regulation"]), story(3, ["business"])])
    assert [s.topic for s in d.sections] == ["regulation", "business", "society"]
    assert [s.title for s in d.sections] == ["Regulation", "Business", "Society"]


def test_limit_caps_lead_stories_and_the_rest_are_more() -> None:
    stories = [story(i, ["products"], hours=i / 10) for i in range(1, 41)]
    d = arrange(stories, limit=5)
    leads = [s for sec in d.sections for s in sec.stories]
    assert [s.id for s in leads] == [1, 2, 3, 4, 5]
    assert len(d.more) == MORE_CAP and d.more[0].id == 6


def test_each_story_appears_once_in_its_first_topic() -> None:
    d = arrange([story(1, ["safety", "business"]), story(2, ["business"])])
    assert [(s.topic, [x.id for x in s.stories]) for s in d.sections] == [
        ("business", [2]),
        ("safety", [1]),
    ]
    assert sorted(s.id for s in d.stories) == [1, 2]


def test_wanted_topics_select_and_place_stories() -> None:
    stories = [story(1, ["business", "safety"]), story(2, ["products"]), story(3)]
    d = arrange(stories, wanted_topics=["safety"])
    assert [(s.topic, [x.id for x in s.stories]) for s in d.sections] == [("safety", [1])]
    assert d.topics == ("safety",)


def test_wider_coverage_raises_rank() -> None:
    lone = story(1, ["products"], hours=2)
    covered = story(2, ["products"], hours=2, covered=["A", "B"])
    older_covered = story(3, ["products"], hours=30, covered=["A", "B"])
    d = arrange([lone, covered, older_covered], limit=1)
    assert d.sections[0].stories[0].id == 2
    assert [s.id for s in d.more] == [1]  # story 3 is older than `since`


def test_stories_without_topic_go_to_other_last() -> None:
    d = arrange([story(1), story(2, ["research"])])
    assert [(s.topic, s.title) for s in d.sections] == [("research", "Research"), ("", "Other")]


def test_order_is_deterministic() -> None:
    stories = [
        story(i, [DEFAULT_TOPICS[i % 8].name] if i % 3 else [], hours=i % 4) for i in range(60)
    ]
    expected = arrange(stories, limit=12)
    for seed in range(5):
        shuffled = stories[:]
        random.Random(seed).shuffle(shuffled)
        assert arrange(shuffled, limit=12) == expected
    ties = arrange([story(9, ["products"]), story(4, ["products"])])
    assert [s.id for s in ties.sections[0].stories] == [4, 9]


def test_one_story_per_cluster_even_if_caller_passes_more() -> None:
    d = arrange([story(1, ["products"], cluster_id=5), story(2, ["products"], cluster_id=5)])
    assert [s.id for s in d.stories] == [1]


def test_pick_representatives_keeps_best_written_and_names_others() -> None:
    members = [
        story(1, ["products"], hours=3, cluster_id=9, source_name="Verge", lead="Short."),
        story(
            2,
            hours=2,
            cluster_id=9,
            source_name="TechCrunch",
            lead="A longer lead sentence.",
            points=("one", "two"),
        ),
        story(3, hours=1, cluster_id=9, source_name="ZDNet", lead="x" * 400, points=("a", "b")),
        story(4, ["safety"], source_name="Wired"),
    ]
    reps = pick_representatives(members)
    assert [r.id for r in reps] == [2, 4]
    assert reps[0].also_covered_by == ("Verge", "ZDNet")
    assert reps[0].cluster_size == 3
    assert reps[0].topics == ("products",)  # borrowed from a member when it has none
    assert reps[1].also_covered_by == ()
