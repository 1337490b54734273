"""Benchmark of topic tagging, same-story pairing and digest arrangement.

    python -m bench.tagging            # held-out figures (the numbers to report)
    python -m bench.tagging --split tune   # the part the weights were tuned on
    python -m bench.tagging --split all
    python -m bench.tagging --no-head      # the hand-set rule alone, as custom topics get it

Topic weights and phrases were tuned on the "tune" part of
tests/data/devset/topics.jsonl, and the trained head of the default topics
(tools/topics/train_topics.py) on that part plus train_a/train_b.jsonl; the default
report is on the "test" part, which neither ever saw.
The pairing threshold was not tuned on pairs.jsonl (it comes from an earlier
measurement on rewritten headlines), so pairing figures cover the whole file;
``threshold_cv`` shows what tuning it there would be worth on held-out pairs.
The clustering section times assign_clusters on synthetic AI-news-like stories.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.news.cluster import (
    DEFAULT_THRESHOLD,
    ClusterItem,
    assign_clusters,
    build_idf,
    pair_similarity,
)
from bot.news.digest import arrange_digest
from bot.news.embed import load_embedder
from bot.news.models import Story
from bot.news.topics import DEFAULT_TOPICS, Tagger, Topic

DEVSET = Path(__file__).resolve().parent.parent / "tests" / "data" / "devset"


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_jsonl(name: str) -> list[dict]:
    with open(DEVSET / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def topic_rows(split: str) -> list[dict]:
    rows = load_jsonl("topics.jsonl")
    return rows if split == "all" else [r for r in rows if r["split"] == split]


def score_topics(
    predicted: Sequence[Iterable[str]], rows: Sequence[dict], topics: Sequence[Topic]
) -> dict[str, PRF]:
    out = {}
    for t in topics:
        tp = fp = fn = 0
        for pred, row in zip(predicted, rows, strict=True):
            p, g = t.name in set(pred), t.name in row["topics"]
            tp += p and g
            fp += p and not g
            fn += g and not p
        out[t.name] = PRF(tp, fp, fn)
    return out


def second_annotator(rows: Sequence[dict], topics: Sequence[Topic]) -> dict[str, PRF]:
    """test_second.jsonl (a second person's blind labels) scored against the reference."""
    second = {r["id"]: r["topics"] for r in load_jsonl("test_second.jsonl")}
    return score_topics([second[r["id"]] for r in rows], rows, topics)


def macro_f1(per_topic: dict[str, PRF]) -> float:
    return sum(m.f1 for m in per_topic.values()) / len(per_topic)


def evaluate_tagger(tagger: Tagger, rows: Sequence[dict]) -> dict[str, PRF]:
    predicted = tagger.tag_many([(r["title"], r["summary"]) for r in rows])
    return score_topics(predicted, rows, tagger.topics)


def pairing(threshold: float = DEFAULT_THRESHOLD) -> tuple[PRF, list[tuple[float, dict]]]:
    rows = load_jsonl("pairs.jsonl")
    # In service the IDF comes from a few thousand recent stories; here from every
    # devset text (pairs and topics) so that it is not learnt from 144 texts alone.
    texts = [f"{r[s]['title']}. {r[s]['lead']}" for r in rows for s in ("a", "b")]
    texts += [f"{r['title']}. {r['summary']}" for r in topic_rows("all")]
    idf = build_idf(texts)
    tp = fp = fn = 0
    scored = []
    for r in rows:
        sim = pair_similarity(
            f"{r['a']['title']}. {r['a']['lead']}", f"{r['b']['title']}. {r['b']['lead']}", idf
        )
        scored.append((sim, r))
        p, g = sim >= threshold, r["same_event"]
        tp += p and g
        fp += p and not g
        fn += g and not p
    return PRF(tp, fp, fn), scored


def _f1_at(scored: Sequence[tuple[float, dict]], threshold: float) -> float:
    tp = sum(s >= threshold and r["same_event"] for s, r in scored)
    wrong = sum((s >= threshold) != r["same_event"] for s, r in scored)
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def threshold_cv(repeats: int = 200, folds: int = 4) -> tuple[float, list[float]]:
    """Held-out F1 of choosing the threshold on the other folds, and the thresholds chosen.

    Stratified folds, repeated with different shuffles: 72 pairs are too few for one split.
    """
    _, scored = pairing()
    grid = [round(0.10 + 0.01 * i, 2) for i in range(31)]
    f1s, chosen = [], []
    for rep in range(repeats):
        rng = random.Random(rep)
        pos = [x for x in scored if x[1]["same_event"]]
        neg = [x for x in scored if not x[1]["same_event"]]
        rng.shuffle(pos)
        rng.shuffle(neg)
        parts = [pos[i::folds] + neg[i::folds] for i in range(folds)]
        held: list[tuple[float, dict]] = []
        for k in range(folds):
            train = [x for j, part in enumerate(parts) if j != k for x in part]
            top = max(_f1_at(train, t) for t in grid)
            ties = [t for t in grid if _f1_at(train, t) == top]
            th = ties[len(ties) // 2]
            chosen.append(th)
            held += [(1.0 if s >= th else 0.0, r) for s, r in parts[k]]
        f1s.append(_f1_at(held, 0.5))
    return sum(f1s) / len(f1s), chosen


_SYLLABLES = "ka lo mi ra te vu sho zen dra pi no qua bel tor fin gra lux mo ne rix tal vo yor zi"


def synthetic_news(
    n: int, sources: int, days: float, now: datetime, seed: int = 1
) -> list[ClusterItem]:
    """Title + lead of AI-news-like stories: a third retell events many outlets cover.

    Words follow a Zipf law over a large vocabulary (as real text does) plus the
    company, product and topic names of bench/feedgen.py; each event has a few
    names of its own, and its size is heavy-tailed (a few events reach hundreds
    of outlets, which is what makes common terms expensive).
    """
    from bench.feedgen import COMPANIES, PEOPLE, PRODUCTS, TOPICS

    rng = random.Random(seed)
    syl = _SYLLABLES.split()

    def word(k: int) -> str:
        return "".join(rng.choice(syl) for _ in range(k))

    general = list(dict.fromkeys(word(rng.randint(2, 4)) for _ in range(40_000)))
    cum = list(itertools.accumulate(1 / (i + 1) ** 1.05 for i in range(len(general))))
    head = [w.lower() for w in (*COMPANIES, *PRODUCTS, *TOPICS, *PEOPLE)]

    def text(core: list[str]) -> str:
        title = core + rng.choices(general, cum_weights=cum, k=rng.randint(3, 6))
        lead = core[: rng.randint(1, len(core))] + rng.choices(
            general, cum_weights=cum, k=rng.randint(6, 14)
        )
        rng.shuffle(title)
        rng.shuffle(lead)
        return " ".join(title).capitalize() + ". " + " ".join(lead) + "."

    out: list[tuple[datetime, str]] = []
    while len(out) < n // 3:
        size = min(400, max(2, int(2 / (1 - rng.random()) ** 0.8)))
        when = now - timedelta(seconds=rng.random() * days * 86400)
        names = [word(rng.randint(3, 5)) for _ in range(rng.randint(3, 6))]
        company, product = rng.choice(head), rng.choice(head)
        for _ in range(min(size, n // 3 - len(out))):
            core = [*rng.sample(names, rng.randint(2, min(4, len(names)))), company]
            core += [product] if rng.random() < 0.5 else []
            out.append((when + timedelta(seconds=rng.expovariate(1 / 21600)), text(core)))
    while len(out) < n:
        core = [rng.choice(head), rng.choice(head)] + [word(4) for _ in range(rng.randint(0, 2))]
        out.append((now - timedelta(seconds=rng.random() * days * 86400), text(core)))
    rng.shuffle(out)
    return [
        ClusterItem(i + 1, rng.randrange(sources), min(when, now), t, None)
        for i, (when, t) in enumerate(out)
    ]


def clustering_speed() -> list[tuple[str, int, float]]:
    """CPU seconds of assign_clusters: a first poll of 1000 feeds, and a steady-state poll."""
    now = datetime(2026, 1, 4, tzinfo=UTC)
    first = synthetic_news(48_000, 1000, 3, now)
    t0 = time.process_time()
    assign_clusters(first, [])
    first_s = time.process_time() - t0
    steady = sorted(synthetic_news(5_500, 1000, 4, now, seed=2), key=lambda i: i.published)
    t0 = time.process_time()
    assign_clusters(steady[5000:], steady[:5000])
    steady_s = time.process_time() - t0
    return [
        ("first poll: 48,000 new, 0 recent, 1000 sources, 3 days", 48_000, first_s),
        ("steady state: 500 new vs 5,000 recent", 500, steady_s),
    ]


def synthetic_stories(n: int, now: datetime, seed: int = 7) -> list[Story]:
    rng = random.Random(seed)
    names = [t.name for t in DEFAULT_TOPICS]
    out = []
    for i in range(n):
        k = rng.choice((0, 1, 1, 2, 3))
        published = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 7))
        out.append(
            Story(
                id=i + 1,
                source_id=rng.randrange(40),
                source_name=f"Outlet {i % 40}",
                url=None,
                title=f"Story {i}",
                published=published,
                first_seen=published,
                lead="A lead sentence.",
                topics=tuple(rng.sample(names, k)),
                also_covered_by=tuple(f"Outlet {j}" for j in range(rng.choice((0, 0, 0, 1, 3)))),
            )
        )
    return out


BATCH = 50


def tagging_throughput(
    embeddings: bool, seconds: float = 2.0, head: bool = True
) -> tuple[float, float]:
    """Stories per CPU-second for tag_many in batches: a fresh tagger, then a warmed one.

    CPU time (not wall time) because the machine is shared; a fresh tagger has
    empty word caches, so the first pass over the devset is the honest cold figure.
    """
    items = [(r["title"], r["summary"]) for r in topic_rows("all")]
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
    tagger = Tagger(DEFAULT_TOPICS, embeddings=embeddings, head=head)
    if tagger.uses_embeddings:
        load_embedder().forget_words()  # the word cache is shared by the process
    t0 = time.process_time()
    for batch in batches:
        tagger.tag_many(batch)
    cold = len(items) / (time.process_time() - t0)
    done, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        for batch in batches:
            tagger.tag_many(batch)
        done += len(items)
    return cold, done / (time.process_time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("test", "tune", "all"), default="test")
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--no-head", action="store_true", help="hand-set weights for every topic")
    args = ap.parse_args()

    t0 = time.perf_counter()
    tagger = Tagger(DEFAULT_TOPICS, embeddings=not args.no_embeddings, head=not args.no_head)
    load_s = time.perf_counter() - t0
    rows = topic_rows(args.split)
    per = evaluate_tagger(tagger, rows)
    mode = "phrases + embeddings" if tagger.uses_embeddings else "phrases only"
    if tagger.head_topics:
        mode += f", trained head for {len(tagger.head_topics)} topics"
    print(f"Topic tagging ({mode}), split={args.split}, {len(rows)} stories")
    print(f"{'topic':16} {'n':>4} {'prec':>6} {'recall':>6} {'F1':>6}")
    for name, m in per.items():
        print(f"{name:16} {m.tp + m.fn:4d} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f}")
    print(f"{'macro-F1':16} {'':4} {'':6} {'':6} {macro_f1(per):6.3f}")
    if args.split == "test":
        human = second_annotator(rows, tagger.topics)
        print(
            f"{'second annotator':16} {'':4} {'':6} {'':6} {macro_f1(human):6.3f}"
            "  (a person labelling blind from the same guide: the ceiling to expect)"
        )

    prf, _ = pairing()
    print(f"\nSame-story pairing (TF-IDF cosine >= {DEFAULT_THRESHOLD}), pairs.jsonl")
    print(f"precision {prf.precision:.3f}  recall {prf.recall:.3f}  F1 {prf.f1:.3f}")

    cold, warm = tagging_throughput(not args.no_embeddings, head=not args.no_head)
    print(
        f"\nTagging throughput (CPU time, batches of {BATCH}): {cold:,.0f} stories/s on first "
        f"sight of the texts, {warm:,.0f} stories/s once their words are cached"
    )
    print(f"Tagger construction (incl. model load): {load_s:.2f} s")

    now = datetime(2026, 1, 1, tzinfo=UTC)
    stories = synthetic_stories(100_000, now)
    t0 = time.perf_counter()
    arrange_digest(stories, topics=DEFAULT_TOPICS, now=now, since=now - timedelta(days=7), limit=10)
    print(
        f"arrange_digest over 100,000 in-memory stories: {time.perf_counter() - t0:.3f} s"
        " (the stored digest preselects in SQL first: bench/poll_bench.py times that path)"
    )


if __name__ == "__main__":
    main()
