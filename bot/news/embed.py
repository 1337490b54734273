"""Sentence vectors from wordllama's bundled weights, loaded strictly offline.

wordllama 0.4 ships its 16 MB ``l2_supercat`` weights and tokenizer inside the
wheel. Left to itself it would look in ``~/.cache`` and then download from
Hugging Face; we point ``cache_dir`` at the package's own folder and pass
``disable_download=True`` so a missing file is an error, never a network call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: the configuration and width whose files ship inside the wordllama wheel
CONFIG = "l2_supercat"
DIM = 256

_lock = threading.Lock()
_loaded: dict[str, Embedder | None] = {}


class Embedder:
    """Turns short texts into unit-length vectors (cosine = dot product)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @property
    def dim(self) -> int:
        return int(self._model.embedding.shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text; an empty text gets a zero row rather than NaNs."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.embed(list(texts), norm=False)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        np.divide(vecs, norms, out=vecs, where=norms > 0)
        vecs[(norms == 0).ravel()] = 0.0
        return vecs


def _import_wordllama() -> Any:
    # wordllama.inference calls logging.basicConfig(level=INFO) at import time,
    # which would install a root handler before the application configures
    # logging. A placeholder handler makes that call a no-op.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    added = not root.handlers
    if added:
        root.addHandler(placeholder)
    try:
        import wordllama
    finally:
        if added:
            root.removeHandler(placeholder)
    return wordllama


def _load() -> Embedder:
    wordllama = _import_wordllama()
    package_dir = Path(wordllama.__file__).parent
    model = wordllama.WordLlama.load(
        config=CONFIG, dim=DIM, cache_dir=package_dir, disable_download=True
    )
    return Embedder(model)


def load_embedder() -> Embedder | None:
    """The shared embedder, or None (with one warning) when it cannot be loaded.

    Loading takes about a second, so the result is kept for the process.
    """
    with _lock:
        if "model" not in _loaded:
            try:
                _loaded["model"] = _load()
            except Exception as exc:  # any failure means "no embeddings", never a crash
                log.warning("wordllama unavailable, topic tagging uses phrases only: %s", exc)
                _loaded["model"] = None
        return _loaded["model"]
