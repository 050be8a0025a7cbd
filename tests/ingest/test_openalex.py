from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from citybridge.errors import Invalid, Unavailable
from citybridge.ingest import ExactIdResolver, Importer, RorSource
from citybridge.ingest.openalex import OpenAlexSnapshotSource, abstract_text
from citybridge.ingest.openalex_api import OpenAlexApiSource, OpenAlexClient
from citybridge.model.entities import DocumentType

from .conftest import DATA, need

OA = DATA / "openalex"
FIX = Path(__file__).parent / "fixtures"


def _work() -> dict:
    return json.loads(need(OA / "W2741809807.json").read_text())


def _variant(w: dict, n: int, refs: list[str]) -> dict:
    v = copy.deepcopy(w)
    v["id"] = f"https://openalex.org/W9{n:09d}"
    v["doi"] = f"https://doi.org/10.9999/test.{n}"
    v["ids"] = {"openalex": v["id"], "doi": v["doi"]}
    v["title"] = v["display_name"] = f"{w['title']} (variant {n})"
    v["referenced_works"] = refs
    return v


def _run(store, source):
    return Importer(store, resolver=ExactIdResolver()).run(source)


def test_abstract_reconstruction():
    text = abstract_text(_work()["abstract_inverted_index"])
    assert text.startswith("Despite growing interest in Open Access (OA) to scholarly literature")
    assert abstract_text(None) is None and abstract_text({}) is None


def test_work_document_people_and_affiliations(store):
    report = _run(store, OpenAlexSnapshotSource(OA / "W2741809807.json"))
    assert report.rejected == 0
    doc = store.find_by_external("doi", "10.7717/peerj.4375")
    assert doc.doc_type == DocumentType.paper and doc.year == 2018 and doc.venue == "PeerJ"
    assert doc.external_ids["openalex"] == "W2741809807"
    assert doc.authors[0] == "Heather Piwowar" and len(doc.authors) == 9
    assert doc.attributes["openalex_topics"][0]["name"] == "scientometrics and bibliometrics research"
    assert "Open Science" in doc.attributes["keywords"]
    heather = store.find_by_external("orcid", "0000-0003-1613-5981")
    rels = {(r.type.value, r.target) for r in store.relations_of(heather.id, direction="out")}
    inst = store.find_by_external("ror", "05ppvf150")
    assert ("authored", doc.id) in rels and ("affiliated_with", inst.id) in rels
    # all 45 referenced works are absent: counted, not 45 rejection lines
    assert report.unresolved == 45 and len(report.unresolved_examples) == 5


def test_cites_when_present_in_any_order_and_jsonl_gz(store, tmp_path):
    w = _work()
    a, b, c = (_variant(w, i, []) for i in (1, 2, 3))
    a["referenced_works"] = [b["id"], c["id"], "https://openalex.org/W1"]  # b, c come later in the file
    b["referenced_works"] = [c["id"]]
    path = tmp_path / "works.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for obj in (a, b, c):
            fh.write(json.dumps(obj) + "\n")
        fh.write("{not json\n")
    report = _run(store, OpenAlexSnapshotSource(path))
    assert report.rejected == 1 and "malformed JSON" in report.rejections[0]["reason"]
    assert report.unresolved == 1
    doc_a = store.find_by_external("openalex", a["id"])
    cited = {r.target for r in store.relations_of(doc_a.id, rel_type="cites", direction="out")}
    assert cited == {store.find_by_external("openalex", x["id"]).id for x in (b, c)}
    # the same authors on three works are one person each
    assert store.stats()["by_kind"]["person"] == 9


def test_institution_from_ror_and_openalex_is_one_record(store):
    _run(store, RorSource(FIX / "ror" / "ror-sample.json"))
    before = store.find_by_external("ror", "00jmfr291")
    report = _run(store, OpenAlexSnapshotSource(OA / "I27837315.json"))
    assert report.rejected == 0
    after = store.find_by_external("openalex", "I27837315")
    assert after.id == before.id
    assert {p.source for p in after.provenance} == {"ror", "openalex"}
    assert after.external_ids["ror"] == "00jmfr291" and after.external_ids["grid"] == "grid.214458.e"
    # a stub institution named on an author ("OurResearch") keeps the ROR record's fields ("OpenAlex")
    _run(store, OpenAlexSnapshotSource(OA / "A5023888391.json"))
    ours = store.find_by_external("ror", "02nr0ka47")
    assert ours.name == "OpenAlex" and {p.source for p in ours.provenance} == {"ror", "openalex"}
    nih = store.find_by_external("ror", "01cwqze88")
    _run(store, OpenAlexSnapshotSource(OA / "F4320332161.json"))
    assert store.find_by_external("openalex", "F4320332161").id == nih.id
    assert store.stats()["by_kind"]["organization"] == 3


def test_other_entities(store):
    for name in ("T11636.json", "P4310319965.json", "A-api-response.json", "S137773608.json"):
        _run(store, OpenAlexSnapshotSource(OA / name))
    topic = store.find_by_external("openalex", "T11636")
    assert topic.kind.value == "theme" and topic.attributes["field"] == "Medicine"
    assert store.find_by_external("openalex", "P4310319965").tags == ["publisher"]


# ---------------------------------------------------------------- API against a local server
def _pages(works: list[dict], per_page: int) -> dict[str, dict]:
    pages = {}
    for i in range(0, len(works), per_page):
        cursor = "*" if i == 0 else f"c{i}"
        nxt = f"c{i + per_page}" if i + per_page < len(works) else None
        pages[cursor] = {"meta": {"count": len(works), "next_cursor": nxt}, "results": works[i:i + per_page]}
    return pages


def _serve(server, works, per_page, failures=()):
    pages = _pages(works, per_page)
    plan = list(failures)

    def route(h):
        if plan:
            status = plan.pop(0)
            return status, {"Retry-After": "0"} if status == 429 else {}, b"busy"
        page = pages[h.query.get("cursor", ["*"])[0]]
        return 200, {"Content-Type": "application/json"}, json.dumps(page).encode()

    server.routes["/works"] = route


def test_api_cursor_paging_with_429_and_500(store, http_server):
    w = _work()
    works = [_variant(w, i, []) for i in range(7)]
    _serve(http_server, works, 3, failures=[429, 500])
    sleeps: list[float] = []
    client = OpenAlexClient(http_server.url, mailto="test@example.org", per_page=3, sleep=sleeps.append)
    source = OpenAlexApiSource("works", search="urban heat island", client=client)
    report = _run(store, source)
    assert report.rejected == 0
    assert store.stats()["by_kind"]["document"] == 7
    assert len(sleeps) == 2  # one wait after the 429, one backoff after the 500
    q = http_server.log[-1][1]
    assert q["search"] == ["urban heat island"] and q["mailto"] == ["test@example.org"]
    assert [c for _p, q, _h in http_server.log for c in q["cursor"]][-3:] == ["*", "c3", "c6"]


def test_api_limit_and_errors(http_server):
    works = [_variant(_work(), i, []) for i in range(10)]
    _serve(http_server, works, 4)
    client = OpenAlexClient(http_server.url, per_page=4, sleep=lambda s: None)
    assert len(list(client.iter("works", limit=5))) == 5
    assert sum(1 for p, *_ in http_server.log if p == "/works") == 2
    with pytest.raises(Invalid):
        list(client.iter("concepts"))
    http_server.routes["/works"] = lambda h: (500, {}, b"down")
    with pytest.raises(Unavailable, match="HTTP 500"):
        list(OpenAlexClient(http_server.url, retries=2, sleep=lambda s: None).iter("works"))
    http_server.routes["/works"] = lambda h: (403, {}, b"no")
    with pytest.raises(Invalid, match="403"):
        list(OpenAlexClient(http_server.url, sleep=lambda s: None).iter("works"))
    http_server.routes["/works"] = lambda h: (200, {}, b"<html>")
    with pytest.raises(Invalid, match="not JSON"):
        list(OpenAlexClient(http_server.url, sleep=lambda s: None).iter("works"))
