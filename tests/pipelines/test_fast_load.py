"""The client's fast load of bulk partitions stores exactly what the reference path stores.

Fast path: partition bodies read with orjson, plain relations rebuilt without re-validation, replaced rows
updated with one driver ``executemany`` per batch, the workers' outputs written in large batches. Reference:
the standard library's ``json``, ``Relation.model_validate`` for every relation, one SQLAlchemy ``UPDATE`` per
replaced row, small enrichment batches (what the client did before). Both load the same two partitions of a
generated OpenAlex snapshot (the second one's people and institutions repeat the first's, so rows are updated
and history is written), then run the final link pass, on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

pytest.importorskip("pyarrow")

from citybridge.hub import Hub  # noqa: E402
from citybridge.ingest.base import Rejection, SourceItem  # noqa: E402
from citybridge.model.entities import record_from_dict  # noqa: E402
from citybridge.model.relations import Relation, RelationType  # noqa: E402
from citybridge.pipelines import columnar  # noqa: E402
from citybridge.pipelines.bulk import BulkReport, BulkRun  # noqa: E402
from citybridge.pipelines.columnar import PartitionWriter, read_table, source_items  # noqa: E402
from citybridge.pipelines.work import process_partition  # noqa: E402
from citybridge.settings import Settings  # noqa: E402
from citybridge.store import repository  # noqa: E402
from conftest import postgres_database  # noqa: E402
from ingest.test_bulk_load import CORE_TABLES, dump_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from openalex_snapshot import SHARED, generate  # noqa: E402

pytestmark = pytest.mark.skipif(not (SHARED / "scifact" / "corpus.jsonl").exists(), reason="shared data missing")
STEPS = ["language", "tags"]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("snapshot")
    generate(root, works=400, parts=2)
    return sorted((root / "data" / "works").rglob("part_*.gz"))


def _reference_items(items: dict[str, list[Any]]) -> Iterator[tuple[int, SourceItem]]:
    """What ``source_items`` did before the fast path: ``json.loads`` and full validation of every model."""
    cols = items
    for k in range(len(cols["seq"])):
        seq, where, kind, body = cols["seq"][k], cols["where"][k], cols["type"][k], cols["body"][k]
        flags: dict[str, Any] = {"stub": cols["stub"][k], "optional": cols["optional"][k],
                                 "merge_attributes": cols["merge"][k]}
        if cols["keep"][k]:
            flags["keep"] = frozenset(json.loads(cols["keep"][k]))
        if kind == "rejection":
            yield seq, SourceItem(where, rejection=Rejection(where, cols["reason"][k], cols["field"][k]))
        elif kind == "record":
            d = json.loads(body)
            fields = d.pop("_set")
            yield seq, SourceItem(where, record=columnar._fields_set(record_from_dict(d), fields), **flags)
        elif kind == "relation":
            d = json.loads(body)
            fields = d.pop("_set")
            yield seq, SourceItem(where, relation=columnar._fields_set(Relation.model_validate(d), fields), **flags)
        else:
            yield seq, SourceItem(where, row=json.loads(body), kind="relation", **flags)


def _row_update(conn: Any, table: Any, rows: list[dict[str, Any]], key: str = "id") -> None:
    """The reference: one SQLAlchemy UPDATE per replaced row."""
    for row in rows:
        conn.execute(update(table).where(table.c[key] == row[key]).values(**row))


def _same_model(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
    assert a.__pydantic_extra__ == b.__pydantic_extra__ and a.__pydantic_private__ == b.__pydantic_private__
    assert a.__dict__.keys() == b.__dict__.keys()
    for name, value in a.__dict__.items():
        other = b.__dict__[name]
        if name == "provenance":
            assert len(value) == len(other)
            for p, q in zip(value, other, strict=True):
                _same_model(p, q)
        else:
            assert value == other and type(value) is type(other), name


def test_plain_relations_read_back_as_the_validated_model(parts: list[Path], tmp_path: Path) -> None:
    with Hub(Settings(data_dir=tmp_path, _env_file=None)) as hub:
        hub.init()
        run = BulkRun(hub, [parts[0]], steps=[], index=False, work_dir=tmp_path / "bulk")
        result = process_partition(run.partitions[0], [])
    run._write(run.partitions[0], result)
    table = read_table(run.folder(run.partitions[0]) / "items.parquet")
    # plus relations the fast reader must not take: dates, weight, owner, provenance with a time
    writer = PartitionWriter()
    odd = [Relation(type=RelationType.partner_in, source="org_a", target="prj_b", weight=0.5,
                    start_date="2020-01-01", attributes={"share": 1.5, "tags": ["x"]}, owner="u1"),
           Relation(type=RelationType.cites, source="doc_a", target="doc_b",
                    provenance=[{"source": "s", "retrieved_at": "2024-05-01T10:00:00Z"}])]
    for rel in odd:
        writer.add_item(SourceItem("odd", relation=rel))
    odd_table = writer.cols["items"]
    n = 0
    for tab in (table, odd_table):
        for (s1, fast), (s2, ref) in zip(source_items(tab), _reference_items(tab), strict=True):
            assert s1 == s2 and fast.where == ref.where and fast.stub == ref.stub and fast.optional == ref.optional
            if ref.relation is not None:
                _same_model(fast.relation, ref.relation)
                n += 1
            elif ref.record is not None:
                assert fast.record == ref.record
                assert fast.record.model_fields_set == ref.record.model_fields_set  # type: ignore[union-attr]
    assert n > 1000


def _dump(hub: Hub) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row that a load writes, timestamps masked (two runs differ in their clock)."""
    return dump_rows(hub, [*CORE_TABLES, ("annotations", "record_id,step,label,target_id,score,evidence"),
                           ("embeddings", "record_id,model,passage,vector"),
                           ("enrich_state", "record_id,step,step_version,record_hash")])


def _load(folder: Path, parts: list[Path], url: str | None, *, reference: bool,
          monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[dict[str, int]]]:
    kw: dict[str, Any] = {"data_dir": folder, "_env_file": None, "crosslingual_embedder": None}
    if url:
        kw["database_url"] = url
    with monkeypatch.context() as m:
        if reference:
            m.setattr("citybridge.pipelines.bulk.source_items", _reference_items)
            m.setattr(repository, "_bulk_update", _row_update)
        with Hub(Settings(**kw)) as hub:
            hub.init()
            run = BulkRun(hub, parts, steps=STEPS, index=False, work_dir=folder / "bulk")
            if reference:
                run._write_enrichment = functools.partial(BulkRun._write_enrichment, run, batch=64)  # type: ignore[method-assign]
            counts = []
            for part in run.partitions:
                run._write(part, process_partition(part, run.steps))
                report = BulkReport()
                run._load(part, report)
                counts.append({**report.imported.counts(), "annotations": report.enrich.annotations,
                               "unresolved": report.imported.unresolved})
            # the final link pass (citations to works of the later partition), as BulkRun.run ends
            report = BulkReport()
            left = [run._relink(part, report) for k, part in enumerate(run.partitions) if counts[k]["unresolved"]]
            counts.append({"relinked": report.relinked, "left": sum(left)})
            return _dump(hub), counts


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_fast_load_stores_what_the_reference_path_stores(parts: list[Path], tmp_path: Path, backend: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "sqlite":
        fast, fast_counts = _load(tmp_path / "fast", parts, None, reference=False, monkeypatch=monkeypatch)
        ref, ref_counts = _load(tmp_path / "ref", parts, None, reference=True, monkeypatch=monkeypatch)
    else:
        with postgres_database() as url:
            fast, fast_counts = _load(tmp_path / "fast", parts, url, reference=False, monkeypatch=monkeypatch)
        with postgres_database() as url:
            ref, ref_counts = _load(tmp_path / "ref", parts, url, reference=True, monkeypatch=monkeypatch)
    assert fast_counts == ref_counts
    assert fast_counts[1]["updated"] > 0  # the second partition's people and institutions update stored rows
    assert fast_counts[2]["relinked"] > 0  # citations of the first partition to works of the second
    assert fast["history"] and fast["annotations"]
    for table in ref:
        assert len(fast[table]) == len(ref[table]), table
        assert fast[table] == ref[table], table
