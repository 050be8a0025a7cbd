"""A vector index per embedding model: exact (numpy matmul) for small corpora, usearch HNSW above a threshold.

Vectors are unit-length float32 rows (see :mod:`citybridge.enrich.embed`), so inner product = cosine.
Allow-masks are enforced inside the search: HNSW results are over-fetched in proportion to the mask's
selectivity, and if fewer than ``k`` allowed hits come back the query falls back to an exact scan of the
allowed rows, so a filter never makes a top-k come up short.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.search.artifacts import ArtifactReader, ArtifactWriter, CorruptIndex, release_pages
from citybridge.search.query import Hits, as_allow_mask, top_k

FORMAT = "citybridge.vectors"
VERSION = 1
#: Below this many vectors an exact scan is fast enough (and exact); above, build an HNSW graph.
ANN_THRESHOLD = 200_000


@cache
def _one_blas_thread() -> Callable[[], contextlib.AbstractContextManager]:
    """A context that limits BLAS to one thread: a query's matrix-vector product is too small to gain
    from threads, and on a busy 2-core box OpenBLAS thread hand-offs made it ~20x slower (9 ms vs 0.4 ms)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional speed-up
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


class VectorIndex:
    """Nearest-neighbour search over one embedding model's document vectors.

    >>> vi = VectorIndex.build(np.eye(3, dtype=np.float32), "toy")
    >>> vi.search(np.array([0, 1, 0], np.float32), k=1).docs.tolist()
    [1]
    """

    def __init__(self, vectors: np.ndarray, meta: dict[str, Any], hnsw: Any | None = None) -> None:
        self.vectors = vectors
        self.meta = meta
        self.model_id: str = meta["model_id"]
        self.dim = int(vectors.shape[1])
        self.n_docs = int(vectors.shape[0])
        self._hnsw = hnsw

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        model_id: str,
        *,
        ann_threshold: int = ANN_THRESHOLD,
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 128,
        fingerprint: str | None = None,
        threads: int = 0,
        add_batch: int = 65_536,
    ) -> VectorIndex:
        """Index ``vectors`` (row i = doc number i) produced by the embedder ``model_id``.

        An HNSW graph (usearch, optional dependency) is built when there are at least ``ann_threshold``
        rows; without usearch the index stays exact. ``vectors`` may be a memory map (``np.load(...,
        mmap_mode="r")``): it is then kept as it is, added to the graph ``add_batch`` rows at a time and its
        pages released after each batch, so a matrix larger than memory can be indexed.
        """
        if not (isinstance(vectors, np.memmap) and vectors.dtype == np.float32 and vectors.flags.c_contiguous):
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-d array")
        hnsw = None
        if len(vectors) >= ann_threshold:
            try:
                from usearch.index import Index
            except ImportError:  # pragma: no cover - exact search still works
                Index = None
            if Index is not None:
                hnsw = Index(
                    ndim=vectors.shape[1],
                    metric="ip",
                    dtype="f16",
                    connectivity=connectivity,
                    expansion_add=expansion_add,
                    expansion_search=expansion_search,
                )
                for i in range(0, len(vectors), add_batch):
                    block = np.array(vectors[i:i + add_batch], dtype=np.float32)
                    hnsw.add(np.arange(i, i + len(block), dtype=np.uint64), block, threads=threads)
                    release_pages(vectors)
        meta = {
            "model_id": model_id,
            "n_docs": len(vectors),
            "dim": int(vectors.shape[1]),
            "fingerprint": fingerprint,
            "hnsw": hnsw is not None,
        }
        return cls(vectors, meta, hnsw)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write vectors (and the HNSW graph) atomically, manifest last."""
        w = ArtifactWriter(directory, FORMAT, VERSION)
        w.add("vectors", self.vectors)
        if self._hnsw is not None:
            path = w.dir / "hnsw.usearch"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            self._hnsw.save(str(tmp))
            os.replace(tmp, path)
            w.add_file("hnsw", path)
        w.commit(self.meta)
        return Path(directory)

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        model_id: str | None = None,
        fingerprint: str | None = None,
        mmap: bool = True,
        verify: bool | None = None,
    ) -> VectorIndex:
        """Open a saved index; :class:`StaleIndex` if it belongs to another model or source state."""
        expect: dict[str, Any] = {}
        if model_id is not None:
            expect["model_id"] = model_id
        if fingerprint is not None:
            expect["fingerprint"] = fingerprint
        r = ArtifactReader(directory, FORMAT, VERSION, expect=expect, verify=verify)
        vectors = r.array("vectors", mmap=mmap)
        hnsw = None
        if r.manifest.get("hnsw"):
            from usearch.index import Index

            hnsw = Index.restore(str(r.path("hnsw")), view=mmap)
            if hnsw is None or len(hnsw) != len(vectors):
                raise CorruptIndex("HNSW graph does not match the vectors", where=str(directory))
        return cls(vectors, r.manifest, hnsw)

    # ------------------------------------------------------------------ search
    def score_docs(self, query: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``query`` with the given doc numbers."""
        docs = np.asarray(docs, dtype=np.int64)
        if len(docs) == 0:
            return np.zeros(0, np.float32)
        with _one_blas_thread()():
            return np.asarray(self.vectors[docs] @ query, dtype=np.float32)

    def _exact(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> Hits:
        with _one_blas_thread()():
            if mask is None:
                return top_k(np.arange(self.n_docs), self.vectors @ query, k)
            docs = np.flatnonzero(mask)
            if len(docs) * 4 >= self.n_docs:
                # most rows allowed: one pass over the (memory-mapped) matrix, then pick the allowed scores;
                # gathering the allowed rows first copied nearly the whole matrix per query (~2x the time)
                return top_k(docs, np.asarray(self.vectors @ query)[docs], k)
            return top_k(docs, self.vectors[docs] @ query, k)

    def search(
        self, query: np.ndarray, k: int = 10, *, allow: np.ndarray | None = None, exact: bool = False
    ) -> Hits:
        """Top ``k`` docs by cosine similarity to ``query`` (a unit vector), within ``allow``."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        mask = as_allow_mask(allow, self.n_docs)
        if self._hnsw is None or exact:
            return self._exact(query, k, mask)
        if mask is None:
            m = self._hnsw.search(query, k)
            return Hits(np.asarray(m.keys, dtype=np.int64), np.asarray(1 - m.distances, dtype=np.float32))
        allowed = int(mask.sum())
        if allowed == 0:
            return Hits.empty()
        fetch = int(min(self.n_docs, max(4 * k, k * self.n_docs / allowed * 2)))
        if fetch > 20_000:  # very selective filter: scanning the allowed rows is cheaper and exact
            return self._exact(query, k, mask)
        m = self._hnsw.search(query, fetch)
        keys = np.asarray(m.keys, dtype=np.int64)
        keep = mask[keys]
        if keep.sum() >= min(k, allowed):
            keys, sims = keys[keep][:k], (1 - np.asarray(m.distances, np.float32))[keep][:k]
            return Hits(keys, sims.astype(np.float32))
        return self._exact(query, k, mask)
