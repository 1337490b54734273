"""Baselines for the quality benchmark: Lead-k and TextRank (Mihalcea & Tarau, 2004)."""

from __future__ import annotations

import math
import re

_WORD = re.compile(r"\w+")


def lead(sentences: list[str], k: int) -> list[str]:
    return sentences[:k]


def textrank(sentences: list[str], k: int, damping: float = 0.85, rounds: int = 40) -> list[str]:
    """The k most central sentences, in text order.

    Similarity is the paper's word overlap normalised by log sentence lengths; scores come
    from PageRank over the weighted sentence graph.
    """
    n = len(sentences)
    if n <= k:
        return list(sentences)
    bags = [set(_WORD.findall(s.lower())) for s in sentences]
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if len(bags[i]) < 2 or len(bags[j]) < 2:
                continue
            overlap = len(bags[i] & bags[j])
            if overlap:
                w = overlap / (math.log(len(bags[i])) + math.log(len(bags[j])))
                weights[i][j] = weights[j][i] = w
    out_sum = [sum(row) or 1.0 for row in weights]
    score = [1.0 / n] * n
    for _ in range(rounds):
        score = [
            (1 - damping) / n
            + damping * sum(weights[j][i] / out_sum[j] * score[j] for j in range(n))
            for i in range(n)
        ]
    top = sorted(range(n), key=lambda i: (-score[i], i))[:k]
    return [sentences[i] for i in sorted(top)]
