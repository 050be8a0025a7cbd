"""Import of every tabular format, the default and file mappings, and hostile input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.ingest.pipeline import Importer
from citybridge.ingest.tabular import open_tabular

ORGS_CSV = (
    "kind,name,org_type,country,ror,aliases,description\n"
    "organization,Universidade de São Paulo,university,BR,036rp1748,USP;Univ. São Paulo,Largest university in Brazil\n"
    "organization,ICLEI Europe,network,DE,,,\n"
    "place,Lisbon,,PT,,,Capital of Portugal\n"
)


def dump(hub: Hub) -> str:
    buf = io.StringIO()
    hub.export(buf, "jsonl")
    return buf.getvalue()


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def test_csv_import_is_idempotent_and_updates_with_history(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path, "orgs.csv", ORGS_CSV)
    first = hub.import_files([path])
    assert (first.created, first.rejected) == (3, 0)
    usp = hub.get("ror:036rp1748")
    assert usp.name == "Universidade de São Paulo" and usp.aliases == ["USP", "Univ. São Paulo"]
    assert usp.provenance[0].source == "import:orgs.csv"
    before = dump(hub)
    again = hub.import_files([path])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert dump(hub) == before
    write(tmp_path, "orgs.csv", ORGS_CSV.replace("Largest university in Brazil", "Largest university in Latin America"))
    third = hub.import_files([path])
    assert (third.updated, third.unchanged) == (1, 2)
    assert hub.get(usp.id).description == "Largest university in Latin America"
    assert hub.store.history(usp.id)[0]["data"]["description"] == "Largest university in Brazil"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_any_delimiter_is_detected(hub: Hub, tmp_path: Path, delimiter: str) -> None:
    plain = ORGS_CSV.replace("USP;Univ. São Paulo", "USP")
    path = write(tmp_path, "orgs.csv", plain.replace(",", delimiter))
    report = hub.import_files([path])
    assert report.created == 3, report.to_dict()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1", "cp1252"])
def test_encodings_are_detected(hub: Hub, tmp_path: Path, encoding: str) -> None:
    text = "kind,name,country\norganization,Prefeitura de São Paulo – Secretaria,BR\norganization,Ville de Genève,CH\n"
    if encoding == "latin-1":
        text = text.replace("–", "-")
    path = write(tmp_path, "orgs.csv", text.encode(encoding))
    report = hub.import_files([path])
    assert report.created == 2, report.to_dict()
    names = {r.name for r in hub.list("organization")}
    assert "Ville de Genève" in names
    assert any(n.startswith("Prefeitura de São Paulo") for n in names)


def test_xlsx_json_and_jsonl(hub: Hub, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "organizations"
    ws.append(["name", "org_type", "country", "established"])
    ws.append(["Instituto de Pesquisa", "research_institute", "BR", 1990])
    ws2 = wb.create_sheet("projects")
    ws2.append(["name", "start_date", "end_date", "cordis"])
    import datetime as dt

    ws2.append(["Cool Cities", dt.datetime(2020, 1, 1), dt.datetime(2023, 6, 30), "12345"])
    xlsx = tmp_path / "book.xlsx"
    wb.save(xlsx)
    js = write(tmp_path, "docs.json", json.dumps([
        {"kind": "document", "name": "Heat action plan", "doc_type": "guideline", "year": 2022,
         "external_ids": {"doi": "10.1234/heat"}, "authors": ["A. Silva"]},
    ]))
    jl = write(tmp_path, "rels.jsonl",
               '{"kind": "relation", "type": "related_to", "source": "doi:10.1234/heat", "target": "cordis:12345"}\n')
    report = hub.import_files([xlsx, js, jl])
    assert (report.created, report.rejected) == (4, 0), report.to_dict()
    project = hub.get("cordis:12345")
    assert str(project.start_date) == "2020-01-01" and str(project.end_date) == "2023-06-30"
    assert hub.get("doi:10.1234/heat").authors == ["A. Silva"]
    assert [r.type.value for r in hub.store.relations_of(project.id)] == ["related_to"]
    assert hub.list("organization")[0].established == 1990


def test_mapping_file(hub: Hub, tmp_path: Path) -> None:
    mapping = write(tmp_path, "map.toml", """
kind = "organization"
[columns]
"Organisation" = "name"
"Type" = "org_type"
"ROR ID" = "external_ids.ror"
"Internal note" = "-"
[values.org_type]
"City council" = "local_government"
"Uni" = "university"
[defaults]
country = "BR"
""")
    data = write(tmp_path, "members.csv",
                 "Organisation;Type;ROR ID;Internal note;Budget\nCâmara de Recife;City council;;secret;10\n"
                 "UFPE;Uni;047908t24;;\n")
    report = hub.import_files([data], mapping=mapping)
    assert report.created == 2, report.to_dict()
    recife = next(r for r in hub.list("organization") if r.name == "Câmara de Recife")
    assert recife.org_type.value == "local_government" and recife.country == "BR"
    assert recife.attributes == {"Budget": "10"}  # unknown columns are kept, dropped ones are not
    assert hub.get("ror:047908t24").org_type.value == "university"


def test_hostile_input_gets_clear_report_lines_and_loses_nothing(hub: Hub, tmp_path: Path) -> None:
    hub.import_files([write(tmp_path, "orgs.csv", ORGS_CSV)])
    before = dump(hub)
    big = "x" * 1_000_000
    bad_csv = write(tmp_path, "bad.csv", (
        "kind,name,country,description,id\n"
        "organization,,BR,,\n"                         # line 2: missing name
        "organization,Bad Country,Brasil,,\n"          # line 3: invalid country
        "spaceship,Enterprise,,,\n"                   # line 4: unknown kind
        f"organization,Huge,BR,{big},\n"               # line 5: 1 MB field is accepted
        f"organization,{big},BR,,\n"                   # line 6: 1 MB name is rejected
        "organization,Dup A,BR,,dup1\n"                # line 7
        "organization,Dup B,BR,,dup1\n"                # line 8: duplicate id in the file
        "organization,Too,many,cells,x,y\n"            # line 9
    ).encode() + b"organization,Caf\xe9 Latin1 line,FR,,\n")  # line 10: mixed encoding
    report = hub.import_files([bad_csv])
    by_line = {r["where"]: r for r in report.rejections}
    assert by_line["bad.csv:2"]["field"] == "name" and "missing" in by_line["bad.csv:2"]["reason"]
    assert by_line["bad.csv:3"]["field"] == "country" and "ISO 3166-1" in by_line["bad.csv:3"]["reason"]
    assert by_line["bad.csv:4"]["field"] == "kind" and "unknown kind 'spaceship'" in by_line["bad.csv:4"]["reason"]
    assert by_line["bad.csv:6"]["field"] == "name"
    assert "duplicate of bad.csv:7" in by_line["bad.csv:8"]["reason"]
    assert "cells but the header has" in by_line["bad.csv:9"]["reason"]
    assert "invalid byte 0xE9" in by_line["bad.csv:10"]["reason"] and by_line["bad.csv:10"]["field"] == "name"
    assert report.created == 2  # Huge and Dup A
    assert len(next(r for r in hub.list("organization", limit=100) if r.name == "Huge").description) == 1_000_000
    lines = list(report.lines())
    assert any(line.startswith("bad.csv:3: [country]") for line in lines)
    # everything stored before is still there, unchanged
    after = dump(hub)
    for line in before.splitlines():
        assert line in after


def test_wrong_delimiter_and_missing_columns(hub: Hub, tmp_path: Path) -> None:
    wrong = write(tmp_path, "wrong.csv", "kind;name;country\norganization;A;BR\n")
    report = hub.import_files([wrong], delimiter=",")
    assert report.rejected == 1 and "wrong delimiter" in report.rejections[0]["reason"]
    no_name = write(tmp_path, "noname.csv", "kind,budget\norganization,10\n")
    report = hub.import_files([no_name])
    assert report.rejections[0]["field"] == "name"
    assert "missing required column 'name'" in report.rejections[0]["reason"]
    titled = write(tmp_path, "titled.csv", "kind,title\norganization,A\n")
    assert hub.import_files([titled], infer=False).rejections[0]["field"] == "name"  # the plain default mapping
    assert hub.import_files([titled]).created == 1  # 'title' is inferred as the name


def test_malformed_json_and_jsonl(hub: Hub, tmp_path: Path) -> None:
    bad_json = write(tmp_path, "bad.json", '[{"kind": "organization", "name": "A"},\n {"kind": ')
    report = hub.import_files([bad_json])
    assert report.rejected == 1 and report.created == 0
    assert report.rejections[0]["where"] == "bad.json:2" and "malformed JSON" in report.rejections[0]["reason"]
    jl = write(tmp_path, "mixed.jsonl", '{"kind": "organization", "name": "Good"}\n{not json}\n[1, 2]\n'
                                        '{"kind": "organization", "name": "Also good"}\n')
    report = hub.import_files([jl])
    assert report.created == 2
    assert {r["where"] for r in report.rejections} == {"mixed.jsonl:2", "mixed.jsonl:3"}


def test_relation_to_missing_record_and_forward_references(hub: Hub, tmp_path: Path) -> None:
    jl = write(tmp_path, "graph.jsonl", "\n".join(json.dumps(x) for x in [
        {"kind": "relation", "type": "partner_in", "source": "pic:1", "target": "cordis:9", "role": "coordinator"},
        {"kind": "organization", "name": "Org 1", "external_ids": {"pic": "1"}},
        {"kind": "project", "name": "Project 9", "external_ids": {"cordis": "9"}},
        {"kind": "relation", "type": "partner_in", "source": "pic:1", "target": "cordis:404"},
    ]) + "\n")
    report = hub.import_files([jl])
    assert report.created == 3
    assert report.rejections == [{"where": "graph.jsonl:4", "field": "target",
                                  "reason": "target record 'cordis:404' not found", "id": None}]
    rels = hub.store.relations_of(hub.get("cordis:9").id)
    assert [(r.type.value, r.role) for r in rels] == [("partner_in", "coordinator")]


def test_crash_mid_import_keeps_whole_batches_and_rerun_continues(hub: Hub, tmp_path: Path) -> None:
    rows = "kind,name,country\n" + "".join(f"organization,Org {i},BR\n" for i in range(50))
    path = write(tmp_path, "many.csv", rows)
    calls = {"n": 0}
    real = hub.store.upsert_records

    def flaky(records, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # simulated kill during the third batch
        return real(records, **kw)

    hub.store.upsert_records = flaky  # type: ignore[method-assign]
    importer = Importer(hub.store, batch_size=20)
    with pytest.raises(KeyboardInterrupt):
        importer.run(open_tabular(path))
    assert len(hub.list("organization", limit=100)) == 40  # two whole batches, nothing of the third
    hub.store.upsert_records = real  # type: ignore[method-assign]
    report = Importer(hub.store, batch_size=20).run(open_tabular(path))
    assert (report.created, report.unchanged) == (10, 40)
    assert len(hub.list("organization", limit=100)) == 50


def test_unknown_kind_option_and_missing_file(hub: Hub, tmp_path: Path) -> None:
    from citybridge.errors import Invalid, NotFound

    with pytest.raises(Invalid, match="unknown kind"):
        hub.import_files([write(tmp_path, "a.csv", "name\nA\n")], kind="spaceship")
    with pytest.raises(NotFound, match="file not found"):
        hub.import_files([tmp_path / "nope.csv"])
    empty = write(tmp_path, "empty.csv", "")
    assert "empty file" in hub.import_files([empty]).rejections[0]["reason"]


def test_fuzz_findings_are_row_errors_naming_where(hub: Hub, tmp_path: Path) -> None:
    """Inputs benchmarks/fuzz_inputs.py found raising tracebacks: each is now a rejection or a domain error
    naming the file (and line or field), and what was stored stays as it was."""
    from citybridge.errors import Invalid

    hub.import_files([write(tmp_path, "a.csv", "id,kind,name,start_date\nprj_x,project,X,2022-01-01\n")])
    before = dump(hub)
    # a row whose end date is before the stored start date: rejected, not a ValidationError from the store
    r = hub.import_files([write(tmp_path, "b.csv", "id,kind,name,end_date\nprj_x,project,X,2020-01-01\n")])
    assert r.rejected == 1 and r.rejections[0]["where"] == "b.csv:2" and "start_date" in r.rejections[0]["reason"]
    # an attributes cell that is a list, nested JSON beyond the recursion limit, a too-wide table
    r = hub.import_files([write(tmp_path, "c.jsonl", '{"kind": "project", "name": "P", "attributes": [1]}\n'
                                + "[" * 100_000 + "]" * 100_000 + "\n")])
    assert r.rejected == 2 and [x["where"] for x in r.rejections] == ["c.jsonl:1", "c.jsonl:2"]
    # an external id holding a NUL character (a CORDIS grant id in the fuzz run): the row is rejected by name
    r = hub.import_files([write(tmp_path, "nul.jsonl",
                                '{"kind": "project", "name": "P", "external_ids": {"eu_grant": "77\\u00006783"}}\n')])
    assert r.rejected == 1 and r.rejections[0]["where"] == "nul.jsonl:1" and "NUL" in r.rejections[0]["reason"]
    # integers beyond 64 bits (the columnar tests' find): in a typed field and inside an attributes object
    r = hub.import_files([write(tmp_path, "big.csv", "kind,name,established,country\n"
                                "organization,Big Org,99999999999999999999,PT\n")])
    assert r.rejected == 1 and r.rejections[0]["where"] == "big.csv:2" and r.rejections[0]["field"] == "established"
    r = hub.import_files([write(tmp_path, "big.jsonl", '{"kind": "project", "name": "P2", "attributes": '
                                '{"n": 99999999999999999999}}\n{"kind": "document", "name": "D", "pages": 1e400}\n')])
    assert r.rejected == 2 and [x["where"] for x in r.rejections] == ["big.jsonl:1", "big.jsonl:2"], r.rejections
    big = '"{""n"": 1' + "0" * 30 + '}"'
    r = hub.import_files([write(tmp_path, "big2.csv", f"kind,name,attributes\nproject,P3,{big}\n")])
    assert r.rejected == 1 and r.rejections[0]["where"] == "big2.csv:2" and "64-bit" in r.rejections[0]["reason"]
    from pydantic import ValidationError

    from citybridge.model.relations import Relation

    with pytest.raises(ValidationError, match="64-bit"):
        Relation(type="partner_in", source="org_a", target="prj_x", attributes={"n": -(10**30)})
    # a JSON escape of an unpaired UTF-16 surrogate (the 1,000-case OpenAlex fuzz run's find): no UTF-8 for it, no
    # id, no hash: the row is rejected by name; a proper pair is one character and imports (as a new record)
    r = hub.import_files([write(tmp_path, "sur.jsonl", '{"kind": "project", "name": "A\\ud800B"}\n'),
                          write(tmp_path, "sur.json", '[{"kind": "project", "name": "x\\udfff"}]')])
    (tmp_path / "cesu.json").write_bytes(b'[{"kind": "project", "name": "heat \xed\xa0\x80 change"}]')  # no escape
    r2 = hub.import_files([tmp_path / "cesu.json"])
    assert r2.rejected == 1 and "unpaired surrogate" in r2.rejections[0]["reason"], r2.rejections
    assert [x["where"] for x in r.rejections] == ["sur.jsonl:1", "sur.json:item 1"], r.rejections
    assert all("unpaired surrogate" in x["reason"] for x in r.rejections) and r.created == 0
    from citybridge.ingest.jsonstream import iter_json_lines

    with write(tmp_path, "w.jsonl", '{"title": "a\\ud83d\\ude00"}\n{"title": "b\\udc00"}\n').open("rb") as fh:
        got = list(iter_json_lines(fh))
    assert got[0].value == {"title": "a\U0001F600"} and got[1].value is None and "surrogate" in got[1].error
    r = hub.import_files([write(tmp_path, "wide.csv", ",".join(f"c{i}" for i in range(20_000)) + "\nx\n")])
    assert r.rejected == 1 and "20,000 columns" in r.rejections[0]["reason"]
    # a mapping file that is not UTF-8, an unknown encoding, a two-character delimiter
    with pytest.raises(Invalid) as exc:
        hub.import_files([tmp_path / "a.csv"], mapping=write(tmp_path, "m.json", b'{"kind": "pro\xe9ject"}'))
    assert str(exc.value).startswith(f"{tmp_path / 'm.json'}:1")
    for mapping, field in (('{"encoding": "klingon"}', "encoding"), ('{"delimiter": ";;"}', "delimiter")):
        with pytest.raises(Invalid) as exc:
            hub.import_files([tmp_path / "a.csv"], mapping=write(tmp_path, "m2.json", mapping))
        assert exc.value.field == field and exc.value.where == "a.csv"
    assert dump(hub) == before
