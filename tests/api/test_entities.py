"""Entities and relations over HTTP: list/get/create/update/delete, pagination, filters, bad input."""

from __future__ import annotations

from api.conftest import auth
from api.seed import CURATOR_TOKEN, MEMBER_TOKEN, WRITER_TOKEN

ERROR_KEYS = {"status", "code", "message", "field"}


def assert_error(resp, status: int, code: str, field: str | None = "any") -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status and body["code"] == code and body["message"]
    if field != "any":
        assert body["field"] == field
    return body


def test_list_paginates_by_cursor(client):
    seen, after = [], None
    for _ in range(20):
        resp = client.get("/api/v1/entities", params={"limit": 3, **({"after": after} if after else {})})
        assert resp.status_code == 200
        page = resp.json()
        seen += [r["id"] for r in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert "org_lisbon" in seen and "org_private" not in seen


def test_list_filters(client):
    orgs = client.get("/api/v1/entities", params={"kind": "organization", "country": "ke"}).json()["items"]
    assert [o["id"] for o in orgs] == ["org_nairobi_ngo"]
    unis = client.get("/api/v1/entities", params={"kind": "organization", "subtype": "university"}).json()
    assert [o["id"] for o in unis["items"]] == ["org_porto_uni"] and unis["next"] is None


def test_list_bad_filters_name_the_field(client):
    assert_error(client.get("/api/v1/entities", params={"kind": "city"}), 422, "invalid", "kind")
    assert_error(client.get("/api/v1/entities", params={"country": "PRT"}), 422, "invalid", "country")
    assert_error(client.get("/api/v1/entities", params={"limit": 0}), 422, "invalid", "limit")
    assert_error(client.get("/api/v1/entities", params={"limit": "ten"}), 422, "invalid", "limit")
    assert_error(client.get("/api/v1/entities", params={"kind": "project", "subtype": "university"}), 422,
                 "invalid", "subtype")


def test_get_entity_with_everything(client):
    body = client.get("/api/v1/entities/doc_heat").json()
    assert body["record"]["kind"] == "document" and body["record"]["name"].startswith("Heat action plan")
    rels = {(r["type"], r["other_id"]) for r in body["relations"]}
    assert ("authored", "per_ana") in rels and ("about", "plc_lisbon") in rels
    tags = {t["label"]: t for t in body["annotations"]["tags"]}
    assert tags["sdg:11"]["name"].startswith("SDG 11") and tags["sdg:11"]["evidence"][0]["text"] == "urban heat island"
    assert body["annotations"]["places"][0]["name"] == "Lisbon"
    assert body["provenance"] == [{"source": "tests:seed", "record_id": "1", "licence": "CC0"}]
    lisbon = client.get("/api/v1/entities/org_lisbon").json()
    assert lisbon["version"] == 2 and lisbon["history"][0]["changed_by"] == "tests:edit"


def test_get_by_external_id_and_unknown_ids(client):
    assert client.get("/api/v1/entities/wikidata:Q1000").json()["record"]["id"] == "org_lisbon"
    assert_error(client.get("/api/v1/entities/org_nope"), 404, "not_found")
    assert_error(client.get("/api/v1/entities/ror:0000000"), 404, "not_found")
    assert_error(client.get("/api/v1/entities/bad%20id%21"), 422, "invalid", "entity_id")
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_relations_and_network(client):
    rels = client.get("/api/v1/entities/prj_cool/relations", params={"type": "partner_in"}).json()
    assert {r["other_id"] for r in rels} == {"org_lisbon", "org_porto_uni", "org_nairobi_ngo"}
    assert {r["role"] for r in rels} == {"coordinator", "partner"}
    assert_error(client.get("/api/v1/entities/prj_cool/relations", params={"type": "likes"}), 422, "invalid", "type")
    net = client.get("/api/v1/entities/org_porto_uni/network").json()
    assert {c["id"] for c in net["collaborators"]} == {"org_lisbon", "org_nairobi_ngo"}
    ids = {n["id"] for n in net["nodes"]}
    assert "prj_cool" in ids and "per_ana" in ids and "org_private" not in ids
    coauthors = client.get("/api/v1/entities/per_ana/network").json()["collaborators"]
    assert [c["id"] for c in coauthors] == ["per_ben"]
    assert_error(client.get("/api/v1/entities/org_lisbon/network", params={"depth": 9}), 422, "invalid", "depth")


def test_writes_need_a_token(client):
    body = {"kind": "organization", "name": "Nope"}
    assert_error(client.post("/api/v1/entities", json=body), 401, "unauthorized", "authorization")
    assert_error(client.post("/api/v1/entities", json=body, headers=auth("wrong-token")), 401, "unauthorized")
    assert_error(client.post("/api/v1/entities", json=body, headers=auth(MEMBER_TOKEN)), 403, "forbidden")
    assert_error(client.delete("/api/v1/entities/org_lisbon"), 401, "unauthorized")


def test_create_update_delete(fresh):
    h = auth(WRITER_TOKEN)
    resp = fresh.post("/api/v1/entities", headers=h, json={"kind": "organization", "name": "Porto Energy Agency",
                                                         "org_type": "ngo", "country": "pt"})
    assert resp.status_code == 201, resp.text
    rid = resp.json()["id"]
    assert resp.json()["status"] == "created"
    got = fresh.get(f"/api/v1/entities/{rid}").json()["record"]
    assert got["country"] == "PT"
    resp = fresh.put(f"/api/v1/entities/{rid}", headers=h, json={"kind": "organization", "name": "Porto Energy Agency",
                                                                "acronym": "AdEPorto"})
    assert resp.json() == {"status": "updated", "id": rid}
    assert fresh.get(f"/api/v1/entities/{rid}").json()["version"] == 2
    rel = fresh.post("/api/v1/relations", headers=h, json={"type": "partner_in", "source": rid, "target": "prj_cool",
                                                           "role": "partner"})
    assert rel.status_code == 201, rel.text
    assert any(r["other_id"] == rid for r in fresh.get("/api/v1/entities/prj_cool/relations").json())
    assert fresh.delete(f"/api/v1/relations/{rel.json()['id']}", headers=h).status_code == 204
    assert_error(fresh.delete(f"/api/v1/relations/{rel.json()['id']}", headers=h), 404, "not_found")
    assert fresh.delete(f"/api/v1/entities/{rid}", headers=h).status_code == 204
    assert_error(fresh.get(f"/api/v1/entities/{rid}"), 404, "not_found")


def test_bad_bodies_are_422_naming_the_field(fresh):
    h = auth(CURATOR_TOKEN)
    assert_error(fresh.post("/api/v1/entities", headers=h, json={"name": "x"}), 422, "invalid", "kind")
    assert_error(fresh.post("/api/v1/entities", headers=h, json={"kind": "spaceship", "name": "x"}), 422, "invalid",
                 "kind")
    assert_error(fresh.post("/api/v1/entities", headers=h, json={"kind": "organization", "name": "x",
                                                                 "country": "Portugal"}), 422, "invalid", "country")
    assert_error(fresh.post("/api/v1/entities", headers=h, json={"kind": "organization", "name": "x", "lat": 123}),
                 422, "invalid", "lat")
    assert_error(fresh.post("/api/v1/entities", headers=h, json=[1, 2]), 422, "invalid", "kind")
    assert_error(fresh.post("/api/v1/entities", headers=h, content=b"{not json",
                            ), 422, "invalid")
    assert_error(fresh.post("/api/v1/entities", headers=h, json={"kind": "organization", "id": "org_lisbon",
                                                                 "name": "dup"}), 409, "conflict", "id")
    assert_error(fresh.put("/api/v1/entities/org_lisbon", headers=h, json={"kind": "project", "name": "x"}), 422,
                 "invalid", "kind")
    assert_error(fresh.post("/api/v1/relations", headers=h, json={"type": "authored", "source": "org_lisbon",
                                                                  "target": "prj_cool"}), 422, "invalid", "type")
    assert_error(fresh.post("/api/v1/relations", headers=h, json={"type": "partner_in", "source": "org_lisbon",
                                                                  "target": "prj_nope"}), 404, "not_found")
    assert_error(fresh.post("/api/v1/relations", headers=h, json={"type": "befriends", "source": "a", "target": "b"}),
                 422, "invalid", "type")


def test_dev_mode_allows_local_writes_only_and_says_so(tmp_path):
    from starlette.testclient import TestClient

    from api.conftest import make_hub
    from citybridge.api import create_app

    hub = make_hub(tmp_path)  # development, no tokens
    app = create_app(hub, web=False)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 5000)) as local:
        resp = local.post("/api/v1/entities", json={"kind": "person", "name": "Local Dev"})
        assert resp.status_code == 201
        assert "localhost" in resp.headers["X-Citybridge-Dev-Write"]
    with TestClient(app, raise_server_exceptions=False, client=("192.168.1.20", 5000)) as remote:
        assert_error(remote.post("/api/v1/entities", json={"kind": "person", "name": "Remote"}), 401, "unauthorized")
    hub.close()


def test_a_database_failure_is_a_one_line_503(fresh):
    # a real refusal by the database, as a full disk or a broken constraint would be
    with fresh.app.state.hub.store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER cb_fault BEFORE INSERT ON records WHEN NEW.name = 'Boom' "
                             "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END")
    resp = fresh.post("/api/v1/entities", json={"kind": "organization", "name": "Boom"}, headers=auth(CURATOR_TOKEN))
    body = assert_error(resp, 503, "database")
    assert body["message"] == "database error (table records); see the server log"
    assert fresh.get("/api/v1/entities", params={"kind": "organization"}).status_code == 200


def test_entity_with_language_evidence_without_a_passage(fresh):
    """Language detection's evidence is a share of a field, with no passage text: the entity still serves
    (it answered 500 on the demo pack, found by bench_web.py's edit writer)."""
    import json

    from citybridge.store.enrichment import EnrichmentStore

    hub = fresh.app.state.hub
    row = {"label": "lang:en", "target_id": None, "score": 0.99,
           "evidence": json.dumps([{"field": "description", "share": 1.0, "confidence": 0.99}])}
    with hub.store.engine.begin() as conn:
        EnrichmentStore(hub.store).replace_annotations(conn, "language", {"doc_heat": [row]})
    resp = fresh.get("/api/v1/entities/doc_heat")
    assert resp.status_code == 200, resp.text
    assert resp.json()["annotations"]["languages"][0]["evidence"][0]["field"] == "description"
