"""Partners and peer cities through the Hub, on a small store built here (and enriched for real)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from citybridge.enrich.gazetteer import place_records
from citybridge.errors import Invalid, NotFound
from citybridge.hub import Hub
from citybridge.model import Organization, Project, Relation
from citybridge.model.access import CURATOR, Caller
from citybridge.settings import Settings

CITIES = {("Lisbon", "PT"), ("Porto", "PT"), ("Coimbra", "PT"), ("Tokyo", "JP"), ("Osaka", "JP"),
          ("Barcelona", "ES"), ("Madrid", "ES"), ("Rotterdam", "NL"), ("Sydney", "AU")}
HEAT = ("Urban heat adaptation in Lisbon: cool roofs, shade trees and a heat early warning system protect older "
        "residents during heatwaves; climate adaptation plan for the city.")
FLOOD = ("Rotterdam water squares and green roofs store stormwater; flood resilience and climate adaptation for "
         "the port city.")
ENERGY = "Solar panels on public buildings in Madrid reduce greenhouse gas emissions; renewable energy transition."


def _org(oid: str, name: str, org_type: str, country: str, city: str | None = None, **kw) -> Organization:
    return Organization(id=oid, name=name, org_type=org_type, country=country, city=city, **kw)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=Path(tmp_path_factory.mktemp("link")) / "data", _env_file=None))
    h.init()
    places = [p for p in place_records()
              if ((p.ascii_name or p.name), p.country) in CITIES and p.place_type.value == "city"]
    assert len(places) == len(CITIES)
    city = {(p.ascii_name or p.name): p.id for p in places}
    orgs = [
        _org("org_cml", "Câmara Municipal de Lisboa", "local_government", "PT", "Lisbon"),
        _org("org_cmp", "Câmara Municipal do Porto", "local_government", "PT", "Porto"),
        _org("org_tokyo", "Tokyo Metropolitan Government", "local_government", "JP", "Tokyo"),
        _org("org_osaka", "Osaka City", "local_government", "JP", "Osaka"),
        _org("org_ulisboa", "Universidade de Lisboa", "university", "PT", "Lisbon"),
        _org("org_tud", "TU Delft", "university", "NL"),
        _org("org_acme", "Acme Cool Roofs SL", "company", "ES"),
        _org("org_sun", "Solar Madrid SA", "company", "ES"),
        _org("org_ngo", "Climate Alliance Europe", "ngo", "BE"),
        _org("org_secret", "Hidden Consultancy", "company", "PT", visibility="private", owner="alice"),
        _org("net_c40", "C40 Cities", "network", "GB"),
        _org("net_euro", "Eurocities", "network", "BE"),
    ]
    projects = [
        Project(id="prj_cool", name="COOL-LISBOA heat plan", description=HEAT, start_date=date(2017, 1, 1),
                programme="H2020-SC5"),
        Project(id="prj_shade", name="SHADE Lisbon", description=HEAT, start_date=date(2018, 1, 1),
                programme="H2020-SC5"),
        Project(id="prj_roofs", name="ROOFS pilot", description=HEAT, start_date=date(2019, 1, 1),
                programme="H2020-SC5"),
        Project(id="prj_water", name="WATERSQUARE", description=FLOOD, start_date=date(2019, 1, 1),
                programme="H2020-SC5"),
        Project(id="prj_porto", name="PORTO-GREEN", description=FLOOD, start_date=date(2018, 1, 1),
                programme="H2020-SC5"),
        Project(id="prj_sun", name="SUN-MADRID", description=ENERGY, start_date=date(2018, 1, 1),
                programme="H2020-SC3"),
        Project(id="prj_new", name="NEW heat consortium", start_date=date(2021, 1, 1), programme="H2020-SC5"),
    ]
    assert h.upsert([*places, *orgs, *projects]).rejected == 0
    part = [("org_cml", "prj_cool", "coordinator"), ("org_ulisboa", "prj_cool", "participant"),
            ("org_tud", "prj_cool", "participant"), ("org_cml", "prj_shade", "coordinator"),
            ("org_ulisboa", "prj_shade", "participant"), ("org_acme", "prj_shade", "participant"),
            ("org_cml", "prj_roofs", "participant"), ("org_ulisboa", "prj_roofs", "coordinator"),
            ("org_tud", "prj_water", "coordinator"), ("org_ngo", "prj_water", "participant"),
            ("org_cmp", "prj_porto", "coordinator"), ("org_ulisboa", "prj_porto", "participant"),
            ("org_sun", "prj_sun", "coordinator"), ("org_tokyo", "prj_sun", "participant"),
            ("org_secret", "prj_cool", "participant"), ("org_cml", "prj_new", "coordinator")]
    rels = [Relation(type="partner_in", source=o, target=p, role=r) for o, p, r in part]
    rels[-2] = Relation(type="partner_in", source="org_secret", target="prj_cool", role="participant",
                        visibility="private", owner="alice")
    rels += [Relation(type="member_of", source=o, target=n) for o, n in
             [("org_cml", "net_c40"), ("org_tokyo", "net_c40"), ("org_cml", "net_euro"), ("org_cmp", "net_euro")]]
    rels += [Relation(type="located_in", source=o, target=city[c]) for o, c in
             [("org_cml", "Lisbon"), ("org_cmp", "Porto"), ("org_tokyo", "Tokyo"), ("org_osaka", "Osaka"),
              ("org_ulisboa", "Lisbon")]]
    assert h.relate(rels).rejected == 0
    h.enrich(workers=1)
    h.city = city  # type: ignore[attr-defined]
    yield h
    h.close()


# ---------------------------------------------------------------------- partners
def test_frequent_partner_first_with_real_project_names(hub: Hub) -> None:
    found = hub.suggest_partners(current_partners=["org_cml"])
    assert found[0].id == "org_ulisboa"
    top = found[0]
    assert "partnered with Câmara Municipal de Lisboa in 3 projects" in top.explanation
    assert all(name in top.explanation for name in ("COOL-LISBOA heat plan", "SHADE Lisbon", "ROOFS pilot"))
    assert set(top.evidence["shared_projects"]["org_cml"]) == {"prj_cool", "prj_shade", "prj_roofs"}
    assert "coordinated 1 project" in top.explanation
    # private organisation stays hidden from anonymous callers, visible to its owner
    assert "org_secret" not in {s.id for s in hub.suggest_partners(current_partners=["org_cml"],
                                                                   constraints={"max_results": 50})}
    alice = hub.suggest_partners(current_partners=["org_cml"], constraints={"max_results": 50},
                                 caller=Caller(user="alice"))
    assert "org_secret" in {s.id for s in alice}


def test_project_query_and_constraints(hub: Hub) -> None:
    found = hub.suggest_partners(project="prj_new", constraints={"org_types": ["company"], "max_results": 5})
    assert found and all(s.org_type == "company" for s in found)
    assert found[0].id == "org_acme"  # shared SHADE Lisbon with the coordinator
    assert "SHADE Lisbon" in found[0].explanation
    only_nl = hub.suggest_partners(current_partners=["org_cml"], constraints={"countries": ["NL"]})
    assert [s.id for s in only_nl] == ["org_tud"]
    no_pt = hub.suggest_partners(current_partners=["org_cml"], constraints={"exclude_countries": ["PT"],
                                                                             "exclude": ["org_tud"]})
    assert all(s.country != "PT" and s.id != "org_tud" for s in no_pt)
    # a pure research consortium is told it lacks a company / public body
    mixed = hub.suggest_partners(current_partners=["org_ulisboa", "org_tud"], constraints={"max_results": 20})
    assert mixed and mixed[0].components["collab"] > 0


def test_text_query_uses_profiles(hub: Hub) -> None:
    found = hub.suggest_partners(text="Heatwave adaptation with cool roofs and shade trees for older residents",
                                 constraints={"max_results": 5})
    assert found and found[0].components["expertise"] > 0
    assert found[0].id in {"org_cml", "org_ulisboa", "org_acme", "org_tud"}
    assert "profile matches" in " ".join(s.explanation for s in found)


def test_partner_errors(hub: Hub) -> None:
    with pytest.raises(NotFound):
        hub.suggest_partners(current_partners=["org_nobody"])
    with pytest.raises(NotFound):
        hub.suggest_partners(project="prj_nothing")
    with pytest.raises(NotFound):  # exists, but not for this caller
        hub.suggest_partners(current_partners=["org_secret"])
    with pytest.raises(Invalid):
        hub.suggest_partners()
    with pytest.raises(Invalid):
        hub.suggest_partners(current_partners=["prj_cool"])
    with pytest.raises(Invalid):
        hub.suggest_partners(current_partners=["org_cml"], constraints={"countries": ["Portugal"]})


# ---------------------------------------------------------------------- peer cities
def test_lisbon_peers_rank_porto_above_tokyo(hub: Hub) -> None:
    city = hub.city  # type: ignore[attr-defined]
    peers = hub.peer_cities(city["Lisbon"], limit=8)
    names = [p.name for p in peers]
    assert names[0] == "Porto"
    assert names.index("Porto") < names.index("Tokyo") and names.index("Coimbra") < names.index("Tokyo")
    porto = peers[0]
    assert set(porto.components) == {"population", "country", "region", "climate", "profile", "partners",
                                     "networks"}
    assert porto.components["country"] == 1.0 and porto.components["region"] == 1.0
    assert "same country (PT)" in porto.explanation and "Southern Europe" in porto.explanation
    assert "1 shared partner: Universidade de Lisboa" in porto.explanation  # works in both cities' projects
    assert "Eurocities" in porto.explanation  # both local governments are members
    assert porto.evidence["local_governments"] == ["org_cmp"]
    assert porto.score == pytest.approx(sum(porto.contributions.values()), abs=1e-3)
    # the organisation of a city stands for the city
    assert [p.id for p in hub.peer_cities("org_cml", limit=8)] == [p.id for p in peers]


def test_changing_weights_changes_order(hub: Hub) -> None:
    city = hub.city  # type: ignore[attr-defined]
    default = [p.name for p in hub.peer_cities(city["Lisbon"], limit=8)]
    networked = [p.name for p in hub.peer_cities(city["Lisbon"], weights={"networks": 20.0}, limit=8)]
    assert networked != default
    assert networked.index("Tokyo") < networked.index("Coimbra")  # both in C40
    tokyo = next(p for p in hub.peer_cities(city["Lisbon"], weights={"networks": 20.0}, limit=8)
                 if p.name == "Tokyo")
    assert "C40 Cities" in tokyo.explanation
    by_size = [p.name for p in hub.peer_cities(city["Tokyo"], limit=3,
                                               weights={c: 0.0 for c in ("country", "region", "climate", "profile",
                                                                         "partners", "networks")})]
    assert by_size[0] in {"Ōsaka", "Madrid", "Barcelona", "Sydney"} and by_size != default[:3]


def test_peer_city_errors(hub: Hub) -> None:
    city = hub.city  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        hub.peer_cities("plc_doesnotexist")
    with pytest.raises(NotFound):  # an organisation without a city
        hub.peer_cities("org_tud")
    with pytest.raises(Invalid):
        hub.peer_cities("prj_cool")
    with pytest.raises(Invalid):
        hub.peer_cities(city["Lisbon"], weights={"beaches": 1.0})
    with pytest.raises(Invalid):
        hub.peer_cities(city["Lisbon"], limit=0)
    assert hub.peer_cities(city["Lisbon"], caller=CURATOR)[0].name == "Porto"
