"""Hub.link and Hub.fit on a small store built and enriched here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from citybridge.enrich.gazetteer import place_records
from citybridge.errors import Invalid, NotFound
from citybridge.hub import Hub
from citybridge.model import Document, Organization, Person, Relation
from citybridge.model.access import Caller
from citybridge.model.entities import Opportunity
from citybridge.settings import Settings

HEAT = ("Urban heat islands in dense neighbourhoods: cool roofs, street trees and shaded public spaces reduce "
        "heatwave temperatures; heat early warning protects older residents during extreme heat.")
HEAT2 = ("Heatwave adaptation plan: mapping urban heat vulnerability, cool pavements and green roofs to lower "
         "surface temperatures in hot dense districts.")
WATER = ("Flood resilience with water squares, stormwater storage and drainage upgrades; river flooding and "
         "sewer overflow risk reduction for the delta city.")
WATER2 = "Drinking water supply, leak detection and wastewater treatment for a growing city; water utility reform."
TODAY = date.today()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=Path(tmp_path_factory.mktemp("match")) / "data", _env_file=None))
    h.init()
    places = [p for p in place_records() if ((p.ascii_name or p.name), p.country) in
              {("Lisbon", "PT"), ("Porto", "PT"), ("Rotterdam", "NL")} and p.place_type.value == "city"]
    city = {(p.ascii_name or p.name): p.id for p in places}
    docs = [
        Document(id="doc_heat", name="Cooling dense neighbourhoods against urban heat", description=HEAT,
                 doc_type="report", year=2022),
        Document(id="doc_heat2", name="Heatwave adaptation plan for Lisbon", description=HEAT2, doc_type="paper",
                 year=2021),
        Document(id="doc_case", name="Case study: cool roofs in Porto", description=HEAT, doc_type="case_study",
                 year=2020),
        Document(id="doc_secret", name="Confidential urban heat audit", description=HEAT, doc_type="report",
                 year=2023, visibility="private", owner="alice"),
        Document(id="doc_flood", name="Water squares for flood resilience", description=WATER, doc_type="report",
                 year=2019),
        Document(id="doc_water", name="Urban water utility reform", description=WATER2, doc_type="paper",
                 year=2018),
    ]
    people = [Person(id="per_heat", name="Ana Calor"), Person(id="per_water", name="Willem Water")]
    orgs = [Organization(id="org_cool", name="Cool Cities Institute", description=HEAT, org_type="research_institute",
                         country="PT", city="Lisbon")]
    opps = [Opportunity(id="opp_open", name="Call: urban heat adaptation pilots", description=HEAT2,
                        opp_type="funding_call", deadline=TODAY + timedelta(days=60)),
            Opportunity(id="opp_old", name="Call: urban heat adaptation (closed)", description=HEAT2,
                        opp_type="funding_call", deadline=TODAY - timedelta(days=30))]
    assert h.upsert([*places, *docs, *people, *orgs, *opps]).rejected == 0
    rels = [Relation(type="authored", source="per_heat", target=d) for d in ("doc_heat", "doc_heat2")]
    rels += [Relation(type="authored", source="per_water", target=d) for d in ("doc_flood", "doc_water")]
    rels += [Relation(type="authored", source="org_cool", target="doc_heat")]
    assert h.relate(rels).rejected == 0
    h.enrich(workers=1)
    h.city = city  # type: ignore[attr-defined]
    yield h
    h.close()


def ids(items: list) -> list[str]:  # type: ignore[type-arg]
    return [i.id for i in items]


def test_sections_hold_the_expected_records_with_true_explanations(hub: Hub) -> None:
    res = hub.link("reduce urban heat in dense neighbourhoods with cool roofs")
    evidence = res.sections["evidence"]
    assert {"doc_heat", "doc_heat2"} <= set(ids(evidence))
    assert "doc_flood" not in ids(evidence) and "doc_water" not in ids(evidence)
    top = evidence[0]
    assert set(top.components) == {"match", "concepts", "themes", "phrase", "title", "place", "recency"}
    assert "key terms" in top.explanation and "heat" in top.explanation
    shared = top.evidence.get("shared_themes", [])
    challenge_labels = {lab["label"]: lab["name"] for lab in res.challenge["labels"]}
    assert shared and all(lab in challenge_labels for lab in shared)
    assert challenge_labels[shared[0]] in top.explanation  # the real shared label, by name
    assert ids(res.sections["practice"]) == ["doc_case"]
    experts = res.sections["experts"]
    assert experts and experts[0].id == "per_heat"
    assert "Cooling dense neighbourhoods against urban heat" in experts[0].explanation \
        or "Heatwave adaptation plan for Lisbon" in experts[0].explanation
    assert "per_water" not in ids(experts[:1])
    assert "org_cool" in ids(res.sections["organisations"])
    for items in res.sections.values():
        for it in items:
            assert it.explanation and it.score == pytest.approx(it.score)


def test_private_document_never_shown_to_anonymous(hub: Hub) -> None:
    for caller in (Caller(), Caller(user="bob", member=True)):
        res = hub.link("urban heat audit of dense neighbourhoods", caller=caller, limit=20)
        shown = [i.id for items in res.sections.values() for i in items]
        assert "doc_secret" not in shown
        assert "Confidential" not in str(res.to_dict())
    alice = hub.link("urban heat audit of dense neighbourhoods", caller=Caller(user="alice"), limit=20)
    assert "doc_secret" in ids(alice.sections["evidence"])


def test_expired_opportunity_excluded(hub: Hub) -> None:
    res = hub.link("urban heat adaptation pilots", want=["opportunities"], limit=10)
    assert list(res.sections) == ["opportunities"]
    found = ids(res.sections["opportunities"])
    assert "opp_open" in found and "opp_old" not in found
    # the reverse question for a call: who should hear of it
    rev = hub.link(entity="opp_open")
    assert rev.challenge.get("reverse") and "per_heat" in ids(rev.sections["experts"])


def test_place_focus_and_entity(hub: Hub) -> None:
    res = hub.link("urban heat in dense neighbourhoods", place="Lisbon", want="evidence,organisations")
    assert res.challenge["place"]["name"] == "Lisbon"
    org = next(i for i in res.sections["organisations"] if i.id == "org_cool")
    assert org.components["place"] == 1.0 and "based in Lisbon" in org.explanation
    by_entity = hub.link(entity="doc_heat", want=["evidence", "experts"])
    assert "doc_heat" not in ids(by_entity.sections["evidence"])
    assert "per_heat" in ids(by_entity.sections["experts"])


def test_fit_ranks_the_right_expert(hub: Hub) -> None:
    heat_text = "extreme heat and heatwaves in dense urban neighbourhoods: cool roofs and shade"
    water_text = "flood risk, stormwater drainage and water squares for river flooding"
    heat = hub.fit("per_heat", heat_text)
    water = hub.fit("per_water", heat_text)
    assert 0 <= water.score < heat.score <= 1
    # the components of the expertise model (citybridge.link.expertise; e5 only with the cross-lingual channel on)
    assert set(heat.components) == {"vector", "lexical", "themes", "keywords", "recency", "volume"}
    assert "Cooling dense neighbourhoods against urban heat" in heat.explanation \
        or "Heatwave adaptation plan for Lisbon" in heat.explanation
    assert hub.fit("per_water", water_text).score > hub.fit("per_heat", water_text).score
    # the same person across texts
    assert hub.fit("per_heat", heat_text).score > hub.fit("per_heat", water_text).score
    assert hub.fit("per_water", water_text).score > hub.fit("per_water", heat_text).score


def test_errors(hub: Hub) -> None:
    with pytest.raises(NotFound):
        hub.link(entity="doc_nothing")
    with pytest.raises(NotFound):
        hub.link(entity="doc_secret")  # exists, but not for this caller
    with pytest.raises(NotFound):
        hub.link("urban heat", place="Atlantis")
    with pytest.raises(NotFound):
        hub.fit("per_nobody", "heat")
    with pytest.raises(Invalid):
        hub.link("urban heat", want=["evidence", "gossip"])
    with pytest.raises(Invalid):
        hub.link("urban heat", want="")
    with pytest.raises(Invalid):
        hub.link()
    with pytest.raises(Invalid):
        hub.link("urban heat", limit=0)
    with pytest.raises(Invalid):
        hub.fit("doc_heat", "heat")


def test_cli_link_and_fit(hub: Hub) -> None:
    from typer.testing import CliRunner

    from citybridge.cli.main import app

    runner = CliRunner()
    base = ["--data-dir", str(hub.settings.data_dir)]
    r = runner.invoke(app, [*base, "link", "urban heat in dense neighbourhoods", "--want", "evidence,experts"])
    assert r.exit_code == 0, r.output
    assert "Research and reports" in r.output and "Ana Calor" in r.output
    r = runner.invoke(app, [*base, "link", "urban heat", "--want", "gossip"])
    assert r.exit_code == 2 and "unknown section" in r.output
    r = runner.invoke(app, [*base, "fit", "per_heat", "--text", "urban heat", "--json"])
    assert r.exit_code == 0 and '"score"' in r.output


def test_fit_many_scores_each_entity_as_fit_does_in_one_pass(hub: Hub) -> None:
    text = "heatwave early warning and cool roofs for older residents"
    many = hub.fit_many(["per_heat", "per_water", "org_cool"], text, today=TODAY)
    assert [f.entity_id for f in many] == ["per_heat", "per_water", "org_cool"]
    for f in many:
        one = hub.fit(f.entity_id, text, today=TODAY)
        assert (one.score, one.components) == (f.score, f.components)
    assert many[0].score > many[1].score  # the heat author fits the heat text better than the water one
    with pytest.raises(Invalid):
        hub.fit_many([], text)
    with pytest.raises(Invalid):
        hub.fit_many(["per_heat", "doc_heat"], text)


def test_fit_recency_follows_the_reference_date(hub: Hub) -> None:
    text = "heatwave adaptation plan with cool pavements"
    now = hub.fit("per_heat", text, today=date(2022, 6, 1)).components["recency"]
    later = hub.fit("per_heat", text, today=date(2040, 6, 1)).components["recency"]
    assert now > later
