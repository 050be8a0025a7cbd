from __future__ import annotations

import importlib.util

import pytest

from citybridge.enrich import Keyword, extract_keywords

EN = (
    "Urban heat islands raise night temperatures in dense neighbourhoods. Green roofs and street trees cool "
    "urban heat islands. The city measured surface temperatures before and after planting street trees."
)
ES = (
    "La movilidad urbana sostenible es un reto para las ciudades de América Latina. El transporte público y "
    "las ciclovías reducen las emisiones. Las ciudades que invierten en transporte público mejoran la "
    "movilidad urbana."
)


def test_english_keywords() -> None:
    [kws] = extract_keywords([EN], ["en"])
    phrases = [k.phrase for k in kws]
    assert phrases[0] == "urban heat islands"
    assert "street trees" in phrases
    assert not {"the", "and", "before"} & set(phrases)
    assert kws[0].score == 1.0 and all(0 < k.score <= 1 for k in kws)
    assert [k.score for k in kws] == sorted((k.score for k in kws), reverse=True)


def test_spanish_keywords_use_spanish_stopwords() -> None:
    [kws] = extract_keywords([ES], ["es"])
    phrases = [k.phrase for k in kws]
    assert {"movilidad urbana", "transporte público"} <= set(phrases[:3])
    assert "América Latina" in phrases
    assert not any(p.split()[0] in {"las", "el", "que", "de"} for p in phrases)


def test_near_duplicates_are_merged() -> None:
    text = "Cities and city networks. City networks connect cities. Cities learn."
    [kws] = extract_keywords([text], ["en"])
    stems = [k.phrase for k in kws]
    assert len([p for p in stems if p in {"city", "cities"}]) <= 1


def test_top_n_and_shapes() -> None:
    out = extract_keywords([EN, None, "", "the and of"], top_n=3)
    assert len(out[0]) == 3 and out[1:] == [[], [], []]
    assert all(isinstance(k, Keyword) for k in out[0])
    with pytest.raises(ValueError):
        extract_keywords([EN], ["en", "es"])
    with pytest.raises(ValueError):
        extract_keywords([EN], method="magic")


def test_huge_and_hostile_input() -> None:
    out = extract_keywords([EN * 5_000, "\x00\ud800<script>" * 1000, "🙂" * 10_000])
    assert out[0] and out[0][0].phrase == "urban heat islands"


def test_scifact_abstracts_all_get_keywords(scifact_texts: list[str]) -> None:
    out = extract_keywords(scifact_texts, ["en"] * len(scifact_texts))
    assert all(len(k) == 10 for k in out)


@pytest.mark.skipif(importlib.util.find_spec("yake") is None, reason="yake not installed")
def test_yake_method() -> None:
    [kws] = extract_keywords([ES], ["es"], method="yake", top_n=5)
    assert len(kws) == 5 and kws[0].score == 1.0
