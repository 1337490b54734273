"""A trained linear head that decides the eight default topics from the tagger's evidence.

The hand-set weights of :class:`bot.news.topics.Weights` fit the headlines their
phrases were written from (0.64 macro-F1 on 1,417 unseen ones). This head is a
one-vs-rest logistic regression trained by ``tools/topics/train_topics.py`` on
hand-labelled stories that are not in the held-out test split. It reads the
same evidence the hand-set rule reads - each default topic's phrase hits in the
title and the lead, and the story's similarity to each topic's description -
plus the story's wordllama vector reduced to a few principal directions, a
hashed bag of its wordllama tokens and, optionally, how the nearest training
stories in that reduced space were labelled (their cosine-weighted topic votes;
the artifact then holds those stories' reduced vectors and topics), and keeps a
topic when its probability reaches that topic's own threshold.

It is only valid for the topics it was trained on: each topic in the artifact
carries a fingerprint of its name, description, phrases and exclusions, and the
tagger uses the head for a topic only while the taxonomy's topic of that name
still has that fingerprint. The whole head is switched off (with a warning) if
the shipped default taxonomy no longer matches it, since every topic's evidence
feeds every topic's decision.

Cost: the reduced vector is read through the same per-token projection as the
topic similarities (a few more columns), the bag of tokens reuses the ids
that projection needed, and the votes are one product of the reduced vectors with
the stored ones, so tagging stays close to the hand-set rule's speed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bot.news.taxonomy import DEFAULT_TOPICS, Topic, topic_text

log = logging.getLogger(__name__)

HEAD_PATH = Path(__file__).resolve().parent / "data" / "topic_head.npz"
#: phrase hits are counted up to this many distinct phrases per topic and field
HIT_CAP = 2.0

_lock = threading.Lock()
_loaded: dict[Path, TopicHead | None] = {}


def topic_fingerprint(topic: Topic) -> str:
    """What the head learnt a topic as: everything but its display title."""
    data = [topic.name, topic.description, list(topic.phrases), list(topic.exclude)]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


class Tokens(NamedTuple):
    """All stories' token ids end to end, as Embedder.token_ids returns them."""

    ids: np.ndarray
    starts: np.ndarray  # where each story's ids begin
    counts: np.ndarray  # how many ids each story has


@dataclass(frozen=True)
class Evidence:
    """Per-story inputs of the head, one row per story, one column per default topic."""

    title_hits: np.ndarray  # distinct phrases of each topic found in the title
    lead_hits: np.ndarray  # ... and in the lead
    z: np.ndarray  # similarity to each topic's description, standardised per story
    reduced: np.ndarray  # the story vector in the head's basis, scaled to unit length
    tokens: Tokens | None  # every story's wordllama token ids (None if not read)
    votes: np.ndarray | None = None  # nearest training stories' topics (None: not computed)

    @staticmethod
    def from_sums(
        title_hits: np.ndarray, lead_hits: np.ndarray, sums: np.ndarray, tokens: Tokens | None
    ) -> Evidence:
        """Evidence from phrase hits and the token sums projected on :meth:`TopicHead.targets`."""
        k = title_hits.shape[1]
        sims, basis = sums[:, :k].astype(np.float64), sums[:, k:].astype(np.float64)
        return Evidence(title_hits, lead_hits, standardise(sims), unit_rows(basis), tokens)


def neighbour_votes(
    reduced: np.ndarray,
    reference: np.ndarray,
    labels: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Each story's share of each topic among its ``k`` nearest reference stories.

    Nearness is the cosine of the unit ``reduced`` vectors; each neighbour's vote is
    weighted by it (negative cosines count nothing). ``exclude`` (stories x reference,
    bool) hides neighbours, so that training never lets a story vote for itself or a
    retelling of itself.
    """
    sims = np.asarray(reduced, dtype=np.float64) @ np.asarray(reference, dtype=np.float64).T
    if exclude is not None:
        sims[exclude] = -np.inf
    k = min(k, reference.shape[0])
    if k == 0 or len(reduced) == 0:
        return np.zeros((len(reduced), labels.shape[1]))
    # k rounds of argmax: for the few neighbours asked, 5-10x faster than argpartition
    rows = np.arange(len(sims))
    top = np.empty((len(sims), k), dtype=np.intp)
    weight = np.empty((len(sims), k))
    for n in range(k):
        top[:, n] = sims.argmax(axis=1)
        weight[:, n] = sims[rows, top[:, n]]
        sims[rows, top[:, n]] = -np.inf
    weight = np.maximum(weight, 0.0)
    votes = (weight[:, :, None] * labels[top].astype(np.float64)).sum(axis=1)
    total = weight.sum(axis=1, keepdims=True)
    out = np.zeros_like(votes)
    np.divide(votes, total, out=out, where=total > 0)
    return out


def standardise(sims: np.ndarray) -> np.ndarray:
    """Each row's z-scores (zero for a row with no spread, e.g. a story without words)."""
    std = sims.std(axis=1, keepdims=True)
    z = np.zeros_like(sims)
    np.divide(sims - sims.mean(axis=1, keepdims=True), std, out=z, where=std > 0)
    return z


def unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out = np.zeros_like(x)
    np.divide(x, norms, out=out, where=norms > 0)
    return out


def design_matrix(ev: Evidence, blocks: Sequence[str]) -> np.ndarray:
    """The feature columns the head's weights apply to, in ``blocks`` order.

    Shared by training and tagging so that the two can never disagree.
    """
    parts: list[np.ndarray] = []
    for block in blocks:
        if block == "hits":
            parts += [np.minimum(ev.title_hits, HIT_CAP), np.minimum(ev.lead_hits, HIT_CAP)]
        elif block == "z":
            parts.append(ev.z)
        elif block == "vector":
            parts.append(ev.reduced)
        elif bag_size(block):
            if ev.tokens is None:
                raise ValueError(f"{block} needs the stories' token ids")
            bag = np.zeros((len(ev.z), bag_size(block)))
            owner = np.repeat(np.arange(len(ev.z)), ev.tokens.counts)
            np.add.at(bag, (owner, ev.tokens.ids % bag_size(block)), 1.0)
            parts.append(bag)
        elif neighbours(block):
            if ev.votes is None:
                raise ValueError(f"{block} needs the nearest training stories' votes")
            parts.append(ev.votes)
        else:
            raise ValueError(f"unknown feature block {block!r}")
    return np.hstack(parts) if parts else np.zeros((len(ev.z), 0))


def block_width(block: str, topics: int, rank: int) -> int:
    """Columns a block adds to the design matrix."""
    widths = {"hits": 2 * topics, "z": topics, "vector": rank}
    if block in widths:
        return widths[block]
    return topics if neighbours(block) else bag_size(block)


def _numbered(block: str, kind: str) -> int:
    name, sep, number = block.partition("-")
    return int(number) if name == kind and sep and number.isdigit() else 0


def bag_size(block: str) -> int:
    """Buckets of a bag-of-tokens block such as "tokens-4096" (0 for other blocks).

    A token counts in bucket ``id % buckets``: a fixed hash, so the artifact holds
    ``buckets`` rows of weights instead of one per token of the 32k vocabulary.
    """
    return _numbered(block, "tokens")


def neighbours(block: str) -> int:
    """k of a "neighbours-<k>" block: the topic votes of the k nearest training stories."""
    return _numbered(block, "neighbours")


def votes_wanted(blocks: Sequence[str]) -> int:
    """How many nearest training stories vote for a head of these blocks (0: none)."""
    return max((neighbours(b) for b in blocks), default=0)


class TopicHead:
    """The trained decision for the default topics: probabilities and per-topic thresholds."""

    def __init__(
        self,
        *,
        names: Sequence[str],
        fingerprints: Sequence[str],
        blocks: Sequence[str],
        basis: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        thresholds: np.ndarray,
        reference: np.ndarray | None = None,
        reference_topics: np.ndarray | None = None,
        info: dict | None = None,
    ) -> None:
        self.names = tuple(names)
        self.fingerprints = tuple(fingerprints)
        self.blocks = tuple(blocks)
        self.basis = np.asarray(basis, dtype=np.float32)  # (dim, r): directions of the vector
        self.weights = np.asarray(weights, dtype=np.float64)  # (features, topics)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        # the training stories a "neighbours-<k>" block votes with: unit reduced vectors
        # (stories, r) and their topics (stories, topics; 0/1). float64, the type the
        # votes are computed in, so that tagging does not convert them for every batch.
        r, k = self.basis.shape[1], len(self.names)
        self.reference = np.asarray(
            np.zeros((0, r)) if reference is None else reference, dtype=np.float64
        )
        self.reference_topics = np.asarray(
            np.zeros((0, k)) if reference_topics is None else reference_topics, dtype=np.float64
        )
        self.info = dict(info or {})
        if sum(bag_size(b) > 0 for b in self.blocks) > 1:
            raise ValueError("a head reads at most one bag of tokens")
        if votes_wanted(self.blocks) and not len(self.reference):
            raise ValueError("a neighbours block needs the reference stories")
        # split once: the dense features' weights, and the bag's table (bucket -> topics)
        self._dense_blocks = tuple(b for b in self.blocks if not bag_size(b))
        dense_rows = [self._rows(b) for b in self._dense_blocks]
        self._dense_weights = self.weights[np.concatenate(dense_rows) if dense_rows else []]
        bags = [self._rows(b) for b in self.blocks if bag_size(b)]
        self._bag = self.weights[bags[0]] if bags else None

    def topic_vectors(self, embedder) -> np.ndarray:
        """Unit vectors of the default topics' texts, as the similarities were trained on."""
        return embedder.embed([topic_text(t) for t in self.topics()])

    def targets(self, embedder) -> np.ndarray:
        """Rows to project token vectors on: the topic vectors, then the basis directions."""
        return np.vstack([self.topic_vectors(embedder), self.basis.T]).astype(np.float32)

    def topics(self) -> tuple[Topic, ...]:
        """The default topics in the head's order (they match: see :func:`load_head`)."""
        by_name = {t.name: t for t in DEFAULT_TOPICS}
        return tuple(by_name[n] for n in self.names)

    @property
    def reads_tokens(self) -> bool:
        """Whether the head needs each story's token ids (a bag of tokens)."""
        return any(bag_size(b) for b in self.blocks)

    def with_votes(self, ev: Evidence) -> Evidence:
        """``ev`` with the votes of the nearest training stories, if the head reads them."""
        k = votes_wanted(self.blocks)
        if not k or ev.votes is not None:
            return ev
        votes = neighbour_votes(ev.reduced, self.reference, self.reference_topics, k)
        return replace(ev, votes=votes)

    def logits(self, ev: Evidence) -> np.ndarray:
        """design_matrix(ev) @ weights + bias, without building the bag of tokens densely."""
        ev = self.with_votes(ev)
        out = design_matrix(ev, self._dense_blocks) @ self._dense_weights + self.bias
        if self._bag is not None:
            if ev.tokens is None:
                raise ValueError("this head needs the stories' token ids")
            ids, starts, counts = ev.tokens
            nonempty = counts > 0
            if nonempty.any():
                found = self._bag[ids % len(self._bag)]
                out[nonempty] += np.add.reduceat(found, starts[nonempty], axis=0)
        return out

    def probabilities(self, ev: Evidence) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(ev), -30.0, 30.0)))

    def _rows(self, block: str) -> np.ndarray:
        """Rows of ``weights`` that belong to one block."""
        start = 0
        for b in self.blocks:
            width = block_width(b, len(self.names), self.basis.shape[1])
            if b == block:
                return np.arange(start, start + width)
            start += width
        raise KeyError(block)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            names=np.array(self.names),
            fingerprints=np.array(self.fingerprints),
            blocks=np.array(self.blocks),
            basis=self.basis.astype(np.float16),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            reference=self.reference.astype(np.float16),
            reference_topics=self.reference_topics.astype(np.uint8),
            info=np.array(json.dumps(self.info, sort_keys=True)),
        )

    @classmethod
    def read(cls, path: Path) -> TopicHead:
        with np.load(path, allow_pickle=False) as f:
            return cls(
                names=[str(n) for n in f["names"]],
                fingerprints=[str(n) for n in f["fingerprints"]],
                blocks=[str(n) for n in f["blocks"]],
                basis=f["basis"].astype(np.float32),
                weights=f["weights"],
                bias=f["bias"],
                thresholds=f["thresholds"],
                reference=f["reference"] if "reference" in f else None,
                reference_topics=f["reference_topics"] if "reference_topics" in f else None,
                info=json.loads(str(f["info"])),
            )


def load_head(path: Path = HEAD_PATH) -> TopicHead | None:
    """The shipped head, or None (with one warning) if it is missing or out of date.

    Out of date means the default taxonomy in the code is no longer the one the
    head was trained on; then every default topic keeps the hand-set scoring.
    """
    with _lock:
        if path not in _loaded:
            _loaded[path] = _read_checked(path)
        return _loaded[path]


def _read_checked(path: Path) -> TopicHead | None:
    try:
        head = TopicHead.read(path)
    except Exception as exc:  # a broken artifact means "no head", never a crash
        log.warning("topic head unavailable, default topics use hand-set weights: %s", exc)
        return None
    shipped = {t.name: topic_fingerprint(t) for t in DEFAULT_TOPICS}
    trained = dict(zip(head.names, head.fingerprints, strict=True))
    if trained != shipped:
        log.warning(
            "topic head %s was trained for other default topics; retrain it with "
            "python -m tools.topics.train_topics. Default topics use hand-set weights.",
            path.name,
        )
        return None
    return head
