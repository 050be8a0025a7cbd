"""The fast import paths (brand-new rows written from one dump, executemany on SQLite, COPY on PostgreSQL):
the same stored content on both backends, bad rows rejected with their place and field, whole batches or
nothing after a crash, idempotent re-runs, and complete history once records change."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from citybridge.hub import Hub
from citybridge.ingest.base import SourceItem
from citybridge.model.entities import Organization, record_from_dict, record_to_dict
from citybridge.model.relations import Relation, relation_to_dict
from citybridge.settings import Settings
from citybridge.store.repository import content_hash
from conftest import postgres_database

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_import import make_files  # noqa: E402
from bench_openalex import generate  # noqa: E402

_TS = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)?")


def _hub(folder: Path, url: str | None = None, batch: int = 500) -> Hub:
    kw: dict[str, Any] = {"data_dir": folder, "import_batch": batch, "_env_file": None}
    if url:
        kw["database_url"] = url
    h = Hub(Settings(**kw))
    h.init()
    return h


CORE_TABLES = [
    ("records", "id,kind,subtype,name,country,year,visibility,owner,data,hash,version,changed_by"),
    ("relations", "id,type,source_id,target_id,role,visibility,owner,data,hash,version"),
    ("external_ids", "scheme,value,record_id"),
    ("history", "entity,entity_id,version,change,data,changed_by"),
]


def dump_rows(hub: Hub, tables: list[tuple[str, str]] = CORE_TABLES) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row of ``tables`` (name, columns), timestamps masked (runs differ in their clock)."""
    out = {}
    with hub.store.engine.connect() as c:
        for table, cols in tables:
            out[table] = sorted(tuple(_TS.sub("T", str(v)) for v in row)
                                for row in c.execute(text(f"select {cols} from {table}")))
    return out




@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bulk")
    orgs, rels = make_files(folder, 1200, 3000)
    rows = list(csv.reader(orgs.open(encoding="utf-8")))
    changed = folder / "changed.csv"
    with changed.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(rows[0])
        for r in rows[1:150]:
            w.writerow([*r[:6], "changed " + r[6]])
    snap = folder / "openalex-works.jsonl.gz"
    generate(snap, 250)
    return {"orgs": orgs, "rels": rels, "changed": changed, "snapshot": snap}


def _run_all(hub: Hub, inputs: dict[str, Path]) -> list[dict[str, int]]:
    counts = []
    for step in (["orgs"], ["rels"], ["changed"], ["orgs"]):
        counts.append(hub.import_files([inputs[s] for s in step]).counts())
    counts.append(hub.ingest([inputs["snapshot"]]).counts())
    counts.append(hub.ingest([inputs["snapshot"]]).counts())
    return counts


def _check_bodies(hub: Hub) -> None:
    """What the fast path wrote is what the model path writes: each stored body reads back into a model whose
    export form is the body again, its hash is the content hash, and new rows start at version 1."""
    with hub.store.engine.connect() as c:
        for data, digest in c.execute(text("select data, hash from records")):
            body = json.loads(data)
            assert record_to_dict(record_from_dict(body)) == body
            assert content_hash(body) == digest
        for data, digest in c.execute(text("select data, hash from relations")):
            body = json.loads(data)
            rel = Relation.model_validate({k: v for k, v in body.items() if k != "kind"})
            assert relation_to_dict(rel) == body and content_hash(body) == digest
            assert rel.id == rel.key()


def test_import_stores_model_exact_bodies_and_complete_history(tmp_path: Path, inputs: dict[str, Path]) -> None:
    hub = _hub(tmp_path / "d")
    try:
        counts = _run_all(hub, inputs)
        assert counts[0] == {"created": 1200, "updated": 0, "unchanged": 0, "rejected": 0}
        assert counts[1] == {"created": 3000, "updated": 0, "unchanged": 0, "rejected": 0}
        assert counts[2]["updated"] == 149
        # the original file again: the 149 changed descriptions go back (updated), the rest are unchanged
        assert counts[3] == {"created": 0, "updated": 149, "unchanged": 1051, "rejected": 0}
        assert counts[4]["rejected"] == 0 and counts[4]["created"] > 1000
        assert counts[5]["created"] == 0 and counts[5]["unchanged"] >= counts[4]["created"]  # idempotent
        _check_bodies(hub)
        dump = dump_rows(hub)
        # history: new records have none (history keeps replaced versions); every update kept the version
        # it replaced, so after two updates of 149 organisations each has versions 1 and 2 in history
        org_hist = [h for h in dump["history"] if h[0] == "record" and h[1].startswith("org_")]
        by_id: dict[str, list[str]] = {}
        for _e, eid, version, change, _data, _by in org_hist:
            assert change == "update"
            by_id.setdefault(eid, []).append(version)
        changed = {k: sorted(v) for k, v in by_id.items() if len(v) == 2}
        assert len(changed) == 149 and all(v == ["1", "2"] for v in changed.values())
        some = next(iter(changed))
        versions = hub.store.history(some)
        assert versions[0]["data"]["description"].startswith("changed ") is False
        assert versions[1]["data"]["description"].startswith("changed ")
        assert hub.store.version_of(some) == 3
    finally:
        hub.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_copy_load_matches_sqlite(tmp_path: Path, inputs: dict[str, Path]) -> None:
    lite = _hub(tmp_path / "lite")
    try:
        counts_lite = _run_all(lite, inputs)
        dump_lite = dump_rows(lite)
    finally:
        lite.close()
    with postgres_database() as url:
        pg = _hub(tmp_path / "pg", url)
        try:
            counts_pg = _run_all(pg, inputs)
            _check_bodies(pg)
            dump_pg = dump_rows(pg)
        finally:
            pg.close()
    assert counts_pg == counts_lite
    for table in dump_lite:
        assert len(dump_pg[table]) == len(dump_lite[table]), table
        assert dump_pg[table] == dump_lite[table], table


def test_bad_rows_are_rejected_with_place_and_field_and_the_rest_is_stored(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("kind,name,country,ror\n"
                    "organization,Good One,BR,01aaaaaaa\n"
                    "organization,Bad Country,Q9,02bbbbbbb\n"
                    "organization,,DE,03ccccccc\n"
                    "organization,Good Two,PT,04ddddddd\n", encoding="utf-8")
    rels = tmp_path / "rels.csv"
    rels.write_text("kind,type,source,target\n"
                    "relation,member_of,ror:01aaaaaaa,ror:04ddddddd\n"
                    "relation,befriends,ror:01aaaaaaa,ror:04ddddddd\n"
                    "relation,member_of,ror:01aaaaaaa,ror:09zzzzzzz\n", encoding="utf-8")
    hub = _hub(tmp_path / "d")
    try:
        rep = hub.import_files([orgs, rels])
        assert rep.counts() == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 4}
        got = {(r["where"], r["field"]) for r in rep.rejections}
        assert got == {("orgs.csv:3", "country"), ("orgs.csv:4", "name"), ("rels.csv:3", "type"),
                       ("rels.csv:4", "target")}
        assert hub.store.stats()["records"] >= 2 and hub.store.stats()["relations"] == 1
    finally:
        hub.close()


def test_bulk_load_takes_models_dicts_and_items(tmp_path: Path) -> None:
    hub = _hub(tmp_path / "d")
    try:
        org = Organization(name="Oulu University", external_ids={"ror": "03yj89h83"}, country="FI")
        rows = [
            org,
            {"kind": "organization", "name": "Tampere", "external_ids": {"ror": "033003e23"},
             "provenance": [{"source": "parquet", "record_id": "I1"}]},
            {"kind": "organization", "name": "Broken", "lat": 300},
        ]
        rels = [{"type": "member_of", "source": "ror:033003e23", "target": "ror:03yj89h83"},
                SourceItem("", optional=True, relation=Relation(type="cites", source="doi:10.1/x",
                                                                target="doi:10.1/y"))]
        rep = hub.bulk_load(rows, rels, source="part-7")
        assert rep.rejections == [{"where": "part-7:3", "field": "lat",
                                   "reason": "Input should be less than or equal to 90 (got '300')", "id": None}] \
            or (len(rep.rejections) == 1 and rep.rejections[0]["where"] == "part-7:3"
                and rep.rejections[0]["field"] == "lat")
        assert rep.unresolved == 1  # the optional citation between absent works is counted, not rejected
        stub = SourceItem("", stub=True, record=Organization(name="Oulu (stub)",
                                                              external_ids={"ror": "03yj89h83", "grid": "grid.1"}))
        assert hub.bulk_load([stub], source="part-7b").updated == 1
        oulu = hub.store.find_by_external("ror", "03yj89h83")
        assert oulu.name == "Oulu University" and oulu.external_ids["grid"] == "grid.1"  # stub only adds ids
        tampere = hub.store.find_by_external("ror", "033003e23")
        assert tampere.provenance[0].source == "parquet"
        assert [r.target for r in hub.store.relations_of(tampere.id, direction="out")] == [oulu.id]
        again = hub.bulk_load(rows, rels, source="part-7")
        assert again.created == 0 and again.updated == 0 and again.unchanged >= 3
        strict = hub.bulk_load([{"kind": "organization", "name": "New", "external_ids": {"ror": "05new0000"}},
                                {"kind": "organization", "name": ""}], source="part-8", strict=True)
        assert strict.stopped_at == "part-8:2"
        with pytest.raises(Exception, match="no record"):
            hub.store.find_by_external("ror", "05new0000")
    finally:
        hub.close()


_CHILD = """
import sys
from pathlib import Path
from citybridge.hub import Hub
from citybridge.settings import Settings
kw = dict(data_dir=Path(sys.argv[1]), import_batch=500, _env_file=None)
if sys.argv[3] != "-":
    kw["database_url"] = sys.argv[3]
hub = Hub(Settings(**kw))
hub.init()
hub.import_files([sys.argv[2]])
print("done")
"""


def _count(hub: Hub, table: str) -> int:
    with hub.store.engine.connect() as c:
        return int(c.execute(text(f"select count(*) from {table}")).scalar_one())


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_kill_mid_import_leaves_whole_batches_and_a_rerun_completes(tmp_path: Path, backend: str) -> None:
    """SIGKILL the importing process once a few batches are in: the store holds whole batches only (no
    record without its external ids), and running the import again ends with what an uninterrupted run
    stores."""
    orgs, _rels = make_files(tmp_path, 20_000, 1)
    if backend == "postgresql":
        with postgres_database() as url:
            _kill_and_rerun(tmp_path, orgs, url)
    else:
        _kill_and_rerun(tmp_path, orgs, None)


def _kill_and_rerun(tmp_path: Path, orgs: Path, url: str | None) -> None:
    data = tmp_path / "killed"
    hub = _hub(data, url)  # creates the schema before the child starts
    base = _count(hub, "records")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(data), str(orgs), url or "-"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _count(hub, "records") - base < 1000 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    written = _count(hub, "records") - base
    assert 0 < written < 20_000, "the kill came too late to test anything"
    assert written % 500 == 0  # whole batches only
    assert _count(hub, "external_ids") == written + _count_theme_ids(hub)
    rep = hub.import_files([orgs])
    assert rep.created == 20_000 - written and rep.unchanged == written and rep.rejected == 0
    fresh = _hub(tmp_path / "fresh") if url is None else None
    try:
        if fresh is not None:
            fresh.import_files([orgs])
            a, b = dump_rows(hub), dump_rows(fresh)
            assert [r[:9] for r in a["records"]] == [r[:9] for r in b["records"]]
            assert a["external_ids"] == b["external_ids"] and a["history"] == b["history"] == []
        else:
            assert _count(hub, "records") - base == 20_000 and _count(hub, "history") == 0
    finally:
        hub.close()
        if fresh is not None:
            fresh.close()


def _count_theme_ids(hub: Hub) -> int:
    with hub.store.engine.connect() as c:
        return int(c.execute(text("select count(*) from external_ids e join records r on r.id = e.record_id "
                                  "where r.kind <> 'organization'")).scalar_one())


def test_openalex_snapshot_gz_is_read_by_orjson_with_json_fallback(tmp_path: Path) -> None:
    """A line orjson refuses (NaN) is still read the standard library's way; a malformed line is reported."""
    path = tmp_path / "openalex-works.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"id": "https://openalex.org/W1", "title": "Heat islands", "cited_by_count": NaN}\n')
        fh.write('{"id": "https://openalex.org/W2", "title": \n')
    hub = _hub(tmp_path / "d")
    try:
        rep = hub.ingest([path])
        assert rep.created == 1 and rep.rejected == 1
        assert rep.rejections[0]["where"].endswith(":2") and "malformed JSON" in rep.rejections[0]["reason"]
    finally:
        hub.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_batch_failing_mid_write_leaves_nothing(tmp_path: Path, backend: str) -> None:
    """The bulk writers (executemany; COPY on PostgreSQL) fail a batch whose row 150 of 200 breaks a constraint
    with SQLAlchemy's IntegrityError, and the batch's transaction leaves no row of it behind."""
    from sqlalchemy.exc import IntegrityError

    from citybridge.store import tables as t
    from citybridge.store.repository import _bulk_insert

    def run(hub: Hub) -> None:
        orgs = [Organization(name=f"Org {i}", external_ids={"ror": f"0{i:08d}"}) for i in range(200)]
        before = _count(hub, "records"), _count(hub, "external_ids")
        with pytest.raises(IntegrityError), hub.store.engine.begin() as conn:
            ids = [o.id for o in hub.store.upsert_records(orgs[:150], conn=conn)]
            rows = [{"scheme": "grid", "value": f"grid.{i}", "record_id": ids[i % 150]} for i in range(200)]
            rows[150]["record_id"] = "org_missing"  # a foreign key error in the middle of the bulk write
            _bulk_insert(conn, t.external_ids, rows)
        assert (_count(hub, "records"), _count(hub, "external_ids")) == before
        assert hub.bulk_load(orgs, source="again").created == 200  # the store is usable and complete after

    if backend == "postgresql":
        with postgres_database() as url:
            hub = _hub(tmp_path / "pg", url)
            try:
                run(hub)
            finally:
                hub.close()
    else:
        hub = _hub(tmp_path / "lite")
        try:
            run(hub)
        finally:
            hub.close()
