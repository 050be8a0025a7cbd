"""The Parquet export: a lossless round trip through the ``body`` column, typed columns that DuckDB reads
directly, annotations beside the records, visibility honoured, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from citybridge.cli.main import app
from citybridge.hub import Hub
from citybridge.ingest.parquet import read_bodies
from citybridge.model import Document, Organization, Project, Relation
from citybridge.model.access import ANONYMOUS
from citybridge.settings import Settings
from citybridge.store.enrichment import EnrichmentStore

from .test_roundtrip import snapshot, stores

pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")


def _fill(hub: Hub) -> None:
    hub.upsert([
        Organization(id="o1", name="Câmara Municipal de Lisboa", org_type="local_government", country="PT",
                     external_ids={"ror": "047908t24"}),
        Organization(id="o2", name="Secret lab", visibility="private", owner="alice"),
        Project(id="p1", name="Energy communities in Lisbon", description="Citizens own solar roofs.",
                start_date="2022-01-01"),
        Document(id="d1", name="Heat guide", doc_type="guideline", year=2021, body="Shade the streets."),
    ])
    hub.relate([Relation(type="partner_in", source="o1", target="p1", role="coordinator"),
                Relation(type="partner_in", source="o2", target="p1")])
    es = EnrichmentStore(hub.store)
    with hub.store.engine.begin() as conn:
        es.replace_annotations(conn, "tags", {
            "p1": [{"label": "sdg:7", "target_id": "theme_sdg_7", "score": 0.91,
                    "evidence": json.dumps([{"field": "name", "text": "Energy"}])}],
            "o2": [{"label": "sdg:9", "target_id": None, "score": 0.5, "evidence": None}]})


def test_parquet_export_reads_in_duckdb_with_typed_columns(hub: Hub, tmp_path: Path) -> None:
    _fill(hub)
    out = tmp_path / "pq"
    counts = hub.export_parquet(out)
    stats = hub.stats()
    assert counts == {"records": stats["records"], "relations": stats["relations"], "annotations": 2}
    db = duckdb.connect()
    kinds = dict(db.execute(f"select kind, count(*) from '{out}/records.parquet' group by kind").fetchall())
    assert kinds["organization"] == 2 and kinds["project"] == 1 and kinds["document"] == 1
    row = db.execute(f"select name, country, subtype, description, updated_at from '{out}/records.parquet' "
                     "where id = 'p1' or id = 'o1' order by id").fetchall()
    assert row[0][:3] == ("Câmara Municipal de Lisboa", "PT", "local_government")
    assert row[1][3] == "Citizens own solar roofs."
    assert row[1][4].astimezone(UTC) == hub.get("p1").updated_at.astimezone(UTC)
    joined = db.execute(f"select r.name, a.label, a.score from '{out}/annotations.parquet' a "
                        f"join '{out}/records.parquet' r on r.id = a.record_id order by a.label").fetchall()
    assert joined == [("Energy communities in Lisbon", "sdg:7", 0.91), ("Secret lab", "sdg:9", 0.5)]
    rels = db.execute(f"select source_id, target_id, role from '{out}/relations.parquet' order by source_id"
                      ).fetchall()
    assert rels == [("o1", "p1", "coordinator"), ("o2", "p1", None)]
    schema = pq.read_schema(out / "records.parquet")
    assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert not list(out.glob(".*.part"))


def test_parquet_export_for_an_anonymous_caller_leaves_private_data_out(hub: Hub, tmp_path: Path) -> None:
    _fill(hub)
    out = tmp_path / "pq"
    hub.export_parquet(out, caller=ANONYMOUS)
    ids = set(pq.read_table(out / "records.parquet", columns=["id"]).column(0).to_pylist())
    assert "o1" in ids and "o2" not in ids
    rels = pq.read_table(out / "relations.parquet").to_pylist()
    assert [(r["source_id"], r["target_id"]) for r in rels] == [("o1", "p1")]
    anns = pq.read_table(out / "annotations.parquet").to_pylist()
    assert [a["record_id"] for a in anns] == ["p1"]


def _roundtrip(tmp: Path, data: tuple[list, list]) -> None:
    records, relations = data
    with Hub(Settings(data_dir=tmp / "a", _env_file=None)) as a, Hub(Settings(data_dir=tmp / "b", _env_file=None)) as b:
        a.upsert(records)
        a.relate(relations)
        a.export_parquet(tmp / "pq")
        path = tmp / "from-parquet.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for body in read_bodies(tmp / "pq"):
                fh.write(json.dumps(body, ensure_ascii=False) + "\n")
        report = b.import_files([path])
        assert report.rejected == 0, report.to_dict()
        assert snapshot(b) == snapshot(a)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stores())
def test_parquet_round_trip_reproduces_the_store(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    _roundtrip(tmp_path_factory.mktemp("pq"), data)


def test_cli_export_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    res = runner.invoke(app, ["export", "--format", "parquet", "--output", "out"])
    assert res.exit_code == 0, res.output
    assert pq.read_table(tmp_path / "out" / "records.parquet").num_rows > 0  # the built-in taxonomies
    res = runner.invoke(app, ["export", "--format", "parquet"])
    assert res.exit_code == 2 and "--output" in res.output
