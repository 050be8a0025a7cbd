"""Stats, streamed export, import uploads (reports, malformed files, size limit), taxonomy and tagging."""

from __future__ import annotations

import csv
import io
import json

from api.conftest import auth
from api.seed import CURATOR_TOKEN, WRITER_TOKEN
from api.test_entities import assert_error


def test_stats(client):
    body = client.get("/api/v1/stats").json()
    assert body["by_kind"]["theme"] == 191 and body["by_relation"]["partner_in"] == 3
    assert body["records"] == sum(body["by_kind"].values())


def test_export_formats(client):
    resp = client.get("/api/v1/export", params={"format": "jsonl", "kind": "organization"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in resp.headers["content-disposition"]
    assert {json.loads(line)["id"] for line in resp.text.splitlines()} == {"org_lisbon", "org_porto_uni",
                                                                           "org_nairobi_ngo"}
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/export", params={"format": "csv",
                                                                                 "kind": "project"}).text)))
    assert [r["name"] for r in rows] == ["Cool Streets"]
    doc = client.get("/api/v1/export", params={"format": "jsonld", "kind": "relation"}).json()
    assert "@context" in doc and len(doc["@graph"]) >= 10
    assert_error(client.get("/api/v1/export", params={"format": "xml"}), 422, "invalid", "format")
    assert_error(client.get("/api/v1/export", params={"kind": "spaceship"}), 422, "invalid", "kind")


def test_export_streams_a_big_store_in_chunks(fresh):
    from citybridge.model import Organization

    hub = fresh.app.state.hub
    hub.upsert([Organization(name=f"Org {i:05d}", country="PT") for i in range(3000)])
    with fresh.stream("GET", "/api/v1/export", params={"kind": "organization"}) as resp:
        chunks = list(resp.iter_bytes())
    assert sum(c.count(b"\n") for c in chunks) == 3003
    assert len(chunks) > 3  # not one big body


def _upload(client, name: str, content: bytes, token: str = CURATOR_TOKEN, **data: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/import", headers=auth(token), files={"file": (name, content)}, data=data)


def test_import_csv_reports_created_and_rejected(fresh):
    content = (b"name,org_type,country\nPorto Energy Agency,ngo,PT\nBad Country Org,ngo,Atlantis\n"
               b"Braga Council,local_government,PT\n")
    resp = _upload(fresh, "orgs.csv", content, kind="organization")
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["field"] == "country" and "orgs.csv" in report["rejections"][0]["where"]
    again = _upload(fresh, "orgs.csv", content, kind="organization").json()
    assert (again["created"], again["unchanged"]) == (0, 2)


def test_import_says_what_it_inferred(fresh):
    content = "Liste des membres\n\ntitre;pays;site web\nVille de Lyon;France;https://www.lyon.fr\n".encode("cp1252")
    report = _upload(fresh, "membres.csv", content, kind="organization").json()
    assert report["created"] == 1
    inferred = report["inferred"][0]
    assert {c["column"]: c["target"] for c in inferred["columns"]} == {"titre": "name", "pays": "country",
                                                                      "site web": "website"}
    assert any("header found on row 3" in n for n in inferred["notes"])


def test_import_jsonl_and_malformed_files(fresh):
    good = json.dumps({"kind": "person", "name": "Rita Lopes", "country": "PT"}).encode() + b"\n{broken\n"
    report = _upload(fresh, "people.jsonl", good).json()
    assert report["created"] == 1 and report["rejected"] == 1
    assert _upload(fresh, "bad.json", b"{this is not json").status_code in (200, 422)
    assert_error(_upload(fresh, "notes.pdf", b"%PDF-1.4"), 422, "invalid", "file")
    assert_error(_upload(fresh, "empty.csv", b""), 422, "invalid", "file")
    resp = _upload(fresh, "binary.csv", bytes(range(256)) * 10)
    assert resp.status_code in (200, 422) and resp.status_code != 500
    assert_error(fresh.post("/api/v1/import", headers=auth(CURATOR_TOKEN), data={"kind": "organization"}), 422,
                 "invalid", "file")
    assert_error(_upload(fresh, "orgs.csv", b"name\nx\n", kind="spaceship"), 422, "invalid", "kind")


def test_import_needs_a_curator(fresh):
    assert_error(fresh.post("/api/v1/import", files={"file": ("a.csv", b"name\nx\n")}), 401, "unauthorized")
    assert_error(_upload(fresh, "a.csv", b"name\nx\n", token=WRITER_TOKEN), 403, "forbidden")


def test_oversized_upload_is_413(fresh):
    big = b"name,kind\n" + b"x" * (80 * 1024) + b",organization\n"  # limit in the fixture: 64 KiB
    body = assert_error(_upload(fresh, "big.csv", big), 413, "too_large", "file")
    assert "65,536" in body["message"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
        yield boundary
        for _ in range(20):
            yield b"y" * 8192
        yield b"\r\n--xyz--\r\n"

    resp = fresh.post("/api/v1/import", headers={**auth(CURATOR_TOKEN),
                                                 "Content-Type": "multipart/form-data; boundary=xyz"},
                      content=chunks())
    assert_error(resp, 413, "too_large")


def test_taxonomy(client):
    goals = client.get("/api/v1/taxonomy", params={"scheme": "sdg", "level": "goal"}).json()
    assert [g["code"] for g in goals] == [str(i) for i in range(1, 18)]
    assert goals[10]["name"].startswith("SDG 11")
    pathways = client.get("/api/v1/taxonomy", params={"scheme": "pathway"}).json()
    assert len(pathways) == 5
    assert client.get("/api/v1/taxonomy", params={"scheme": "nope"}).json() == []


def test_tag_returns_labels_with_evidence(client):
    resp = client.post("/api/v1/tag", json={"texts": ["Green roofs and street trees to cool neighbourhoods "
                                                      "during heatwaves"]})
    assert resp.status_code == 200, resp.text
    labels = {f"{lab['scheme']}:{lab['code']}": lab for lab in resp.json()[0]["labels"]}
    assert "pathway:nature-based" in labels
    ev = labels["pathway:nature-based"]["evidence"][0]
    assert ev["text"] == "Green roofs" and (ev["start"], ev["end"]) == (0, 11)
    assert labels["pathway:nature-based"]["name"] == "Nature-based development"
    assert_error(client.post("/api/v1/tag", json={"texts": []}), 422, "invalid", "texts")
    assert_error(client.post("/api/v1/tag", json={"texts": ["x" * 100_001]}), 422, "invalid", "texts.0")
    assert_error(client.post("/api/v1/tag", json={"text": "x"}), 422, "invalid")


def test_map_layers_and_filters(client):
    body = client.get("/api/v1/map").json()
    assert {c["id"] for c in body["cities"]} == {"plc_lisbon", "plc_porto", "plc_nairobi"}
    assert {o["id"] for o in body["organizations"]} == {"org_lisbon", "org_porto_uni", "org_nairobi_ngo"}
    cool = next(p for p in body["projects"] if p["id"] == "prj_cool")
    assert (cool["lat"], cool["partners"], cool["countries"]) == (38.7223, 3, ["KE", "PT"])  # at the coordinator
    sdg13 = client.get("/api/v1/map", params={"sdg": "13", "layer": ["project", "organization"]}).json()
    assert [p["id"] for p in sdg13["projects"]] == ["prj_cool"] and sdg13["cities"] == []
    assert len(sdg13["organizations"]) == 3  # partners of a tagged project
    assert client.get("/api/v1/map", params={"sdg": "1"}).json()["projects"] == []
    nature = client.get("/api/v1/map", params={"pathway": "nature-based", "layer": "city"}).json()
    assert [c["id"] for c in nature["cities"]] == ["plc_lisbon"]  # the tagged document is about Lisbon
    both = client.get("/api/v1/map", params={"sdg": "11", "pathway": "nature-based"}).json()
    assert [c["id"] for c in both["cities"]] == ["plc_lisbon"] and both["projects"] == []  # prj_cool: no pathway
    assert_error(client.get("/api/v1/map", params={"layer": "river"}), 422, "invalid", "layer")
    assert_error(client.get("/api/v1/map", params={"sdg": "eleven"}), 422, "invalid", "sdg")
