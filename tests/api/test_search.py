"""Search, similar, peer cities and partners over HTTP: good input, bad input (the one error schema, naming
the field, never a 500), and visibility for anonymous, member, owner and curator callers."""

from __future__ import annotations

import pytest

from api.conftest import auth
from api.seed import CURATOR_TOKEN, MEMBER_TOKEN, OWNER_TOKEN
from api.test_entities import assert_error

CALLERS = {"anonymous": {}, "member": auth(MEMBER_TOKEN), "owner": auth(OWNER_TOKEN), "curator": auth(CURATOR_TOKEN)}
HIDDEN = {  # record -> callers who may not see it
    "org_network": {"anonymous"},
    "org_private": {"anonymous", "member"},
    "prj_secret": {"anonymous", "member"},
}


def ids(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {r["id"] for r in body["results"]}


def test_search_ranks_filters_and_highlights(client):
    resp = client.get("/api/v1/search", params={"q": "urban heat island", "per_page": 5})
    assert resp.status_code == 200
    body = resp.json()
    assert {"doc_heat", "prj_cool"} <= ids(body)
    assert body["total"] >= 2 and body["page"] == 1 and body["per_page"] == 5
    hit = next(r for r in body["results"] if r["id"] == "doc_heat")
    assert hit["kind"] == "document" and hit["subtype"] == "report" and hit["year"] == 2023
    snip = hit["snippet"]
    marked = [snip["text"][s:e].lower() for s, e in snip["highlights"]]
    assert "heat" in marked and snip["field"] == "description"
    assert {t["label"] for t in hit["tags"]} >= {"sdg:11"}
    facets = body["facets"]
    assert facets["kind"]["document"] == 1 and facets["sdg"]["11"] >= 1


def test_repeatable_filters_are_any_of(client):
    both = client.get("/api/v1/search", params=[("kind", "document"), ("kind", "project"), ("q", "heat")]).json()
    assert {"doc_heat", "prj_cool"} <= ids(both) and all(r["kind"] in ("document", "project")
                                                         for r in both["results"])
    docs = client.get("/api/v1/search", params={"q": "heat", "kind": "document"}).json()
    assert ids(docs) == {"doc_heat"}
    assert ids(client.get("/api/v1/search", params={"sdg": "13"}).json()) == {"doc_heat", "prj_cool"}
    assert ids(client.get("/api/v1/search", params={"pathway": "nature-based"}).json()) == {"doc_heat"}
    assert ids(client.get("/api/v1/search", params={"year_from": 2023, "year_to": 2023}).json()) == {"doc_heat"}
    kenya = client.get("/api/v1/search", params={"country": "ke", "kind": "organization"}).json()
    assert ids(kenya) == {"org_nairobi_ngo"}
    only = client.get("/api/v1/search", params={"facet": "kind"}).json()["facets"]
    assert set(only) == {"kind"}


def test_paging(client):
    first = client.get("/api/v1/search", params={"per_page": 3, "page": 1}).json()
    second = client.get("/api/v1/search", params={"per_page": 3, "page": 2}).json()
    assert len(first["results"]) == 3 and not ids(first) & ids(second)


@pytest.mark.parametrize("params,field", [
    ({"sdg": "99"}, "sdg"),
    ({"sdg": "sdg:11"}, "sdg"),
    ({"pathway": "teleportation"}, "pathway"),
    ({"year_from": "last year"}, "year_from"),
    ({"year_to": 0}, "year_to"),
    ({"year_from": 2022, "year_to": 2020}, "year_to"),
    ({"per_page": 101}, "per_page"),
    ({"per_page": 0}, "per_page"),
    ({"page": 0}, "page"),
    ({"page": 200, "per_page": 100}, "page"),
    ({"kind": "spaceship"}, "kind"),
    ({"subtype": "castle"}, "subtype"),
    ({"country": "Portugal"}, "country"),
    ({"language": "EN!"}, "language"),
    ({"mode": "psychic"}, "mode"),
    ({"facet": "colour"}, "facet"),
    ({"q": "x" * 1001}, "q"),
])
def test_bad_search_input_names_the_field(client, params, field):
    assert_error(client.get("/api/v1/search", params=params), 422, "invalid", field)


@pytest.mark.parametrize("who", CALLERS)
def test_search_never_shows_what_the_caller_may_not_see(client, who):
    headers = CALLERS[who]
    hidden = {rid for rid, blind in HIDDEN.items() if who in blind}
    for q in ("", "Lisbon", "Secret Heat Pilot", "internal", "heat"):
        body = client.get("/api/v1/search", params={"q": q, "per_page": 100}, headers=headers).json()
        assert not hidden & ids(body), (q, hidden & ids(body))
    everything = client.get("/api/v1/search", params={"per_page": 100}, headers=headers).json()
    visible = set(HIDDEN) - hidden
    assert visible <= ids(everything)
    # counts do not reveal hidden records either
    orgs = client.get("/api/v1/search", params={"kind": "organization"}, headers=headers).json()
    assert orgs["total"] == 5 - len(hidden & {"org_network", "org_private"})
    assert orgs["facets"]["kind"]["organization"] == orgs["total"]


def test_private_record_is_not_found_by_its_own_words_anonymously(client):
    phrase = '"Secret Heat Pilot"'
    assert client.get("/api/v1/search", params={"q": phrase}).json()["total"] == 0
    owner = client.get("/api/v1/search", params={"q": phrase}, headers=auth(OWNER_TOKEN)).json()
    assert "prj_secret" in ids(owner)


def test_similar(client):
    resp = client.get("/api/v1/entities/doc_heat/similar", params={"limit": 5})
    assert resp.status_code == 200
    body = resp.json()
    assert body["record"] == "doc_heat" and "doc_heat" not in ids(body) and "prj_cool" in ids(body)
    assert not {"org_private", "prj_secret", "org_network"} & ids(body)
    assert_error(client.get("/api/v1/entities/prj_secret/similar"), 404, "not_found")
    assert client.get("/api/v1/entities/prj_secret/similar", headers=auth(OWNER_TOKEN)).status_code == 200
    assert_error(client.get("/api/v1/entities/nope/similar"), 404, "not_found")
    assert_error(client.get("/api/v1/entities/doc_heat/similar", params={"limit": 51}), 422, "invalid", "limit")


def test_peer_cities(client):
    resp = client.get("/api/v1/peer-cities/plc_lisbon", params={"limit": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["city"] == {"id": "plc_lisbon", "name": "Lisbon", "kind": "place"}
    assert [r["id"] for r in body["results"]][0] == "plc_porto"  # same country, same sub-region
    top = body["results"][0]
    assert top["components"]["country"] == 1.0 and "same country (PT)" in top["reasons"]
    assert abs(sum(top["contributions"].values()) - top["score"]) < 1e-3
    via_org = client.get("/api/v1/peer-cities/org_lisbon").json()  # the local government in Lisbon
    assert via_org["city"]["id"] == "org_lisbon" and via_org["results"][0]["id"] == "plc_porto"
    no_country = client.get("/api/v1/peer-cities/plc_lisbon", params={"w_country": 0, "w_region": 0}).json()
    assert no_country["weights"]["country"] == 0 and no_country["results"][0]["contributions"]["country"] == 0


@pytest.mark.parametrize("path,params,status,field", [
    ("/api/v1/peer-cities/nope", {}, 404, None),
    ("/api/v1/peer-cities/doc_heat", {}, 422, "city_id"),
    ("/api/v1/peer-cities/org_private", {}, 404, None),  # anonymous may not see it
    ("/api/v1/peer-cities/plc_lisbon", {"w_profile": -1}, 422, "w_profile"),
    ("/api/v1/peer-cities/plc_lisbon", {"limit": 0}, 422, "limit"),
    ("/api/v1/peer-cities/plc_lisbon", {f"w_{c}": 0 for c in ("population", "country", "region", "climate",
                                                              "profile", "partners", "networks")}, 422, "weights"),
])
def test_peer_cities_bad_input(client, path, params, status, field):
    assert_error(client.get(path, params=params), status, "not_found" if status == 404 else "invalid", field)


def test_partners_explained(client):
    resp = client.post("/api/v1/partners", json={"current_partners": ["org_lisbon"],
                                                 "constraints": {"max_results": 5}})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    got = {r["id"]: r for r in results}
    assert "org_porto_uni" in got and "org_lisbon" not in got
    porto = got["org_porto_uni"]
    assert "partnered with Lisbon City Council" in porto["explanation"] and porto["reasons"]
    assert abs(sum(porto["contributions"].values()) - porto["score"]) < 1e-3
    assert "org_private" not in got  # anonymous
    pt_only = client.post("/api/v1/partners", json={"current_partners": ["org_lisbon"],
                                                   "constraints": {"countries": ["KE"]}}).json()["results"]
    assert {r["country"] for r in pt_only} <= {"KE"}


@pytest.mark.parametrize("body,status,field", [
    ({}, 422, "text"),
    ({"text": "   "}, 422, "text"),
    ({"current_partners": ["nope"]}, 404, None),
    ({"current_partners": ["doc_heat"]}, 422, "current_partners"),
    ({"current_partners": ["org_private"]}, 404, None),
    ({"text": "heat", "constraints": {"org_types": ["spaceship"]}}, 422, "org_types"),
    ({"text": "heat", "constraints": {"countries": ["Portugal"]}}, 422, "countries"),
    ({"text": "heat", "constraints": {"max_results": 500}}, 422, "constraints.max_results"),
    ({"text": "heat", "constraints": {"colour": "red"}}, 422, "constraints.colour"),
    ({"text": "heat", "weights": {"luck": 1}}, 422, "weights"),
    ({"text": "x" * 20_001}, 422, "text"),
    ({"text": "heat", "surprise": True}, 422, "surprise"),
])
def test_partners_bad_input(client, body, status, field):
    assert_error(client.post("/api/v1/partners", json=body), status, "not_found" if status == 404 else "invalid",
                 field)


def test_partners_not_json(client):
    resp = client.post("/api/v1/partners", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(resp, 422, "invalid")


def test_openapi_documents_the_new_routes(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/search", "/api/v1/entities/{entity_id}/similar", "/api/v1/peer-cities/{city_id}",
                 "/api/v1/partners"):
        assert path in paths, path
    params = {p["name"] for p in paths["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "kind", "subtype", "sdg", "pathway", "country", "region", "language", "year_from", "year_to",
            "page", "per_page", "mode"} <= params
    comps = schema["components"]["schemas"]
    assert comps["SearchOut"]["examples"] and comps["PartnersIn"]["examples"]


def test_link_returns_explained_sections(client):
    resp = client.get("/api/v1/link", params={"text": "urban heat island, street trees and green roofs",
                                               "place": "plc_lisbon"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body["sections"]) == {"evidence", "practice", "experts", "organisations", "peer_cities",
                                     "opportunities", "projects"}
    evidence = {i["id"]: i for i in body["sections"]["evidence"]}
    assert "doc_heat" in evidence
    item = evidence["doc_heat"]
    assert item["explanation"] and item["components"] and item["score"] > 0
    assert any(lab["label"] == "sdg:11" for lab in body["challenge"]["labels"])
    only = client.get("/api/v1/link", params={"text": "urban heat", "want": ["evidence", "projects"]}).json()
    assert set(only["sections"]) == {"evidence", "projects"}


def test_link_bad_input_and_visibility(client):
    assert_error(client.get("/api/v1/link"), 422, "invalid", "text")
    assert_error(client.get("/api/v1/link", params={"text": "heat", "want": "gossip"}), 422, "invalid", "want")
    assert_error(client.get("/api/v1/link", params={"entity": "org_nope"}), 404, "not_found")
    assert_error(client.get("/api/v1/link", params={"text": "heat", "limit": 500}), 422, "invalid", "limit")
    anon = client.get("/api/v1/link", params={"text": "internal heat pilot", "want": ["projects"]}).json()
    assert "prj_secret" not in {i["id"] for items in anon["sections"].values() for i in items}
    assert_error(client.get("/api/v1/link", params={"entity": "prj_secret"}), 404, "not_found")
