"""Visibility: anonymous, member, owner (group) and curator callers each see exactly what they may;
hidden records answer 404 (never 403) on every route."""

from __future__ import annotations

import json

import pytest

from api.conftest import auth
from api.seed import CURATOR_TOKEN, MEMBER_TOKEN, OWNER_TOKEN, WRITER_TOKEN

CALLERS = {"anonymous": {}, "member": auth(MEMBER_TOKEN), "owner": auth(OWNER_TOKEN), "curator": auth(CURATOR_TOKEN)}
#: record id -> callers who may see it
EXPECTED = {
    "org_lisbon": {"anonymous", "member", "owner", "curator"},
    "org_network": {"member", "owner", "curator"},
    "org_private": {"owner", "curator"},
    "prj_secret": {"owner", "curator"},
}


@pytest.mark.parametrize("who", CALLERS)
def test_get_and_list(client, who):
    headers = CALLERS[who]
    listed = {r["id"] for r in client.get("/api/v1/entities", params={"kind": "organization", "limit": 200},
                                          headers=headers).json()["items"]}
    listed |= {r["id"] for r in client.get("/api/v1/entities", params={"kind": "project"}, headers=headers
                                           ).json()["items"]}
    for rid, allowed in EXPECTED.items():
        resp = client.get(f"/api/v1/entities/{rid}", headers=headers)
        if who in allowed:
            assert resp.status_code == 200 and rid in listed
        else:
            assert resp.status_code == 404 and resp.json()["code"] == "not_found" and rid not in listed
            assert client.get(f"/api/v1/entities/{rid}/relations", headers=headers).status_code == 404
            assert client.get(f"/api/v1/entities/{rid}/network", headers=headers).status_code == 404


@pytest.mark.parametrize("who", CALLERS)
def test_relations_network_stats_export_and_map_hide_what_is_hidden(client, who):
    headers = CALLERS[who]
    hidden = {rid for rid, allowed in EXPECTED.items() if who not in allowed}
    rels = client.get("/api/v1/entities/org_lisbon/relations", headers=headers).json()
    assert not hidden & {r["other_id"] for r in rels}
    partners = client.get("/api/v1/entities/prj_cool/relations", headers=headers).json()
    assert ("org_private" in {r["other_id"] for r in partners}) == ("org_private" not in hidden)
    net = client.get("/api/v1/entities/org_lisbon/network", headers=headers).json()
    assert not hidden & {n["id"] for n in net["nodes"]}
    stats = client.get("/api/v1/stats", headers=headers).json()
    assert stats["by_kind"]["organization"] == 5 - len(hidden & {"org_network", "org_private"})
    exported = [json.loads(line) for line in client.get("/api/v1/export", headers=headers).text.splitlines()]
    ids = {b["id"] for b in exported if b["kind"] != "relation"}
    assert not hidden & ids and "org_lisbon" in ids
    for rel in (b for b in exported if b["kind"] == "relation"):
        assert not hidden & {rel["source"], rel["target"]}
    points = client.get("/api/v1/map", headers=headers).json()
    assert not hidden & {p["id"] for layer in ("cities", "organizations", "projects") for p in points[layer]}


def test_writer_cannot_touch_what_they_cannot_see(fresh):
    h = auth(WRITER_TOKEN)  # member with write rights, not in lisbon-lab
    assert fresh.put("/api/v1/entities/org_private", headers=h, json={"kind": "organization", "name": "x"}
                     ).status_code == 404
    assert fresh.delete("/api/v1/entities/prj_secret", headers=h).status_code == 404
    resp = fresh.post("/api/v1/relations", headers=h, json={"type": "partner_in", "source": "org_porto_uni",
                                                           "target": "prj_secret"})
    assert resp.status_code == 404 and resp.json()["field"] is None
    assert fresh.post("/api/v1/entities", headers=h, json={"kind": "project", "id": "prj_secret", "name": "x"}
                      ).status_code == 409  # the id exists: a conflict, whoever owns it
    assert fresh.get("/api/v1/entities/prj_secret", headers=auth(OWNER_TOKEN)).json()["record"]["name"] == \
        "Secret Heat Pilot"


def test_unknown_token_on_read_is_401(client):
    resp = client.get("/api/v1/entities", headers=auth("nobody-knows-this"))
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
