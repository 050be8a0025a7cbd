"""SDG / pathway / user-theme tagging on real texts, with the packaged knowledge and bundled wordllama."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybridge.enrich.sdg import Evidence, Label, Tagger, detect_language, tag_texts
from citybridge.model.taxonomy import TaxonomyNode

FLOODS = ("Heavy rainfall and flash floods overwhelmed the urban drainage system, and the city council is "
          "now investing in flood defences and climate adaptation.")
AGUA = ("El acceso al agua potable y al saneamiento sigue siendo limitado en las zonas rurales; el municipio "
        "amplía la red de abastecimiento de agua.")
UNRELATED = "My grandmother baked an apple pie for the family reunion last Sunday."


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def codes(labels: list[Label], scheme: str = "sdg", goals_only: bool = True) -> set[str]:
    return {lb.code for lb in labels if lb.scheme == scheme and not (goals_only and "." in lb.code)}


def assert_evidence_quotes(text: str, label: Label) -> None:
    assert label.evidence, label
    for ev in label.evidence:
        assert isinstance(ev, Evidence)
        assert text[ev.start:ev.end] == ev.text


def test_urban_flooding_gets_sdg_11_13_and_resilient_pathway(tagger: Tagger) -> None:
    [labels] = tagger.tag([FLOODS])
    assert {"11", "13"} <= codes(labels)
    assert "resilient" in codes(labels, "pathway")
    by_code = {(lb.scheme, lb.code): lb for lb in labels}
    for key in [("sdg", "11"), ("sdg", "13"), ("pathway", "resilient")]:
        assert 0.5 <= by_code[key].score <= 1.0
        assert_evidence_quotes(FLOODS, by_code[key])
    resilient = by_code[("pathway", "resilient")]
    flood = [ev for ev in resilient.evidence if ev.text.lower().startswith("flood")]
    assert flood and flood[0].start == FLOODS.index("floods")
    climate = by_code[("sdg", "13")].evidence
    assert any(ev.kind == "aurora" and ev.text == "climate adaptation" for ev in climate)
    assert labels == sorted(labels, key=lambda lb: (-lb.score, lb.scheme, lb.code))


def test_spanish_water_text_gets_sdg_6_with_detected_language() -> None:
    assert detect_language(AGUA) == "es"
    [labels] = tag_texts([AGUA])
    assert "6" in codes(labels)
    six = next(lb for lb in labels if lb.code == "6")
    assert any(ev.text.lower() == "agua potable" for ev in six.evidence)


@pytest.mark.parametrize(("lang", "text", "goal"), [
    ("fr", "La ville développe les énergies renouvelables : panneaux solaires sur les écoles et "
           "efficacité énergétique des bâtiments publics.", "7"),
    ("pt", "A prefeitura ampliou o acesso à água potável e ao saneamento básico nas comunidades da "
           "periferia.", "6"),
    ("de", "Die Stadt baut den öffentlichen Nahverkehr aus und fördert erneuerbare Energien, um die "
           "Treibhausgasemissionen zu senken.", "7"),
])
def test_other_languages(tagger: Tagger, lang: str, text: str, goal: str) -> None:
    [detected] = tagger.tag([text])
    [given_lang] = tagger.tag([text], lang=lang)
    assert goal in codes(detected)
    assert goal in codes(given_lang)


def test_unrelated_text_gets_no_sdg(tagger: Tagger) -> None:
    labels = tagger.tag([UNRELATED, "The quarterly earnings call focused on subscription revenue and churn."])
    assert labels == [[], []]


def test_targets_need_specific_evidence(tagger: Tagger) -> None:
    text = ("Ensuring safe drinking water access and improving sanitation for households in informal "
            "settlements.")
    [labels] = tagger.tag([text])
    targets = codes(labels, goals_only=False) - codes(labels)
    assert "6.1" in targets
    target = next(lb for lb in labels if lb.code == "6.1")
    goal = next(lb for lb in labels if lb.code == "6")
    assert target.score <= goal.score
    assert_evidence_quotes(text, target)
    assert all(t.split(".")[0] in codes(labels) for t in targets)


def test_user_taxonomy_nodes_are_tagged() -> None:
    nodes = [
        TaxonomyNode("city-themes", "heat", "Urban heat", None, "theme", {"es": "Calor urbano"},
                     "Extreme heat in cities and cooling measures.",
                     ("heat island", "cooling centre", "shade")),
        TaxonomyNode("city-themes", "bikes", "Cycling", None, "theme", {}, None, ("bike lane", "cycling")),
    ]
    text = ("The heat island effect is worst downtown, so the city opened a cooling centre and planted "
            "shade trees.")
    [labels] = Tagger(nodes).tag([text])
    themes = {lb.code: lb for lb in labels if lb.scheme == "city-themes"}
    assert set(themes) == {"heat"}
    assert themes["heat"].score > 0.8  # three distinct keywords
    assert_evidence_quotes(text, themes["heat"])
    [spanish] = tag_texts(["Plan contra el calor urbano en verano"], nodes=nodes)
    assert "heat" in codes(spanish, "city-themes")  # a node's labels count as keywords


def test_pathways_can_be_switched_off() -> None:
    [labels] = Tagger(pathways=False).tag([FLOODS])
    assert not codes(labels, "pathway")
    assert {"11", "13"} <= codes(labels)


@pytest.mark.parametrize("text", [
    "", "   ", "\x00\x01\x02", "(((\"\"\" AND OR W/3 NOT", "💧🌊" * 500, "ééé" * 10_000,
    "drinking water access safe " * 20_000,  # one phrase repeated: bounded proximity matching
    "a" * 1_000_000,
])
def test_empty_huge_and_hostile_strings_do_not_crash(tagger: Tagger, text: str) -> None:
    [labels] = tagger.tag([text])
    for lb in labels:
        assert 0.0 <= lb.score <= 1.0
        for ev in lb.evidence:
            assert text[ev.start:ev.end] == ev.text


def test_batch_shape_and_non_strings(tagger: Tagger) -> None:
    out = tagger.tag([FLOODS, "", None, UNRELATED])  # type: ignore[list-item]
    assert len(out) == 4 and out[1] == [] and out[2] == []
    assert tagger.tag([]) == []


def test_version_and_features(tagger: Tagger) -> None:
    assert tagger.version.startswith("sdg-tagger/") and "wordllama" in tagger.version
    feats = tagger.features([FLOODS, UNRELATED])
    assert feats.shape == (2, 17, 4)
    assert feats[0, 10, 0] > feats[1, 10, 0]  # lexical SDG 11 signal


def test_without_embeddings_still_tags() -> None:
    plain = Tagger(use_embeddings=False)
    assert not plain.embeddings and "lexical" in plain.version
    [labels, unrelated] = plain.tag([FLOODS, UNRELATED])
    assert {"11", "13"} <= codes(labels)
    assert unrelated == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gives_well_formed_labels(tagger: Tagger, text: str) -> None:
    [labels] = tagger.tag([text], lang="en")
    for lb in labels:
        assert 0.0 <= lb.score <= 1.0
        for ev in lb.evidence:
            assert text[ev.start:ev.end] == ev.text


@pytest.mark.parametrize(("text", "goal"), [
    ("确保人人获得安全的饮用水和卫生设施，改善城市供水。", "6"),  # no spaces: read as character bigrams
    ("Обеспечить всеобщий доступ к чистой питьевой воде и санитарии в городах.", "6"),
    ("ضمان حصول الجميع على مياه الشرب المأمونة وخدمات الصرف الصحي", "6"),
    ("Garantire a tutti l'accesso all'acqua potabile e ai servizi igienico-sanitari nelle città.", "6"),
])
def test_languages_without_keywords_are_tagged_from_the_un_texts(tagger: Tagger, text: str, goal: str) -> None:
    lang = detect_language(text)
    assert tagger.model_for(lang) == "lexical"  # no Aurora queries, keywords or wordllama for these
    [labels] = tagger.tag([text])
    assert goal in codes(labels)


def test_unspaced_scripts_are_segmented_into_bigrams() -> None:
    from citybridge.enrich.sdg_knowledge import segments

    assert segments("饮用水") == ["饮用", "用水"]
    assert segments("水") == ["水"]
    assert segments("water") == ["water"]
    assert segments("covid19疫苗") == ["covid19", "疫苗"]


def test_each_language_gets_the_weight_set_of_the_signals_it_has(tagger: Tagger) -> None:
    from citybridge.enrich.sdg_model import SDG_MODELS, model_for

    assert model_for("en", True) == "en" and model_for("en", False) == "en-lexical"
    assert model_for("pt", True) == "keywords" and model_for("zh", True) == "lexical"
    assert all(w > 0 for m in SDG_MODELS.values() for k, w in m.items() if k != "bias")  # evidence only adds
    # the semantic signal is computed for English texts only
    feats = tagger.features([FLOODS, AGUA], langs=["en", "es"])
    assert feats[0, :, 1].any() and not feats[1, :, 1].any()


def test_margin_is_the_lead_over_the_best_other_goal() -> None:
    from citybridge.enrich.sdg_model import design

    feats = np.zeros((1, 17, 4))
    feats[0, :3, 3] = [3.0, 1.0, 2.0]  # keywords signal of goals 1-3
    margin = design(feats, ["keywords_margin"])[0, :, 0]
    assert margin[:4].tolist() == [1.0, -2.0, -1.0, -3.0]


def test_holdout_leaves_a_targets_knowledge_out() -> None:
    from citybridge.enrich.sdg_knowledge import aurora_queries, lexical_profiles

    assert any(q.target == "6.1" for q in aurora_queries())
    assert not any(q.target == "6.1" for q in aurora_queries(frozenset({"6.1"})))
    full, held = lexical_profiles("en"), lexical_profiles("en", frozenset({"6.1"}))
    assert "6.1" in full.target_codes and "6.1" not in held.target_codes
    [labels] = Tagger(holdout=["6.1"]).tag(["Ensuring safe drinking water access for households."])
    assert "6.1" not in codes(labels, goals_only=False)  # no target without its queries
