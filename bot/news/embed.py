"""Sentence vectors from wordllama's bundled weights, without importing wordllama.

wordllama 0.4 ships its ``l2_supercat`` 256-dim token table (float16) and the
Llama-2 tokenizer config inside the wheel; its ``embed`` is a token lookup and
a mean over the tokens, nothing more. Importing the package would also pull in
pydantic and requests and upcast the table to float32 (about 85 MB in all), so
we read the two files ourselves: the table is memory-mapped in float16 and the
tokenizer comes from the ``tokenizers`` package. Nothing here can reach the
network: a missing file is an error.

The tokenizer is the expensive part (a few microseconds a token), and news text
repeats its words, so token ids are cached per space-delimited word. This is
exact because no Llama-2 token spans a space that follows another character.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import mmap
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: the configuration and width whose files ship inside the wordllama wheel
CONFIG = "l2_supercat"
DIM = 256
_TENSOR = "embedding.weight"
#: words whose token ids are remembered; the cache is emptied when it fills (about 4 MB)
CACHE_WORDS = 30_000
#: rows projected at a time, to bound the float32 copy of the float16 table
_BLOCK = 1024

_lock = threading.Lock()
_loaded: dict[str, Embedder | None] = {}

# The tokenizer prepends "▁" and turns spaces into "▁"; a piece starts at a run of
# spaces and ends before the next one (the text gets the prepended space first).
_WORD = re.compile(r" +[^ ]*")


class Embedder:
    """Turns short texts into unit-length vectors (cosine = dot product)."""

    def __init__(self, table: np.ndarray, tokenizer: Any, mapped: _Mapped | None = None) -> None:
        self._table = table  # (vocab, dim) float16, usually read-only mapped from the file
        self._tokenizer = tokenizer
        self._mapped = mapped
        self._space_id = int(tokenizer.token_to_id("\u2581"))
        self._ids: dict[str, bytes] = {}
        self._ids_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self._table.shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text; an empty text gets a zero row rather than NaNs."""
        ids, starts, counts = self.token_ids(texts)
        sums = _segment_sums(self._table[ids].astype(np.float32), starts, counts)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        np.divide(sums, norms, out=sums, where=norms > 0)
        return sums

    def projection(self, targets: np.ndarray) -> Projection:
        """Scores texts against fixed unit vectors (one per row of ``targets``)."""
        targets = np.asarray(targets, dtype=np.float32)
        dots = np.empty((self._table.shape[0], targets.shape[0]), dtype=np.float32)
        for lo in range(0, self._table.shape[0], _BLOCK):
            block = self._table[lo : lo + _BLOCK]
            dots[lo : lo + _BLOCK] = block.astype(np.float32) @ targets.T
            if self._mapped is not None:
                # A full pass would leave the whole table resident; embed() needs few rows.
                self._mapped.forget(lo, lo + len(block))
        return Projection(self, dots)

    def token_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All texts' token ids end to end, with each text's start and token count."""
        cache = self._ids
        per_text: list[bytes] = []
        missing: dict[str, None] = {}
        words = [_WORD.findall(" " + t) if t else [] for t in texts]
        for ws in words:
            for w in ws:
                if w not in cache:
                    missing[w] = None
        if missing:
            fresh = self._remember(list(missing))
            # A full cache is emptied by _remember, so words of this call that were
            # cached before may be gone from self._ids: look them up in the old dict
            # (a KeyError here once failed whole feeds with an error such as "' Red'").
            old = cache
            for ws in words:
                per_text.append(b"".join([fresh[w] if w in fresh else old[w] for w in ws]))
        else:
            for ws in words:
                per_text.append(b"".join([cache[w] for w in ws]))
        counts = np.fromiter((len(b) // 2 for b in per_text), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        ids = np.frombuffer(b"".join(per_text), dtype=np.uint16).astype(np.intp)
        return ids, starts, counts

    def forget_words(self) -> None:
        """Empty the word cache (for measuring the cost of unseen text)."""
        with self._ids_lock:
            self._ids = {}

    def _remember(self, words: list[str]) -> dict[str, bytes]:
        """Encode and cache ``words``; returns their ids (the cache may drop older words)."""
        fresh = {w: self._encode_alone(w) for w in words if not w.strip(" ")}
        joined = [w for w in words if w.strip(" ")]
        if joined:
            # One call for all new words (half the cost of one call each). They do not
            # interact: each ends in a non-space, and no token spans such a boundary.
            # The tokenizer prepends the first space itself; the pre-tokenizer set in
            # _load() splits at the same places, so word_ids says whose token is whose.
            enc = self._tokenizer.encode("".join(joined)[1:], add_special_tokens=False)
            ids = np.asarray(enc.ids, dtype=np.uint16).tobytes()
            owner = np.asarray(enc.word_ids, dtype=np.int64)
            cuts = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=len(joined))) * 2))
            for w, lo, hi in zip(joined, cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
                fresh[w] = ids[lo:hi]
        with self._ids_lock:
            cache = self._ids
            if len(cache) + len(fresh) > CACHE_WORDS:
                cache = {}  # a new dict: a reader holding the old one is not disturbed
            cache.update(fresh)
            self._ids = cache
        return fresh

    def _encode_alone(self, spaces: str) -> bytes:
        # A run of spaces at the end of a text. Alone, one space would encode to
        # nothing (the tokenizer prepends only to non-empty text), so it is looked up.
        ids = self._tokenizer.encode(spaces[1:], add_special_tokens=False).ids
        return np.asarray(ids if spaces != " " else [self._space_id], dtype=np.uint16).tobytes()


class Projection:
    """Texts scored against fixed target vectors, computed from per-token dot products.

    Mean pooling is linear, so a text's vector dotted with a target is the sum of
    its tokens' dots with that target: summing k numbers per token instead of 256.
    The score is the cosine times the text's (positive) vector length, which is all
    a per-text standardisation of the scores needs; an empty text scores zero.
    """

    def __init__(self, embedder: Embedder, dots: np.ndarray) -> None:
        self._embedder = embedder
        self._dots = dots  # (vocab, k) float32

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores_and_tokens(texts)[0]

    def scores_and_tokens(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The scores, and the token ids they came from (as :meth:`Embedder.token_ids`
        gives them), for a caller that reads the tokens too: tokenising is the cost."""
        ids, starts, counts = self._embedder.token_ids(texts)
        return _segment_sums(self._dots[ids], starts, counts), (ids, starts, counts)


def _segment_sums(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sum of each text's rows (mean without the division: the scale is normalised away)."""
    out = np.zeros((len(counts), rows.shape[1]), dtype=np.float32)
    nonempty = counts > 0
    if nonempty.any():
        out[nonempty] = np.add.reduceat(rows, starts[nonempty], axis=0)
    return out


def _package_dir() -> Path:
    # find_spec locates the wheel without running wordllama/__init__ (and its imports).
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the wordllama package (which ships the weights) is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


class _Mapped:
    """The memory map under a table, whose pages can be handed back after a pass."""

    def __init__(self, mapped: mmap.mmap, offset: int, row_bytes: int) -> None:
        self._mapped, self._offset, self._row_bytes = mapped, offset, row_bytes

    def forget(self, lo: int, hi: int) -> None:
        """Drop rows lo..hi from this process's memory; they are read again if used."""
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        start = self._offset + lo * self._row_bytes
        start -= start % mmap.PAGESIZE
        self._mapped.madvise(mmap.MADV_DONTNEED, start, self._offset + hi * self._row_bytes - start)


def _map_table(path: Path) -> tuple[np.ndarray, _Mapped]:
    """The float16 token table of a safetensors file, mapped read-only (no copy)."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    entry = header[_TENSOR]
    if entry["dtype"] != "F16" or len(entry["shape"]) != 2:
        raise ValueError(f"{path.name}: expected a 2-d F16 {_TENSOR}, got {entry}")
    begin, end = entry["data_offsets"]
    rows, cols = entry["shape"]
    if end - begin != rows * cols * 2:
        raise ValueError(f"{path.name}: {_TENSOR} has {end - begin} bytes for shape {rows}x{cols}")
    offset = 8 + header_len + begin
    table = np.frombuffer(mapped, dtype="<f2", count=rows * cols, offset=offset)
    return table.reshape(rows, cols), _Mapped(mapped, offset, cols * 2)


def _load() -> Embedder:
    from tokenizers import Regex, Tokenizer, pre_tokenizers

    package = _package_dir()
    table, mapped = _map_table(package / "weights" / f"{CONFIG}_{DIM}.safetensors")
    tokenizer = Tokenizer.from_file(str(package / "tokenizers" / f"{CONFIG}_tokenizer_config.json"))
    # The config has no pre-tokenizer; this one splits where no token crosses anyway
    # (before each run of "▁" that follows another character), so ids are unchanged.
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("\u2581*[^\u2581]+|\u2581+"), "isolated")
    if tokenizer.get_vocab_size() > table.shape[0] or table.shape[0] > 2**16:
        raise ValueError("tokenizer and weight table do not fit together")
    return Embedder(table, tokenizer, mapped)


def load_embedder() -> Embedder | None:
    """The shared embedder, or None (with one warning) when it cannot be loaded.

    Loading takes a fraction of a second, so the result is kept for the process.
    """
    with _lock:
        if "model" not in _loaded:
            try:
                _loaded["model"] = _load()
            except Exception as exc:  # any failure means "no embeddings", never a crash
                log.warning("wordllama unavailable, topic tagging uses phrases only: %s", exc)
                _loaded["model"] = None
        return _loaded["model"]
