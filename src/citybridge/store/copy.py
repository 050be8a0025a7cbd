"""Copy a whole store to another database (e.g. the embedded SQLite store to PostgreSQL for a multi-user
deployment) and prove the copy: per table, the row count and a SHA-256 over every row (in key order, values
normalised so SQLite's and PostgreSQL's representations of one value agree) must match.

Everything the schema holds is copied: records, relations, history, imports, annotations, embeddings,
profiles, merges, notification members and subscriptions, accounts, tokens, sessions, the audit log. The
target must be empty (a fresh database: its schema is created here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text

from citybridge.errors import Conflict
from citybridge.store import tables as t
from citybridge.store.repository import Store

BATCH = 2000


@dataclass
class CopyReport:
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {rows, source_sha256, target_sha256}

    @property
    def verified(self) -> bool:
        return all(v["rows"] == v["target_rows"] and v["source_sha256"] == v["target_sha256"]
                   for v in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "tables": self.tables}


def _norm(value: Any) -> str:
    if value is None:
        return "\x00null"
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


def _rows(engine: Engine, table: Table) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
            select(table).order_by(*_order(table)))
        for row in result:
            yield dict(row._mapping)


def table_digest(engine: Engine, table: Table) -> tuple[int, str]:
    """(rows, SHA-256 over the normalised rows in key order) of one table."""
    h = hashlib.sha256()
    n = 0
    names = [c.name for c in table.columns]
    for row in _rows(engine, table):
        h.update("\x1f".join(_norm(row[c]) for c in names).encode("utf-8", "surrogatepass") + b"\x1e")
        n += 1
    return n, h.hexdigest()


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v) for k, v in row.items()}


def copy_store(source: Store, target_url: str, *, progress: Callable[[str, int], None] | None = None) -> CopyReport:
    """Copy every table of ``source`` into the (empty) database at ``target_url`` and verify counts and
    checksums; raises Conflict when the target already holds data."""
    target = Store.open(target_url)
    try:
        with target.engine.connect() as conn:
            for table in t.metadata.sorted_tables:
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    raise Conflict(f"the target database is not empty (table {table.name} has rows): "
                                   "migrate into a new database", field="to")
        for table in t.metadata.sorted_tables:
            batch: list[dict[str, Any]] = []
            with target.engine.begin() as conn:
                for row in _rows(source.engine, table):
                    batch.append(_aware(row))
                    if len(batch) >= BATCH:
                        conn.execute(insert(table), batch)
                        if progress:
                            progress(table.name, len(batch))
                        batch = []
                if batch:
                    conn.execute(insert(table), batch)
                    if progress:
                        progress(table.name, len(batch))
                if target.dialect == "postgresql":  # serial keys continue after the copied ones
                    for col in table.primary_key.columns:
                        if col.autoincrement is True or (col.autoincrement == "auto" and col.type.python_type is int
                                                         and len(table.primary_key.columns) == 1):
                            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                                              f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"))
        report = CopyReport()
        for table in t.metadata.sorted_tables:
            n, src = table_digest(source.engine, table)
            m, dst = table_digest(target.engine, table)
            report.tables[table.name] = {"rows": n, "target_rows": m, "source_sha256": src, "target_sha256": dst}
        return report
    finally:
        target.close()
