"""What filters cost: matching 20 subscriptions of 10 terms each, against building the digest.

Run from the repository root::

    python bench/filter_bench.py                 # 2,000 stories (a digest's selection)
    python bench/filter_bench.py --stories 500 --repeat 7

The stories are written from the BBC articles under ``bench/data/bbc`` (headline, a
one-sentence lead, two points; some non-ASCII for the accent-folding path), the shape the
store returns for a digest. Each subscription has 10 terms: six words, two phrases, one
term with symbols and one ``re:`` pattern, split between include and exclude, as a
channel would write them. Matching is timed as a digest pays it: a fresh ``FilterSet``
per subscription (compile, then for each story normalise its text once and decide), without
the grouping into clusters that every digest does anyway. The digest build is
``pick_representatives`` + ``arrange_digest`` on the same stories (the part of
``NewsService.digest`` after the SQL; the store's select adds 80-150 ms at 100k stories,
bench/README, so the ratio printed here is the pessimistic one). CPU time, best of
``--repeat``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.news.digest import arrange_digest, pick_representatives
from bot.news.filters import Filters
from bot.news.matcher import _TEXTS, FilterSet
from bot.news.models import Story
from bot.news.topics import DEFAULT_TOPICS

CORPUS = Path(__file__).parent / "data" / "bbc" / "article"
NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
ACCENTED = {"cafe": "café", "resume": "résumé", "zurich": "Zürich", "naive": "naïve"}


def corpus_stories(n: int, rng: random.Random) -> list[Story]:
    """``n`` stories cycled from the corpus, a third in clusters of two or three outlets."""
    articles = []
    for path in sorted(CORPUS.glob("*/*.txt")):
        lines = [x.strip() for x in path.read_text(encoding="latin-1").splitlines() if x.strip()]
        sentences = re.split(r"(?<=[.!?])\s+", " ".join(lines[1:]))
        articles.append((lines[0], sentences))
    stories = []
    for i in range(n):
        title, sentences = articles[i % len(articles)]
        lead = sentences[0]
        for accented in ACCENTED.values():
            if rng.random() < 0.05:
                lead += f" A {accented} note."
        cluster = i // 3 if i % 3 == 0 else None
        stories.append(
            Story(
                id=i + 1,
                source_id=i % 40 + 1,
                source_name=f"Outlet {i % 40 + 1}",
                url=None,
                title=title,
                published=NOW - timedelta(minutes=i * 7 % 1440),
                first_seen=NOW,
                headline=f"{title} ({i})",
                lead=lead,
                points=tuple(sentences[1:3]),
                topics=(DEFAULT_TOPICS[i % len(DEFAULT_TOPICS)].name,),
                cluster_id=cluster,
                other_outlets=rng.choice((0, 0, 1, 2, 5)),
            )
        )
    return stories


def subscription_filters(
    count: int, stories: list[Story], rng: random.Random, *, patterns: bool = True
) -> list[Filters]:
    """``count`` filter sets of 10 terms, drawn from the stories' own words."""
    words = sorted(
        {w for s in stories[:300] for w in re.findall(r"[A-Za-z]{5,}", s.lead)}, key=str.lower
    )
    out = []
    for _ in range(count):
        picked = rng.sample(words, 10)
        terms = [
            *picked[:6],
            f"{picked[6]} {picked[7]}",
            f"{picked[8]} of",
            rng.choice(["C++", "GPT-4o", "café", "Zürich"]),
            rf"re:{picked[9][:4]}\w*s\b" if patterns else picked[9],
        ]
        rng.shuffle(terms)
        out.append(
            Filters(
                include=tuple(terms[:7]), exclude=tuple(terms[7:]), min_outlets=rng.choice((0, 2))
            )
        )
    return out


def cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--no-patterns", action="store_true", help="a tenth word instead of each re: term"
    )
    args = parser.parse_args()
    rng = random.Random(1)
    stories = corpus_stories(args.stories, rng)
    subs = subscription_filters(args.subscriptions, stories, rng, patterns=not args.no_patterns)

    def build() -> None:
        arrange_digest(
            pick_representatives(stories),
            topics=DEFAULT_TOPICS,
            now=NOW,
            since=NOW - timedelta(days=1),
            limit=8,
        )

    kept: list[int] = []

    def match_all() -> None:
        """What filters add to each digest: compile, then decide every story once."""
        kept.clear()
        for f in subs:
            fs = FilterSet(f)
            kept.append(sum(fs.source_ok(s) and fs.text_verdict(s) is None for s in stories))

    build_s = cpu(build, args.repeat)
    _TEXTS.clear()
    start = time.process_time()
    match_all()  # the first digest after a poll: every story's text normalized once
    cold_s = time.process_time() - start
    match_s = cpu(match_all, args.repeat)
    n, k = len(stories), len(subs)
    per_digest = match_s / k
    print(f"stories per digest                 {n:>10,}")
    print(f"subscriptions x terms              {k:>7} x 10")
    us = 1e6 / n
    print(
        f"digest build (pick + arrange)      {build_s * 1000:>8.1f} ms  {build_s * us:.1f} µs/story"
    )
    print(
        f"filters, one subscription          {per_digest * 1000:>8.1f} ms  "
        f"{per_digest / n * 1e6:.1f} µs/story"
    )
    print(
        f"filters, all {k} subscriptions     {match_s * 1000:>8.1f} ms  {match_s * us:.1f} µs/story"
    )
    print(f"  same, texts not yet normalized   {cold_s * 1000:>8.1f} ms  (all {k})")
    print(f"ratio, one digest's filters / build  {per_digest / build_s:>6.1%}")
    print(f"stories kept per subscription      {min(kept)}-{max(kept)} of {n}")


if __name__ == "__main__":
    main()
