from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybridge.enrich import Embedder, chunk_text, get_embedder
from citybridge.enrich.chunking import chunk_tokens
from citybridge.errors import Invalid


def test_wordllama_real_weights_small_batch():
    emb = get_embedder("wordllama")
    assert isinstance(emb, Embedder)
    vecs = emb.embed(
        ["green roofs cool cities", "urban heat island mitigation", "football match results", ""],
        batch_size=2,
    )
    assert vecs.shape == (4, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, rtol=1e-5)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2], "related topics are closer than unrelated ones"
    assert get_embedder("wordllama") is emb, "instances are shared"
    # same text -> same vector regardless of batch composition (length sorting must restore order)
    np.testing.assert_allclose(emb.embed(["urban heat island mitigation"])[0], vecs[1], rtol=1e-5, atol=1e-6)


def test_wordllama_truncated_dim():
    emb = get_embedder("wordllama", dim=64)
    assert emb.dim == 64 and emb.embed(["x"]).shape == (1, 64) and emb.model_id.endswith("-64")


def test_unknown_embedder_is_invalid():
    with pytest.raises(Invalid, match="unknown embedder"):
        get_embedder("nope")


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers not installed (optional extra citybridge[minilm])",
)
def test_minilm_offline():
    emb = get_embedder("minilm")
    vecs = emb.embed(["green roofs cool cities", "urban heat island mitigation", "football match results"])
    assert vecs.shape == (3, 384)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]


@given(st.text(alphabet="ab .\n", max_size=300), st.integers(5, 60), st.integers(0, 20))
def test_chunk_offsets_cover_text(text, max_chars, overlap):
    overlap = min(overlap, max_chars // 2 - 1) if max_chars // 2 - 1 >= 0 else 0
    passages = chunk_text(text, max_chars=max_chars, overlap=max(overlap, 0))
    for p in passages:
        assert text[p.start : p.end] == p.text and 0 < len(p.text) <= max_chars
    covered = set()
    for p in passages:
        covered.update(range(p.start, p.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())
    assert [p.start for p in passages] == sorted(p.start for p in passages)


def test_chunk_tokens():
    text = " ".join(f"w{i}" for i in range(10))
    ps = chunk_tokens(text, max_tokens=4, overlap=1)
    assert [p.text for p in ps] == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert all(text[p.start : p.end] == p.text for p in ps)
