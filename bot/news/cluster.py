"""Group the same story told by different outlets.

Two stories from different sources, published within 48 hours of each other,
are the same story when the TF-IDF cosine of their title + lead reaches the
threshold. TF-IDF beat wordllama embeddings on rewritten headlines (F1 0.945
at 0.2 against 0.909 at 0.5): the same event shares rare words - names,
products, figures - that averaged word vectors blur.

Work is incremental: new stories are compared with each other and with recent
ones through an inverted index, so only stories sharing a term are scored.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_WINDOW = timedelta(hours=48)
DEFAULT_THRESHOLD = 0.2

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
# Function words and the vocabulary of every AI headline carry no event identity.
_STOP = frozenset(
    """a about after again against all also an and any are as at be because been before being
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my
    new no nor not now of off on once only or other our ours out over own same she should so some
    such than that the their theirs them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    says said say according report reports reportedly today week year years one two first
    ai artificial intelligence""".split()
)


@dataclass(frozen=True)
class ClusterItem:
    id: int
    source_id: int
    published: datetime
    text: str  # title + lead
    cluster_id: int | None  # None: not grouped yet (a cluster of its own, id = its own id)


def tokens(text: str) -> list[str]:
    """Lower-cased words without stop words; plural and possessive endings folded."""
    out = []
    for w in _WORD.findall(text.lower().replace("\u2019", "'")):
        if w.endswith("'s"):
            w = w[:-2]
        w = w.replace("'", "")
        if w in _STOP or len(w) < 2:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss") and not w[-2].isdigit():
            w = w[:-1]
        out.append(w)
    return out


def build_idf(texts: Iterable[str]) -> dict[str, float]:
    """Smoothed inverse document frequency over a corpus of texts."""
    return _idf(Counter(tokens(t)) for t in texts)


def _idf(docs: Iterable[Mapping[str, int]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    n = 0
    for counts in docs:
        n += 1
        df.update(counts.keys())
    return {term: math.log((n + 1) / (c + 1)) + 1.0 for term, c in df.items()}


def _vector(text: str, idf: Mapping[str, float], default_idf: float) -> dict[str, float]:
    return _weigh(Counter(tokens(text)), idf, default_idf)


def _weigh(
    counts: Mapping[str, int], idf: Mapping[str, float], default_idf: float
) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, default_idf) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm else {}


def pair_similarity(a: str, b: str, idf: Mapping[str, float]) -> float:
    """TF-IDF cosine of two texts; unseen terms count as rare as the rarest known."""
    default = max(idf.values(), default=1.0)
    va, vb = _vector(a, idf, default), _vector(b, idf, default)
    if len(va) > len(vb):
        va, vb = vb, va
    return sum(w * vb.get(t, 0.0) for t, w in va.items())


def assign_clusters(
    new: Sequence[ClusterItem],
    recent: Sequence[ClusterItem],
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[int, int]:
    """Cluster id for every new item, joining the best-matching earlier story.

    A new item takes the cluster of its most similar match from another source
    within ``window`` (earlier new items count as matches too, so a batch can
    form a cluster); with no match it founds a cluster whose id is its own id.
    A recent item that had no cluster and is matched founds the cluster: it is
    included in the result (id -> its own id) so the caller can store that too.
    """
    counts = {id(item): Counter(tokens(item.text)) for item in (*recent, *new)}
    idf = _idf(counts.values())
    default = max(idf.values(), default=1.0)

    index: dict[str, list[int]] = defaultdict(list)  # term -> positions in `known`
    known: list[tuple[ClusterItem, dict[str, float]]] = []
    cluster_of: dict[int, int] = {}  # item id -> cluster id, for everything seen
    for item in recent:
        _add(index, known, item, _weigh(counts[id(item)], idf, default))
        cluster_of[item.id] = item.cluster_id if item.cluster_id is not None else item.id

    result: dict[int, int] = {}
    recent_ids = {item.id for item in recent}
    for item in sorted(new, key=lambda i: (i.published, i.id)):
        vec = _weigh(counts[id(item)], idf, default)
        match = _best_match(item, vec, index, known, window, threshold)
        if match is None:
            cluster = item.cluster_id if item.cluster_id is not None else item.id
        else:
            cluster = cluster_of[match.id]
            if match.id in recent_ids and match.cluster_id is None:
                result[match.id] = cluster
        cluster_of[item.id] = cluster
        result[item.id] = cluster
        _add(index, known, item, vec)
    return result


def _add(
    index: dict[str, list[int]],
    known: list[tuple[ClusterItem, dict[str, float]]],
    item: ClusterItem,
    vec: dict[str, float],
) -> None:
    pos = len(known)
    known.append((item, vec))
    for term in vec:
        index[term].append(pos)


def _best_match(
    item: ClusterItem,
    vec: dict[str, float],
    index: Mapping[str, list[int]],
    known: Sequence[tuple[ClusterItem, dict[str, float]]],
    window: timedelta,
    threshold: float,
) -> ClusterItem | None:
    scores: dict[int, float] = defaultdict(float)
    for term, weight in vec.items():
        for pos in index.get(term, ()):
            scores[pos] += weight * known[pos][1][term]
    best: tuple[float, int, int] | None = None
    for pos, score in scores.items():
        other = known[pos][0]
        if score < threshold or other.source_id == item.source_id or other.id == item.id:
            continue
        if abs(other.published - item.published) > window:
            continue
        key = (score, -other.id, pos)  # ties go to the lower story id
        if best is None or key > best:
            best = key
    return None if best is None else known[best[2]][0]
