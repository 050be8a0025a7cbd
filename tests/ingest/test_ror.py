from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybridge.errors import NotFound
from citybridge.ingest import ExactIdResolver, Importer, RorSource, registry
from citybridge.ingest.jsonstream import iter_json_array
from citybridge.model.entities import OrganizationType

from .conftest import DATA, first_records, need, write_json_gz

V2 = DATA / "ror" / "ror-v2-records.json.gz"
V1 = DATA / "ror" / "ror-v1-records.json.gz"


def _import(store, path):
    return Importer(store, resolver=ExactIdResolver()).run(RorSource(path))


def test_v2_records_map_to_organisations(store, tmp_path):
    recs = first_records(need(V2), 300)
    report = _import(store, write_json_gz(tmp_path / "ror-v2.json.gz", recs))
    assert report.rejected == 0
    tsri = store.find_by_external("ror", "https://ror.org/000025p04")
    assert tsri.name == "Thailand Science Research and Innovation"
    assert tsri.acronym == "TSRI"
    assert tsri.org_type == OrganizationType.funder
    assert "government" in tsri.tags
    assert tsri.labels["th"].startswith("สำนักงาน")
    assert (tsri.city, tsri.region, tsri.country) == ("Bangkok", "Bangkok", "TH")
    assert tsri.lat == pytest.approx(13.75398)
    assert tsri.external_ids["fundref"] == "501100017170"
    assert tsri.attributes["geonames_id"] == 1609350
    assert tsri.website == "https://www.tsri.or.th"
    assert tsri.established == 2019 and tsri.status == "active"
    prov = tsri.provenance[0]
    assert (prov.source, prov.record_id, prov.licence) == ("ror", "000025p04", "CC0-1.0")
    # the predecessor is not among the first 300 records: counted compactly, not rejected
    assert report.unresolved > 0 and len(report.unresolved_examples) <= 5
    assert any("links skipped" in line for line in report.lines())


def test_v1_record_and_relationships(store, tmp_path):
    recs = [r for r in first_records(need(V1), 2000) if "name" in r]
    with_rel = next(r for r in recs if any(x["type"] == "Parent" for x in r["relationships"]))
    parent_id = next(x["id"] for x in with_rel["relationships"] if x["type"] == "Parent")
    parent = {"id": parent_id, "name": "Parent Org", "types": ["Education"], "relationships": [
        {"type": "Child", "id": with_rel["id"], "label": with_rel["name"]}]}
    others = [r for r in recs[:50] if r is not with_rel]
    report = _import(store, write_json_gz(tmp_path / "ror-v1.json.gz", [with_rel, parent, *others]))
    assert report.rejected == 0, report.rejections
    child = store.find_by_external("ror", with_rel["id"])
    assert child.name == with_rel["name"]
    par = store.find_by_external("ror", parent_id)
    assert par.org_type == OrganizationType.university
    rels = {(r.type.value, r.role, r.source, r.target) for r in store.relations_of(child.id)}
    assert ("member_of", "parent", child.id, par.id) in rels
    assert ("related_to", "parent", child.id, par.id) in rels
    assert ("related_to", "child", par.id, child.id) in rels


def test_v1_fields():
    from citybridge.ingest.ror import record_to_items

    rec = next(r for r in first_records(need(V1), 50) if r.get("id", "").endswith("000050t83"))
    org = record_to_items(rec, "x")[0].record
    assert org.name == "Electronic Navigation Research Institute"
    assert org.org_type == OrganizationType.research_institute
    assert org.acronym == "ENRI" and org.labels == {"ja": "電子航法研究所"}
    assert org.external_ids["isni"] == "0000000417586597"
    assert org.external_ids["grid"] == "grid.471421.5"
    assert (org.city, org.region, org.country) == ("Tokyo", "Tokyo", "JP")


def test_missing_fields_and_bad_values_are_rejected_not_fatal(store, tmp_path):
    recs = [
        {"id": "https://ror.org/0aaaaaa01", "names": [], "types": []},  # no name
        {"names": [{"value": "No id", "types": ["ror_display"]}]},  # no id
        "not an object",
        {"id": "https://ror.org/0aaaaaa02", "name": "Bad country", "country": {"country_code": "XYZ"}},
        {"id": "https://ror.org/0aaaaaa03", "name": "Minimal v1"},  # nothing else: fine
        {"id": "https://ror.org/0aaaaaa04", "names": [{"value": "Minimal v2", "types": ["ror_display"]}],
         "locations": None, "external_ids": None, "links": None, "types": ["government"]},
    ]
    report = _import(store, write_json_gz(tmp_path / "ror.json.gz", recs))
    assert report.created == 2 and report.rejected == 4
    reasons = " | ".join(r["reason"] for r in report.rejections)
    assert "without a name" in reasons and "without an id" in reasons and "country" in reasons
    gov = store.find_by_external("ror", "0aaaaaa04")
    assert gov.org_type == OrganizationType.other and gov.tags == ["government"]


def test_truncated_dump_keeps_what_came_before(store, tmp_path):
    recs = first_records(need(V2), 20)
    text = json.dumps(recs)
    path = tmp_path / "ror-cut.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(text[: len(text) * 3 // 4])
    report = _import(store, path)
    assert 10 <= store.stats()["by_kind"]["organization"] < 20
    assert report.rejected == 1
    assert "truncated" in report.rejections[0]["reason"]


def test_corrupt_gzip_is_one_rejection(store, tmp_path):
    good = gzip.compress(json.dumps(first_records(need(V2), 50)).encode())
    path = tmp_path / "ror-corrupt.json.gz"
    path.write_bytes(good[: len(good) // 2] + b"\x00garbage" * 50)
    report = _import(store, path)
    assert report.rejected == 1
    assert "corrupt" in report.rejections[0]["reason"] or "truncated" in report.rejections[0]["reason"]


def test_missing_file():
    with pytest.raises(NotFound):
        RorSource("/nonexistent/ror.json.gz")


def test_v1_and_v2_sharing_a_secondary_id_stay_two_organisations(store, tmp_path):
    a = {"id": "https://ror.org/0aaaaaa11", "name": "Org A",
         "external_ids": {"ISNI": {"all": ["0000 0001 2290 4914"]}}}
    b = {"id": "https://ror.org/0aaaaaa12", "names": [{"value": "Org B", "types": ["ror_display"]}],
         "external_ids": [{"type": "isni", "all": ["0000000122904914"], "preferred": None}]}
    _import(store, write_json_gz(tmp_path / "a.json.gz", [a]))
    report = _import(store, write_json_gz(tmp_path / "b.json.gz", [b]))
    assert report.created == 1 and report.rejected == 0
    org_b = store.find_by_external("ror", "0aaaaaa12")
    assert org_b.name == "Org B" and "isni" not in org_b.external_ids
    assert org_b.attributes["conflicting_ids"] == {"isni": "0000000122904914"}
    assert store.find_by_external("isni", "0000000122904914").name == "Org A"


def test_reimport_is_unchanged(store, tmp_path):
    path = write_json_gz(tmp_path / "ror.json.gz", first_records(need(V2), 100))
    first = _import(store, path)
    again = _import(store, path)
    assert again.created == 0 and again.updated == 0 and again.unchanged == first.created


def test_registry_picks_ror_for_dump_names():
    assert registry.best_for("ror-v2-records.json.gz") == "ror"
    assert registry.best_for("orgs.json") == "tabular"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8),
    max_size=8), st.integers(min_value=1, max_value=7))
def test_streaming_reader_roundtrips(values, chunk):
    raw = json.dumps(values, indent=chunk % 2 or None).encode()
    got = list(iter_json_array(io.BytesIO(raw), chunk=chunk))
    assert [e.error for e in got] == [None] * len(values)
    assert [e.value for e in got] == values


@pytest.mark.slow
def test_full_v2_dump_streams(tmp_path):
    n = sum(1 for item in RorSource(need(V2)).items() if item.record is not None)
    assert n == 13_503


def test_sample_path_exists_or_skips():
    assert isinstance(DATA, Path)
