"""Same-story clustering across outlets."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from bot.news.cluster import (
    COMPACT_FRACTION,
    COMPACT_MIN,
    HOLD,
    ClusterIndex,
    ClusterItem,
    assign_clusters,
    build_idf,
    pair_similarity,
)

T0 = datetime(2026, 9, 16, 12, tzinfo=UTC)
GOOGLE_HOME = (
    "Your AI agents can now control your Google Home devices. Google is launching early access "
    "to a new MCP server for Google Home, letting AI agents control connected devices."
)
GOOGLE_HOME_2 = (
    "Google will now let any AI agent run your smart home. Google Home MCP is a new integration "
    "that lets third-party AI agents control and monitor your connected devices."
)
MISTRAL = "Mistral raises €3B as sovereign AI becomes big business, at a €21 billion valuation."
SUNO = "Suno releases its first AI music model made with record industry help and licensed data."
FILLER = [
    "Pinterest teases a Restyle feature that lets you redesign your room with AI.",
    "Enveda secures $311M to bring nature-derived AI drugs into clinical trials.",
    "Qualcomm launches two new smartphone chips with emphasis on AI.",
    "Bernie Sanders proposes banning superintelligence and putting violators in prison.",
]


def item(id: int, source: int, text: str, hours: float = 0, cluster: int | None = None):
    return ClusterItem(id, source, T0 + timedelta(hours=hours), text, cluster)


def background() -> list[ClusterItem]:
    return [item(100 + i, 50 + i, t, -30) for i, t in enumerate(FILLER)]


def test_same_event_from_two_outlets_joins_one_cluster() -> None:
    recent = [item(1, 1, GOOGLE_HOME), *background()]
    result = assign_clusters([item(2, 2, GOOGLE_HOME_2, 1)], recent)
    assert result == {2: 1, 1: 1}  # the earlier story founds the cluster


def test_same_source_never_pairs() -> None:
    recent = [item(1, 1, GOOGLE_HOME), *background()]
    assert assign_clusters([item(2, 1, GOOGLE_HOME, 1)], recent) == {2: 2}


def test_stories_more_than_48_hours_apart_do_not_pair() -> None:
    recent = [item(1, 1, GOOGLE_HOME), *background()]
    assert assign_clusters([item(2, 2, GOOGLE_HOME_2, 49)], recent) == {2: 2}
    assert assign_clusters([item(2, 2, GOOGLE_HOME_2, 47)], recent)[2] == 1


def test_new_story_joins_an_existing_cluster() -> None:
    recent = [item(1, 1, GOOGLE_HOME, cluster=7), item(3, 3, GOOGLE_HOME_2, cluster=7)]
    recent += background()
    text = "Google Home opens to AI agents via an MCP server for smart home devices."
    assert assign_clusters([item(4, 4, text, 2)], recent) == {4: 7}


def test_stories_in_one_batch_cluster_together() -> None:
    new = [item(2, 2, GOOGLE_HOME_2, 1), item(1, 1, GOOGLE_HOME), item(5, 5, MISTRAL)]
    result = assign_clusters(new, background())
    assert result[1] == 1 and result[2] == 1
    assert result[5] == 5


def test_different_events_do_not_pair() -> None:
    recent = [item(1, 1, MISTRAL), *background()]
    result = assign_clusters([item(2, 2, SUNO, 1), item(3, 3, GOOGLE_HOME, 2)], recent)
    assert result == {2: 2, 3: 3}


def test_pair_similarity_bounds() -> None:
    idf = build_idf([GOOGLE_HOME, GOOGLE_HOME_2, MISTRAL, SUNO, *FILLER])
    assert abs(pair_similarity(MISTRAL, MISTRAL, idf) - 1.0) < 1e-9
    assert pair_similarity(MISTRAL, SUNO, idf) < 0.05
    assert pair_similarity(GOOGLE_HOME, GOOGLE_HOME_2, idf) > 0.3
    assert pair_similarity("", MISTRAL, idf) == 0.0


def test_a_big_batch_against_a_big_past_gives_every_new_story_a_cluster() -> None:
    rng = random.Random(1)
    vocab = [f"word{i}" for i in range(5000)]

    def text() -> str:
        return " ".join(rng.choices(vocab, k=30))

    recent = [item(i, i % 60, text(), -rng.random() * 40) for i in range(3000)]
    new = [item(10_000 + i, i % 60, text(), rng.random()) for i in range(500)]
    result = assign_clusters(new, recent)
    assert set(range(10_000, 10_500)) <= set(result)


def test_an_event_many_outlets_cover_stays_one_cluster() -> None:
    # The event's words are in a quarter of all stories: common, yet they must still pair.
    rng = random.Random(3)
    vocab = [f"word{i}" for i in range(3000)]
    event = "Nvidia unveils Rubin Ultra superchip at GTC keynote"
    new = [
        item(i, i, f"{event} {' '.join(rng.choices(vocab, k=3))}", rng.random() * 10)
        for i in range(1, 151)
    ]
    new += [item(1000 + i, 1000 + i, " ".join(rng.choices(vocab, k=14)), 5) for i in range(450)]
    result = assign_clusters(new, [])
    assert len({result[i] for i in range(1, 151)}) == 1


def test_a_first_poll_of_many_stories_groups_the_retold_events() -> None:
    from bench.tagging import synthetic_news

    items = synthetic_news(6000, 300, 3, T0)
    result = assign_clusters(items, [])
    assert len(result) == 6000
    assert len(set(result.values())) < 0.5 * len(items)


def test_a_cluster_spans_one_window_from_its_first_story() -> None:
    # each story is like the one before, so without a bound they would chain for days
    text = "Chipmaker unveils new accelerator for data centres at annual conference"
    new = [item(1, 1, text, hours=0), item(2, 2, text, hours=30), item(3, 3, text, hours=60)]
    result = assign_clusters(new, [])
    assert result[1] == result[2] == 1
    assert result[3] == 3  # 60 h after the event began: a story of its own


# ------------------------------------------------------------- the index kept between polls


def test_a_story_of_a_later_poll_joins_a_story_of_an_earlier_one() -> None:
    index = ClusterIndex()
    assert index.assign([item(1, 1, GOOGLE_HOME), *background()])[1] == 1
    # The words the two stories share were each in one story only after the first poll.
    assert index.assign([item(2, 2, GOOGLE_HOME_2, 1)]) == {2: 1}
    assert index.assign([item(3, 3, MISTRAL, 2)]) == {3: 3}


def test_a_story_that_founds_a_cluster_in_a_later_poll_is_reported() -> None:
    index = ClusterIndex()
    index.assign([], known=[item(1, 1, GOOGLE_HOME), *background()])
    assert index.assign([item(2, 2, GOOGLE_HOME_2, 1)]) == {2: 1, 1: 1}


def test_forgotten_stories_are_not_matched() -> None:
    index = ClusterIndex()
    index.assign([item(1, 1, GOOGLE_HOME), *background()])
    index.forget_before(T0 + timedelta(minutes=1))
    assert len(index) == 0
    assert index.assign([item(2, 2, GOOGLE_HOME_2, 1)]) == {2: 2}


def test_the_index_still_matches_after_compacting() -> None:
    rng = random.Random(5)
    vocab = [f"word{i}" for i in range(4000)]
    index = ClusterIndex()
    old = [item(1000 + i, 500 + i, " ".join(rng.choices(vocab, k=12)), -200) for i in range(3000)]
    index.assign(old)
    index.assign([item(1, 1, GOOGLE_HOME, cluster=7), item(3, 3, GOOGLE_HOME_2, cluster=7)])
    index.forget_before(T0 - timedelta(hours=100))  # the old 3000 go: the index compacts
    assert len(index) == 2
    text = "Google Home opens to AI agents via an MCP server for smart home devices."
    assert index.assign([item(4, 4, text, 2)]) == {4: 7}


def test_what_the_index_keeps_stays_bounded_over_weeks() -> None:
    """Stories with words of their own for 30 days, a poll every 12 h: the index forgets
    the stories (and terms) past the hold, so its size depends on the hold, not on time."""
    index = ClusterIndex()
    sizes = []
    for step in range(60):
        hours = step * 12
        index.forget_before(T0 + timedelta(hours=hours) - HOLD)
        words = (" ".join(f"w{step}x{k}x{j}" for j in range(5)) for k in range(200))
        index.assign([item(step * 1000 + k, k, w, hours) for k, w in enumerate(words)])
        sizes.append(index.sizes())
    held = 200 * (HOLD // timedelta(hours=12) + 1)
    assert sizes[-1]["stories"] == held
    most_slots = (1 + COMPACT_FRACTION) * held + COMPACT_MIN
    for n in sizes:
        assert n["slots"] <= most_slots
        assert n["terms"] <= 5 * n["slots"]  # only the terms of the stories it keeps
    # the second fortnight keeps no more than the first (it saw 60 000 words in all)
    assert max(n["terms"] for n in sizes[30:]) <= max(n["terms"] for n in sizes[:30]) < 20_000


def retold_events(seed: int = 4) -> tuple[list[ClusterItem], dict[int, int]]:
    """200 events told by 2-8 outlets each within 6 h, 1500 one-off stories; 78 h in all.

    Returns the stories in time order and the event of each (one-offs: an event of their own).
    """
    rng = random.Random(seed)
    filler = [f"w{i}" for i in range(3000)]
    cum = list(itertools.accumulate(1 / (i + 1) for i in range(3000)))
    stories, event_of = [], {}
    for e in range(200):
        names = [f"name{e}x{k}" for k in range(4)]
        hours = rng.random() * 72
        for source in rng.sample(range(300), rng.randint(2, 8)):
            words = rng.sample(names, 3) + rng.choices(filler, cum_weights=cum, k=10)
            rng.shuffle(words)
            sid = len(stories) + 1
            stories.append(item(sid, source, " ".join(words), hours + rng.random() * 6))
            event_of[sid] = e
    for _ in range(1500):
        sid = len(stories) + 1
        words = [f"solo{sid}", f"solo{sid}b", *rng.choices(filler, cum_weights=cum, k=10)]
        stories.append(item(sid, rng.randrange(300), " ".join(words), rng.random() * 78))
        event_of[sid] = -sid
    return sorted(stories, key=lambda s: s.published), event_of


def pairs_of(mapping: dict[int, int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = {}
    for story, group in mapping.items():
        members.setdefault(group, []).append(story)
    return {(a, b) for m in members.values() for a in m for b in m if a < b}


def test_clustering_poll_by_poll_is_about_as_good_as_clustering_at_once() -> None:
    stories, event_of = retold_events()
    truth = pairs_of(event_of)

    def precision_recall(mapping: dict[int, int]) -> tuple[float, float]:
        found = pairs_of(mapping)
        return len(found & truth) / len(found), len(found & truth) / len(truth)

    p_once, r_once = precision_recall(assign_clusters(stories, []))
    assert r_once > 0.95
    for size in (50, 400):  # polls of `size` stories, in time order
        index = ClusterIndex()
        by_poll: dict[int, int] = {}
        for lo in range(0, len(stories), size):
            by_poll.update(index.assign(stories[lo : lo + size]))
        p, r = precision_recall(by_poll)
        # Early polls see few stories, so word weights are rougher: a little worse, no more.
        assert r > 0.93 * r_once and p > 0.85 * p_once, (size, p, r, p_once, r_once)
