"""Fusion of lexical and dense rankings, and the hybrid searcher built on it.

Three methods (:class:`FusionConfig.method`):

- ``rrf``: weighted reciprocal rank fusion ``sum_i w_i / (rrf_k + rank_i)`` over each list's top ``depth``.
- ``blend``: candidates = lexical top ``depth`` U dense top ``depth``; both scores are computed exactly for
  every candidate, normalised over the candidate set, and mixed ``(1 - alpha) * lex + alpha * dense``.
- ``rerank``: like ``blend`` but candidates come from the lexical top ``depth`` only (dense re-orders them);
  robust with a weak embedder, and cheap (no vector-index search at all).

Which one is best depends on the embedder; :data:`DEFAULT_FUSION` holds the choice measured on the
SciFact *train* split by ``benchmarks/eval_retrieval.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from citybridge.search.analysis import _WORD
from citybridge.search.query import Hits, ParsedQuery, QueryWord, as_allow_mask, parse_query, top_k

if TYPE_CHECKING:
    from citybridge.enrich.embed import Embedder
    from citybridge.search.lexical import LexicalIndex
    from citybridge.search.vector import VectorIndex

Norm = Literal["minmax", "max", "zscore", "none"]


def normalize(scores: np.ndarray, method: Norm = "minmax") -> np.ndarray:
    """Scale scores of one candidate set to comparable ranges (constant input -> zeros or ones)."""
    s = np.asarray(scores, dtype=np.float32)
    if len(s) == 0 or method == "none":
        return s
    if method == "max":
        top = float(s.max())
        return s / top if top > 0 else np.zeros_like(s)
    if method == "zscore":
        sd = float(s.std())
        return (s - s.mean()) / sd if sd > 0 else np.zeros_like(s)
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)


def rrf(
    rankings: Sequence[Hits], *, k: int = 60, weights: Sequence[float] | None = None, limit: int | None = None
) -> Hits:
    """Weighted reciprocal rank fusion of ranked lists (rank 1 = best)."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    docs = np.concatenate([h.docs for h in rankings]) if rankings else np.zeros(0, np.int64)
    contrib = (
        np.concatenate(
            [
                np.float32(w) / (k + np.arange(1, len(h) + 1, dtype=np.float32))
                for h, w in zip(rankings, weights, strict=True)
            ]
        )
        if rankings
        else np.zeros(0, np.float32)
    )
    uniq, inv = np.unique(docs, return_inverse=True)
    fused = np.bincount(inv, weights=contrib, minlength=len(uniq)).astype(np.float32)
    return top_k(uniq, fused, limit if limit is not None else len(uniq))


def blend(
    docs: np.ndarray,
    lexical: np.ndarray,
    dense: np.ndarray,
    *,
    alpha: float = 0.5,
    norm: Norm = "minmax",
    limit: int | None = None,
) -> Hits:
    """Linear blend of two aligned score arrays for the same candidate ``docs`` after normalisation."""
    fused = (1 - alpha) * normalize(lexical, norm) + alpha * normalize(dense, norm)
    return top_k(
        np.asarray(docs, np.int64), fused.astype(np.float32), limit if limit is not None else len(docs)
    )


@dataclass(frozen=True)
class FusionConfig:
    """How to combine lexical and dense retrieval (see module docs)."""

    method: Literal["rrf", "blend", "rerank", "lexical", "dense"] = "blend"
    alpha: float = 0.5
    norm: Norm = "minmax"
    rrf_k: int = 60
    depth: int = 100


#: Per embedder: the best nDCG@10 of a 222-config grid on SciFact *train* (benchmarks/eval_retrieval.py
#: --tune; 2-fold cross-validated held-out nDCG@10 in brackets). wordllama: blend 0.7204 [0.7168] vs
#: rerank 0.7197, rrf 0.7088, lexical alone 0.7031. minilm: blend 0.7377 [0.7359] vs rerank 0.7367,
#: rrf 0.7276. ``rerank`` is the near-tie that needs no vector search, if latency matters more.
DEFAULT_FUSION: dict[str, FusionConfig] = {
    "wordllama": FusionConfig("blend", alpha=0.3, norm="minmax", depth=100),
    "minilm": FusionConfig("blend", alpha=0.6, norm="zscore", depth=200),
}


def fusion_for(embedder_name: str) -> FusionConfig:
    """The measured default for an embedder name (``blend`` 50/50 for unknown ones)."""
    return DEFAULT_FUSION.get(embedder_name, FusionConfig())


def fuse(
    config: FusionConfig,
    lexical: Hits,
    dense: Hits,
    lexical_scores: Callable[[np.ndarray], np.ndarray],
    dense_scores: Callable[[np.ndarray], np.ndarray],
    k: int,
) -> Hits:
    """Combine a lexical and a dense ranking (each at least ``config.depth`` long when available).

    ``lexical_scores``/``dense_scores`` compute exact scores for arbitrary doc numbers, so candidates
    found by only one side still get a real score from the other.
    """
    if config.method == "lexical":
        return top_k(lexical.docs, lexical.scores, k)
    if config.method == "dense":
        return top_k(dense.docs, dense.scores, k)
    lex = Hits(lexical.docs[: config.depth], lexical.scores[: config.depth])
    den = Hits(dense.docs[: config.depth], dense.scores[: config.depth])
    if config.method == "rrf":
        return rrf([lex, den], k=config.rrf_k, weights=[1 - config.alpha, config.alpha], limit=k)
    if config.method == "rerank":
        docs = lex.docs
        if len(docs) == 0:
            return Hits.empty()
        return blend(docs, lex.scores, dense_scores(docs), alpha=config.alpha, norm=config.norm, limit=k)
    docs = np.union1d(lex.docs, den.docs)
    if len(docs) == 0:
        return Hits.empty()
    return blend(
        docs, lexical_scores(docs), dense_scores(docs), alpha=config.alpha, norm=config.norm, limit=k
    )


class HybridSearcher:
    """Lexical + dense search over the same doc numbers, fused per :class:`FusionConfig`.

    Args:
        lexical: the BM25F index.
        vectors: document vectors of ``embedder`` (same doc numbering); None = lexical only.
        embedder: embeds queries (must match ``vectors.model_id``).
        config: fusion settings (default: the measured choice for the embedder).

    >>> hs = HybridSearcher(lex, vec, get_embedder("wordllama"))       # doctest: +SKIP
    >>> hs.search("heat island mitigation", k=10, allow=visible_mask)  # doctest: +SKIP
    """

    def __init__(
        self,
        lexical: LexicalIndex,
        vectors: VectorIndex | None = None,
        embedder: Embedder | None = None,
        config: FusionConfig | None = None,
        embedder_name: str | None = None,
    ) -> None:
        if vectors is not None:
            if embedder is None:
                raise ValueError("a vector index needs the embedder that made it")
            if embedder.model_id != vectors.model_id:
                from citybridge.search.artifacts import StaleIndex

                raise StaleIndex(
                    f"vector index was built with {vectors.model_id}, embedder is {embedder.model_id}"
                )
            if vectors.n_docs != lexical.n_docs:
                from citybridge.search.artifacts import StaleIndex

                raise StaleIndex(f"vector index has {vectors.n_docs} docs, lexical index {lexical.n_docs}")
        self.lexical = lexical
        self.vectors = vectors
        self.embedder = embedder
        name = embedder_name or (embedder.model_id.split("/")[0] if embedder else "")
        name = "minilm" if name.startswith("st") else name
        self.config = config or (fusion_for(name) if vectors is not None else FusionConfig("lexical"))

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        allow: np.ndarray | None = None,
        lang: str | None = None,
        fuzzy: bool | str = "auto",
        prefix: bool = False,
    ) -> Hits:
        """Top ``k`` doc numbers for ``query`` within ``allow`` (see :meth:`LexicalIndex.search`)."""
        cfg = self.config
        mask = as_allow_mask(allow, self.lexical.n_docs)
        parsed = parse_query(query)
        if prefix and parsed.words and not parsed.words[-1].prefix:
            parsed.words[-1] = QueryWord(parsed.words[-1].text, True)
        if parsed.phrases:  # a phrase is a hard filter for both sides
            phrase_mask = np.zeros(self.lexical.n_docs, dtype=bool)
            found: np.ndarray | None = None
            for p in parsed.phrases:
                d = self.lexical.phrase_docs(p, lang=lang, allow=mask)
                found = d if found is None else np.intersect1d(found, d, assume_unique=True)
            assert found is not None
            phrase_mask[found] = True
            mask = phrase_mask
        depth = max(k, cfg.depth)
        lex = (
            self.lexical.search(parsed, depth, allow=mask, lang=lang, fuzzy=fuzzy)
            if not parsed.phrases
            else self.lexical.search(_without_phrases(parsed), depth, allow=mask, lang=lang, fuzzy=fuzzy)
        )
        if self.vectors is None or self.embedder is None or cfg.method == "lexical":
            return top_k(lex.docs, lex.scores, k)
        qvec = self.embedder.embed([query.replace('"', " ").replace("*", " ")])[0]
        need_dense_list = cfg.method in ("rrf", "blend", "dense")
        dense = self.vectors.search(qvec, depth, allow=mask) if need_dense_list else Hits.empty()
        weights = self.lexical.query_terms(parsed, lang=lang, fuzzy=fuzzy)
        assert self.vectors is not None
        vectors = self.vectors
        return fuse(
            cfg,
            lex,
            dense,
            lambda d: self.lexical.score_docs(weights, d),
            lambda d: vectors.score_docs(qvec, d),
            k,
        )


def _without_phrases(parsed: ParsedQuery) -> ParsedQuery:
    """The phrase constraint is already in the mask; keep phrase words as scoring terms."""
    words = list(parsed.words)
    for p in parsed.phrases:
        words.extend(QueryWord(w) for w in _WORD.findall(p))
    return ParsedQuery(words, [])
