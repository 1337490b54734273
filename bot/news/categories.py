"""A feed's own ``<category>`` tags as evidence for the tagger.

Publishers file items under sections and tags ("Government & Policy", "Fundraising",
"Open Source", "Privacy"). A category names a topic when it is the topic's name or title, a
few common section words for the default topics (``SECTIONS``), or when one of the topic's
decisive phrases occurs in it as whole words. Most categories name none ("AI", "News",
"Featured", "storytype:standard"): they change nothing. A category is never a veto, and never
a topic by itself: it lowers the bar the other evidence must pass (see ``Weights.category``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bot.news.phrases import PhraseIndex
from bot.news.taxonomy import Topic

#: section words feeds use that are not among the default topics' phrases
SECTIONS: dict[str, tuple[str, ...]] = {
    "regulation": ("policy", "government", "government and policy", "law", "legal", "courts"),
    "business": ("startups", "startup", "enterprise", "deals", "markets", "earnings"),
    "infrastructure": ("hardware", "cloud", "data centres"),
    "safety": ("security", "ai safety"),
    "research": ("research", "science"),
    "society": ("work", "labor", "education", "health"),
    "products": ("apps", "gadgets", "product updates"),
}

#: categories read per story (a feed may list dozens of keywords)
MAX_CATEGORIES = 12
_NON_WORD = re.compile(r"[^\w]+")


def _key(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.replace("&", " and ").lower()).split())


class CategoryMap:
    """Which topics a story's categories name."""

    def __init__(self, topics: Sequence[Topic], phrases: PhraseIndex) -> None:
        self._count = len(topics)
        self._phrases = phrases
        self._exact: dict[str, set[int]] = {}
        for j, t in enumerate(topics):
            for word in (t.name, t.title, *SECTIONS.get(t.name, ())):
                self._exact.setdefault(_key(word), set()).add(j)
        self._seen: dict[str, frozenset[int]] = {}

    def topics_of(self, category: str) -> frozenset[int]:
        """The topics one category names (cached: feeds repeat their categories)."""
        found = self._seen.get(category)
        if found is None:
            key = _key(category.rsplit(":", 1)[-1].rsplit("/", 1)[-1])  # "structure:news/world"
            hits, _ = self._phrases.hits(category.replace("-", " "))
            found = frozenset(self._exact.get(key, set()) | set(hits))
            if len(self._seen) > 10_000:
                self._seen = {}
            self._seen[category] = found
        return found

    def named(self, categories: Sequence[Sequence[str]]) -> np.ndarray | None:
        """(stories x topics) True where a story's categories name the topic; None if none do."""
        out = np.zeros((len(categories), self._count), dtype=bool)
        for i, cats in enumerate(categories):
            for c in list(cats or ())[:MAX_CATEGORIES]:
                for j in self.topics_of(c):
                    out[i, j] = True
        return out if out.any() else None
