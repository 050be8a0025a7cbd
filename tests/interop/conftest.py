"""A small graph holding every kind, every subtype and every relation type, for the interoperability tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.model import Document, Opportunity, Organization, Person, Place, Project, Provenance, Relation
from citybridge.model.entities import DocumentType, OpportunityType, OrganizationType, PlaceType
from citybridge.model.taxonomy import theme_id
from citybridge.settings import Settings

BASE = "http://cb.test"
PROV = [Provenance(source="tests:interop", record_id="r1", licence="https://creativecommons.org/licenses/by/4.0/",
                   url="https://example.org/source", retrieved_at="2026-01-02T03:04:05Z")]


def graph_records() -> list:  # type: ignore[type-arg]
    recs: list = [  # type: ignore[type-arg]
        Organization(id=f"org_{t.value}", name=f"Org {t.value}", org_type=t, country="PT", city="Lisbon",
                     region="Lisboa", address="Praça 1", lat=38.7, lon=-9.1, established=1990, acronym="OX",
                     aliases=["Alias"], labels={"pt": "Org PT"}, website="https://org.example", tags=["heat"],
                     languages=["pt"], status="active", external_ids={"ror": f"05abc{i:04d}", "wikidata": f"Q{i + 1}"},
                     provenance=PROV, attributes={"pic": "999"})
        for i, t in enumerate(OrganizationType)
    ]
    recs += [
        Person(id="per_ana", name="Ana Silva", given_name="Ana", family_name="Silva", email="ana@example.org",
               country="PT", homepage="https://ana.example", tags=["urban heat"], languages=["pt", "en"],
               external_ids={"orcid": "0000-0002-1825-0097"}),
        Project(id="prj_cool", name="Cool Streets", acronym="COOL", start_date="2021-01-01", end_date="2024-12-31",
                description="Cooling school streets.", total_cost=1_500_000.0, funding=1_200_000.0, currency="EUR",
                programme="H2020", status="SIGNED", url="https://cordis.example/prj", country="PT",
                external_ids={"cordis": "123", "eu_grant": "101000001"}, tags=["heat"], languages=["en"]),
        Project(id="prj_h2020", name="Horizon 2020", project_type="programme"),
        Place(id="plc_lisbon", name="Lisbon", place_type=PlaceType.city, country="PT", admin1="Lisboa", lat=38.72,
              lon=-9.14, population=545_000, un_region="Southern Europe", capital="primary", ascii_name="Lisboa",
              external_ids={"geonames": "2267057", "wikidata": "Q597"}),
        Place(id="plc_pt", name="Portugal", place_type=PlaceType.country, country="PT"),
        Place(id="plc_region", name="Lisboa region", place_type=PlaceType.region, country="PT"),
        Person(id="per_hidden", name="Hidden Person", visibility="private", owner="lab"),
    ]
    recs += [Document(id=f"doc_{t.value}", name=f"Doc {t.value}", doc_type=t, published="2023-05-01",
                      authors=["Ana Silva"], url="https://docs.example/x", venue="Urban Climate",
                      publisher="Elsevier", pages=12, body="Full text.", languages=["en"], tags=["heat"],
                      external_ids={"doi": "10.1000/xyz" + t.value}, provenance=PROV)
             for t in DocumentType]
    recs += [Opportunity(id=f"opp_{t.value}", name=f"Opp {t.value}", opp_type=t, opens="2026-01-01",
                         deadline="2026-06-01", url="https://calls.example/x", funder="European Commission",
                         amount=5e6, currency="EUR", eligibility="EU cities", country="BE",
                         external_ids={"eu_topic": f"HORIZON-{t.value}"})
             for t in OpportunityType]
    return recs


def graph_relations() -> list[Relation]:
    sdg11 = theme_id("sdg", "11")
    R = Relation
    return [
        R(type="member_of", source="org_local_government", target="org_network"),
        R(type="member_of", source="per_ana", target="org_university"),
        R(type="affiliated_with", source="per_ana", target="org_university"),
        R(type="affiliated_with", source="org_research_institute", target="org_university"),
        R(type="partner_in", source="org_university", target="prj_cool", role="coordinator",
          start_date="2021-01-01"),
        R(type="partner_in", source="org_ngo", target="opp_funding_call"),
        R(type="leads", source="per_ana", target="prj_cool"),
        R(type="authored", source="per_ana", target="doc_paper"),
        R(type="about", source="doc_report", target=sdg11),
        R(type="about", source="prj_cool", target=sdg11),
        R(type="about", source="org_ngo", target="plc_lisbon"),
        R(type="about", source="opp_funding_call", target=sdg11),
        R(type="about", source="opp_event", target="plc_lisbon"),
        R(type="located_in", source="org_company", target="plc_lisbon"),
        R(type="located_in", source="plc_lisbon", target="plc_pt"),
        R(type="located_in", source="doc_case_study", target="plc_lisbon"),
        R(type="located_in", source="per_ana", target="plc_lisbon"),
        R(type="located_in", source="opp_funding_call", target="plc_region"),
        R(type="located_in", source="prj_cool", target="plc_lisbon"),
        R(type="funded_by", source="prj_cool", target="org_funder"),
        R(type="funded_by", source="prj_cool", target="opp_funding_call"),
        R(type="funded_by", source="prj_cool", target="prj_h2020"),
        R(type="funded_by", source="doc_paper", target="org_funder"),
        R(type="funded_by", source="opp_research_call", target="org_funder"),
        R(type="cites", source="doc_paper", target="doc_report"),
        R(type="serves_region", source="org_network_office", target="plc_region"),
        R(type="expert_in", source="per_ana", target=sdg11),
        R(type="related_to", source="doc_news", target="plc_lisbon", weight=0.5),
        R(type="related_to", source="per_hidden", target="doc_news"),
    ]


def fill(hub: Hub) -> Hub:
    """Store the graph in an initialised hub."""
    report = hub.upsert(graph_records(), changed_by="tests:interop")
    assert report.rejected == 0, report.rejections
    report = hub.relate(graph_relations(), changed_by="tests:interop")
    assert report.rejected == 0, report.rejections
    return hub


@pytest.fixture
def graph_hub(tmp_path: Path) -> Iterator[Hub]:
    hub = Hub(Settings(data_dir=tmp_path / "data", linked_data_base=BASE, _env_file=None))
    hub.init()
    yield fill(hub)
    hub.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def graph_any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """The graph on SQLite, and on PostgreSQL (a fresh database) when a server is configured."""
    from conftest import postgres_database

    if request.param == "sqlite":
        hub = Hub(Settings(data_dir=tmp_path / "data", linked_data_base=BASE, _env_file=None))
        hub.init()
        yield fill(hub)
        hub.close()
        return
    with postgres_database() as url:
        hub = Hub(Settings(data_dir=tmp_path / "data", database_url=url, linked_data_base=BASE, _env_file=None))
        hub.init()
        try:
            yield fill(hub)
        finally:
            hub.close()
