"""Schema parity: what PostgreSQL refuses, the SQLite store refuses too, column by column.

Every column of ``store/tables.py`` is probed on each backend (SQLite always, PostgreSQL when configured): a
text one character over its ``String(n)``, a NUL character, an integer outside 32 bits must be refused; the
longest text that fits must be accepted. The probes are generated from the table definitions, so a column added
or resized later is covered without a new test. The SQLite half fails as soon as SQLite would accept what
PostgreSQL rejects (the guards of ``store/guards.py`` are missing or stale).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import Boolean, Column, Connection, DateTime, Float, Integer, LargeBinary, String, Table, insert
from sqlalchemy.exc import DBAPIError

from citybridge.hub import Hub
from citybridge.model.entities import MAX_EXTERNAL_ID, MAX_OWNER, MAX_SCHEME, Document, Organization
from citybridge.model.relations import MAX_RELATION_ID, MAX_ROLE, Relation
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore, version_key

PARENT = "rec_parent"


def _filler(col: Column[Any], salt: int) -> Any:
    if col.foreign_keys:
        return PARENT
    if isinstance(col.type, String):
        return f"v{salt}"[: col.type.length or 99]
    if isinstance(col.type, Boolean):
        return True
    if isinstance(col.type, Integer):
        return salt
    if isinstance(col.type, Float):
        return 0.5
    if isinstance(col.type, DateTime):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(col.type, LargeBinary):
        return b"\x00\x01"
    raise AssertionError(f"no filler for {col.type!r}")


def _row(table: Table, salt: int, **values: Any) -> dict[str, Any]:
    row = {c.name: _filler(c, salt) for c in table.columns
           if not (c.primary_key and c.autoincrement is True and isinstance(c.type, Integer))}
    row.update(values)
    return row


def _accepted(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Whether the database stores ``row`` (always rolled back afterwards)."""
    nested = conn.begin_nested()
    try:
        conn.execute(insert(table), [row])
    except DBAPIError:
        nested.rollback()
        return False
    nested.rollback()
    return True


def _probes() -> list[tuple[Table, Column[Any], str, Any, bool]]:
    """(table, column, what, value, accepted?) for every column PostgreSQL is strict about."""
    out = []
    for table in t.metadata.sorted_tables:
        for col in table.columns:
            if col.foreign_keys:
                continue
            if isinstance(col.type, String):
                n = col.type.length
                if n:
                    out.append((table, col, f"{n + 1} characters", "é" * (n + 1), False))
                    out.append((table, col, f"{n} characters", "é" * n, True))
                if not col.info.get("json"):
                    out.append((table, col, "a NUL character", "a\x00b"[: n or 3], False))
            elif isinstance(col.type, Integer) and not (col.primary_key and col.autoincrement is True):
                out.append((table, col, "2**31", 2**31, False))
                out.append((table, col, "2**31 - 1", 2**31 - 1, True))
    return out


def test_each_backend_refuses_what_postgresql_refuses(any_hub: Hub) -> None:
    probes = _probes()
    assert len(probes) > 60
    wrong = []
    with any_hub.store.engine.connect() as conn, conn.begin():
        # a parent row in every table a foreign key points at, keyed PARENT (what the FK fillers write)
        parents = {fk.column.table for tb in t.metadata.sorted_tables for c in tb.columns for fk in c.foreign_keys}
        for table in t.metadata.sorted_tables:
            if table in parents:
                keys = {fk.column.name for tb in t.metadata.sorted_tables for c in tb.columns
                        for fk in c.foreign_keys if fk.column.table is table}
                conn.execute(insert(table), [_row(table, 0, **dict.fromkeys(keys, PARENT))])
        # a key that is both a primary key and a foreign key (a member is a record) needs a second parent
        conn.execute(insert(t.records), [_row(t.records, 0, id=PARENT + "2")])
        for salt, (table, col, what, value, expected) in enumerate(probes, start=1):
            shared_keys = {c.name: PARENT + "2" for c in table.primary_key.columns if c.foreign_keys}
            if _accepted(conn, table, _row(table, salt, **shared_keys, **{col.name: value})) != expected:
                wrong.append(f"{table.name}.{col.name} {what}: {'accepted' if not expected else 'refused'}")
        conn.rollback()
    assert wrong == [], f"{any_hub.store.dialect}: {wrong}"


def test_json_columns_never_hold_a_nul_character() -> None:
    # the guards skip their NUL check on JSON_TEXT columns: their writers must escape control characters
    assert "\x00" not in json.dumps({"a": "x\x00y"}, ensure_ascii=False)
    assert b"\x00" not in orjson.dumps({"a": "x\x00y"})
    assert {c.name for tb in t.metadata.sorted_tables for c in tb.columns if c.info.get("json")} == {
        "data", "evidence", "themes"}


def test_the_models_bound_what_goes_into_sized_columns() -> None:
    assert t.records.c.owner.type.length == t.relations.c.owner.type.length == MAX_OWNER
    assert t.external_ids.c.scheme.type.length == MAX_SCHEME
    assert t.external_ids.c.value.type.length == MAX_EXTERNAL_ID
    assert t.relations.c.id.type.length == MAX_RELATION_ID
    assert t.relations.c.role.type.length == MAX_ROLE
    with pytest.raises(ValueError, match="owner"):
        Organization(name="x", visibility="private", owner="u" * (MAX_OWNER + 1))
    with pytest.raises(ValueError, match="longer than 512"):
        Organization(name="x", external_ids={"website": "https://example.org/" + "p" * 600})
    with pytest.raises(ValueError, match="longer than 32"):
        Organization(name="x", external_ids={"s" * 40: "1"})
    with pytest.raises(ValueError, match="role"):
        Relation(type="partner_in", source="a", target="b", role="r" * (MAX_ROLE + 1))
    assert Document(name="Heat\x00 plan").name == "Heat plan"


def test_a_long_step_version_is_stored_by_its_key(any_hub: Hub) -> None:
    """The reported failure: the SDG tagger's version (144 characters) in enrich_state."""
    store = any_hub.store
    [out] = store.upsert_records([Document(name="Urban heat plan", description="Shade for older residents")])
    es = EnrichmentStore(store)
    long_version = "tags/" + "x" * 300
    assert list(es.pending("tags", long_version, ["document"])) == [out.id]
    with store.engine.begin() as conn:
        es.mark_done(conn, "tags", long_version, es.hashes([out.id], conn))
    assert list(es.pending("tags", long_version, ["document"])) == []
    assert list(es.pending("tags", long_version + "!", ["document"])) == [out.id]
    assert es.state_summary()["tags"] == {long_version: 1}
    with store.engine.connect() as conn:
        assert conn.execute(t.step_versions.select()).mappings().one()["key"] == version_key(long_version)


def test_enrichment_runs_with_the_real_tagger(any_hub: Hub) -> None:
    any_hub.upsert([Document(name="Urban heat plan", description="Heat waves hit older residents in dense "
                                                                  "neighbourhoods; trees and shade cool the city.")])
    first = any_hub.enrich(["language", "tags"], workers=1, profiles=False)
    assert first.steps == {"language": 1, "tags": 1} and first.annotations > 0
    assert any_hub.enrich(["language", "tags"], workers=1, profiles=False).steps == {"language": 0, "tags": 0}
