"""import(export(store)) reproduces the store exactly: property-tested with hypothesis."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybridge.hub import Hub
from citybridge.model import Document, Organization, Person, Place, Project, Relation
from citybridge.settings import Settings

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40
               ).filter(lambda s: s.strip() != "")
maybe_text = st.none() | text
country = st.none() | st.sampled_from(["BR", "PT", "DE", "IN", "KE", "US"])
ext = st.dictionaries(st.sampled_from(["ror", "doi", "wikidata", "pic"]),
                      st.text("abcdef0123456789", min_size=3, max_size=8), max_size=2)
attrs = st.dictionaries(st.text("abcxyz_", min_size=1, max_size=6), st.integers(-5, 5) | text, max_size=2)

orgs = st.builds(Organization, name=text, description=maybe_text, country=country,
                 org_type=st.sampled_from(["university", "ngo", "local_government", "other"]),
                 aliases=st.lists(text.filter(lambda s: ";" not in s and "|" not in s), max_size=2),
                 labels=st.dictionaries(st.sampled_from(["en", "es", "pt"]), text, max_size=2),
                 lat=st.none() | st.floats(-90, 90, allow_nan=False), attributes=attrs)
people = st.builds(Person, name=text, given_name=maybe_text, country=country)
places = st.builds(Place, name=text, population=st.none() | st.integers(0, 10**8), country=country,
                   lon=st.none() | st.floats(-180, 180, allow_nan=False))
projects = st.builds(Project, name=text, start_date=st.none() | st.dates(), total_cost=st.none() | st.floats(0, 1e9))
docs = st.builds(Document, name=text, body=maybe_text, year=st.none() | st.integers(1900, 2100),
                 doc_type=st.sampled_from(["report", "paper", "case_study"]))


@st.composite
def stores(draw: st.DrawFn) -> tuple[list, list]:
    recs = draw(st.lists(st.one_of(orgs, people, places, projects, docs), min_size=1, max_size=8))
    out = []
    for i, rec in enumerate(recs):
        ids = {k: f"{v}{i}" for k, v in draw(ext).items()}
        body = {**rec.model_dump(exclude_unset=True), "id": f"{rec.kind.value[:3]}_{i}", "external_ids": ids}
        out.append(type(rec).model_validate(body))
    rels = []
    orgs_ = [r for r in out if r.kind.value == "organization"]
    projs = [r for r in out if r.kind.value == "project"]
    for o in orgs_:
        for p in projs:
            if draw(st.booleans()):
                rels.append(Relation(type="partner_in", source=o.id, target=p.id,
                                     role=draw(st.sampled_from(["coordinator", "participant", None]))))
    return out, rels


def snapshot(hub: Hub) -> tuple[list, list]:
    return list(hub.store.iter_record_dicts()), list(hub.store.iter_relation_dicts())


def _roundtrip(tmp: Path, data: tuple[list, list], fmt: str) -> None:
    records, relations = data
    with Hub(Settings(data_dir=tmp / "a", _env_file=None)) as a, Hub(Settings(data_dir=tmp / "b", _env_file=None)) as b:
        a.upsert(records)
        a.relate(relations)
        buf = io.StringIO()
        a.export(buf, fmt)  # type: ignore[arg-type]
        path = tmp / f"export.{fmt}"
        path.write_text(buf.getvalue(), encoding="utf-8")
        report = b.import_files([path])
        assert report.rejected == 0, report.to_dict()
        assert snapshot(b) == snapshot(a)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stores())
def test_jsonl_round_trip_reproduces_the_store(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    _roundtrip(tmp_path_factory.mktemp("rt"), data, "jsonl")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stores())
def test_csv_round_trip_reproduces_the_store(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    _roundtrip(tmp_path_factory.mktemp("rt"), data, "csv")


def test_jsonld_export_uses_schema_org_types(hub: Hub) -> None:
    import json

    hub.upsert([Organization(id="o1", name="UFPE", org_type="university", external_ids={"ror": "047908t24"}),
                Document(id="d1", name="Heat guide", doc_type="guideline")])
    buf = io.StringIO()
    hub.export(buf, "jsonld")
    doc = json.loads(buf.getvalue())
    assert doc["@context"]["@vocab"] == "https://schema.org/"
    nodes = {n["@id"]: n for n in doc["@graph"]}
    assert nodes["http://127.0.0.1:8000/entity/o1"]["@type"] == "CollegeOrUniversity"
    assert nodes["http://127.0.0.1:8000/entity/o1"]["sameAs"] == "https://ror.org/047908t24"
    assert nodes["http://127.0.0.1:8000/entity/d1"]["@type"] == "HowTo"
    assert any(n["@type"] == "DefinedTerm" and n["termCode"] == "11" for n in doc["@graph"])
