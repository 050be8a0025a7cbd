"""Parquet export for analysts: ``records.parquet``, ``relations.parquet`` and ``annotations.parquet`` in one
folder, written in row groups as the store is read (memory stays flat in the store size).

Each table has flat, typed columns that DuckDB, pandas or Spark query directly (ids, kind, subtype, name,
country, year, visibility, timestamps as UTC ``timestamp[us]``, ...) plus ``body``: the exact JSON the JSON
Lines export writes, so :func:`read_bodies` gives back what ``citybridge import`` reproduces the store from.
Needs ``pyarrow`` (the ``parquet`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from citybridge.errors import Invalid
from citybridge.store import tables as t
from citybridge.store.repository import Store

ROW_GROUP = 20_000
FILES = ("records", "relations", "annotations")


def _pa() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        raise Invalid("the Parquet export needs pyarrow: pip install 'citybridge[parquet]'", field="format") from None
    return pa


def _schemas(pa: Any) -> dict[str, Any]:
    ts = pa.timestamp("us", tz="UTC")
    s, i = pa.string(), pa.int32()
    return {
        "records": pa.schema([("id", s), ("kind", s), ("subtype", s), ("name", s), ("country", s), ("year", i),
                              ("visibility", s), ("owner", s), ("version", i), ("created_at", ts),
                              ("updated_at", ts), ("description", s), ("body", s)]),
        "relations": pa.schema([("id", s), ("type", s), ("source_id", s), ("target_id", s), ("role", s),
                                ("visibility", s), ("owner", s), ("version", i), ("created_at", ts),
                                ("updated_at", ts), ("body", s)]),
        "annotations": pa.schema([("record_id", s), ("step", s), ("label", s), ("target_id", s),
                                  ("score", pa.float64()), ("evidence", s)]),
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _batches(store: Store, table: Any, key: Any, cols: list[Any], batch: int) -> Iterator[list[Any]]:
    """Rows of ``table`` in key order, ``batch`` at a time (keyset pagination: no long-held cursor)."""
    after: Any = None
    while True:
        q = select(*cols)
        if after is not None:
            q = q.where(key > after)
        q = q.order_by(key).limit(batch)
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def export_parquet(store: Store, folder: Path, *, keep: Callable[[dict[str, Any]], bool] | None = None,
                   batch: int = ROW_GROUP) -> dict[str, int]:
    """Write the three tables into ``folder`` (created; files are replaced atomically). ``keep`` filters
    records and relations by their JSON body (a caller's visibility); annotations follow their records.
    Returns the row count per file."""
    pa = _pa()
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    schemas = _schemas(pa)
    counts = {}
    kept_ids: set[str] | None = set() if keep is not None else None
    r, rel, a = t.records.c, t.relations.c, t.annotations.c
    for name in FILES:
        path = folder / f"{name}.parquet"
        tmp = folder / f".{name}.parquet.part"
        n = 0
        with pq.ParquetWriter(tmp, schemas[name], compression="zstd") as writer:
            if name == "records":
                cols = [r.id, r.kind, r.subtype, r.name, r.country, r.year, r.visibility, r.owner, r.version,
                        r.created_at, r.updated_at, r.data]
                chunks = _batches(store, t.records, r.id, cols, batch)
            elif name == "relations":
                cols = [rel.id, rel.type, rel.source_id, rel.target_id, rel.role, rel.visibility, rel.owner,
                        rel.version, rel.created_at, rel.updated_at, rel.data]
                chunks = _batches(store, t.relations, rel.id, cols, batch)
            else:
                cols = [a.seq, a.record_id, a.step, a.label, a.target_id, a.score, a.evidence]
                chunks = _batches(store, t.annotations, a.seq, cols, batch)
            for rows in chunks:
                table = _table(pa, schemas[name], name, rows, keep, kept_ids)
                if table.num_rows:
                    writer.write_table(table)
                    n += table.num_rows
        tmp.replace(path)
        counts[name] = n
    return counts


def _table(pa: Any, schema: Any, name: str, rows: list[Any], keep: Callable[[dict[str, Any]], bool] | None,
           kept_ids: set[str] | None) -> Any:
    if name == "annotations":
        if kept_ids is not None:
            rows = [x for x in rows if x[1] in kept_ids]
        cols = list(zip(*rows, strict=True))[1:] if rows else [()] * 6
        return pa.table([pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)
    bodies = [json.loads(x[-1]) for x in rows]
    if name == "relations":
        bodies = [{"kind": "relation", **{k: v for k, v in b.items() if k != "kind"}} for b in bodies]
    if keep is not None:
        pairs = [(x, b) for x, b in zip(rows, bodies, strict=True) if keep(b)]
        rows, bodies = [p[0] for p in pairs], [p[1] for p in pairs]
        if kept_ids is not None and name == "records":
            kept_ids.update(x[0] for x in rows)
    texts = [json.dumps(b, ensure_ascii=False, sort_keys=True) for b in bodies]
    cols: list[list[Any]] = [list(c) for c in zip(*[x[:-1] for x in rows], strict=True)] if rows else \
        [[] for _ in range(len(schema) - (2 if name == "records" else 1))]
    ts_at = (9, 10) if name == "records" else (8, 9)
    for k in ts_at:
        cols[k] = [_utc(v) for v in cols[k]]
    if name == "records":
        cols.append([d if isinstance(d := b.get("description"), str) else None for b in bodies])
    cols.append(texts)
    return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)


def read_bodies(folder: Path) -> Iterator[dict[str, Any]]:
    """The records then the relations of a Parquet export, as the JSON bodies the JSON Lines export writes
    (feed them to ``citybridge import`` through a ``.jsonl`` file to rebuild a store)."""
    _pa()
    import pyarrow.parquet as pq

    for name in ("records", "relations"):
        path = folder / f"{name}.parquet"
        if not path.exists():
            raise Invalid(f"no {name}.parquet in the export folder", where=str(folder))
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(columns=["body"]):
            for text in batch.column(0).to_pylist():
                yield json.loads(text)
