from __future__ import annotations

import math

import numpy as np

from citybridge.search import snippet
from citybridge.search.metrics import ndcg_at_k, recall_at_k

TEXT = (
    "Cities face many challenges. " * 12
    + "Green roofs reduce the urban heat island in Lisbon. "
    + "Other topics follow here. " * 12
)


def test_snippet_picks_matching_passage_with_exact_offsets():
    s = snippet(TEXT, "heat island roofs", max_chars=120)
    assert TEXT[s.start : s.end] == s.text
    assert "heat island" in s.text
    marked = [TEXT[a:b] for a, b in s.highlights]
    assert marked == ["roofs", "heat", "island"]
    assert "<mark>heat</mark> <mark>island</mark>" in s.marked()


def test_snippet_prefix_and_accents():
    text = "A praça de São Paulo recebeu novas ciclovias."
    s = snippet(text, "ciclo* praca", lang="pt", max_chars=200)
    assert [text[a:b] for a, b in s.highlights] == ["praça", "ciclovias"]
    assert snippet("", "x").text == ""


def independent_ndcg(qrels, run, k):
    """Vectorised re-implementation (numpy) used to cross-check the trec_eval-style metric."""
    vals = []
    for q, rels in qrels.items():
        ranked = sorted(run.get(q, {}).items(), key=lambda x: (-x[1], [-ord(c) for c in x[0]]))[:k]
        gains = np.array([rels.get(d, 0) for d, _ in ranked], dtype=float)
        disc = 1 / np.log2(np.arange(2, len(gains) + 2))
        ideal = np.sort(np.array([r for r in rels.values() if r > 0], dtype=float))[::-1][:k]
        if ideal.size == 0:
            continue
        vals.append(float((gains * disc).sum() / (ideal * (1 / np.log2(np.arange(2, ideal.size + 2)))).sum()))
    return float(np.mean(vals))


def test_ndcg_hand_computed_and_cross_checked():
    qrels = {"q1": {"a": 1, "b": 2}, "q2": {"c": 1}, "q3": {"x": 0}}
    run = {"q1": {"b": 0.1, "z": 0.9, "a": 0.5}, "q2": {"d": 2.0, "c": 1.0}}
    # q1: ranking z, a, b -> dcg = 1/log2(3) + 2/log2(4); idcg = 2 + 1/log2(3)
    q1 = (1 / math.log2(3) + 2 / 2) / (2 + 1 / math.log2(3))
    q2 = (1 / math.log2(3)) / 1
    assert abs(ndcg_at_k(qrels, run, 10) - (q1 + q2) / 2) < 1e-12
    assert abs(ndcg_at_k(qrels, run, 10) - independent_ndcg(qrels, run, 10)) < 1e-12
    assert recall_at_k(qrels, run, 1) == 0.0 and recall_at_k(qrels, run, 3) == 1.0
    rng = np.random.default_rng(0)
    for _ in range(20):
        docs = [f"d{i}" for i in range(30)]
        qr = {
            f"q{j}": {d: int(rng.integers(0, 3)) for d in rng.choice(docs, 5, replace=False)}
            for j in range(5)
        }
        rn = {f"q{j}": {d: float(rng.integers(0, 5)) for d in docs} for j in range(5)}  # many ties
        for k in (1, 5, 10):
            assert abs(ndcg_at_k(qr, rn, k) - independent_ndcg(qr, rn, k)) < 1e-12
