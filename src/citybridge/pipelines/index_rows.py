"""The search index built from the bulk run's Parquet partitions, the store filling in the rest.

When the client loads a partition it also writes ``index.parquet`` beside it: for every record the workers
enriched, the row the main index holds of it (text fields, language, facet values, record vectors: see
:mod:`citybridge.search.rows`), sorted by record id, with the record's :func:`~citybridge.search.rows.signatures`
as the store held them right after the load. The index build (:class:`PartitionRows`) then walks the store's
record ids in order, a window at a time, and merges the partitions' rows into that walk (``heapq.merge`` over
the files, a row group at a time): a record whose signature is unchanged takes its partition row (the newest
partition first), every other record (people and institutions named on the works, records merged, edited or
enriched again since, records of other sources) is read from the store as ``citybridge reindex`` reads it. The
index is therefore the one ``citybridge reindex`` builds, doc for doc.
"""

from __future__ import annotations

import heapq
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.enrich.pipeline import StepOutput
from citybridge.search.artifacts import atomic_write_bytes
from citybridge.search.rows import (
    WINDOW,
    Enrichment,
    IndexRow,
    _signature_parts,
    enrichment_by_record,
    make_row,
    signatures,
    store_rows,
)
from citybridge.store import tables as t
from citybridge.store.repository import Store

INDEX = "index.parquet"
_FACETS = ("kind", "subtype", "country", "region", "language", "source", "visibility", "owner")


def _schema() -> Any:
    from citybridge.pipelines.columnar import pa

    p = pa()
    s = p.string()
    return p.schema([("id", s), ("sig", s), ("title", s), ("keywords", s), ("abstract", s), ("body", s),
                     ("lang", s), *((f, s) for f in _FACETS), ("year", p.int32()), ("sdgs", p.list_(s)),
                     ("pathways", p.list_(s)), ("models", p.list_(s)), ("vectors", p.list_(p.binary()))])


def write_index_rows(store: Store, folder: Path, written: Sequence[tuple[str, list[StepOutput]]]) -> int:
    """Write ``folder/index.parquet``: the rows of the records just enriched from the workers' outputs
    (record id -> its step outputs, in the order they were written). A record whose stored annotations are not
    exactly those outputs (another step's annotations too) gets no row: the build reads it from the store.
    Returns the number of rows."""
    import pyarrow.parquet as pq
    from sqlalchemy import select

    ids = [rid for rid, _o in written]
    parts = _signature_parts(store, ids)
    sigs = signatures(store, ids)
    bodies: dict[str, str] = {}
    r = t.records.c
    with store.engine.connect() as conn:
        for i in range(0, len(ids), 900):
            bodies.update(conn.execute(select(r.id, r.data).where(r.id.in_(ids[i:i + 900]))).all())
    cols: dict[str, list[Any]] = {f.name: [] for f in _schema()}
    rows = []
    for rid, outs in written:
        if rid not in bodies or rid not in sigs:
            continue
        anns = [{"record_id": rid, "label": a.label[:512], "score": float(a.score)} for o in outs
                for a in o.annotations]
        stored_n = next((int(p.split(":")[1]) for p in parts[rid] if p.startswith("a:")), 0)
        if stored_n != len(anns):
            continue
        vecs = {o.vectors.model: np.asarray(o.vectors.record_vector, dtype=np.float32) for o in outs
                if o.vectors is not None and o.vectors.record_vector is not None}
        info = enrichment_by_record(anns).get(rid, Enrichment())
        rows.append((make_row(json.loads(bodies[rid]), info, vecs), sigs[rid]))
    rows.sort(key=lambda x: x[0].id)
    for row, sig in rows:
        f = row.facets
        for key, value in (("id", row.id), ("sig", sig), *row.doc.items(), ("lang", row.lang),
                           *((k, f[k]) for k in _FACETS), ("year", f["year"]), ("sdgs", list(f["sdgs"])),
                           ("pathways", list(f["pathways"])), ("models", list(row.vectors)),
                           ("vectors", [v.tobytes() for v in row.vectors.values()])):
            cols[key].append(value)
    from citybridge.pipelines.columnar import pa

    buf = io.BytesIO()
    pq.write_table(pa().table(cols, schema=_schema()), buf, compression="zstd", row_group_size=2000)
    atomic_write_bytes(folder / INDEX, buf.getvalue())
    return len(rows)


def _read(path: Path, order: int) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(id, -order, columns of the row) of one partition's index rows, a row group at a time."""
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
    except (OSError, ValueError):  # unreadable or from another version: the store has every record
        return
    if f.schema_arrow.names != _schema().names:
        return
    for batch in f.iter_batches(batch_size=2000):
        d = batch.to_pydict()
        for k in range(batch.num_rows):
            yield d["id"][k], -order, {name: col[k] for name, col in d.items()}


def _row(c: dict[str, Any]) -> IndexRow:
    facets = {k: c[k] for k in _FACETS}
    facets.update(year=c["year"], sdgs=tuple(c["sdgs"]), pathways=tuple(c["pathways"]))
    vectors = {m: np.frombuffer(v, dtype=np.float32) for m, v in zip(c["models"], c["vectors"], strict=True)}
    return IndexRow(c["id"], {k: c[k] for k in ("title", "keywords", "abstract", "body")}, c["lang"], facets,
                    vectors)


class PartitionRows:
    """Rows from the partitions' ``index.parquet`` files (in load order; a later one wins), the store for the
    records they do not hold or hold in another state (see the module docstring)."""

    def __init__(self, folders: Sequence[Path], window: int = WINDOW) -> None:
        self.paths = [Path(f) / INDEX for f in folders if (Path(f) / INDEX).is_file()]
        self.window = window
        self.stats = {"from_partitions": 0, "from_store": 0, "partition_files": len(self.paths)}

    def rows(self, store: Store, models: Sequence[str]) -> Iterator[IndexRow]:
        from sqlalchemy import select

        merged = heapq.merge(*(_read(p, k) for k, p in enumerate(self.paths)))
        pending = next(merged, None)
        r = t.records.c
        after = ""
        while True:
            with store.engine.connect() as conn:
                ids = [x for (x,) in conn.execute(select(r.id).where(r.id > after).order_by(r.id)
                                                   .limit(self.window))]
            if not ids:
                return
            sigs = signatures(store, lo=ids[0], hi=ids[-1])
            found: dict[str, IndexRow] = {}
            while pending is not None and pending[0] <= ids[-1]:
                rid, _order, cols = pending  # the newest partition's row of an id comes first
                if rid not in found and sigs.get(rid) == cols["sig"]:
                    row = _row(cols)
                    if all(m in row.vectors for m in models):
                        found[rid] = row
                pending = next(merged, None)
            missing = [x for x in ids if x not in found]
            if missing:
                with store.engine.connect() as conn:
                    data = dict(conn.execute(select(r.id, r.data).where(r.id.in_(missing[:900]))).all())
                    for i in range(900, len(missing), 900):
                        data.update(conn.execute(select(r.id, r.data).where(r.id.in_(missing[i:i + 900]))).all())
                bodies = [json.loads(data[x]) for x in missing if x in data]  # (deleted meanwhile: left out)
                found.update((row.id, row) for row in store_rows(store, bodies, models))
            self.stats["from_partitions"] += len(ids) - len(missing)
            self.stats["from_store"] += len(missing)
            for x in ids:
                if x in found:
                    yield found[x]
            after = ids[-1]
