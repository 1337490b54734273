"""Group the same story told by different outlets.

Two stories from different sources, published within 48 hours of each other,
are the same story when the TF-IDF cosine of their title + lead reaches the
threshold. TF-IDF beat wordllama embeddings on rewritten headlines (F1 0.945
at 0.2 against 0.909 at 0.5): the same event shares rare words - names,
products, figures - that averaged word vectors blur.

Work is incremental and about linear in the number of stories: each new story
looks up earlier ones (new or recent) through an inverted index, but only under
its few heaviest terms, skipping terms so common that they cannot decide a match
on their own, and only in the time buckets its window reaches. The candidates
found are scored with the full cosine. A pair that shares none of those terms
sits near or below the threshold anyway; tests/news/test_cluster.py and
bench/tagging.py check that the pairs found are those an all-pairs scan finds.

The service keeps one :class:`ClusterIndex` for its lifetime, holding the stories of
the last :data:`HOLD` as compact arrays (no texts), so a poll reads and tokenises only
the stories it brought; :func:`assign_clusters` is the one-shot form. What it keeps is
bounded by that hold (see :data:`COMPACT_FRACTION`; :meth:`ClusterIndex.sizes` tells).
"""

from __future__ import annotations

import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import mul
from typing import TypeVar

DEFAULT_WINDOW = timedelta(hours=48)
DEFAULT_THRESHOLD = 0.2
#: how long the service's index holds a story: a window either side of it
HOLD = 2 * DEFAULT_WINDOW
#: how many of a new story's heaviest terms look for candidates
QUERY_TERMS = 8
#: each term and time bucket offers at most this many of its latest stories
SCAN_LIMIT = 24
RESCORE = 12
#: the index compacts (drops what it kept of forgotten stories: their slots, postings and the
#: terms only they had) once forgotten stories outnumber this share of those held, and
#: COMPACT_MIN. So it keeps at most 1 + COMPACT_FRACTION times the stories of the last HOLD
#: (and their terms): in a steady stream it fills for one HOLD, then grows for another (the
#: forgotten), then drops back. Compacting sooner would tighten the bound, but it rebuilds
#: the postings in time order, which can change a rare match of a late-published story.
COMPACT_FRACTION = 1.0
COMPACT_MIN = 1024
_MICROSECOND = timedelta(microseconds=1)
#: a term as text, or as the index's id for it
_Term = TypeVar("_Term", str, int)

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
        # one string object per distinct term: tens of thousands of stories share them
        out.append(sys.intern(w))
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
    return _idf_from_df(df, n)


def _idf_from_df(df: Mapping[str, int], n: int) -> dict[str, float]:
    return {term: _idf_of(c, n) for term, c in df.items()}


def _idf_of(count: int, n: int) -> float:
    """Smoothed inverse document frequency of a term that ``count`` of ``n`` texts have."""
    return math.log((n + 1) / (count + 1)) + 1.0


def tfidf_vectors(texts: Iterable[str], idf: Mapping[str, float]) -> list[dict[str, float]]:
    """Unit TF-IDF vectors of texts, as pair_similarity weighs them: a term the idf
    lacks counts as rare as the rarest it has."""
    default = max(idf.values(), default=1.0)
    return [_weigh(Counter(tokens(text)).items(), idf, default) for text in texts]


def _weigh(
    counts: Iterable[tuple[_Term, int]], idf: Mapping[_Term, float], default_idf: float
) -> dict[_Term, float]:
    """Unit TF-IDF vector from (term, count) pairs."""
    # Most terms occur once: 1 + log(1) is 1, so skipping the log changes no bit.
    vec = {
        t: idf.get(t, default_idf) if c == 1 else (1.0 + math.log(c)) * idf.get(t, default_idf)
        for t, c in counts
    }
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm else {}


def pair_similarity(a: str, b: str, idf: Mapping[str, float]) -> float:
    """TF-IDF cosine of two texts; unseen terms count as rare as the rarest known."""
    va, vb = tfidf_vectors((a, b), idf)
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
    return ClusterIndex(window=window, threshold=threshold).assign(new, known=recent)


class ClusterIndex:
    """The stories of the last days, kept between polls to cluster new stories against.

    A story is held as its TF-IDF vector in flat arrays (term ids and weights, no text),
    with postings by term and by time bucket. Buckets are one window wide, so a
    story's matches lie in its own bucket or the two beside it; older stories cost
    nothing. Document frequencies count the stories held now. The weights in the
    postings, used to find candidates, are those of when a story came (re-weighing the
    window at every poll would cost a pass over all of it); candidates are scored with
    both vectors weighed by the counts of now.
    """

    def __init__(
        self, *, window: timedelta = DEFAULT_WINDOW, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.window = window
        self.threshold = threshold
        self._reach = window // _MICROSECOND
        self._span = max(1, self._reach)
        self._reset()

    def _reset(self) -> None:
        self._term_ids: dict[str, int] = {}
        self._df = array("i")  # per term id: stories held that have the term
        # per term id: the one story holding a term no other story has (-1: none). Such
        # a term is posted only once a second story brings it: most terms never are.
        self._lone = array("i")
        # Postings, newest first, as linked lists in flat arrays: _heads maps _key(term id,
        # time bucket) to the newest posting, _next links to the one before it. Most
        # terms have a posting or two: containers per term would cost more than postings.
        self._heads: dict[int, int] = {}
        self._next = array("i")
        self._posted = array("I")  # the slot of each posting
        self._posted_weight = array("f")  # the term's weight in it
        # per slot (a story held; slots are never reused until the index is compacted)
        self._ids = array("q")
        self._sources = array("q")
        self._times = array("q")
        self._clusters = array("q")  # -1: in no cluster yet (a cluster of its own)
        self._starts = array("q")  # when the story's cluster began
        self._alive = bytearray()
        # slot s's vector: _terms, _counts and _weights[_offsets[s]:_offsets[s + 1]]
        self._offsets = array("Q", [0])
        self._terms = array("I")
        self._counts = array("H")  # how often the term occurs in the story
        self._weights = array("f")  # as weighed when the story came (single precision)
        self._weighed_in = array("I")  # the assign() call that weighed the story
        self._epoch = 0
        self._live = 0

    def __len__(self) -> int:
        return self._live

    # ------------------------------------------------------------------ public

    def assign(
        self, new: Sequence[ClusterItem], known: Sequence[ClusterItem] = ()
    ) -> dict[int, int]:
        """Cluster new items against everything held, then hold them too.

        ``known`` are stories already clustered that the index does not hold yet (the
        recent past, when a process starts): they are added without being matched.
        Returns the cluster id of every new item, and of any story that founds a
        cluster by being matched (see :func:`assign_clusters`).
        """
        batch = self.batch()
        batch.add(known, new=False)
        batch.add(new, new=True)
        return batch.finish()

    def batch(self) -> ClusterBatch:
        """A batch to fill piece by piece (from a database cursor, say), then finish.

        Only its stories' term ids are kept until it finishes, not their texts.
        """
        return ClusterBatch(self)

    def forget_before(self, when: datetime) -> None:
        """Drop the stories published before ``when``; compacts once most are gone."""
        cutoff = _micros(when)
        times, alive, offsets, terms, df, lone = (
            self._times,
            self._alive,
            self._offsets,
            self._terms,
            self._df,
            self._lone,
        )
        for slot in range(len(times)):
            if alive[slot] and times[slot] < cutoff:
                alive[slot] = 0
                self._live -= 1
                for i in range(offsets[slot], offsets[slot + 1]):
                    t = terms[i]
                    df[t] -= 1
                    if lone[t] == slot:
                        lone[t] = -1
        first = cutoff // self._span
        heads = self._heads
        for key in [k for k in heads if k & _BUCKET_MASK < first]:
            del heads[key]  # the postings stay in the arrays until the index compacts
        if len(times) - self._live > max(self._live * COMPACT_FRACTION, COMPACT_MIN):
            self._compact()

    def sizes(self) -> dict[str, int]:
        """What the index keeps: stories held, slots (held and forgotten, until it
        compacts), terms in its table, postings and posting lists."""
        return {
            "stories": self._live,
            "slots": len(self._ids),
            "terms": len(self._term_ids),
            "postings": len(self._posted),
            "lists": len(self._heads),
        }

    # ------------------------------------------------------------------ vectors

    def _weigh(
        self, counts: Iterable[tuple[int, int]], n: int, idf: dict[int, float]
    ) -> dict[int, float]:
        """Unit TF-IDF vector (term id -> weight) from (term id, count) pairs, with the
        document counts as they are now; ``idf`` caches the terms' idf for them."""
        counts = list(counts)
        df = self._df
        for t, _ in counts:
            if t not in idf:
                idf[t] = _idf_of(df[t], n)
        return _weigh(counts, idf, 0.0)

    def _term_id(self, term: str) -> int:
        """The term's id, a new one (with no stories yet) for a term never seen."""
        tid = self._term_ids.get(term)
        if tid is None:
            tid = self._term_ids[term] = len(self._term_ids)
            self._df.append(0)
            self._lone.append(-1)
        return tid

    def _add(
        self,
        story_id: int,
        source: int,
        at: int,
        cluster: int,
        start: int,
        vec: dict[int, float],
        counts: Mapping[int, int],
    ) -> None:
        slot = len(self._ids)
        self._ids.append(story_id)
        self._sources.append(source)
        self._times.append(at)
        self._clusters.append(cluster)
        self._starts.append(start)
        self._alive.append(1)
        self._live += 1
        self._terms.extend(vec.keys())
        self._weights.extend(vec.values())
        self._counts.extend(min(counts[t], 65535) for t in vec)
        self._offsets.append(len(self._terms))
        self._weighed_in.append(self._epoch)
        df, lone = self._df, self._lone
        bucket = at // self._span
        for term, weight in vec.items():
            if df[term] > 1:
                self._post(term, bucket, slot, weight)
            else:
                lone[term] = slot

    def _post(self, term: int, bucket: int, slot: int, weight: float) -> None:
        key = _key(term, bucket)
        self._next.append(self._heads.get(key, -1))
        self._heads[key] = len(self._posted)
        self._posted.append(slot)
        self._posted_weight.append(weight)

    def _post_lone(self, term: int) -> None:
        """A second story brings a term: post the first one, in time order in its bucket."""
        slot = self._lone[term]
        self._lone[term] = -1
        lo, hi = self._offsets[slot], self._offsets[slot + 1]
        weight = self._weights[lo + self._terms[lo:hi].index(term)]
        times, posted, nxt = self._times, self._posted, self._next
        at = times[slot]
        key = _key(term, at // self._span)
        newer, older = -1, self._heads.get(key, -1)
        while older >= 0 and times[posted[older]] > at:
            newer, older = older, nxt[older]
        nxt.append(older)
        posted.append(slot)
        self._posted_weight.append(weight)
        if newer < 0:
            self._heads[key] = len(posted) - 1
        else:
            nxt[newer] = len(posted) - 1

    def _compact(self) -> None:
        """Rebuild from the stories still held: slots and term ids renumbered."""
        old = (
            self._ids,
            self._sources,
            self._times,
            self._clusters,
            self._starts,
            self._alive,
            self._offsets,
            self._terms,
            self._counts,
            self._weights,
        )
        names = {tid: term for term, tid in self._term_ids.items()}
        ids, sources, times, clusters, starts, alive, offsets, terms, counts, weights = old
        keep = [s for s in range(len(ids)) if alive[s]]
        keep.sort(key=times.__getitem__)
        self._reset()
        for s in keep:
            for i in range(offsets[s], offsets[s + 1]):
                self._df[self._term_id(names[terms[i]])] += 1
        for s in keep:
            span = range(offsets[s], offsets[s + 1])
            vec = {self._term_ids[names[terms[i]]]: weights[i] for i in span}
            tf = {self._term_ids[names[terms[i]]]: counts[i] for i in span}
            self._add(ids[s], sources[s], times[s], clusters[s], starts[s], vec, tf)

    # ------------------------------------------------------------------ matching

    def _best_match(
        self,
        story_id: int,
        source: int,
        at: int,
        vec: dict[int, float],
        n: int,
        idf: dict[int, float],
    ) -> int | None:
        """The slot of the most similar story from another source, or None.

        Candidates are found through the postings (weights as they were when each story
        came) and scored with both vectors weighed by the document counts of now.
        """
        bucket = at // self._span
        df = self._df
        shared = {t: w for t, w in vec.items() if df[t] > 1}
        partial: dict[int, float] = {}  # slot -> cosine over the terms looked up
        get = partial.get
        looked_up = _heaviest(shared, QUERY_TERMS)
        heads, nxt, posted, posted_weight = (
            self._heads,
            self._next,
            self._posted,
            self._posted_weight,
        )
        for term in looked_up:
            w, budget = shared[term], SCAN_LIMIT
            for b in (bucket, bucket - 1, bucket + 1):  # the nearest stories first
                p = heads.get(_key(term, b), -1)
                latest = []  # the bucket's newest postings, up to the budget
                while p >= 0 and len(latest) < budget:
                    latest.append(p)
                    p = nxt[p]
                for p in reversed(latest):  # oldest first, as they were posted
                    slot = posted[p]
                    partial[slot] = get(slot, 0.0) + w * posted_weight[p]
                budget -= len(latest)
                if not budget:
                    break
        # The terms not looked up add at most their norm to a partial score.
        rest = math.sqrt(max(0.0, 1.0 - sum(w * w for t, w in vec.items() if t in looked_up)))
        best: tuple[float, int, int] | None = None
        ids, sources, times, alive = self._ids, self._sources, self._times, self._alive
        offsets, terms, counts, weights = self._offsets, self._terms, self._counts, self._weights
        epoch, weighed_in = self._epoch, self._weighed_in
        scored = 0
        for slot in sorted(partial, key=partial.__getitem__, reverse=True):
            if best is not None and partial[slot] + rest < best[0]:
                break
            if not alive[slot] or sources[slot] == source or ids[slot] == story_id:
                continue
            if abs(times[slot] - at) > self._reach:
                continue
            lo, hi = offsets[slot], offsets[slot + 1]
            if weighed_in[slot] == epoch:  # weighed with the document counts of now
                score = sum(map(mul, weights[lo:hi], map(vec.get, terms[lo:hi], _ZEROS)))
            else:
                now = self._weigh(zip(terms[lo:hi], counts[lo:hi], strict=True), n, idf)
                score = sum(map(mul, now.values(), map(vec.get, now, _ZEROS)))
            if score >= self.threshold:
                key = (score, -ids[slot], slot)  # ties go to the lower story id
                if best is None or key > best:
                    best = key
            scored += 1
            if scored == RESCORE:
                break
        return None if best is None else best[2]


class ClusterBatch:
    """Stories to cluster together: filled with :meth:`add`, clustered by :meth:`finish`.

    Document counts take in each story as it is added, so weights are final (every
    story of the batch counted) before the first one is weighed, as in one call.
    """

    def __init__(self, index: ClusterIndex) -> None:
        self._index = index
        self._ids = array("q")
        self._sources = array("q")
        self._times = array("q")
        self._marks = array("q")  # the stored cluster id, -1 for none
        self._new = bytearray()
        self._rows: list[array | None] = []  # term ids, in text order

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, items: Iterable[ClusterItem], *, new: bool) -> None:
        """Take in stories: new ones are matched at the end, known ones only held."""
        index = self._index
        term_id, df, lone = index._term_id, index._df, index._lone
        for item in items:
            row = array("I", map(term_id, tokens(item.text)))
            for t in set(row):
                df[t] += 1
                if df[t] == 2 and lone[t] >= 0:
                    index._post_lone(t)
            self._rows.append(row)
            self._ids.append(item.id)
            self._sources.append(item.source_id)
            self._times.append(_micros(item.published))
            self._marks.append(-1 if item.cluster_id is None else item.cluster_id)
            self._new.append(new)

    def finish(self) -> dict[int, int]:
        """Hold the known stories, then match and hold the new ones, each in time order."""
        index, rows = self._index, self._rows
        ids, sources, times, marks = self._ids, self._sources, self._times, self._marks
        n, idf = index._live + len(ids), {}
        index._epoch += 1
        order = sorted(range(len(ids)), key=lambda p: (times[p], ids[p]))
        started: dict[int, int] = {}  # cluster -> its first story's time, in this batch

        def weighed(pos: int) -> tuple[dict[int, float], Counter[int]]:
            counts = Counter(rows[pos])
            rows[pos] = None  # free as we go
            return index._weigh(counts.items(), n, idf), counts

        for pos in order:
            if self._new[pos]:
                continue
            cluster = marks[pos] if marks[pos] >= 0 else ids[pos]
            start = started.setdefault(cluster, times[pos])
            vec, counts = weighed(pos)
            index._add(ids[pos], sources[pos], times[pos], marks[pos], start, vec, counts)

        result: dict[int, int] = {}
        for pos in order:
            if not self._new[pos]:
                continue
            story, at = ids[pos], times[pos]
            vec, counts = weighed(pos)
            slot = index._best_match(story, sources[pos], at, vec, n, idf)
            if slot is not None and at - index._starts[slot] > index._reach:
                slot = None  # that event began too long ago: this is a new one
            if slot is None:
                cluster = marks[pos] if marks[pos] >= 0 else story
                start = started.setdefault(cluster, at)
            else:
                cluster = index._clusters[slot]
                if cluster < 0:  # a story of its own until now: it founds the cluster
                    cluster = index._clusters[slot] = index._ids[slot]
                    result[cluster] = cluster
                start = index._starts[slot]
            result[story] = cluster
            index._add(story, sources[pos], at, cluster, start, vec, counts)
        self._rows = []
        return result


def _heaviest(vec: Mapping[int, float], k: int) -> list[int]:
    if len(vec) <= k:
        return list(vec)
    return sorted(vec, key=vec.__getitem__, reverse=True)[:k]


def _key(term: int, bucket: int) -> int:
    # Buckets are window-wide spans of microseconds since 1970: under 2**32 for any window
    # of a second or more, so the pair packs into one int.
    return term << 32 | bucket


_BUCKET_MASK = (1 << 32) - 1
_ZEROS = repeat(0.0)


def _micros(when: datetime) -> int:
    epoch = _EPOCH if when.tzinfo is not None else _NAIVE_EPOCH
    return (when - epoch) // _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
