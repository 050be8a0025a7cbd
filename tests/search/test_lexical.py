from __future__ import annotations

import math

import numpy as np
import pytest

from citybridge.search import FieldSpec, LexicalIndex, get_analyzer, parse_query


def reference_bm25(corpus: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Textbook Lucene BM25, written independently of the index code."""
    n = len(corpus)
    avg = sum(map(len, corpus)) / n
    scores = np.zeros(n)
    for term in query:
        df = sum(term in doc for doc in corpus)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, doc in enumerate(corpus):
            tf = doc.count(term)
            scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg))
    return scores


def single_field(docs):
    return [{"body": d["title"] + " " + d["abstract"]} for d in docs]


def test_scores_match_reference_bm25(docs):
    idx = LexicalIndex.build(single_field(docs), fields={"body": FieldSpec(1.0, 0.75)})
    an = get_analyzer("en")
    corpus = [an.terms(d["body"]) for d in single_field(docs)]
    for q in ["green roofs", "urban heat island", "cycling lanes Copenhagen", "rainwater roofs cities"]:
        ref = reference_bm25(corpus, an.terms(q))
        hits = idx.search(q, k=len(docs), fuzzy=False)
        got = np.zeros(len(docs))
        got[hits.docs] = hits.scores
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            idx.score_docs(idx.query_terms(parse_query(q), fuzzy=False), np.arange(len(docs))),
            ref,
            rtol=1e-5,
            atol=1e-6,
        )


def test_rank_agreement_with_bm25s(docs):
    bm25s = pytest.importorskip("bm25s", reason="bm25s (reference implementation) not installed")
    an = get_analyzer("en")
    corpus = [an.terms(d["body"]) for d in single_field(docs)]
    ref = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    ref.index(corpus, show_progress=False)
    idx = LexicalIndex.build(single_field(docs), fields={"body": FieldSpec(1.0, 0.75)})
    for q in ["green roofs", "heat island", "roofs cities"]:
        expected = ref.get_scores(an.terms(q))
        hits = idx.search(q, k=len(docs), fuzzy=False)
        got = np.zeros(len(docs))
        got[hits.docs] = hits.scores
        # bm25s' "lucene" variant drops the constant (k1 + 1) factor: same ranking, proportional scores
        np.testing.assert_allclose(got, expected * (1.2 + 1), rtol=1e-5, atol=1e-6)
        assert np.argsort(-got, kind="stable").tolist() == np.argsort(-expected, kind="stable").tolist()


def test_title_outweighs_abstract():
    docs = [
        {"title": "Other", "abstract": "mobility " + "x " * 8},
        {"title": "Mobility", "abstract": "x " * 9},
    ]
    assert LexicalIndex.build(docs).search("mobility").docs.tolist()[0] == 1


def test_phrase_queries_need_consecutive_terms_in_one_field(docs):
    idx = LexicalIndex.build(docs)
    assert set(idx.search('"heat island"').docs.tolist()) == {0, 1}  # doc 3 has both words, not adjacent
    assert set(idx.search('"island heat"').docs.tolist()) == set()
    assert idx.search('"urban heat island" Porto').docs.tolist()[0] == 1
    # "Lisbon Green" would span title and abstract of doc 0: fields are separated
    assert idx.search('"lisbon green"').docs.tolist() == []


def test_typo_tolerance_and_prefix(docs):
    idx = LexicalIndex.build(docs)
    assert idx.search("Copenhagn").docs.tolist() == [2]
    assert idx.search("Rotterdm").docs.tolist() == [5]
    assert idx.search("Copenhagn", fuzzy=False).docs.tolist() == []
    assert idx.search("Cope*").docs.tolist() == [2]
    assert idx.search("rainwat", prefix=True).docs.tolist() == [4]
    # an exact match outranks a fuzzy neighbour
    assert idx.search("roofs").docs.tolist()[:2] == [0, 4]


def test_allow_mask_is_applied_inside_the_search(docs):
    many = docs * 50  # 300 docs; "heat" in 3 of every 6
    idx = LexicalIndex.build(many)
    allow = np.zeros(len(many), dtype=bool)
    allow[::7] = True
    hits = idx.search("heat", k=10, allow=allow)
    assert len(hits) == 10 and allow[hits.docs].all()
    expected = [
        d for d in range(len(many)) if allow[d] and "heat" in (many[d]["title"] + many[d]["abstract"]).lower()
    ]
    assert len(idx.search("heat", k=1000, allow=allow)) == len(expected)
    # bitset and id-array forms agree with the boolean mask
    for form in (np.packbits(allow), np.flatnonzero(allow)):
        np.testing.assert_array_equal(idx.search("heat", k=10, allow=form).docs, hits.docs)
    # the dense accumulation path (many postings) agrees with the sparse path
    assert set(idx.search("heat island urban cities", k=20, allow=allow).docs.tolist()) <= set(
        np.flatnonzero(allow)
    )


def test_multilingual_index_matches_each_language():
    docs = [
        {"title": "Ciudades sostenibles"},
        {"title": "Cidades sustentáveis"},
        {"title": "Nachhaltige Städte"},
    ]
    idx = LexicalIndex.build(docs, langs=["es", "pt", "de"], ids=["es1", "pt1", "de1"])
    assert [idx.doc_id(d) for d in idx.search("sostenible", lang="es").docs] == ["es1"]
    assert [idx.doc_id(d) for d in idx.search("stadt").docs] == ["de1"]
    assert idx.doc_number("pt1") == 1


def test_empty_and_unknown_queries(docs):
    idx = LexicalIndex.build(docs)
    assert len(idx.search("")) == 0
    assert len(idx.search("zzzzqqq")) == 0
    assert len(LexicalIndex.build([]).search("x")) == 0


def test_maxscore_pruning_returns_the_exact_top_k():
    from citybridge.search.query import top_k

    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(300)]
    p = 1 / np.arange(1, 301)
    p /= p.sum()
    docs = [{"abstract": " ".join(rng.choice(vocab, size=rng.integers(5, 60), p=p))} for _ in range(3000)]
    idx = LexicalIndex.build(docs)
    allow = rng.random(3000) < 0.5
    for _ in range(40):
        q = " ".join(rng.choice(vocab, size=rng.integers(2, 8), p=p))
        weights = idx.query_terms(parse_query(q), fuzzy=False)
        for mask in (None, allow):
            full = top_k(*idx._accumulate(weights, mask, 10, prune=False), 10)
            pruned = top_k(*idx._accumulate(weights, mask, 10, prune=True), 10)
            np.testing.assert_allclose(pruned.scores, full.scores, rtol=1e-5)
            assert set(pruned.docs.tolist()) == set(full.docs.tolist()) or np.allclose(
                np.sort(pruned.scores), np.sort(full.scores), rtol=1e-5
            )
