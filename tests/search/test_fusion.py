from __future__ import annotations

import numpy as np
import pytest

from citybridge.search import FusionConfig, Hits, HybridSearcher, LexicalIndex, VectorIndex, blend, fuse, rrf
from citybridge.search.fusion import normalize


def hits(docs, scores=None):
    docs = np.asarray(docs, dtype=np.int64)
    scores = np.asarray(scores if scores is not None else -np.arange(len(docs)), dtype=np.float32)
    return Hits(docs, scores)


def test_rrf_matches_formula():
    fused = rrf([hits([1, 2, 3]), hits([3, 1])], k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61}
    assert fused.docs.tolist() == sorted(expected, key=lambda d: -expected[d])
    np.testing.assert_allclose(fused.scores, sorted(expected.values(), reverse=True), rtol=1e-6)
    weighted = rrf([hits([1, 2]), hits([2, 1])], k=1, weights=[0.1, 0.9])
    assert weighted.docs.tolist() == [2, 1]


def test_normalizations():
    s = np.array([1.0, 3.0, 5.0])
    np.testing.assert_allclose(normalize(s, "minmax"), [0, 0.5, 1])
    np.testing.assert_allclose(normalize(s, "max"), [0.2, 0.6, 1])
    assert abs(normalize(s, "zscore").mean()) < 1e-6
    np.testing.assert_allclose(normalize(np.array([2.0, 2.0])), [1, 1])


def test_blend_and_fuse_methods():
    docs = np.array([10, 11, 12])
    b = blend(docs, np.array([3.0, 2.0, 1.0]), np.array([0.0, 0.1, 0.9]), alpha=0.8)
    assert b.docs.tolist()[0] == 12
    lex = hits([10, 11], [3.0, 2.0])
    den = hits([12, 11], [0.9, 0.5])
    lex_scores = {10: 3.0, 11: 2.0, 12: 0.5}
    den_scores = {10: 0.1, 11: 0.5, 12: 0.9}

    def ls(d):
        return np.array([lex_scores[x] for x in d], np.float32)

    def ds(d):
        return np.array([den_scores[x] for x in d], np.float32)

    assert fuse(FusionConfig("lexical"), lex, den, ls, ds, 5).docs.tolist() == [10, 11]
    rerank = fuse(FusionConfig("rerank", alpha=0.9), lex, den, ls, ds, 5)
    assert set(rerank.docs.tolist()) == {10, 11}, "rerank never adds dense-only candidates"
    full = fuse(FusionConfig("blend", alpha=0.5), lex, den, ls, ds, 5)
    assert set(full.docs.tolist()) == {10, 11, 12}


class ToyEmbedder:
    """Deterministic bag-of-letters embedder (tests the hybrid plumbing without a model)."""

    model_id = "toy/letters"
    dim = 26

    def embed(self, texts, batch_size=64):
        out = np.zeros((len(texts), 26), np.float32)
        for i, t in enumerate(texts):
            for c in t.lower():
                if "a" <= c <= "z":
                    out[i, ord(c) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


@pytest.mark.parametrize("method", ["rrf", "blend", "rerank"])
def test_hybrid_searcher_respects_allow_and_phrases(docs, method):
    many = docs * 40
    lex = LexicalIndex.build(many)
    emb = ToyEmbedder()
    texts = [d["title"] + " " + d["abstract"] for d in many]
    vec = VectorIndex.build(emb.embed(texts), emb.model_id, ann_threshold=100)  # exercise HNSW + filter
    hs = HybridSearcher(lex, vec, emb, FusionConfig(method, alpha=0.5, depth=50))
    allow = np.zeros(len(many), dtype=bool)
    allow[::5] = True
    res = hs.search("urban heat island", k=10, allow=allow)
    assert len(res) == 10 and allow[res.docs].all()
    phr = hs.search('"heat island" Porto', k=10)
    assert phr.docs.size and all(many[d]["title"] in {DOC0, DOC1} for d in phr.docs.tolist())
    # the wrong embedder for a vector index is refused
    other = ToyEmbedder()
    other.model_id = "toy/other"
    with pytest.raises(Exception, match="built with"):
        HybridSearcher(lex, vec, other)


DOC0, DOC1 = "Green roofs in Lisbon", "Urban heat island in Porto"


def test_vector_filter_falls_back_to_exact_when_hnsw_comes_up_short():
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(2000, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vi = VectorIndex.build(vecs, "toy", ann_threshold=1000)
    allow = np.zeros(2000, dtype=bool)
    allow[[3, 500, 1999]] = True  # 3 allowed docs far apart: an HNSW over-fetch would miss them
    res = vi.search(vecs[0], k=10, allow=allow)
    assert sorted(res.docs.tolist()) == [3, 500, 1999]
    exact = vi.search(vecs[0], k=5, exact=True)
    assert exact.docs[0] == 0
