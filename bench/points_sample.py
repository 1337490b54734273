"""A fixed sample of stories, condensed as ingest condenses them, for labelling by hand.

Run from the repository root::

    python -m bench.points_sample                   # JSONL on stdout, one story a line
    python -m bench.points_sample -o sample.jsonl
    python -m bench.points_sample --text            # the same stories as a reader sees them

Each story goes through what ``bot.news.enrich.Enricher.enrich`` does when no full
article text was fetched: ``clean_text`` of the entry's content (or its summary when it
has none), then ``condense`` of the cleaned title and that text.

Which stories are taken depends only on the feeds (never on what the condenser makes of
them), so the same stories come back after a change to the cleaner or the condenser: each
story is ranked by a hash of the seed, its corpus, its source and its title, and each
stratum takes the first stories of that ranking.

Strata (the body is the entry's HTML as the feed gave it, before any cleaning):

* ``ai-blogs``: any story;
* ``real-world/long``: a body of 600 characters or more, at most 12 stories a source
  (shorter bodies almost never give points);
* ``real-world/short``: a body under 600 characters (for their leads);
* ``devset``: a summary of 300 characters or more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.filler import Item, items
from bot.news.clean import clean_text, clean_title
from bot.news.condense import condense
from bot.news.models import Condensed

SEED = 16  # issue 16

#: (name, corpus, which stories it may take, how many, most stories a source)
STRATA: tuple[tuple[str, str, Callable[[Item], bool], int, int], ...] = (
    ("ai-blogs", "ai-blogs", lambda i: True, 55, 0),
    ("real-world/long", "real-world", lambda i: len(i.body_html) >= 600, 65, 12),
    ("real-world/short", "real-world", lambda i: len(i.body_html) < 600, 10, 0),
    ("devset", "devset", lambda i: len(i.body_html) >= 300, 20, 0),
)


@dataclass(frozen=True)
class Sampled:
    stratum: str
    item: Item

    @property
    def key(self) -> tuple[str, str, str]:
        """What names the story in the labels: corpus, source and the feed's own title."""
        return (self.item.corpus, self.item.source, self.item.title)


def _rank(seed: int, item: Item) -> str:
    text = f"{seed}\x1f{item.corpus}\x1f{item.source}\x1f{item.title}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample(seed: int = SEED) -> list[Sampled]:
    """The sampled stories, in a fixed order (stratum, then rank)."""
    everything = items(sorted({corpus for _, corpus, _, _, _ in STRATA}))
    seen: set[tuple[str, str, str]] = set()
    out: list[Sampled] = []
    for name, corpus, admits, quota, per_source in STRATA:
        pool = [i for i in everything if i.corpus == corpus and admits(i)]
        pool.sort(key=lambda i: _rank(seed, i))
        taken: Counter[str] = Counter()
        for item in pool:
            if sum(taken.values()) >= quota:
                break
            key = (item.corpus, item.source, item.title)
            if key in seen or (per_source and taken[item.source] >= per_source):
                continue
            seen.add(key)
            taken[item.source] += 1
            out.append(Sampled(name, item))
    return out


def produce(item: Item) -> Condensed:
    """What ingest stores for *item* (``Enricher.enrich`` without fetched article text)."""
    return condense(clean_title(item.title), clean_text(item.body_html))


def rows(seed: int = SEED) -> list[dict]:
    out = []
    for s in sample(seed):
        c = produce(s.item)
        out.append(
            {
                "corpus": s.item.corpus,
                "source": s.item.source,
                "stratum": s.stratum,
                "story": s.item.title,
                "headline": c.headline,
                "lead": c.lead,
                "points": list(c.points),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("-o", "--output", help="write JSONL here instead of stdout")
    parser.add_argument("--text", action="store_true", help="print stories as a reader sees them")
    args = parser.parse_args()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for n, row in enumerate(rows(args.seed), 1):
            if args.text:
                print(f"\n#{n} [{row['corpus']}/{row['source']}] {row['headline']}", file=out)
                print(f"  L: {row['lead']}", file=out)
                for point in row["points"]:
                    print(f"  - {point}", file=out)
            else:
                print(json.dumps(row, ensure_ascii=False), file=out)
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
