"""Topic taxonomy and tagging: decisive phrases first, semantic similarity second.

A phrase in a headline is strong evidence ("export controls" is regulation), so
each topic's phrases are compiled once into one word-bounded regex. Many
headlines carry no such phrase ("Anthropic's biolab made a discovery"), which is
where the embedding of title + lead against each topic's description helps.
An exclusion phrase vetoes its topic outright, whatever the other evidence.

The weights below were tuned by hand on the "tune" part of tests/data/devset/topics.jsonl.
For the eight default topics, as shipped, a trained head (bot/news/topic_head.py)
turns the same evidence into the decision instead; topics an admin added or edited
keep the hand-set rule. bench/tagging.py reports both on the held-out part.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.news.embed import Embedder, Projection, load_embedder
from bot.news.phrases import PhraseIndex, compile_phrases, compile_trie
from bot.news.taxonomy import (
    DEFAULT_TOPICS,
    TaxonomyError,
    Topic,
    taxonomy_from_config,
    topic_text,
)
from bot.news.topic_head import (
    Evidence,
    Tokens,
    TopicHead,
    load_head,
    standardise,
    topic_fingerprint,
)

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
    "topic_text",
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
    """Assigns 0-3 topics to a story from its title and lead.

    ``head``: True uses the shipped trained head for the default topics left as
    shipped (see bot/news/topic_head.py), False never does, and a
    :class:`TopicHead` is used as given (training and tests).
    """

    def __init__(
        self,
        topics: Sequence[Topic],
        *,
        embeddings: bool = True,
        weights: Weights | None = None,
        head: TopicHead | bool = True,
    ) -> None:
        self.topics = tuple(topics)
        self.weights = weights or Weights()
        self._phrases = PhraseIndex(self.topics)
        embedder: Embedder | None = load_embedder() if embeddings else None
        self._projection: Projection | None = None
        self._head: _HeadUse | None = None
        if embedder is not None and self.topics:
            targets = embedder.embed([topic_text(t) for t in self.topics])
            trained = load_head() if head is True else head or None
            if trained is not None:
                self._head = _HeadUse.plan(trained, self.topics)
            if self._head is not None:
                targets = np.vstack([targets, self._head.targets(embedder)])
            self._projection = embedder.projection(targets)

    @property
    def uses_embeddings(self) -> bool:
        return self._projection is not None

    @property
    def head_topics(self) -> tuple[str, ...]:
        """The topics the trained head decides (the others use the hand-set weights)."""
        if self._head is None:
            return ()
        return tuple(self.topics[j].name for j in self._head.columns if j >= 0)

    def tag(self, title: str, text: str) -> tuple[str, ...]:
        return self.tag_many([(title, text)])[0]

    def tag_many(self, items: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
        """Tag many stories; the scoring is done for the whole batch at once."""
        if not items or not self.topics:
            return [() for _ in items]
        prepared = [_prepare(t, x) for t, x in items]
        return self._choose(*self._decide(prepared))

    def scores(self, title: str, text: str) -> Mapping[str, float]:
        """Per-topic scores, for explaining a tag: kept at or above ``weights.threshold``.

        A topic the head decides scores ``threshold`` times its probability over
        its own probability threshold, so the two kinds of score rank together.
        """
        row = self._decide([_prepare(title, text)])[0][0]
        return {t.name: float(s) for t, s in zip(self.topics, row, strict=True)}

    def evidence(self, items: Sequence[tuple[str, str]]) -> tuple[Evidence, list[set[int]]]:
        """What the head reads for each story, and the head topics vetoed (for training)."""
        if self._head is None or self._projection is None:
            raise ValueError("this tagger has no trained head (or no embeddings)")
        prepared = [_prepare(t, x) for t, x in items]
        title_hits, lead_hits, vetoes = self._phrase_hits(prepared)
        sums, tokens = self._project(prepared)
        return self._head.evidence(prepared, title_hits, lead_hits, vetoes, sums, tokens)

    def _decide(self, prepared: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, list]:
        """Scores, which topics pass their own test, and the vetoes, for each story."""
        w = self.weights
        title_hits, lead_hits, vetoes = self._phrase_hits(prepared)
        scores = np.minimum(1.0, w.title_hit * title_hits + w.lead_hit * lead_hits)
        sums = None
        if self._projection is not None:
            sums, tokens = self._project(prepared)
            # Similarity to each topic, standardised per story: how much more this
            # topic than the story's average topic. (Scale-free, so the projection's
            # unnormalised dot products give the same z as cosines would.)
            z = standardise(sums[:, : len(self.topics)].astype(np.float64))
            z[z < 0] *= w.below
            scores += w.semantic * z
        best = scores.max(axis=1, keepdims=True)
        keep = (scores >= w.threshold) & (scores >= w.relative * best)
        # a story with no words has no meaning to compare: no semantic score, no topic
        wordless = np.array([not any(ch.isalnum() for ch in t + x) for t, x in prepared])
        if self._head is not None and sums is not None:
            ev, _ = self._head.evidence(prepared, title_hits, lead_hits, vetoes, sums, tokens)
            probs = self._head.head.probabilities(ev)
            thresholds = self._head.head.thresholds
            for h, j in enumerate(self._head.columns):
                if j >= 0:
                    scores[:, j] = w.threshold * probs[:, h] / thresholds[h]
                    keep[:, j] = probs[:, h] >= thresholds[h]
        scores[wordless] = 0.0
        keep[wordless] = False
        return scores, keep, vetoes

    def _project(self, prepared: Sequence[tuple[str, str]]) -> tuple[np.ndarray, Tokens | None]:
        """Each story's token sums on every target; its token ids too if the head reads them."""
        assert self._projection is not None
        texts = [f"{t}. {x}" for t, x in prepared]
        if self._head is None or not self._head.head.reads_tokens:
            return self._projection.scores(texts), None
        # the ids too: tokenising twice would cost a fifth of the tagging time
        sums, (ids, starts, counts) = self._projection.scores_and_tokens(texts)
        return sums, Tokens(ids, starts, counts)

    def _phrase_hits(
        self, prepared: Sequence[tuple[str, str]]
    ) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
        return phrase_hits(self._phrases, len(self.topics), prepared)

    def _choose(
        self, scores: np.ndarray, keep: np.ndarray, vetoes: Sequence[set[int]]
    ) -> list[tuple[str, ...]]:
        """Topics that passed, best first (ties by taxonomy order), without vetoed ones."""
        keep = keep.copy()
        for i, vetoed in enumerate(vetoes):
            keep[i, list(vetoed)] = False
        names = [t.name for t in self.topics]
        return [tuple(names[j] for j in kept) for kept in best_first(scores, keep)]


def phrase_hits(
    index: PhraseIndex, topics: int, prepared: Sequence[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
    """Distinct phrases of each topic in titles and leads; the topics each story vetoes."""
    title_hits = np.zeros((len(prepared), topics), dtype=np.float64)
    lead_hits = np.zeros_like(title_hits)
    vetoes: list[set[int]] = []
    for i, (title, lead) in enumerate(prepared):
        counts, vetoed = index.hits(title)
        for j, n in counts.items():
            title_hits[i, j] = n
        counts, vetoed_lead = index.hits(lead)
        for j, n in counts.items():
            lead_hits[i, j] = n
        vetoes.append(vetoed | vetoed_lead)
    return title_hits, lead_hits, vetoes


def best_first(scores: np.ndarray, keep: np.ndarray) -> list[list[int]]:
    """Per story, the topics kept, best score first (ties by taxonomy order), at most
    MAX_TOPICS: how the tagger decides, and how tools/topics/train_topics.py grades the head."""
    order = np.argsort(-scores, axis=1, kind="stable").tolist()
    return [
        [j for j in row if row_keep[j]][:MAX_TOPICS]
        for row, row_keep in zip(order, keep.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class _HeadUse:
    """How a tagger feeds its taxonomy's evidence to the head and uses its decisions.

    ``columns[h]`` is the taxonomy index of the head's topic h, or -1 where the
    taxonomy lacks it or changed it. When the taxonomy is the head's own, the
    head reads the tagger's phrase hits and topic similarities; otherwise it has
    its own phrase index and topic vectors, so that an added or edited topic
    cannot shift what the head sees for the others.
    """

    head: TopicHead
    columns: tuple[int, ...]
    phrases: PhraseIndex | None  # None: read the tagger's hits
    offset: int  # first projection column of the head's targets

    @staticmethod
    def plan(head: TopicHead, topics: tuple[Topic, ...]) -> _HeadUse | None:
        where = {t.name: j for j, t in enumerate(topics)}
        columns = tuple(
            where[name] if name in where and topic_fingerprint(topics[where[name]]) == fp else -1
            for name, fp in zip(head.names, head.fingerprints, strict=True)
        )
        if all(j < 0 for j in columns):
            return None
        own = topics == head.topics()
        phrases = None if own else PhraseIndex(head.topics())
        return _HeadUse(head, columns, phrases, len(topics))

    def targets(self, embedder: Embedder) -> np.ndarray:
        if self.phrases is None:  # the taxonomy's own topic vectors are the head's
            return self.head.basis.T.astype(np.float32)
        return self.head.targets(embedder)

    def evidence(
        self,
        prepared: Sequence[tuple[str, str]],
        title_hits: np.ndarray,
        lead_hits: np.ndarray,
        vetoes: list[set[int]],
        sums: np.ndarray,
        tokens: Tokens | None,
    ) -> tuple[Evidence, list[set[int]]]:
        if self.phrases is None:
            return Evidence.from_sums(title_hits, lead_hits, sums, tokens), vetoes
        th, lh, own_vetoes = phrase_hits(self.phrases, len(self.head.names), prepared)
        return Evidence.from_sums(th, lh, sums[:, self.offset :], tokens), own_vetoes
