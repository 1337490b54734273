"""How many condensed points and leads are weak, by hand labels read blind to the filters.

Run from the repository root::

    python -m bench.filler_blind                # the table (a second or two)
    python -m bench.filler_blind --examples 3   # also three weak items of each kind still made
    python -m bench.filler_blind --show-new     # items made now that have no label, as JSONL
    python -m bench.filler_blind --show-new | grep "^{" > new.jsonl   # just those rows

The stories are the fixed sample of ``bench/points_sample.py``, condensed as ingest
condenses them. Each lead and point made now is looked up in
``bench/data/points_labels.jsonl`` by its story (corpus, source, feed title), its role and
its text (exact after whitespace is normalised). Only labelled items count towards the
weak shares; items made now without a label are counted as new, and ``--show-new`` prints
them in the labels' own format (``label`` and ``kind`` empty) so they can be read, filled
in and appended to the file. Labelled items that are no longer made are counted too: a
weak one gone is a fix, an ok one gone is a fact the reader lost.

The labels were written by reading each story as a reader of a Discord digest does
(headline, lead, points), without looking at the condenser's filters or the rule-based
judge of ``bench/filler.py``. A point is ``weak`` when a reader would skip it; its kind is
one of ``KINDS``. ``vague`` is the kind readers disagree on most, so the share without it
is printed as well.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.points_sample import SEED, rows

LABELS = Path(__file__).resolve().parent / "data" / "points_labels.jsonl"

KINDS = (
    "dangling",
    "truncated",
    "question",
    "call-to-action",
    "marketing",
    "fragment",
    "glued-heading",
    "repeat",
    "vague",
    "boilerplate",
    "other",
)

Key = tuple[str, str, str, str, str]  # corpus, source, story, role, text


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def key(corpus: str, source: str, story: str, role: str, text: str) -> Key:
    return (corpus, source, norm(story), role, norm(text))


@dataclass
class Labels:
    by_key: dict[Key, dict] = field(default_factory=dict)
    bad_lines: int = 0
    conflicts: int = 0
    problem: str = ""


def load_labels(path: Path) -> Labels:
    out = Labels()
    if not path.exists():
        out.problem = f"no labels file at {path}: every item counts as new"
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            k = key(row["corpus"], row["source"], row["story"], row["role"], row["text"])
            label = row["label"]
        except (ValueError, KeyError, TypeError):
            out.bad_lines += 1
            continue
        if label not in ("ok", "weak"):  # not labelled yet (e.g. pasted from --show-new)
            out.bad_lines += 1
            continue
        if k in out.by_key and out.by_key[k]["label"] != label:
            out.conflicts += 1
        out.by_key[k] = row
    if not out.by_key:
        out.problem = f"no usable labels in {path}: every item counts as new"
    return out


@dataclass
class Tally:
    made: int = 0
    labelled: int = 0
    weak: Counter[str] = field(default_factory=Counter)
    new: list[dict] = field(default_factory=list)

    @property
    def weak_total(self) -> int:
        return sum(self.weak.values())


def _pct(n: int, of: int) -> str:
    return f"{100 * n / of:5.1f}%" if of else "    -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--examples", type=int, default=0, help="N weak items of each kind")
    parser.add_argument(
        "--show-new", action="store_true", help="print unlabelled items as JSONL rows to label"
    )
    args = parser.parse_args()

    labels = load_labels(args.labels)
    stories = rows(args.seed)
    sampled = {(r["corpus"], r["source"], norm(r["story"])) for r in stories}

    # tallies[role][corpus]; corpus "all" for the whole sample
    tallies: dict[str, dict[str, Tally]] = {role: defaultdict(Tally) for role in ("point", "lead")}
    made: set[Key] = set()
    examples: dict[str, list[str]] = defaultdict(list)
    empty_leads = 0
    for r in stories:
        items = [("lead", r["lead"])] + [("point", p) for p in r["points"]]
        for role, text in items:
            if not norm(text):
                empty_leads += role == "lead"
                continue
            k = key(r["corpus"], r["source"], r["story"], role, text)
            made.add(k)
            row = labels.by_key.get(k)
            for t in (tallies[role][r["corpus"]], tallies[role]["all"]):
                t.made += 1
                if row is None:
                    t.new.append(r | {"role": role, "text": text})
                    continue
                t.labelled += 1
                if row["label"] == "weak":
                    t.weak[row.get("kind") or "other"] += 1
            if row is not None and row["label"] == "weak":
                kind = row.get("kind") or "other"
                examples[f"{role}/{kind}"].append(
                    f"[{r['corpus']}/{r['source']}] {r['headline']}\n      {role}: {norm(text)}"
                )

    gone: dict[str, Counter[str]] = {"point": Counter(), "lead": Counter()}
    unsampled = 0
    for k, row in labels.by_key.items():
        if k in made:
            continue
        if k[:3] not in sampled:
            unsampled += 1
            continue
        gone.setdefault(k[3], Counter())[row["label"]] += 1

    print(f"Blind hand labels: {args.labels.name}, sample seed {args.seed}, {len(stories)} stories")
    if labels.problem:
        print(f"  note: {labels.problem}")
    if labels.bad_lines:
        print(f"  note: {labels.bad_lines} label lines skipped (unreadable or not labelled)")
    if labels.conflicts:
        print(f"  note: {labels.conflicts} items labelled twice, differently (last one kept)")
    if unsampled:
        print(f"  note: {unsampled} labels are for stories no longer in the sample (stale)")
    if empty_leads:
        print(f"  {empty_leads} stories have an empty lead (not counted)")

    for role, title in (("point", "POINTS"), ("lead", "LEADS")):
        by_corpus = tallies[role]
        corpora = [*sorted(c for c in by_corpus if c != "all"), "all"]
        print(f"\n{title}")
        print(
            f"  {'corpus':<11} {'made':>5} {'labelled':>8} {'new':>4} "
            f"{'weak':>5} {'weak %':>7} {'not vague %':>11}"
        )
        for corpus in corpora:
            t = by_corpus[corpus]
            w = t.weak_total
            nv = w - t.weak["vague"]
            print(
                f"  {corpus:<11} {t.made:>5} {t.labelled:>8} {len(t.new):>4} "
                f"{w:>5} {_pct(w, t.labelled):>7} {_pct(nv, t.labelled):>11}"
            )
        t = by_corpus["all"]
        if t.weak_total:
            print("  weak by kind (share of labelled items made now):")
            for kind, n in t.weak.most_common():
                print(f"    {kind:<15} {n:>4} {_pct(n, t.labelled)}")
        g = gone[role]
        if g:
            print(
                f"  labelled but no longer made: {sum(g.values())}"
                f" ({g['weak']} weak gone = fixed, {g['ok']} ok gone = lost)"
            )
        if t.made and len(t.new) > 0.1 * t.made:
            print(
                f"  warning: {len(t.new)} of {t.made} {role}s have no label; the shares above"
                " cover only the labelled ones (label them: --show-new)"
            )

    if args.examples:
        for kind_key in sorted(examples):
            found = examples[kind_key]
            print(f"\n{kind_key} ({len(found)}):")
            step = max(1, len(found) // args.examples)
            for line in found[::step][: args.examples]:
                print(f"  {line}")

    if args.show_new:
        new = tallies["lead"]["all"].new + tallies["point"]["all"].new
        print(f"\n{len(new)} unlabelled items (fill in label ok|weak, kind, reason; append):")
        for r in new:
            row = {
                "corpus": r["corpus"],
                "source": r["source"],
                "story": r["story"],
                "headline": r["headline"],
                "role": r["role"],
                "text": r["text"],
                "label": "",
                "kind": "",
                "reason": "",
            }
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
