"""Decisive-phrase matching: every topic's phrases and exclusions in one scan per text.

Phrases match whole words; space and hyphen are interchangeable; plurals count; a phrase
written in capitals ("AI", "EU", "FTC") must match its case exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.news.taxonomy import Topic

_SEPARATOR = r"[\s\-]+"


def _is_caps(phrase: str) -> bool:
    letters = [c for c in phrase if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _phrase_pattern(phrase: str) -> str:
    """Whole-word pattern: spaces/hyphens interchangeable, plural -s/-es allowed.

    A phrase written in capitals (``EU``, ``FTC``, ``GPU``) matches case-sensitively
    so that "eu" inside other words or "sec" in "30 sec" never count.
    """
    words = re.split(r"[\s\-]+", phrase.strip())
    body = _SEPARATOR.join(re.escape(w) for w in words if w)
    if phrase[-1:].isalpha():
        body += "(?:e?s)?"
    if _is_caps(phrase):
        body = f"(?-i:{body})"
    return body


def compile_phrases(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for a whole list, longest first so the longest phrase wins."""
    if not phrases:
        return None
    alts = "|".join(_phrase_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts})(?![\w])", re.IGNORECASE)


def compile_trie(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """All phrases as one regex shaped like a trie, so a text is scanned once.

    A plain alternation of a few hundred phrases tries every one at every word;
    the trie tries only the phrases that share the letters read so far, and its
    branches start with plain characters, which the regex engine skips without
    entering. Longer continuations come first, so the longest phrase wins. It
    is case-sensitive: scan lowercased text with lowercased phrases for the rest.
    Each match is preceded by one consumed non-word character (prepend a space)
    because a pattern that starts with a character class is searched far faster
    than one that starts with a look-behind; group 1 is the phrase.
    """
    root: dict = {}
    for phrase in sorted(set(phrases)):
        words = [w for w in re.split(r"[\s\-]+", phrase.strip()) if w]
        node = root
        for i, word in enumerate(words):
            for unit in ([_SEPARATOR] if i else []) + [re.escape(c) for c in word]:
                node = node.setdefault(unit, {})
        if node is not root:
            plural = phrase[-1:].isalpha()
            node.setdefault("", set()).add(("(?:e?s)?" if plural else "") + r"(?!\w)")
    if not root:
        return None

    def emit(node: dict) -> str:
        alts = [unit + emit(child) for unit, child in node.items() if unit]
        alts += sorted(node.get("", ()), key=len, reverse=True)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return re.compile(r"\W(" + emit(root) + ")")


class PhraseIndex:
    """Which topics' phrases (and exclusions) a text contains, in one pass for all topics.

    Two trie scans find the longest phrase at each place: one over the lowercased
    text for ordinary phrases, one over the text as written for phrases in
    capitals. Each distinct span found is then checked once (and remembered)
    against every topic's own regexes, so a topic also gets its phrases that lie
    inside a longer phrase of another topic ("released" in "weights released").
    """

    CACHE_SPANS = 20_000

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._include = [compile_phrases(t.phrases) for t in topics]
        self._exclude = [compile_phrases(t.exclude) for t in topics]
        every = [p for t in topics for p in t.phrases + t.exclude]
        self._folded = compile_trie([p.lower() for p in every if not _is_caps(p)])
        self._capitals = compile_trie([p for p in every if _is_caps(p)])
        self._spans: dict[str, tuple[tuple[tuple[int, str], ...], frozenset[int]]] = {}

    def hits(self, text: str) -> tuple[dict[int, int], set[int]]:
        """Topic index -> number of distinct phrases in ``text``; topics it excludes."""
        spans: list[str] = []
        if text:
            if self._folded is not None:
                spans += self._folded.findall(" " + text.lower())
            if self._capitals is not None:
                spans += self._capitals.findall(" " + text)
        found: dict[int, set[str]] = {}
        vetoed: set[int] = set()
        for span in spans:
            phrases, vetoes = self._topics_in(span)
            for j, phrase in phrases:
                found.setdefault(j, set()).add(phrase)
            vetoed |= vetoes
        return {j: len(p) for j, p in found.items()}, vetoed

    def _topics_in(self, span: str) -> tuple[tuple[tuple[int, str], ...], frozenset[int]]:
        known = self._spans.get(span)
        if known is None:
            phrases = tuple(
                (j, m.group(0).lower())
                for j, pattern in enumerate(self._include)
                if pattern is not None
                for m in pattern.finditer(span)
            )
            vetoes = frozenset(
                j for j, pattern in enumerate(self._exclude) if pattern and pattern.search(span)
            )
            if len(self._spans) >= self.CACHE_SPANS:
                self._spans = {}
            known = self._spans[span] = (phrases, vetoes)
        return known
