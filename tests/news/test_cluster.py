"""Same-story clustering across outlets."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bot.news.cluster import ClusterItem, assign_clusters, build_idf, pair_similarity

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


def test_incremental_batch_is_fast() -> None:
    rng = random.Random(1)
    vocab = [f"word{i}" for i in range(5000)]

    def text() -> str:
        return " ".join(rng.choices(vocab, k=30))

    recent = [item(i, i % 60, text(), -rng.random() * 40) for i in range(3000)]
    new = [item(10_000 + i, i % 60, text(), rng.random()) for i in range(500)]
    start = time.perf_counter()
    result = assign_clusters(new, recent)
    assert time.perf_counter() - start < 2.0  # about 0.3 s measured; CI machines are shared
    assert len(result) >= 500


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


def test_first_poll_of_many_stories_is_fast() -> None:
    from bench.tagging import synthetic_news

    items = synthetic_news(6000, 300, 3, T0)
    start = time.process_time()
    result = assign_clusters(items, [])
    assert time.process_time() - start < 4.0  # about 1 s measured; was over 15 s
    assert len(result) == 6000
    assert len(set(result.values())) < 0.5 * len(items)  # the retold events were grouped


def test_a_cluster_spans_one_window_from_its_first_story() -> None:
    # each story is like the one before, so without a bound they would chain for days
    text = "Chipmaker unveils new accelerator for data centres at annual conference"
    new = [item(1, 1, text, hours=0), item(2, 2, text, hours=30), item(3, 3, text, hours=60)]
    result = assign_clusters(new, [])
    assert result[1] == result[2] == 1
    assert result[3] == 3  # 60 h after the event began: a story of its own
