"""The compiled query set gives exactly what evaluating every query one by one gives."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from citybridge.enrich.aurora import TokenizedText, parse_query
from citybridge.enrich.query_set import QuerySet
from citybridge.enrich.sdg import Tagger


def _tagger_queries() -> list:
    qs, _ = Tagger()._query_set
    return list(qs.queries)


def _reference(queries: list, doc: TokenizedText) -> list:
    return [(i, spans) for i, q in enumerate(queries) if (spans := q.spans(doc))]


@pytest.fixture(scope="module")
def real_texts(shared_data: Path) -> list[str]:
    corpus = shared_data / "scifact" / "corpus.jsonl"
    dev = shared_data / "sdg" / "benchmark-dev.csv"
    if not corpus.exists() or not dev.exists():
        pytest.skip("shared SciFact / SDG benchmark data not available")
    texts = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            texts.append(f"{doc['title']}. {doc['text']}")
            if len(texts) >= 300:
                break
    with open(dev, newline="", encoding="utf-8") as fh:
        texts.extend(row["text"] for row in csv.DictReader(fh))
    return texts


@pytest.mark.slow
def test_prefilter_drops_no_match_on_real_texts(real_texts: list[str]) -> None:
    queries = _tagger_queries()
    qs = QuerySet(queries)
    total = 0
    for text in real_texts:
        doc = TokenizedText(text)
        expected = _reference(queries, doc)
        assert qs.matches(doc) == expected, text[:80]
        assert qs.matches(doc, prefilter=False) == expected
        total += len(expected)
    assert total > 1000  # the texts do exercise the queries


@pytest.mark.parametrize("text", [
    "",
    "Cities, city; CITY's citizens",
    "Policies and policy: flies, fly, flys",
    "Womens women woman's womenfolk",
    "Inundações e enchentes na cidade; Überschwemmung in Städten",
    "water water water " * 50,
    "x-ray a b c d e f g h drinking bottled water access",
])
def test_word_positions_match_tokenized_text(text: str) -> None:
    queries = _tagger_queries() + [parse_query(q) for q in (
        '"polic*"', '"fl*s"', '"*men"', '"city"', '"women*" W/2 "wom*n"', '"drinking" PRE/3 "water"',
        '"water*" W/0 "water"', '"a" AND NOT "zzz"', '("x" OR "ray") W/1 "a"',
    )]
    qs = QuerySet(queries)
    doc = TokenizedText(text)
    table = qs.positions(doc)
    for word in qs.words:
        assert table.get(word, []) == doc.positions(word), word
    assert qs.matches(doc) == _reference(queries, doc)
