"""Train the topic head (bot/news/topic_head.py) and write bot/news/data/topic_head.npz.

    python -m tools.topics.train_topics            # choose by cross-validation, train, write
    python -m tools.topics.train_topics --check    # retrain with the shipped choice; compare

Training rows: tests/data/devset/train_*.jsonl (train_a, train_b, ...) + the "tune" split
of topics.jsonl. The "test" split is never trained or chosen on (its ids are read only to
assert that no training row is a test row). Everything is chosen by grouped
k-fold cross-validation on the training rows: near-duplicate stories (TF-IDF cosine
>= 0.2, the same event from several outlets) are kept in one fold, so a fold never
grades a story whose twin was trained on.

The model is one logistic regression per topic (L2, Newton's method, numpy only)
on the evidence the hand-set rule reads - phrase hits in title and lead, similarity
z-scores to the topic descriptions - and optionally the story vector reduced to the
first r principal directions of the training stories' vectors, a hashed bag of the
story's wordllama tokens, and the topic votes of its nearest training stories in the
reduced space, a training story never counting its own near-duplicate group (see
CANDIDATES for what is compared). Per-topic probability
thresholds are chosen on out-of-fold probabilities; the reported CV figure uses
thresholds chosen on the other folds only ("cross-fitted"), so it is not flattered
by them. Deterministic: fixed fold seeds, no random initialisation.
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared two-core machine OpenBLAS's threads fight over the cores
# and a 640 x 256 SVD takes seconds instead of 0.1 s. Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from bench.tagging import DEVSET, load_jsonl
from bot.news.cluster import build_idf, tfidf_vectors
from bot.news.embed import load_embedder
from bot.news.topic_head import (
    HEAD_PATH,
    Evidence,
    Tokens,
    TopicHead,
    bag_size,
    block_width,
    design_matrix,
    neighbour_votes,
    topic_fingerprint,
    unit_rows,
    votes_wanted,
)
from bot.news.topics import DEFAULT_TOPICS, Tagger, _prepare, best_first

TRAIN_GLOB = "train_*.jsonl"
NAMES = tuple(t.name for t in DEFAULT_TOPICS)
FOLDS = 5
SEEDS = (0, 1, 2)
GROUP_SIMILARITY = 0.2
#: probability thresholds tried per topic
GRID = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))


@dataclass(frozen=True)
class Config:
    blocks: tuple[str, ...]  # feature blocks, see topic_head.design_matrix
    rank: int  # directions of the story vector kept (0: none)
    lam: float  # L2 penalty on standardised features
    vector_scale: float = 1.0  # the vector's columns are shrunk by this (a heavier penalty)
    bag_scale: float = 1.0  # ... and the bag of tokens' (a "tokens-<buckets>" block)

    def column_scale(self, topics: int) -> np.ndarray:
        """Per-column multiplier of the standardised features, in design_matrix order."""
        parts = []
        for b in self.blocks:
            if b == "vector":
                parts.append(np.full(self.rank, self.vector_scale))
            elif bag_size(b):
                parts.append(np.full(bag_size(b), self.bag_scale))
            else:
                parts.append(np.ones(block_width(b, topics, self.rank)))
        return np.concatenate(parts) if parts else np.zeros(0)


#: The session-4 choice, then the same with the votes of the nearest training stories
#: (session 5). Sessions 3-4 compared 17 candidates without votes - smaller ranks, other
#: vector and bag scales, 2048 buckets, no bag - and the first line won; session 5 also
#: tried a hashed bag of word pairs, which did not help (bench/README.md has the figures).
_BASE = ("hits", "z", "vector", "tokens-4096")
CANDIDATES: tuple[Config, ...] = (
    Config(_BASE, 32, 30.0, 1.0, 0.2),
    Config((*_BASE, "neighbours-5"), 32, 30.0, 1.0, 0.2),
    Config((*_BASE, "neighbours-10"), 32, 30.0, 1.0, 0.2),
    Config((*_BASE, "neighbours-20"), 32, 30.0, 1.0, 0.2),
)


# --------------------------------------------------------------------------- data


def training_rows() -> list[dict]:
    """train_*.jsonl + the tune split (never the test split)."""
    rows: list[dict] = []
    for path in sorted(DEVSET.glob(TRAIN_GLOB)):
        rows += load_jsonl(path.name)
    devset = load_jsonl("topics.jsonl")
    rows += [r for r in devset if r["split"] == "tune"]
    test_ids = {r["id"] for r in devset if r["split"] == "test"}
    assert not any(r["id"] in test_ids or r.get("split") == "test" for r in rows)
    return rows


def labels(rows: Sequence[dict]) -> np.ndarray:
    return np.array([[n in r["topics"] for n in NAMES] for r in rows], dtype=np.float64)


def near_duplicate_groups(rows: Sequence[dict]) -> np.ndarray:
    """Group id per row: rows joined by a chain of TF-IDF cosines >= GROUP_SIMILARITY.

    The cosines are cluster.pair_similarity's, all pairs at once as one matrix product.
    """
    texts = [f"{r['title']}. {r['summary']}" for r in rows]
    idf = build_idf(texts)
    vectors = tfidf_vectors(texts, idf)
    column = {term: k for k, term in enumerate(sorted({t for v in vectors for t in v}))}
    dense = np.zeros((len(rows), len(column)))
    for i, v in enumerate(vectors):
        dense[i, [column[t] for t in v]] = list(v.values())
    close = np.triu(dense @ dense.T >= GROUP_SIMILARITY, k=1)
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(close), strict=True):
        parent[root(int(i))] = root(int(j))
    return np.array([root(i) for i in range(len(rows))])


def fold_of(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Whole groups to folds, largest first to the lightest fold, order shuffled by seed."""
    rng = np.random.default_rng(seed)
    unique = rng.permutation(np.unique(groups))
    sizes = {g: int((groups == g).sum()) for g in unique}
    load = np.zeros(folds)
    where = {}
    for g in sorted(unique, key=lambda g: -sizes[g]):  # stable: ties keep the shuffle
        k = int(np.argmin(load))
        where[g] = k
        load[k] += sizes[g]
    return np.array([where[g] for g in groups])


def principal_directions(vectors: np.ndarray, rank: int) -> np.ndarray:
    """(dim, rank) top right singular vectors, signs fixed so the result is deterministic."""
    dim = vectors.shape[1]
    if rank == 0:
        return np.zeros((dim, 0), dtype=np.float32)
    _, _, vt = np.linalg.svd(vectors.astype(np.float64), full_matrices=False)
    basis = vt[:rank].T
    basis *= np.where(basis[np.abs(basis).argmax(axis=0), range(rank)] < 0, -1.0, 1.0)
    return basis.astype(np.float32)


def blank_head(basis: np.ndarray, blocks: Sequence[str]) -> TopicHead:
    k = len(NAMES)
    return TopicHead(
        names=NAMES,
        fingerprints=[topic_fingerprint(t) for t in DEFAULT_TOPICS],
        blocks=blocks,
        basis=basis,
        weights=np.zeros((sum(block_width(b, k, basis.shape[1]) for b in blocks), k)),
        bias=np.zeros(k),
        thresholds=np.full(k, 0.5),
        # a stand-in neighbour: blank heads only read evidence, which holds no votes
        reference=np.zeros((1, basis.shape[1])),
        reference_topics=np.zeros((1, k)),
    )


@dataclass
class Data:
    """Everything CV needs, computed once: the evidence without the reduced vector."""

    rows: list[dict]
    y: np.ndarray
    groups: np.ndarray
    vectors: np.ndarray  # unit story vectors (for the principal directions)
    base: Evidence  # hits and z (reduced and tokens left empty)
    vetoes: np.ndarray  # (n, topics) bool
    tokens: list[np.ndarray]  # token ids of each "title. lead", as the tagger reads them

    def subset(self, keep: np.ndarray) -> Data:
        b = self.base
        return Data(
            [r for r, k in zip(self.rows, keep, strict=True) if k],
            self.y[keep],
            self.groups[keep],
            self.vectors[keep],
            Evidence(b.title_hits[keep], b.lead_hits[keep], b.z[keep], b.reduced[keep], None),
            self.vetoes[keep],
            [t for t, k in zip(self.tokens, keep, strict=True) if k],
        )


def prepare(rows: list[dict]) -> Data:
    items = [(r["title"], r["summary"]) for r in rows]
    tagger = Tagger(DEFAULT_TOPICS, head=blank_head(np.zeros((256, 0), np.float32), ()))
    ev, vetoed = tagger.evidence(items)
    prepared = [_prepare(a, b) for a, b in items]
    texts = [f"{t}. {x}" for t, x in prepared]
    embedder = load_embedder()
    assert embedder is not None, "training needs the wordllama weights"
    vetoes = np.zeros((len(rows), len(NAMES)), dtype=bool)
    for i, v in enumerate(vetoed):
        vetoes[i, sorted(v)] = True
    groups = near_duplicate_groups(rows)
    ids, starts, _ = embedder.token_ids(texts)
    tokens = np.split(ids, starts[1:])
    return Data(rows, labels(rows), groups, embedder.embed(texts), ev, vetoes, tokens)


def evidence_with(data: Data, basis: np.ndarray) -> Evidence:
    """What the tagger would read, computed from the cached parts (the same numbers)."""
    b = data.base
    counts = np.array([len(t) for t in data.tokens])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    ids = np.concatenate(data.tokens) if data.tokens else np.zeros(0, np.intp)
    tokens = Tokens(ids, starts, counts)
    return Evidence(b.title_hits, b.lead_hits, b.z, unit_rows(data.vectors @ basis), tokens)


def with_votes(
    ev: Evidence,
    config: Config,
    y: np.ndarray,
    groups: np.ndarray,
    train: np.ndarray,
    reference: np.ndarray | None = None,
) -> Evidence:
    """``ev`` with the neighbours block's votes: each story's nearest ``train`` stories.

    A training story never counts itself or a retelling of itself (its near-duplicate
    group), or its own vote would teach the head to trust votes more than they deserve.
    """
    k = votes_wanted(config.blocks)
    if not k:
        return ev
    return replace(ev, votes=training_votes(ev.reduced, y, groups, train, k, reference))


def training_votes(
    vectors: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    train: np.ndarray,
    k: int,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Every story's votes of its ``k`` nearest ``train`` stories (by ``vectors``, or by
    ``reference``: the train stories' vectors as stored), never its own group's."""
    ref = vectors[train] if reference is None else reference
    exclude = groups[:, None] == groups[train][None, :]
    return neighbour_votes(vectors, ref, y[train], k, exclude)


# --------------------------------------------------------------------------- model


def fit_logistic(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method; the bias is barely penalised.

    With more features than rows (a bag of tokens) each Newton step is solved in the
    rows' space (Woodbury identity): an n x n system instead of d x d.
    """
    n, d = x.shape
    xa = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(d + 1, float(lam))
    penalty[-1] = 1e-4
    w = np.zeros(d + 1)
    gram = (xa / penalty) @ xa.T if d > n else None
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xa @ w, -30, 30)))
        grad = xa.T @ (p - y) + penalty * w
        curv = np.maximum(p * (1 - p), 1e-10)
        if gram is None:
            step = np.linalg.solve((xa * curv[:, None]).T @ xa + np.diag(penalty), grad)
        else:
            scaled = grad / penalty
            inner = np.linalg.solve(gram + np.diag(1.0 / curv), xa @ scaled)
            step = scaled - (xa.T @ inner) / penalty
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w[:-1], float(w[-1])


def fit_topics(
    x: np.ndarray, y: np.ndarray, config: Config, extra: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features, topics) and biases on raw features (standardisation folded in).

    ``extra`` columns after the config's blocks (tools/topics/encoder_probe.py) are left unscaled.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    scale /= np.concatenate([config.column_scale(y.shape[1]), np.ones(extra)])
    xs = (x - mean) / scale
    lam = config.lam
    weights = np.zeros((x.shape[1], y.shape[1]))
    bias = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        w, b = fit_logistic(xs, y[:, j], lam)
        weights[:, j] = w / scale
        bias[j] = b - float((w / scale) @ mean)
    return weights, bias


def probabilities(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ weights + bias, -30, 30)))


def f1_per_topic(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    gold = y > 0
    tp = (pred & gold).sum(axis=0)
    wrong = (pred & ~gold).sum(axis=0) + (~pred & gold).sum(axis=0)
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)


def best_thresholds(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per topic, the middle of the grid values that give the best F1."""
    out = []
    for j in range(y.shape[1]):
        f1s = [f1_per_topic(p[:, j : j + 1] >= t, y[:, j : j + 1])[0] for t in GRID]
        top = max(f1s)
        ties = [t for t, f in zip(GRID, f1s, strict=True) if f >= top - 1e-12]
        out.append(ties[len(ties) // 2])
    return np.array(out)


def decide(p: np.ndarray, thresholds: np.ndarray, vetoes: np.ndarray) -> np.ndarray:
    """What the tagger does with the head's probabilities (bot/news/topics.py)."""
    out = np.zeros_like(vetoes)
    for i, kept in enumerate(best_first(p / thresholds, (p >= thresholds) & ~vetoes)):
        out[i, kept] = True
    return out


@dataclass
class Result:
    config: Config
    f1: np.ndarray  # per topic, cross-fitted thresholds, mean over seeds
    oof: list[np.ndarray]  # out-of-fold probabilities, one per seed
    f1_train_rows: np.ndarray  # the same, on the rows of train_*.jsonl only

    @property
    def macro(self) -> float:
        return float(self.f1.mean())

    def thresholds(self, y: np.ndarray) -> np.ndarray:
        """The head's thresholds: best on every seed's out-of-fold probabilities at once."""
        return best_thresholds(np.vstack(self.oof), np.vstack([y] * len(self.oof)))


#: extra feature columns for every row, computed from the training rows (a mask) only
Extra = Callable[[np.ndarray], np.ndarray]


def fold_probabilities(
    data: Data, config: Config, train: np.ndarray, held: np.ndarray, extra: Extra | None = None
) -> np.ndarray:
    """Fit on the ``train`` rows, return the ``held`` rows' probabilities (rows x topics)."""
    basis = principal_directions(data.vectors[train], config.rank)
    ev = with_votes(evidence_with(data, basis), config, data.y, data.groups, train)
    x = design_matrix(ev, config.blocks)
    width = 0
    if extra is not None:
        more = extra(train)
        x, width = np.hstack([x, more]), more.shape[1]
    weights, bias = fit_topics(x[train], data.y[train], config, width)
    return probabilities(x[held], weights, bias)


def cross_validate(
    data: Data, config: Config, seeds: Sequence[int] = SEEDS, extra: Extra | None = None
) -> Result:
    unseen = np.array([r["split"] == "train" for r in data.rows])
    f1s, oofs, f1u = [], [], []
    for seed in seeds:
        fold = fold_of(data.groups, FOLDS, seed)
        p = np.zeros_like(data.y)
        for k in range(FOLDS):
            train, held = fold != k, fold == k
            p[held] = fold_probabilities(data, config, train, held, extra)
        pred = np.zeros_like(data.y, dtype=bool)
        for k in range(FOLDS):
            held = fold == k
            thresholds = best_thresholds(p[~held], data.y[~held])
            pred[held] = decide(p[held], thresholds, data.vetoes[held])
        f1s.append(f1_per_topic(pred, data.y))
        f1u.append(f1_per_topic(pred[unseen], data.y[unseen]))
        oofs.append(p)
    return Result(config, np.mean(f1s, axis=0), oofs, np.mean(f1u, axis=0))


def build(data: Data, result: Result) -> TopicHead:
    """The head trained on all rows; thresholds from the chosen model's out-of-fold runs."""
    config = result.config
    # float16, as stored: the weights are fitted to the basis the tagger will load
    basis = principal_directions(data.vectors, config.rank).astype(np.float16).astype(np.float32)
    # The shipped features go through the tagger's own path (projection of token sums).
    ev, _ = Tagger(DEFAULT_TOPICS, head=blank_head(basis, config.blocks)).evidence(
        [(r["title"], r["summary"]) for r in data.rows]
    )
    # the neighbours as stored (float16), each training story's votes without its own group
    reference = ev.reduced.astype(np.float16).astype(np.float32)
    everyone = np.ones(len(data.rows), dtype=bool)
    ev = with_votes(ev, config, data.y, data.groups, everyone, reference)
    x = design_matrix(ev, config.blocks)
    weights, bias = fit_topics(x, data.y, config)
    thresholds = result.thresholds(data.y)
    info = {
        "config": asdict(config),
        "rows": len(data.rows),
        "cv_macro_f1": round(result.macro, 4),
        "cv_f1": {n: round(float(f), 4) for n, f in zip(NAMES, result.f1, strict=True)},
        "cv_macro_f1_train_rows": round(float(result.f1_train_rows.mean()), 4),
        "folds": FOLDS,
        "seeds": list(SEEDS),
    }
    head = blank_head(basis, config.blocks)
    return TopicHead(
        names=head.names,
        fingerprints=head.fingerprints,
        blocks=config.blocks,
        basis=basis,
        weights=weights,
        bias=bias,
        thresholds=thresholds,
        reference=reference if votes_wanted(config.blocks) else None,
        reference_topics=data.y if votes_wanted(config.blocks) else None,
        info=info,
    )


def legacy_f1(data: Data) -> np.ndarray:
    """The hand-set rule on the same rows (honest only for rows it was not tuned on)."""
    tagger = Tagger(DEFAULT_TOPICS, head=False)
    tags = tagger.tag_many([(r["title"], r["summary"]) for r in data.rows])
    pred = np.array([[n in t for n in NAMES] for t in tags])
    return f1_per_topic(pred, data.y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="retrain the shipped choice; compare")
    ap.add_argument("--out", type=Path, default=HEAD_PATH)
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = prepare(training_rows())
    print(
        f"{len(data.rows)} training rows in {len(np.unique(data.groups))} near-duplicate groups"
        f" ({time.perf_counter() - t0:.1f} s)"
    )
    unseen = np.array([r["split"] == "train" for r in data.rows])
    if unseen.any():
        f = legacy_f1(data.subset(unseen))
        print(
            f"hand-set rule on the {unseen.sum()} train rows (never tuned on): macro-F1 "
            f"{f.mean():.3f}  " + " ".join(f"{x:.2f}" for x in f)
        )

    if args.check:
        shipped = TopicHead.read(HEAD_PATH)
        candidates: Sequence[Config] = [Config(**config_of(shipped))]
    else:
        candidates = CANDIDATES
    results = []
    for config in candidates:
        r = cross_validate(data, config)
        results.append(r)
        print(
            f"  {'+'.join(config.blocks):28} r={config.rank:<3} lam={config.lam:<5g} "
            f"vec x{config.vector_scale:<4g} bag x{config.bag_scale:<4g} "
            f"CV {r.macro:.3f} (train rows {r.f1_train_rows.mean():.3f})  "
            + " ".join(f"{f:.2f}" for f in r.f1),
            flush=True,
        )
    best = max(results, key=lambda r: r.macro)  # first of equals: the simpler candidate
    head = build(data, best)
    print(
        f"chosen: {best.config}\nCV macro-F1 {best.macro:.3f} on all {len(data.rows)} rows, "
        f"{best.f1_train_rows.mean():.3f} on the train rows"
    )
    print(
        "per topic (CV F1, threshold): "
        + ", ".join(
            f"{n} {f:.2f} @{t:.3f}" for n, f, t in zip(NAMES, best.f1, head.thresholds, strict=True)
        )
    )
    if args.check:
        shipped = TopicHead.read(HEAD_PATH)
        same = np.allclose(shipped.weights, head.weights, atol=1e-4) and np.allclose(
            shipped.thresholds, head.thresholds
        )
        print("matches the shipped head" if same else "DIFFERS from the shipped head")
        raise SystemExit(0 if same else 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


def config_of(head: TopicHead) -> dict:
    c = dict(head.info["config"])
    c["blocks"] = tuple(c["blocks"])
    return c


if __name__ == "__main__":
    main()
