from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybridge.search import CorruptIndex, LexicalIndex, StaleIndex, VectorIndex


def test_lexical_round_trip_is_memory_mapped(tmp_path, docs):
    idx = LexicalIndex.build(docs, ids=[f"r{i}" for i in range(len(docs))], fingerprint="rev-1")
    idx.save(tmp_path / "lex")
    again = LexicalIndex.load(tmp_path / "lex", fingerprint="rev-1")
    assert isinstance(again.impacts, np.memmap)
    for q in ["green roofs", '"heat island"', "Copenhagn", "Cope*"]:
        a, b = idx.search(q), again.search(q)
        np.testing.assert_array_equal(a.docs, b.docs)
        np.testing.assert_allclose(a.scores, b.scores)
    assert again.doc_id(2) == "r2"
    assert not list((tmp_path / "lex").glob(".*tmp")), "no temp files left behind"


def test_stale_fingerprint_and_version(tmp_path, docs):
    LexicalIndex.build(docs, fingerprint="rev-1").save(tmp_path / "lex")
    with pytest.raises(StaleIndex):
        LexicalIndex.load(tmp_path / "lex", fingerprint="rev-2")
    manifest = json.loads((tmp_path / "lex" / "manifest.json").read_text())
    manifest["version"] = 999
    (tmp_path / "lex" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndex):
        LexicalIndex.load(tmp_path / "lex")


def test_stale_analysis_config(tmp_path, docs):
    LexicalIndex.build(docs).save(tmp_path / "lex")
    manifest = json.loads((tmp_path / "lex" / "manifest.json").read_text())
    manifest["analysis"]["en"]["version"] = 0
    (tmp_path / "lex" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndex):
        LexicalIndex.load(tmp_path / "lex")


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest", "no-manifest"])
def test_corruption_is_detected(tmp_path, docs, damage):
    d = tmp_path / "lex"
    LexicalIndex.build(docs).save(d)
    target = d / "impacts.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-4])
    elif damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-1] ^= 0xFF
        target.write_bytes(bytes(raw))
    elif damage == "delete":
        target.unlink()
    elif damage == "manifest":
        (d / "manifest.json").write_text("{not json")
    else:
        (d / "manifest.json").unlink()
    with pytest.raises(CorruptIndex):
        LexicalIndex.load(d, verify=True)


def test_vector_index_round_trip_exact_and_hnsw(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(500, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for threshold in (10_000, 100):  # exact, then HNSW
        vi = VectorIndex.build(vecs, "toy-16", ann_threshold=threshold, fingerprint="f")
        vi.save(tmp_path / f"v{threshold}")
        again = VectorIndex.load(tmp_path / f"v{threshold}", model_id="toy-16", fingerprint="f")
        assert again.meta["hnsw"] == (threshold == 100)
        q = vecs[7]
        assert again.search(q, k=1).docs.tolist() == [7]
        with pytest.raises(StaleIndex):
            VectorIndex.load(tmp_path / f"v{threshold}", model_id="other-model")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet="abcdeé ñü.", min_size=0, max_size=40), min_size=1, max_size=12),
    st.text(alphabet="abcdeé ñü", min_size=1, max_size=10),
)
def test_any_corpus_round_trips(tmp_path_factory, texts, query):
    d = tmp_path_factory.mktemp("rt")
    idx = LexicalIndex.build([{"abstract": t} for t in texts], langs="es")
    idx.save(d)
    again = LexicalIndex.load(d)
    a, b = idx.search(query, k=20), again.search(query, k=20)
    np.testing.assert_array_equal(a.docs, b.docs)
    np.testing.assert_allclose(a.scores, b.scores)
