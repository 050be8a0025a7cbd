"""Fixtures for entity resolution: a small store with one organisation known twice over."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import insert, select

from citybridge.hub import Hub
from citybridge.model.entities import Document, Organization, Person, Place, Project
from citybridge.model.relations import Relation, RelationType
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore


@pytest.fixture
def twice(any_hub: Hub) -> Hub:
    """The University of Porto as a ROR record and as a CORDIS participant (with relations, an annotation,
    an embedding and an annotation of another record pointing at it)."""
    hub = any_hub
    hub.upsert([
        Place(name="Porto", country="PT", external_ids={"simplemaps": "1620000000"}),
        Organization(name="University of Porto", org_type="university", country="PT", city="Porto",
                     acronym="UP", labels={"pt": "Universidade do Porto"}, external_ids={"ror": "043pwc612"},
                     provenance=[{"source": "ror", "record_id": "043pwc612"}]),
        Organization(name="Universidade do Porto", org_type="university", country="PT",
                     external_ids={"pic": "999993953"}, attributes={"cordis_type": "HES"},
                     provenance=[{"source": "cordis", "record_id": "999993953"}]),
        Project(name="Heat resilient neighbourhoods", external_ids={"cordis": "777"}),
        Person(name="Ana Costa", external_ids={"orcid": "0000-0002-1825-0097"}),
        Document(name="Cooling Porto: a field study of street trees", doc_type="paper", year=2021,
                 external_ids={"doi": "10.1/porto-trees"}),
    ])
    ror = hub.get("ror:043pwc612").id
    pic = hub.get("pic:999993953").id
    city = hub.get("simplemaps:1620000000").id
    hub.relate([
        Relation(type=RelationType.located_in, source=ror, target=city),
        Relation(type=RelationType.partner_in, source=pic, target=hub.get("cordis:777").id, role="coordinator"),
        Relation(type=RelationType.affiliated_with, source=hub.get("orcid:0000-0002-1825-0097").id, target=pic),
        Relation(type=RelationType.affiliated_with, source=hub.get("orcid:0000-0002-1825-0097").id, target=ror),
    ])
    hub.save(hub.get(pic).model_copy(update={"description": "Participant in heat projects."}), changed_by="t")
    es = EnrichmentStore(hub.store)
    doc = hub.get("doi:10.1/porto-trees").id
    with hub.store.engine.begin() as conn:
        es.replace_annotations(conn, "tags", {pic: [{"label": "sdg:11", "target_id": None, "score": 0.8,
                                                     "evidence": json.dumps([])}]})
        es.replace_annotations(conn, "orgs", {doc: [{"label": f"org:{pic}", "target_id": pic, "score": 0.9,
                                                     "evidence": None}]})
        conn.execute(insert(t.embeddings).values(record_id=pic, model="wordllama", passage=-1,
                                                 vector=np.ones(4, dtype=np.float32).tobytes()))
    return hub


def state(hub: Hub) -> dict[str, list[tuple]]:
    """Everything a merge may touch, comparable before and after (history and the merge log excluded)."""
    out: dict[str, list[tuple]] = {}
    with hub.store.engine.connect() as conn:
        out["records"] = sorted((r.id, r.kind, r.name, r.data, r.hash) for r in conn.execute(select(t.records)))
        out["external_ids"] = sorted(tuple(r) for r in conn.execute(select(t.external_ids)))
        out["relations"] = sorted(tuple(r) for r in conn.execute(select(t.relations)))
        out["annotations"] = sorted((r.record_id, r.step, r.label, r.target_id, r.score, r.evidence)
                                    for r in conn.execute(select(t.annotations)))
        out["embeddings"] = sorted(tuple(r) for r in conn.execute(select(t.embeddings)))
        out["enrich_state"] = sorted(tuple(r) for r in conn.execute(select(t.enrich_state)))
        out["redirects"] = sorted(tuple(r) for r in conn.execute(select(t.redirects)))
    return out


def ror_orgs() -> list[Organization]:
    """A handful of organisations as the ROR importer writes them (names, labels, acronyms, places, types)."""
    def org(ror: str, name: str, country: str, city: str, types: list[str], **kw: object) -> Organization:
        return Organization(name=name, country=country, city=city, external_ids={"ror": ror}, tags=types,
                            attributes={"ror_types": types}, provenance=[{"source": "ror", "record_id": ror}],
                            org_type="university" if "education" in types else "research_institute", **kw)

    return [
        org("043pwc612", "University of Porto", "PT", "Porto", ["education"], acronym="UP",
            labels={"pt": "Universidade do Porto"}),
        org("037wpkx04", "University of Minho", "PT", "Braga", ["education"], labels={"pt": "Universidade do Minho"}),
        org("01c27hj86", "University of Lisbon", "PT", "Lisbon", ["education"],
            labels={"pt": "Universidade de Lisboa"}),
        org("03db2by73", "Instituto Superior Técnico", "PT", "Lisbon", ["education"], acronym="IST"),
        org("02kkvpp62", "Technical University of Munich", "DE", "Munich", ["education"], acronym="TUM",
            labels={"de": "Technische Universität München"}, aliases=["Technische Universitaet Muenchen"]),
        org("05591te55", "Ludwig-Maximilians-Universität München", "DE", "Munich", ["education"], acronym="LMU",
            labels={"en": "LMU Munich"}),
        org("02feahw73", "French National Centre for Scientific Research", "FR", "Paris", ["government"],
            acronym="CNRS", labels={"fr": "Centre National de la Recherche Scientifique"}),
        org("03vek6s52", "Harvard University", "US", "Cambridge", ["education"]),
        org("04b6nzv94", "Brigham and Women's Hospital", "US", "Boston", ["healthcare"], acronym="BWH"),
        org("05n894m26", "University of Porto Alegre", "BR", "Porto Alegre", ["education"]),
    ]


@pytest.fixture
def ror_hub(hub: Hub) -> Hub:
    """A SQLite hub holding the organisations of :func:`ror_orgs` (IST a child of the University of Lisbon)."""
    hub.upsert(ror_orgs())
    hub.relate([Relation(type=RelationType.member_of, source=hub.get("ror:03db2by73").id,
                         target=hub.get("ror:01c27hj86").id, role="parent")])
    return hub
