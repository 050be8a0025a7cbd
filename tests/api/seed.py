"""A small, hand-made knowledge graph for the API and web tests: every kind, restricted records, coordinates,
relations, and enrichment annotations (tags and places with evidence) written directly, so no model runs."""

from __future__ import annotations

import json
from typing import Any

from citybridge.hub import Hub
from citybridge.model import Document, Opportunity, Organization, Person, Place, Project, Provenance, Relation
from citybridge.model.taxonomy import theme_id
from citybridge.store.enrichment import EnrichmentStore

MEMBER_TOKEN = "tok-member-0123456789"
OWNER_TOKEN = "tok-owner-0123456789"
WRITER_TOKEN = "tok-writer-0123456789"
CURATOR_TOKEN = "tok-curator-0123456789abc"
TOKENS = {
    MEMBER_TOKEN: {"user": "mia", "member": True},
    OWNER_TOKEN: {"user": "olga", "groups": ["lisbon-lab"]},
    WRITER_TOKEN: {"user": "wes", "member": True, "write": True},
}
DOC_TEXT = ("Lisbon maps its urban heat island and plants street trees and green roofs "
            "to cool school streets during heatwaves.")

PROV = [Provenance(source="tests:seed", record_id="1", licence="CC0")]


def records() -> list[Any]:
    return [
        Place(id="plc_lisbon", name="Lisbon", place_type="city", country="PT", lat=38.7223, lon=-9.1393,
              population=545_000, un_region="Southern Europe", provenance=PROV),
        Place(id="plc_porto", name="Porto", place_type="city", country="PT", lat=41.1579, lon=-8.6291),
        Place(id="plc_nairobi", name="Nairobi", place_type="city", country="KE", lat=-1.2921, lon=36.8219),
        Organization(id="org_lisbon", name="Lisbon City Council", org_type="local_government", country="PT",
                     city="Lisbon", lat=38.7223, lon=-9.1393, website="https://www.lisboa.pt", provenance=PROV,
                     external_ids={"wikidata": "Q1000"}),
        Organization(id="org_porto_uni", name="University of Porto", org_type="university", country="PT",
                     lat=41.1579, lon=-8.6291),
        Organization(id="org_nairobi_ngo", name="Nairobi Green Streets", org_type="ngo", country="KE",
                     lat=-1.2921, lon=36.8219),
        Organization(id="org_network", name="Heat Network Office", org_type="network_office", country="PT",
                     visibility="network", owner="lisbon-lab", lat=38.71, lon=-9.14),
        Organization(id="org_private", name="Lisbon Lab Internal Unit", org_type="other", country="PT",
                     visibility="private", owner="lisbon-lab", lat=38.70, lon=-9.15),
        Project(id="prj_cool", name="Cool Streets", acronym="COOL", start_date="2021-01-01",
                end_date="2024-12-31", description=DOC_TEXT, programme="H2020"),
        Project(id="prj_secret", name="Secret Heat Pilot", visibility="private", owner="lisbon-lab",
                description="An internal pilot."),
        Person(id="per_ana", name="Ana Silva", given_name="Ana", family_name="Silva", country="PT"),
        Person(id="per_ben", name="Ben Otieno", given_name="Ben", family_name="Otieno", country="KE"),
        Document(id="doc_heat", name="Heat action plan for school streets", doc_type="report", year=2023,
                 description=DOC_TEXT, authors=["Ana Silva", "Ben Otieno"], provenance=PROV),
        Opportunity(id="opp_call", name="Urban cooling call", opp_type="funding_call", deadline="2030-05-01",
                    funder="Example Fund", description="Funding for nature-based cooling in cities."),
    ]


def relations() -> list[Relation]:
    return [
        Relation(type="located_in", source="org_lisbon", target="plc_lisbon"),
        Relation(type="located_in", source="org_porto_uni", target="plc_porto"),
        Relation(type="located_in", source="org_nairobi_ngo", target="plc_nairobi"),
        Relation(type="about", source="doc_heat", target="plc_lisbon"),
        Relation(type="partner_in", source="org_lisbon", target="prj_cool", role="coordinator"),
        Relation(type="partner_in", source="org_porto_uni", target="prj_cool", role="partner"),
        Relation(type="partner_in", source="org_nairobi_ngo", target="prj_cool", role="partner"),
        Relation(type="partner_in", source="org_lisbon", target="prj_secret", role="coordinator"),
        Relation(type="partner_in", source="org_private", target="prj_cool", role="partner"),
        Relation(type="affiliated_with", source="per_ana", target="org_porto_uni"),
        Relation(type="affiliated_with", source="per_ben", target="org_nairobi_ngo"),
        Relation(type="authored", source="per_ana", target="doc_heat"),
        Relation(type="authored", source="per_ben", target="doc_heat"),
        Relation(type="member_of", source="org_lisbon", target="org_network", visibility="network",
                 owner="lisbon-lab"),
    ]


def _ev(text: str, phrase: str, field: str = "description") -> dict[str, Any]:
    start = text.index(phrase)
    return {"field": field, "start": start, "end": start + len(phrase), "text": phrase, "kind": "query"}


def annotations() -> dict[str, dict[str, list[dict[str, Any]]]]:
    def tag(label: str, score: float, *phrases: str) -> dict[str, Any]:
        scheme, code = label.split(":")
        return {"label": label, "target_id": theme_id(scheme, code), "score": score,
                "evidence": json.dumps([_ev(DOC_TEXT, p) for p in phrases])}

    tags = [tag("sdg:11", 0.81, "urban heat island", "school streets"), tag("sdg:13", 0.66, "heatwaves"),
            tag("pathway:nature-based", 0.74, "street trees", "green roofs")]
    place = {"label": "place:plc_lisbon", "target_id": "plc_lisbon", "score": 0.95,
             "evidence": json.dumps([_ev(DOC_TEXT, "Lisbon")])}
    return {"tags": {"doc_heat": tags, "prj_cool": tags[:2]}, "places": {"doc_heat": [place], "prj_cool": [place]}}


def seed(hub: Hub) -> Hub:
    """Fill an initialised hub with the test graph; returns it."""
    report = hub.upsert(records(), changed_by="tests:seed")
    assert report.rejected == 0, report.rejections
    report = hub.relate(relations(), changed_by="tests:seed")
    assert report.rejected == 0, report.rejections
    # a second version of one record, so it has history
    hub.upsert([Organization(id="org_lisbon", name="Lisbon City Council", org_type="local_government",
                             country="PT", city="Lisbon", lat=38.7223, lon=-9.1393, established=1179,
                             website="https://www.lisboa.pt")], changed_by="tests:edit")
    enrichment = EnrichmentStore(hub.store)
    with hub.store.engine.begin() as conn:
        for step, rows in annotations().items():
            enrichment.replace_annotations(conn, step, rows)
    return hub
