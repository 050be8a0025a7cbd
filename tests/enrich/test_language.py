from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybridge.enrich import LangResult, detect_language, detect_languages

SAMPLES = {
    "en": "The city council approved a new plan to expand cycling lanes and cut traffic emissions downtown.",
    "es": "El ayuntamiento aprobó un nuevo plan para ampliar los carriles bici y reducir las emisiones del "
    "tráfico.",
    "pt": "A prefeitura aprovou um novo plano para ampliar as ciclovias e reduzir as emissões do trânsito.",
    "fr": "Le conseil municipal a approuvé un nouveau plan pour étendre les pistes cyclables et réduire les "
    "émissions.",
    "de": "Der Stadtrat hat einen neuen Plan beschlossen, um Radwege auszubauen und die Emissionen zu "
    "senken.",
    "nl": "De gemeenteraad heeft een nieuw plan goedgekeurd om fietspaden uit te breiden en de uitstoot te "
    "verminderen.",
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_single_language(lang: str) -> None:
    result = detect_language(SAMPLES[lang])
    assert result.lang == lang
    assert result.confidence > 0.5
    assert result.shares == ((lang, 1.0),)
    assert not result.is_mixed


def test_batch_keeps_order() -> None:
    langs = sorted(SAMPLES)
    results = detect_languages([SAMPLES[k] for k in langs])
    assert [r.lang for r in results] == langs


def test_mixed_text_reports_both_languages_with_shares() -> None:
    text = SAMPLES["en"] + " " + SAMPLES["es"] + " " + SAMPLES["en"].replace("city", "town")
    result = detect_language(text)
    assert result.is_mixed
    assert result.lang == "en"
    shares = dict(result.shares)
    assert set(shares) == {"en", "es"}
    assert shares["en"] > shares["es"] > 0.2
    assert abs(sum(shares.values()) - 1.0) < 0.01
    spanish = [s for s in result.segments if s.lang == "es"]
    assert len(spanish) == 1 and text[spanish[0].start:spanish[0].end].startswith("El ayuntamiento")


def test_bilingual_abstract_paragraphs() -> None:
    text = SAMPLES["pt"] + " " + SAMPLES["pt"] + "\n\n" + SAMPLES["en"] + " " + SAMPLES["en"]
    result = detect_language(text)
    assert result.languages == ["pt", "en"] or result.languages == ["en", "pt"]


def test_english_abstracts_are_not_reported_mixed(scifact_texts: list[str]) -> None:
    results = detect_languages(scifact_texts)
    assert all(r.lang == "en" for r in results)
    assert sum(r.is_mixed for r in results) <= 1  # Latin species names must not make a text "mixed"


@pytest.mark.parametrize("text", [None, "", "   ", "ok", "12345 678", "!!!", "Paris"])
def test_empty_and_too_short_are_undetermined(text: str | None) -> None:
    result = detect_languages([text])[0]
    assert isinstance(result, LangResult)
    assert result.lang == "und"
    assert result.shares == ()


def test_huge_and_hostile_input_does_not_crash() -> None:
    huge = SAMPLES["de"] * 20_000  # ~2 MB
    hostile = "\x00\x01\ufffd" * 1000 + "<script>alert(1)</script>" + "\U0001f600" * 500 + "\ud800"
    results = detect_languages([huge, hostile, "x" * 100_000])
    assert results[0].lang == "de"
    assert all(isinstance(r, LangResult) for r in results)


def test_letter_count_fast_path_matches_regex() -> None:
    from citybridge.enrich.language import _LETTER, _letters

    for text in ["", "abc XYZ 123 _ -", "".join(map(chr, range(128))), "Städte 北京 x²", "A1b2_c3"]:
        assert _letters(text) == len(_LETTER.findall(text))


# --- the numpy walk of py3langid's automaton gives py3langid's own scores, bit for bit -------------------------
_MIXED = [
    "Urban flooding and drinking water access in Lisbon, Portugal: a review of adaptation plans.",
    "La ville de Lyon a adopté un plan climat. Die Stadt München plant neue Radwege. ÉNORME INONDATION À PARIS",
    "Plan de movilidad urbana sostenible de Madrid 2030; 東京都の気候変動対策。Привет, это тест.",
    "", "   ", "a", "12345 67890", "Straßenbahn über die Brücke",
]


def test_batched_walk_matches_py3langid_on_mixed_texts():
    from citybridge.enrich.language import _identifier, _Scorer

    scorer = _Scorer(_identifier())
    got = scorer.raw_many(_MIXED)
    for text, (raw, n) in zip(_MIXED, got, strict=True):
        ref, ref_n = scorer.raw(text)
        assert n == ref_n and raw.dtype == ref.dtype and np.array_equal(raw, ref), text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=120), min_size=1, max_size=6))
def test_batched_walk_matches_py3langid_on_any_text(texts):
    from citybridge.enrich.language import _identifier, _Scorer

    scorer = _Scorer(_identifier())
    for (raw, n), text in zip(scorer.raw_many(texts), texts, strict=True):
        ref, ref_n = scorer.raw(text)
        assert n == ref_n and np.array_equal(raw, ref)


def test_batched_sentence_scoring_equals_text_by_text(
    scifact_texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """detect_languages scores the sentences of all long texts in shared automaton walks (issue 15): the same
    results as detecting each text alone, also when the walk is cut into several pieces."""
    from citybridge.enrich import language

    texts = scifact_texts[:40] + ["Kurz.", "", "La ville de Lyon adopte un plan climat. The city of Lyon adopts "
                                  "a climate plan for its districts and its buildings. " * 3]
    alone = [language.detect_languages([t])[0] for t in texts]
    assert language.detect_languages(texts) == alone
    monkeypatch.setattr(language, "_WALK_CHARS", 500)  # many walks, some holding one sentence
    assert language.detect_languages(texts) == alone
