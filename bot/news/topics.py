"""Topic taxonomy and tagging: decisive phrases first, semantic similarity second.

A phrase in a headline is strong evidence ("export controls" is regulation), so
each topic's phrases are compiled once into one word-bounded regex. Many
headlines carry no such phrase ("Anthropic's biolab made a discovery"), which is
where the embedding of title + lead against each topic's description helps.
An exclusion phrase vetoes its topic outright, whatever the other evidence.

The weights below were tuned on the "tune" part of tests/data/devset/topics.jsonl
and are reported on its held-out part by bench/tagging.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.news.embed import Embedder, Projection, load_embedder
from bot.news.phrases import PhraseIndex, compile_phrases, compile_trie
from bot.news.taxonomy import DEFAULT_TOPICS, TaxonomyError, Topic, taxonomy_from_config

__all__ = [
    "DEFAULT_TOPICS",
    "MAX_TOPICS",
    "Tagger",
    "TaxonomyError",
    "Topic",
    "Weights",
    "compile_phrases",
    "compile_trie",
    "taxonomy_from_config",
]

log = logging.getLogger(__name__)

MAX_TOPICS = 3
#: characters of the body that count as the lead for matching and embedding
LEAD_CHARS = 600


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2011", "-")


def _prepare(title: str, text: str) -> tuple[str, str]:
    return _normalise(title or ""), _normalise((text or "")[:LEAD_CHARS])


@dataclass(frozen=True)
class Weights:
    """How evidence turns into a score; see bench/tagging.py for how they were chosen."""

    title_hit: float = 0.8  # one decisive phrase in the headline
    lead_hit: float = 0.5  # one decisive phrase in the lead
    semantic: float = 0.2  # per standard deviation above the item's mean similarity
    below: float = 0.5  # share of that weight applied when a topic is below the mean
    threshold: float = 0.45  # a topic is kept at or above this score
    relative: float = 0.6  # ... and at or above this share of the best topic's score


class Tagger:
    """Assigns 0-3 topics to a story from its title and lead."""

    def __init__(
        self, topics: Sequence[Topic], *, embeddings: bool = True, weights: Weights | None = None
    ) -> None:
        self.topics = tuple(topics)
        self.weights = weights or Weights()
        self._phrases = PhraseIndex(self.topics)
        embedder: Embedder | None = load_embedder() if embeddings else None
        self._projection: Projection | None = None
        if embedder is not None and self.topics:
            vecs = embedder.embed([_topic_text(t) for t in self.topics])
            self._projection = embedder.projection(vecs)

    @property
    def uses_embeddings(self) -> bool:
        return self._projection is not None

    def tag(self, title: str, text: str) -> tuple[str, ...]:
        return self.tag_many([(title, text)])[0]

    def tag_many(self, items: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
        """Tag many stories; the scoring is done for the whole batch at once."""
        if not items or not self.topics:
            return [() for _ in items]
        prepared = [_prepare(t, x) for t, x in items]
        return self._choose(*self._raw_scores(prepared))

    def scores(self, title: str, text: str) -> Mapping[str, float]:
        """Per-topic scores, for explaining a tag and for tuning."""
        row = self._raw_scores([_prepare(title, text)])[0][0]
        return {t.name: float(s) for t, s in zip(self.topics, row, strict=True)}

    def _raw_scores(self, prepared: Sequence[tuple[str, str]]) -> tuple[np.ndarray, list[set[int]]]:
        scores, vetoes = self._phrase_scores(prepared)
        if self._projection is not None:
            # Similarity to each topic, standardised per story: how much more this
            # topic than the story's average topic. (Scale-free, so the projection's
            # unnormalised dot products give the same z as cosines would.)
            sims = self._projection.scores([f"{t}. {x}" for t, x in prepared]).astype(np.float64)
            std = sims.std(axis=1, keepdims=True)
            z = np.zeros_like(sims)
            np.divide(sims - sims.mean(axis=1, keepdims=True), std, out=z, where=std > 0)
            z[z < 0] *= self.weights.below
            # a story with no words has no meaning to compare: no semantic score at all
            wordless = [not any(ch.isalnum() for ch in t + x) for t, x in prepared]
            z[np.array(wordless, dtype=bool)] = 0.0
            scores += self.weights.semantic * z
        return scores, vetoes

    def _phrase_scores(
        self, prepared: Sequence[tuple[str, str]]
    ) -> tuple[np.ndarray, list[set[int]]]:
        """Scores from phrases, and the topics each story's exclusions veto."""
        w = self.weights
        title_hits = np.zeros((len(prepared), len(self.topics)), dtype=np.float64)
        lead_hits = np.zeros_like(title_hits)
        vetoes: list[set[int]] = []
        hits = self._phrases.hits
        for i, (title, lead) in enumerate(prepared):
            counts, vetoed = hits(title)
            for j, n in counts.items():
                title_hits[i, j] = n
            counts, vetoed_lead = hits(lead)
            for j, n in counts.items():
                lead_hits[i, j] = n
            vetoes.append(vetoed | vetoed_lead)
        return np.minimum(1.0, w.title_hit * title_hits + w.lead_hit * lead_hits), vetoes

    def _choose(self, scores: np.ndarray, vetoes: Sequence[set[int]]) -> list[tuple[str, ...]]:
        """Topics at or above both thresholds, best first (ties by taxonomy order)."""
        w = self.weights
        best = scores.max(axis=1, keepdims=True)
        keep = (scores >= w.threshold) & (scores >= w.relative * best)
        order = np.argsort(-scores, axis=1, kind="stable").tolist()
        names = [t.name for t in self.topics]
        out: list[tuple[str, ...]] = []
        for row_order, row_keep, vetoed in zip(order, keep.tolist(), vetoes, strict=True):
            kept = [names[j] for j in row_order if row_keep[j] and j not in vetoed]
            out.append(tuple(kept[:MAX_TOPICS]))
        return out


def _topic_text(topic: Topic) -> str:
    return f"{topic.title}. {topic.description} {', '.join(topic.phrases)}"
