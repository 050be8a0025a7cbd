"""Calls and programmes in Hub.link judged on the hub's clock, with eligibility, budget and deadline reasons;
news as evidence, projects and news naming a city as practice; the home page's highlights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from citybridge.enrich.gazetteer import place_records
from citybridge.hub import Hub
from citybridge.model import Document, Organization, Project
from citybridge.model.access import Caller
from citybridge.model.entities import Opportunity
from citybridge.settings import Settings

HEAT = ("Cities facing urban heat islands and heatwaves test cool roofs, street trees and shaded squares in dense "
        "neighbourhoods to lower extreme heat for residents.")
DAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=Path(tmp_path_factory.mktemp("opps")) / "data", _env_file=None))
    h.init()
    places = [p for p in place_records() if ((p.ascii_name or p.name), p.country) in
              {("Lisbon", "PT"), ("Porto", "PT")} and p.place_type.value == "city"]
    eu = {"programme": "Horizon Europe", "status": "open", "eligible_groups": ["EU", "associated"],
          "budget_min": 2e6, "budget_max": 5e6, "expected_grants": 3}
    opps = [
        Opportunity(id="opp_eu", name="Urban heat resilience in dense neighbourhoods", description=HEAT,
                    opp_type="funding_call", deadline=date(2026, 9, 30), amount=5e6, attributes=eu,
                    eligibility="Other eligible conditions: at least three cities represented by a local authority"),
        Opportunity(id="opp_soon", name="Heatwave pilots in dense neighbourhoods", description=HEAT,
                    opp_type="funding_call", deadline=date(2026, 6, 15), attributes={**eu, "status": "forthcoming"}),
        Opportunity(id="opp_closed", name="Urban heat islands and heatwaves (closed)", description=HEAT,
                    opp_type="funding_call", deadline=date(2027, 1, 1), attributes={**eu, "status": "closed"}),
        Opportunity(id="opp_de", name="Hitze: cooling dense neighbourhoods against urban heat", description=HEAT,
                    opp_type="funding_programme", country="DE",
                    attributes={"countries": ["DE"], "eligible_applicants": ["Local authorities and administrative "
                                                                             "bodies"]}),
        Opportunity(id="opp_pt", name="Fundo: urban heat and heatwaves in dense neighbourhoods", description=HEAT,
                    opp_type="funding_programme", country="PT",
                    attributes={"countries": ["PT"], "budget_ranges": ["1M € - 10M €"], "budget_min": 1e6,
                                "budget_max": 1e7, "eligible_applicants": ["Local authorities and administrative "
                                                                           "bodies"]}),
    ]
    docs = [Document(id="doc_news", name="Heatwaves: what cities do against urban heat", doc_type="news",
                     body="In Lisbon the city planted street trees and cool roofs against urban heat islands in "
                          "dense neighbourhoods during heatwaves.", published=date(2025, 7, 9))]
    projects = [Project(id="prj_porto", name="COOLSTREETS: cooling dense neighbourhoods",
                        description="Pilot in Porto: cool roofs and street trees reduce urban heat islands and "
                                    "heatwave exposure in dense neighbourhoods.", start_date=date(2021, 1, 1)),
                Project(id="prj_nowhere", name="Urban heat island models",
                        description="Models of urban heat islands and heatwaves in dense neighbourhoods.",
                        start_date=date(2022, 1, 1))]
    city_hall = Organization(id="org_hall", name="Câmara Municipal de Exemplo", org_type="local_government",
                             country="PT", description=HEAT)
    assert h.upsert([*places, *opps, *docs, *projects, city_hall]).rejected == 0
    h.enrich(workers=1)
    h.clock = lambda: DAY  # type: ignore[method-assign]
    yield h
    h.close()


def _items(hub: Hub, section: str, **kw: object) -> dict[str, object]:
    res = hub.link("urban heat islands and heatwaves in dense neighbourhoods", want=[section], limit=10, **kw)
    return {i.id: i for i in res.sections[section]}


def test_calls_open_on_the_clock_with_reasons(hub: Hub) -> None:
    found = _items(hub, "opportunities", place="Lisbon")
    assert "opp_closed" not in found  # status closed, even with a deadline ahead
    assert "opp_de" not in found  # a German programme is not for a city in Portugal
    assert {"opp_eu", "opp_soon", "opp_pt"} <= set(found)
    eu = found["opp_eu"]
    assert eu.evidence["deadline"] == "2026-09-30"
    text = " | ".join(eu.reasons)
    assert "deadline 2026-09-30 (in 121 days)" in text and "budget €2M–€5M per proposal, 3 grants expected" in text
    assert "applicants from EU Member States (PT) are eligible" in text
    assert "cities or local authorities" in text and "Horizon Europe" in text
    assert "forthcoming" in " ".join(found["opp_soon"].reasons)
    pt = found["opp_pt"]
    assert pt.components["place"] == 1.0 and "open to applicants in PT (national programme)" in pt.reasons
    assert "local authorities may apply" in pt.reasons and "ongoing programme, no single deadline" in pt.reasons
    # the clock moves: the call closing on 15 June is gone on 16 June; without a city the German programme shows
    later = _items(hub, "opportunities", today=date(2026, 6, 16))
    assert "opp_soon" not in later and "opp_eu" in later and "opp_de" in later
    assert "opp_eu" not in _items(hub, "opportunities", today=date(2026, 10, 1))


def test_calls_for_an_organisation(hub: Hub) -> None:
    res = hub.link(entity="org_hall", want=["opportunities"], limit=10)
    found = {i.id: i for i in res.sections["opportunities"]}
    assert "opp_de" not in found and "opp_pt" in found  # its country, PT, decides
    assert "local authorities may apply" in found["opp_pt"].reasons


def test_news_is_evidence_and_practice_needs_a_city(hub: Hub) -> None:
    assert "doc_news" in _items(hub, "evidence")
    practice = _items(hub, "practice")
    assert "prj_porto" in practice and "prj_nowhere" not in practice
    assert "measures in Porto" in practice["prj_porto"].reasons
    assert "measures in Lisbon" in practice["doc_news"].reasons


def test_home_highlights_follow_the_clock(hub: Hub) -> None:
    data = hub.overview(Caller())
    assert [c["id"] for c in data["closing_soon"]] == ["opp_soon", "opp_eu"]
    assert data["closing_soon"][0]["days"] == 14
    assert [d["id"] for d in data["news"]] == ["doc_news"]
    assert [p["id"] for p in data["projects"]] == ["prj_nowhere", "prj_porto"]


def test_glossary_reads_other_languages_as_english_terms() -> None:
    from citybridge.link.glossary import read_as_english

    assert read_as_english("descarbonizar la calefacción urbana") == ["decarbonisation",
                                                                       "district heating heat network"]
    assert read_as_english("Hitzeschutz für ältere Menschen während Hitzewellen") == [
        "heat", "older people elderly", "heatwaves"]
    # longest phrase first: "ola de calor" is a heatwave, not heat; unknown words are left out
    assert read_as_english("Plan contra la ola de calor") == ["heatwaves"]
    assert read_as_english("xyz abc") == []


def test_a_challenge_in_another_language_finds_english_records(hub: Hub) -> None:
    res = hub.link("islas de calor y olas de calor en barrios densos", place="Lisbon",
                   want=["evidence", "projects", "opportunities"], limit=10)
    assert res.challenge["read_as"].startswith("urban heat island heatwaves")
    assert "doc_news" in {i.id for i in res.sections["evidence"]}
    assert {"prj_porto", "prj_nowhere"} & {i.id for i in res.sections["projects"]}
    assert "opp_eu" in {i.id for i in res.sections["opportunities"]}
    # an English challenge is searched as written
    assert "read_as" not in hub.link("urban heat islands", want=["evidence"]).challenge
