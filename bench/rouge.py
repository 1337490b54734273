"""ROUGE-1, ROUGE-2 and ROUGE-L F1, small and dependency-free.

Tokenisation is deliberately simple (lower-cased ASCII letters and digits), like the
default of Google's ``rouge-score`` without stemming, so figures are comparable in spirit
but not digit-for-digit with published tables.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Rouge:
    r1: float
    r2: float
    rl: float


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rouge(candidate: str, reference: str) -> Rouge:
    cand, ref = tokens(candidate), tokens(reference)
    return Rouge(_ngram_f1(cand, ref, 1), _ngram_f1(cand, ref, 2), _lcs_f1(cand, ref))


def _f1(overlap: int, n_cand: int, n_ref: int) -> float:
    if not overlap or not n_cand or not n_ref:
        return 0.0
    p, r = overlap / n_cand, overlap / n_ref
    return 2 * p * r / (p + r)


def _ngram_f1(cand: list[str], ref: list[str], n: int) -> float:
    c = Counter(tuple(cand[i : i + n]) for i in range(len(cand) - n + 1))
    r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((c & r).values())
    return _f1(overlap, sum(c.values()), sum(r.values()))


def _lcs_f1(cand: list[str], ref: list[str]) -> float:
    if not cand or not ref:
        return 0.0
    prev = [0] * (len(ref) + 1)
    for a in cand:
        cur = [0]
        for j, b in enumerate(ref):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    return _f1(prev[-1], len(cand), len(ref))
