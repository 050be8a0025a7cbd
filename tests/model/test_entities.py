from __future__ import annotations

import pytest
from pydantic import ValidationError

from citybridge.model import (
    Document,
    Kind,
    Organization,
    Place,
    Project,
    Relation,
    RelationType,
    check_relation_kinds,
    derive_id,
    normalize_external_id,
    record_from_dict,
    record_to_dict,
)
from citybridge.model.taxonomy import PATHWAYS, builtin_themes, sdg_nodes, theme_id


def test_external_ids_are_normalised() -> None:
    org = Organization(name="X", external_ids={"ROR": "https://ror.org/05ABC12", "wikidata": "q42", "empty": ""})
    assert org.external_ids == {"ror": "05abc12", "wikidata": "Q42"}
    assert normalize_external_id("doi", "https://doi.org/10.1000/XyZ") == "10.1000/xyz"
    assert normalize_external_id("orcid", "https://orcid.org/0000-0002-1825-009x") == "0000-0002-1825-009X"


def test_country_must_be_iso2() -> None:
    assert Organization(name="X", country=" br ").country == "BR"
    with pytest.raises(ValidationError, match="ISO 3166-1"):
        Organization(name="X", country="Brazil")


def test_restricted_records_need_owner() -> None:
    with pytest.raises(ValidationError, match="needs an owner"):
        Organization(name="X", visibility="private")
    assert Organization(name="X", visibility="network", owner="team-a").owner == "team-a"


def test_invalid_id_and_dates_rejected() -> None:
    with pytest.raises(ValidationError, match="id must be"):
        Organization(id="has space", name="X")
    with pytest.raises(ValidationError, match="end_date is before"):
        Project(name="P", start_date="2020-01-01", end_date="2019-01-01")
    with pytest.raises(ValidationError):
        Place(name="Nowhere", lat=91)


def test_document_year_from_published_and_list_splitting() -> None:
    doc = Document(name="Heat plan", published="2021-06-01", authors="Ana Silva; Li Wei")
    assert doc.year == 2021
    assert doc.authors == ["Ana Silva", "Li Wei"]


def test_round_trip_through_dict() -> None:
    org = Organization(name="ICLEI", org_type="network", aliases=["Local Governments for Sustainability"],
                       labels={"de": "ICLEI"}, country="DE", external_ids={"ror": "05abc"})
    body = record_to_dict(org)
    assert body["kind"] == "organization"
    assert record_from_dict(body) == org


def test_derived_ids_are_stable_and_kind_prefixed() -> None:
    assert derive_id(Kind.organization, "ror:05abc") == derive_id("organization", "ror:05abc")
    assert derive_id("place", "x").startswith("plc_")
    assert derive_id("place", "x") != derive_id("place", "y")


def test_taxonomy_has_17_goals_169_targets_and_five_pathways() -> None:
    nodes = sdg_nodes()
    goals = [n for n in nodes if n.level == "goal"]
    targets = [n for n in nodes if n.level == "target"]
    assert len(goals) == 17 and len(targets) == 169
    goal11 = next(n for n in goals if n.code == "11")
    assert "Sustainable cities" in goal11.name
    assert len(goal11.labels) == 26  # every language of the UN table is kept as a label
    assert goal11.labels["es"].lower().startswith("ciudades")
    assert {p.code for p in PATHWAYS} == {"low-emission", "nature-based", "circular", "resilient", "equitable"}
    themes = builtin_themes()
    assert len(themes) == 17 + 169 + 5
    assert len({t.id for t in themes}) == len(themes)
    assert theme_id("sdg", "11") in {t.id for t in themes}
    assert next(t for t in themes if t.code == "11.6").parent == "11"


def test_relation_rules() -> None:
    rel = Relation(type="partner_in", source="org_1", target="prj_1", role="coordinator")
    assert rel.id == rel.key() and rel.id.startswith("rel_")
    assert Relation(type="partner_in", source="org_1", target="prj_1", role="partner").id != rel.id
    assert check_relation_kinds(RelationType.partner_in, Kind.organization, Kind.project) is None
    assert "cannot point to a place" in check_relation_kinds(RelationType.authored, Kind.person, Kind.place)
    with pytest.raises(ValidationError, match="own source"):
        Relation(type="related_to", source="a", target="a")


def test_visibility_rules_for_three_callers() -> None:
    from citybridge.model.access import ANONYMOUS, CURATOR, Caller, can_see

    member = Caller(user="ana", groups=frozenset({"team-heat"}), member=True)
    assert can_see("public", None, ANONYMOUS)
    assert not can_see("network", "team-x", ANONYMOUS)
    assert can_see("network", "team-x", member)
    assert not can_see("private", "team-x", member)
    assert can_see("private", "team-heat", member)
    assert can_see("private", "anyone", CURATOR)
