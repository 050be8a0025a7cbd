from __future__ import annotations

import pytest

from citybridge.errors import Invalid
from citybridge.search import Analyzer, fold_accents, get_analyzer, supported_languages


def test_supported_languages_cover_the_required_set():
    assert {"en", "es", "pt", "fr", "de", "it", "nl"} <= set(supported_languages())


@pytest.mark.parametrize(
    ("lang", "a", "b"),
    [
        ("es", "sostenibles", "sostenible"),
        ("es", "políticas", "política"),
        ("es", "canciones", "canción"),
        ("pt", "sustentáveis", "sustentável"),
        ("pt", "cidades", "cidade"),
        ("de", "Städte", "Stadt"),
        ("de", "nachhaltigen", "nachhaltig"),
        ("de", "Gebäuden", "Gebäude"),
        ("fr", "durables", "durable"),
        ("it", "sostenibili", "sostenibile"),
        ("nl", "duurzame", "duurzame"),
        ("en", "cities", "city"),
    ],
)
def test_stemming_conflates_inflections(lang, a, b):
    an = get_analyzer(lang)
    assert an.terms(a) == an.terms(b) != []


def test_accents_fold_after_stemming():
    an = get_analyzer("es")
    assert an.terms("canción") == an.terms("cancion")
    assert fold_accents("São Paulo Straße") == "Sao Paulo Strasse"


def test_stopwords_removed_per_language():
    assert get_analyzer("es").terms("las ciudades de la región") == get_analyzer("es").terms(
        "ciudades región"
    )
    assert get_analyzer("de").terms("die und der") == []
    assert get_analyzer("en").terms("the and of") == []


def test_token_offsets_point_at_source_words():
    text = "Ümit İstanbul  the green-roofs"
    toks = list(Analyzer("en").tokens(text))
    assert [text[t.start : t.end] for t in toks] == ["Ümit", "İstanbul", "green", "roofs"]
    assert [t.term for t in toks][2:] == ["green", "roof"]


def test_unknown_language_code_is_invalid_but_unknown_language_still_tokenises():
    with pytest.raises(Invalid):
        get_analyzer("english")
    assert Analyzer("xx").terms("Hello Wörld") == ["hello", "world"]
