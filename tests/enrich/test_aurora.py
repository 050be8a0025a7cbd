"""The Scopus-style query evaluator on real Aurora v5 query lines."""

from __future__ import annotations

import pytest

from citybridge.enrich.aurora import QuerySyntaxError, TokenizedText, parse_query
from citybridge.enrich.sdg_knowledge import aurora_data, aurora_queries
from citybridge.errors import Invalid


def quotes(query: str, text: str) -> list[str]:
    doc = TokenizedText(text)
    return [text[s:e] for s, e in parse_query(query).spans(doc)]


def test_all_packaged_query_lines_parse() -> None:
    queries = aurora_queries()
    assert len(queries) == sum(len(g["queries"]) for g in aurora_data()["goals"].values()) == 378
    assert {q.goal for q in queries} == {str(g) for g in range(1, 18)}


def test_nested_proximity_with_wildcards() -> None:  # SDG 6.1
    q = '( "drinking" W/3 "water" ) W/3 ( "access*" OR "afford*" OR "safe*" OR "secur*" )'
    assert quotes(q, "Safe drinking water for all.") == ["Safe drinking water"]
    assert quotes(q, "Drinking clean water is affordable here.") == ["Drinking clean water is affordable"]
    assert quotes(q, "Drinking is common; water, a scarce and valuable resource, is rarely safe.") == []


def test_or_binds_tighter_than_proximity_and_and() -> None:  # SDG 2.4
    q = ('( "agricultur*" W/6 ( "sustainab*" OR "resilien*" ) ) OR ( "food production" W/3 ( "sustainab*" '
         'OR "resilien*" ) ) OR ( "future" AND "high*" W/3 "food demand" )')
    assert quotes(q, "Resilient agricultural systems") == ["Resilient agricultural"]
    assert quotes(q, "In the future, a higher food demand is expected.") == ["future", "higher food demand"]
    assert quotes(q, "In the future, demand for food is higher.") == []


def test_and_not_excludes() -> None:  # SDG 15.5, which leaves marine topics to SDG 14
    q = ('( "poaching" OR "trafficking") AND ("species" OR "flora" OR "fauna" OR "wildlife") AND NOT '
         '("marine" OR "ocean*" OR "sea" OR "seas" OR "reef")')
    assert quotes(q, "Wildlife trafficking threatens many species.") == ["Wildlife trafficking", "species"]
    assert quotes(q, "Wildlife trafficking of marine species.") == []


def test_phrases_ignore_punctuation_case_accents_and_take_plurals() -> None:
    assert quotes('"women\'s property rights"', "Women’s property right.") == []
    assert quotes('"women\'s property rights"', "WOMEN'S PROPERTY-RIGHTS") == ["WOMEN'S PROPERTY-RIGHTS"]
    assert quotes('"heat wave"', "two heat waves") == ["heat waves"]
    assert quotes('"city"', "many cities") == ["cities"]
    assert quotes('"inundaç*"', "Inundações urbanas") == ["Inundações"]


def test_pre_is_ordered_and_bare_words_are_and() -> None:
    assert quotes('"climate" PRE/2 "risk"', "climate related risk") == ["climate related risk"]
    assert quotes('"climate" PRE/2 "risk"', "risk of climate") == []
    assert quotes('"climate" W/2 "risk"', "risk of climate") == ["risk of climate"]
    assert quotes("poverty reduction", "reduction of poverty") == ["reduction", "poverty"]


@pytest.mark.parametrize("bad", ['( "water"', '"water" )', '"water" OR', "AND water", '""', "W/3", ""])
def test_syntax_errors_are_invalid(bad: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(bad)
    assert isinstance(info.value, Invalid)


def test_docstring_examples() -> None:
    import doctest

    from citybridge.enrich import aurora, sdg

    for module in (aurora, sdg):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
