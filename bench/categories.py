"""What feed categories change in tagging, on real feed files (the devset has no categories).

    python -m bench.categories             # bench/data/feeds/real-world, tests/data/feeds/ai-blogs
    python -m bench.categories --show 10   # also print ten stories whose topics changed

Parses every file, condenses each item as ingest does, and tags it twice: without and with
its ``<category>`` tags. Reports how many items carry categories, how many categories name a
topic (bot/news/categories.py), and how many items' topics change. There are no labels here:
read the changed items (``--show``) to judge them.
"""

from __future__ import annotations

import argparse
import collections
from datetime import UTC, datetime
from pathlib import Path

from bot.news.categories import CategoryMap
from bot.news.clean import clean_text, clean_title
from bot.news.condense import condense
from bot.news.enrich import tagging_input
from bot.news.parse import parse_feed
from bot.news.phrases import PhraseIndex
from bot.news.topics import DEFAULT_TOPICS, Tagger

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (ROOT / "bench/data/feeds/real-world", ROOT / "tests/data/feeds/ai-blogs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    tagger = Tagger(DEFAULT_TOPICS)
    names = [t.name for t in DEFAULT_TOPICS]
    items, cats, titles = [], [], []
    for corpus in CORPORA:
        for path in sorted(corpus.glob("*.xml")):
            feed = parse_feed(
                path.read_bytes(),
                url=f"https://{path.stem}.example/feed",
                fetched_at=datetime.now(UTC),
            )
            for e in feed.entries:
                c = condense(clean_title(e.title), clean_text(e.content_html or e.summary_html))
                items.append(tagging_input(c.headline, c.lead, c.points))
                cats.append(list(e.categories))
                titles.append(f"{path.stem}: {e.title[:70]}")
    plain = tagger.tag_many(items)
    with_cats = tagger.tag_many(items, cats)
    cmap = CategoryMap(DEFAULT_TOPICS, PhraseIndex(DEFAULT_TOPICS))
    naming = collections.Counter()
    for cs in cats:
        for c in cs:
            for j in cmap.topics_of(c):
                naming[(c, names[j])] += 1
    changed = [i for i in range(len(items)) if plain[i] != with_cats[i]]
    print(
        f"items {len(items)}, with categories {sum(1 for c in cats if c)}, "
        f"categories naming a topic {sum(naming.values())} ({len(naming)} distinct)"
    )
    print(f"items whose topics changed: {len(changed)}")
    added = collections.Counter(t for i in changed for t in set(with_cats[i]) - set(plain[i]))
    print("topics added:", dict(added.most_common()))
    print("categories that named a topic (most frequent):")
    for (c, t), n in naming.most_common(15):
        print(f"  {n:>3}  {c!r} -> {t}")
    for i in changed[: args.show]:
        print(f"- {titles[i]}\n  categories {cats[i][:6]}\n  {plain[i]} -> {with_cats[i]}")


if __name__ == "__main__":
    main()
