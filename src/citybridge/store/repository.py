"""The knowledge store: records, external ids, relations and their history, over SQLAlchemy Core.

The store is the single source of truth; indexes and models are derived from it. Writes come in
batches, each batch one transaction: a failure leaves the store as it was before the batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from citybridge.errors import Conflict, NotFound
from citybridge.model.entities import (
    Kind,
    Provenance,
    Record,
    Visibility,
    derive_id,
    is_placeholder_name,
    record_from_dict,
    record_to_dict,
    utcnow,
)
from citybridge.model.relations import Relation, RelationType, check_relation_kinds, relation_to_dict
from citybridge.store import tables as t
from citybridge.store.engine import make_engine
from citybridge.store.guards import is_guard_error
from citybridge.store.migrate import upgrade

Status = Literal["created", "updated", "unchanged", "rejected"]
_CHUNK = 900  # ids per IN (...) query, safe for every SQLite build
# Bulk paths talk to the DBAPI driver directly: SQLAlchemy's per-row parameter processing
# otherwise costs more than SQLite's own work on large imports.
_SEL_KINDS = "SELECT id, kind FROM records WHERE id IN ({})"
# scheme first: the primary key (scheme, value) serves the lookup (value alone would scan the table)
_SEL_EXT = "SELECT scheme, value, record_id FROM external_ids WHERE scheme = {ph} AND value IN ({{}})"
# ... and the kind of each record found, in the same lookup (the importer needs both for a relation's ends)
_SEL_EXT_KIND = ("SELECT e.scheme, e.value, e.record_id, r.kind FROM external_ids e "
                 "JOIN records r ON r.id = e.record_id "
                 "WHERE e.scheme = {ph} AND e.value IN ({{}})")
_SEL_EXISTING = "SELECT id, kind, data, hash, version FROM records WHERE id IN ({})"
_SEL_REL_EXISTING = "SELECT id, data, hash, version FROM relations WHERE id IN ({})"


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


@contextmanager
def _dbapi_cursor(conn: Connection, sql: str = "") -> Iterator[Any]:
    """A cursor of the connection's own DBAPI connection (inside its transaction), for the bulk paths:
    SQLAlchemy's result rows cost more per row than the lookups themselves. Driver errors come out as
    SQLAlchemy's (IntegrityError, OperationalError ...), as from ``conn.execute``, so callers and the
    interfaces' error handling treat both paths alike."""
    dbapi = conn.dialect.dbapi
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cur
    except dbapi.Error as exc:  # type: ignore[union-attr]
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc  # type: ignore[union-attr]
    finally:
        cur.close()


def _select_in(conn: Connection, sql: str, ids: list[str]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples (see :func:`_dbapi_cursor`)."""
    query = sql.format(",".join([_placeholder(conn)] * len(ids)))
    with _dbapi_cursor(conn, query) as cur:
        cur.execute(query, tuple(ids))
        return list(cur.fetchall())


def _memo(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Bind processing of a column, memoised: a batch shares a few timestamps, each formatted once."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            return out
        except TypeError:  # unhashable
            return proc(value)

    return run


def _bulk_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """executemany straight on the driver, with each column's own bind processing (e.g. SQLite datetimes)."""
    if not rows:
        return
    cols = list(rows[0])
    procs = [_memo(p) if p else None for p in (table.c[c].type._cached_bind_processor(conn.dialect) for c in cols)]
    ph = _placeholder(conn)
    quote = conn.dialect.identifier_preparer.quote  # e.g. embeddings.end is a reserved word in PostgreSQL
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        _copy_rows(conn, f"COPY {quote(table.name)} ({', '.join(map(quote, cols))}) FROM STDIN", cols, rows)
        return
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, cols))}) VALUES ({', '.join([ph] * len(cols))})"
    getter = itemgetter(*cols) if len(cols) > 1 else (lambda r: (r[cols[0]],))
    converted = [(i, p) for i, p in enumerate(procs) if p]
    if not converted:
        conn.exec_driver_sql(sql, [getter(r) for r in rows])
        return
    params = []
    for r in rows:
        values = list(getter(r))
        for i, p in converted:
            values[i] = p(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def _bulk_update(conn: Connection, table: Any, rows: list[dict[str, Any]], key: str = "id") -> None:
    """``UPDATE table SET ... WHERE key = ?`` for each row, one executemany per column set straight on the
    driver (in order: a row updated twice in a batch ends as its last version), with the columns' own bind
    processing, as :func:`_bulk_insert`; what one ``conn.execute(update(...))`` per row did, minus
    SQLAlchemy's statement building per row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r), []).append(r)
    if len(groups) > 1:  # keep the order of the rows across groups: one statement per row then
        for r in rows:
            _bulk_update(conn, table, [r], key)
        return
    ph = _placeholder(conn)
    quote = conn.dialect.identifier_preparer.quote
    for cols_t, group in groups.items():
        cols = [c for c in cols_t if c != key]
        procs = [_memo(p) if p else None for p in (table.c[c].type._cached_bind_processor(conn.dialect)
                                                    for c in [*cols, key])]
        sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {ph}' for c in cols)} "
               f"WHERE {quote(key)} = {ph}")
        params = []
        for r in group:
            values = [r[c] for c in cols] + [r[key]]
            params.append(tuple(p(v) if p else v for p, v in zip(procs, values, strict=True)))
        conn.exec_driver_sql(sql, params)


COPY_MIN_ROWS = 64  # PostgreSQL: batches from this size are bulk loaded with COPY, smaller ones inserted


def _copy_rows(conn: Connection, sql: str, cols: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL bulk load with psycopg 3's COPY ... FROM STDIN, inside the batch's transaction (a failure
    aborts the whole batch, as a failed INSERT does). A constraint error surfaces as SQLAlchemy's
    IntegrityError, like the executemany path, so callers handle both alike."""
    getter = itemgetter(*cols) if len(cols) > 1 else (lambda r: (r[cols[0]],))
    with _dbapi_cursor(conn, sql) as cur, cur.copy(sql) as copy:
        for r in rows:
            copy.write_row(getter(r))


@dataclass(slots=True)
class Outcome:
    """What happened to one record or relation of a batch."""

    status: Status
    id: str | None = None
    reason: str | None = None
    field: str | None = None


def _canonical(body: dict[str, Any]) -> str:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def content_hash(body: dict[str, Any]) -> str:
    """Hash of a record's content, ignoring its timestamps (so re-imports are recognised as unchanged)."""
    stripped = {k: v for k, v in body.items() if k not in ("created_at", "updated_at")}
    return hashlib.sha1(orjson.dumps(stripped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def who(changed_by: str | None) -> str | None:
    """``changed_by`` as stored: an audit label (``import:<file name>``, ``api:<user>``) clipped to its column."""
    limit = t.records.c.changed_by.type.length
    if changed_by is None or len(changed_by) <= limit:
        return changed_by
    return changed_by[:limit - 3] + "..."


def fallback_key(record: Record) -> str:
    """Natural key of a record with no id and no external id: its kind and normalised name."""
    return f"name:{' '.join(record.name.lower().split())}"


def _merge_provenance(old: list[Provenance], new: list[Provenance]) -> list[Provenance]:
    out = {(p.source, p.record_id): p for p in old}
    for p in new:
        out[(p.source, p.record_id)] = p
    return list(out.values())


def merge_records(old: Record, new: Record) -> Record:
    """Apply the fields ``new`` explicitly sets onto ``old``; external ids and provenance are united."""
    body = old.model_dump()
    for name in new.model_fields_set:
        if name in ("id", "created_at"):
            continue
        value = getattr(new, name)
        if name == "name" and is_placeholder_name(value) and not is_placeholder_name(old.name):
            continue  # "Organisation PIC 123" re-imported never hides the real name a merge or an edit gave
        if name == "external_ids":
            body["external_ids"] = {**old.external_ids, **value}
        elif name == "provenance":
            body["provenance"] = _merge_provenance(old.provenance, value)
        else:
            body[name] = value
    return type(old).model_validate(body)


class Store:
    """Persistence of records and relations. Build it with :meth:`open`; call :meth:`migrate` once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0  # bumped on every write through this object (derived indexes re-check on change)

    @classmethod
    def open(cls, url: str, *, busy_timeout_ms: int = 10_000, migrate: bool = True) -> Store:
        store = cls(make_engine(url, busy_timeout_ms=busy_timeout_ms))
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> None:
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ reading
    def get(self, record_id: str) -> Record:
        """The record with this id; raises NotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.records.c.data).where(t.records.c.id == record_id)).first()
        if row is None:
            raise NotFound(f"no record with id '{record_id}'")
        return record_from_dict(json.loads(row.data))

    def get_many(self, ids: Iterable[str]) -> dict[str, Record]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Record] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                for row in conn.execute(select(t.records.c.id, t.records.c.data).where(t.records.c.id.in_(chunk))):
                    out[row.id] = record_from_dict(json.loads(row.data))
        return out

    def exists(self, record_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(t.records.c.id).where(t.records.c.id == record_id)).first() is not None

    def kinds_of(self, ids: Iterable[str], conn: Connection | None = None) -> dict[str, str]:
        """Map each existing id to its kind (missing ids are absent)."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}

        def run(c: Connection) -> None:
            for chunk in _chunks(wanted):
                for rid, kind in _select_in(c, _SEL_KINDS, chunk):
                    out[rid] = kind

        if conn is not None:
            run(conn)
        else:
            with self.engine.connect() as c:
                run(c)
        return out

    def resolve_external(self, pairs: Iterable[tuple[str, str]], conn: Connection | None = None, *,
                         kinds: dict[str, str] | None = None) -> dict[tuple[str, str], str]:
        """Map (scheme, value) pairs to record ids where known; ``kinds``, when given, also gets the kind of
        each record found (record id -> kind), read in the same query."""
        by_scheme: dict[str, list[str]] = {}
        for scheme, value in dict.fromkeys(pairs):
            by_scheme.setdefault(scheme, []).append(value)
        out: dict[tuple[str, str], str] = {}

        def run(c: Connection) -> None:
            ph = _placeholder(c)
            sql = _SEL_EXT if kinds is None else _SEL_EXT_KIND
            with _dbapi_cursor(c, sql) as cur:
                for scheme, values in by_scheme.items():
                    for chunk in _chunks(values):
                        cur.execute(sql.format(ph=ph).format(",".join([ph] * len(chunk))), (scheme, *chunk))
                        if kinds is None:
                            for s, v, rid in cur.fetchall():
                                out[(s, v)] = rid
                        else:
                            for s, v, rid, kind in cur.fetchall():
                                out[(s, v)] = rid
                                kinds[rid] = kind

        if conn is not None:
            run(conn)
        else:
            with self.engine.connect() as c:
                run(c)
        return out

    def external_ids_of(self, record_ids: Iterable[str], conn: Connection | None = None
                        ) -> dict[str, dict[str, set[str]]]:
        """Every external id held by each record: ``{record_id: {scheme: {values}}}``."""
        wanted = list(dict.fromkeys(record_ids))
        out: dict[str, dict[str, set[str]]] = {}

        def run(c: Connection) -> None:
            for chunk in _chunks(wanted):
                for row in c.execute(select(t.external_ids).where(t.external_ids.c.record_id.in_(chunk))):
                    out.setdefault(row.record_id, {}).setdefault(row.scheme, set()).add(row.value)

        if conn is not None:
            run(conn)
        else:
            with self.engine.connect() as c:
                run(c)
        return out

    def find_by_external(self, scheme: str, value: str) -> Record:
        from citybridge.model.entities import normalize_external_id

        norm = normalize_external_id(scheme, value)
        hit = self.resolve_external([(scheme.lower(), norm)])
        if not hit:
            raise NotFound(f"no record with {scheme} '{value}'")
        return self.get(next(iter(hit.values())))

    def list_records(
        self, kind: str | None = None, *, subtype: str | None = None, country: str | None = None,
        after: str | None = None, limit: int = 50,
    ) -> list[Record]:
        """Records ordered by id; pass the last id as ``after`` for the next page (cursor pagination)."""
        q = select(t.records.c.data).order_by(t.records.c.id).limit(limit)
        if kind:
            q = q.where(t.records.c.kind == kind)
        if subtype:
            q = q.where(t.records.c.subtype == subtype)
        if country:
            q = q.where(t.records.c.country == country.upper())
        if after:
            q = q.where(t.records.c.id > after)
        with self.engine.connect() as conn:
            return [record_from_dict(json.loads(r.data)) for r in conn.execute(q)]

    def iter_records(self, kind: str | None = None, *, batch: int = 2000) -> Iterator[Record]:
        """Every record (of a kind), in id order, read in pages so memory stays flat."""
        for body in self.iter_record_dicts(kind, batch=batch):
            yield record_from_dict(body)

    def iter_record_dicts(self, kind: str | None = None, *, batch: int = 2000,
                          since: datetime | None = None) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            q = select(t.records.c.id, t.records.c.data).where(t.records.c.id > after)
            if kind:
                q = q.where(t.records.c.kind == kind)
            if since is not None:
                q = q.where(t.records.c.updated_at >= since)
            q = q.order_by(t.records.c.id).limit(batch)
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                return
            for row in rows:
                yield json.loads(row.data)
            after = rows[-1].id

    def iter_relations(self, rel_type: str | None = None, *, batch: int = 5000) -> Iterator[Relation]:
        for body in self.iter_relation_dicts(rel_type, batch=batch):
            body.pop("kind", None)
            yield Relation.model_validate(body)

    def iter_relation_dicts(self, rel_type: str | None = None, *, batch: int = 5000) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            q = select(t.relations.c.id, t.relations.c.data).where(t.relations.c.id > after)
            if rel_type:
                q = q.where(t.relations.c.type == rel_type)
            q = q.order_by(t.relations.c.id).limit(batch)
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                return
            for row in rows:
                yield json.loads(row.data)
            after = rows[-1].id

    def relations_of(self, record_id: str, *, direction: Literal["out", "in", "both"] = "both",
                     rel_type: str | None = None, limit: int = 1000) -> list[Relation]:
        c = t.relations.c
        cond = {"out": c.source_id == record_id, "in": c.target_id == record_id,
                "both": or_(c.source_id == record_id, c.target_id == record_id)}[direction]
        q = select(c.data).where(cond)
        if rel_type:
            q = q.where(c.type == rel_type)
        q = q.order_by(c.type, c.id).limit(limit)
        with self.engine.connect() as conn:
            out = []
            for row in conn.execute(q):
                body = json.loads(row.data)
                body.pop("kind", None)
                out.append(Relation.model_validate(body))
            return out

    def history(self, entity_id: str) -> list[dict[str, Any]]:
        """Earlier versions of a record or relation, oldest first."""
        q = select(t.history).where(t.history.c.entity_id == entity_id).order_by(t.history.c.seq)
        with self.engine.connect() as conn:
            return [
                {"version": r.version, "change": r.change, "changed_at": _as_utc(r.changed_at),
                 "changed_by": r.changed_by, "data": json.loads(r.data)}
                for r in conn.execute(q)
            ]

    def version_of(self, record_id: str) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.records.c.version).where(t.records.c.id == record_id)).first()
        if row is None:
            raise NotFound(f"no record with id '{record_id}'")
        return int(row.version)

    def stats(self) -> dict[str, Any]:
        """Counts of records by kind and subtype, and of relations by type."""
        with self.engine.connect() as conn:
            kinds: dict[str, dict[str, int]] = {}
            q = select(t.records.c.kind, t.records.c.subtype, func.count()).group_by(
                t.records.c.kind, t.records.c.subtype)
            for kind, subtype, n in conn.execute(q):
                kinds.setdefault(kind, {})[subtype or "-"] = n
            rels = dict(conn.execute(select(t.relations.c.type, func.count()).group_by(t.relations.c.type)).all())
            countries = conn.execute(select(func.count(func.distinct(t.records.c.country)))).scalar_one()
        return {
            "records": sum(sum(v.values()) for v in kinds.values()),
            "by_kind": {k: sum(v.values()) for k, v in sorted(kinds.items())},
            "by_subtype": {k: dict(sorted(v.items())) for k, v in sorted(kinds.items())},
            "relations": sum(rels.values()),
            "by_relation": dict(sorted(rels.items())),
            "countries": countries,
        }

    # ------------------------------------------------------------------ writing
    def upsert_records(self, records: Sequence[Record], *, changed_by: str | None = None,
                       conn: Connection | None = None) -> list[Outcome]:
        """Create or update records in one transaction; returns one outcome per record, in order.

        A record is matched by its id, else by any of its external ids, else by a stable id derived from
        its first external id (or its kind and name). Matching records are merged: the fields the new
        record sets win, external ids and provenance are united, and the replaced version goes to history.
        """
        self.generation += 1
        changed_by = who(changed_by)
        if conn is None:
            with self.engine.begin() as c:
                return self._upsert_records(c, records, changed_by)
        return self._upsert_records(conn, records, changed_by)

    def _upsert_records(self, conn: Connection, records: Sequence[Record], changed_by: str | None
                        ) -> list[Outcome]:
        now = utcnow()
        pairs = [(s, v) for r in records for s, v in r.external_ids.items()]
        ext_hits = self.resolve_external(pairs, conn) if pairs else {}
        outcomes: list[Outcome | None] = [None] * len(records)
        target_ids: list[str | None] = [None] * len(records)
        for i, rec in enumerate(records):
            owners = {ext_hits[(s, v)] for s, v in rec.external_ids.items() if (s, v) in ext_hits}
            if rec.id:
                others = owners - {rec.id}
                if others:
                    scheme = next(s for s, v in rec.external_ids.items() if ext_hits.get((s, v)) in others)
                    outcomes[i] = Outcome("rejected", rec.id, f"{scheme} '{rec.external_ids[scheme]}' already "
                                          f"belongs to record '{sorted(others)[0]}'", f"external_ids.{scheme}")
                    continue
                target_ids[i] = rec.id
            elif len(owners) > 1:
                outcomes[i] = Outcome("rejected", None, "external ids point to different records: "
                                      + ", ".join(sorted(owners)), "external_ids")
                continue
            elif owners:
                target_ids[i] = owners.pop()
            else:
                target_ids[i] = derive_id(rec.kind, rec.natural_key() or fallback_key(rec))

        wanted = [tid for tid in target_ids if tid]
        existing: dict[str, Any] = {}
        for chunk in _chunks(list(dict.fromkeys(wanted))):
            for row in _select_in(conn, _SEL_EXISTING, chunk):
                existing[row[0]] = _RowStub(*row)

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        hist: list[dict[str, Any]] = []
        ext_rows: list[dict[str, Any]] = []
        pending: dict[str, Record] = {}  # records written earlier in this same batch
        pending_body: dict[str, dict[str, Any]] = {}  # ... brand-new ones, as stored (a Record only if repeated)
        now_json = _json_time(now)
        claimed: dict[tuple[str, str], str] = dict(ext_hits)
        updated_in_batch: set[str] = set()
        for i, rec in enumerate(records):
            tid = target_ids[i]
            if tid is None:
                continue
            old_row = existing.get(tid)
            if old_row is not None and old_row.kind != rec.kind.value:
                outcomes[i] = Outcome("rejected", tid, f"id '{tid}' is a {old_row.kind}, not a {rec.kind.value}",
                                      "kind")
                continue
            clash = [(s, v) for s, v in rec.external_ids.items() if claimed.get((s, v), tid) != tid]
            if clash:
                s, v = clash[0]
                outcomes[i] = Outcome("rejected", tid, f"{s} '{v}' already belongs to record '{claimed[(s, v)]}'",
                                      f"external_ids.{s}")
                continue
            if old_row is None and tid not in pending and tid not in pending_body:
                # a brand-new record (the bulk of an import): one dump, no copy of the model
                body, merged_new = _new_body(rec, tid, changed_by, now, now_json)
                digest = content_hash(body)
                row = {
                    "id": tid, "kind": _KIND[rec.kind], "subtype": rec.subtype, "name": rec.name,
                    "country": rec.__dict__.get("country"), "year": _year_of(rec),
                    "visibility": _VIS[rec.visibility], "owner": rec.owner, "data": _canonical(body),
                    "hash": digest, "created_at": merged_new[0], "updated_at": merged_new[1],
                    "changed_by": changed_by, "version": 1,
                }
                for s, v in rec.external_ids.items():
                    if (s, v) not in claimed:
                        claimed[(s, v)] = tid
                        ext_rows.append({"scheme": s, "value": v, "record_id": tid})
                inserts.append(row)
                outcomes[i] = Outcome("created", tid)
                pending_body[tid] = body
                continue
            if tid in pending or tid in pending_body:
                base: Record | None = pending.get(tid) or record_from_dict(pending_body[tid])
                pending[tid] = base  # type: ignore[assignment]
            elif old_row is not None:
                base = record_from_dict(json.loads(old_row.data))
                for pair in base.external_ids.items():  # already stored: never insert them twice
                    claimed.setdefault(pair, tid)
            else:
                base = None
            if base is None:
                merged = rec.model_copy(update={"id": tid})
                if not merged.provenance:  # every record says where it came from
                    merged.provenance = [Provenance(source=changed_by or "unknown")]
                merged.created_at = _as_utc(rec.created_at) or now
                merged.updated_at = _as_utc(rec.updated_at) or merged.created_at
            else:
                try:
                    merged = merge_records(base, rec)
                except ValidationError as exc:  # the row's fields clash with the stored ones (end before start)
                    err = exc.errors()[0] if exc.errors() else {}
                    loc = ".".join(str(x) for x in err.get("loc", ()))
                    msg = str(err.get("msg", exc)).removeprefix("Value error, ")
                    outcomes[i] = Outcome("rejected", tid, f"{msg} once merged with the stored record '{tid}'",
                                          loc or None)
                    continue
                merged.id = tid
                merged.created_at = base.created_at
                merged.updated_at = _as_utc(rec.updated_at) if "updated_at" in rec.model_fields_set else now
            body = record_to_dict(merged)
            digest = content_hash(body)
            old_hash = pending_hash = None
            if tid in pending_body and tid not in updated_in_batch:
                pending_hash = content_hash(pending_body[tid])
            elif tid in pending:
                pending_hash = content_hash(record_to_dict(pending[tid]))
            elif old_row is not None:
                old_hash = old_row.hash
            if digest == (pending_hash or old_hash):
                outcomes[i] = Outcome("unchanged", tid)
                continue
            row = {
                "id": tid, "kind": rec.kind.value, "subtype": merged.subtype, "name": merged.name,
                "country": merged.__dict__.get("country"), "year": _year_of(merged),
                "visibility": merged.visibility.value, "owner": merged.owner, "data": _canonical(body),
                "hash": digest, "created_at": merged.created_at, "updated_at": merged.updated_at,
                "changed_by": changed_by,
            }
            for s, v in merged.external_ids.items():
                if (s, v) not in claimed:
                    claimed[(s, v)] = tid
                    ext_rows.append({"scheme": s, "value": v, "record_id": tid})
            if old_row is None and tid not in pending and tid not in pending_body:
                row["version"] = 1
                inserts.append(row)
                outcomes[i] = Outcome("created", tid)
            elif old_row is None:
                # created earlier in this batch and changed again: fold into the pending insert
                for ins in inserts:
                    if ins["id"] == tid:
                        ins.update(row)
                outcomes[i] = Outcome("updated", tid)
            else:
                version = old_row.version + 1
                hist.append({"entity": "record", "entity_id": tid, "version": old_row.version, "change": "update",
                             "data": old_row.data, "changed_at": now, "changed_by": changed_by})
                row["version"] = version
                old_row = _RowStub(tid, rec.kind.value, row["data"], digest, version)
                existing[tid] = old_row
                updates.append(row)
                outcomes[i] = Outcome("updated", tid)
            pending[tid] = merged
            updated_in_batch.add(tid)

        if inserts:
            _bulk_insert(conn, t.records, inserts)
        if updates:
            _bulk_update(conn, t.records, updates)
        if hist:
            _bulk_insert(conn, t.history, hist)
        if ext_rows:
            try:
                _bulk_insert(conn, t.external_ids, ext_rows)
            except IntegrityError as exc:  # a concurrent writer claimed an id between our read and write
                if is_guard_error(exc):  # not a claim: a value SQLite's guards refuse as PostgreSQL would
                    raise
                raise Conflict("external id claimed concurrently; retry the batch") from exc
        return [o if o is not None else Outcome("rejected", None, "not processed") for o in outcomes]

    def upsert_relations(self, relations: Sequence[Relation], *, changed_by: str | None = None,
                         conn: Connection | None = None, kinds: dict[str, str] | None = None) -> list[Outcome]:
        """Create or update relations in one transaction; both ends must exist and fit the type.

        ``kinds`` (record id -> kind) may name the ends' kinds when the caller has just read them in the same
        transaction; an end it lacks makes the store read them all again."""
        self.generation += 1
        changed_by = who(changed_by)
        if conn is None:
            with self.engine.begin() as c:
                return self._upsert_relations(c, relations, changed_by, kinds)
        return self._upsert_relations(conn, relations, changed_by, kinds)

    def _upsert_relations(self, conn: Connection, relations: Sequence[Relation], changed_by: str | None,
                          kinds: dict[str, str] | None = None) -> list[Outcome]:
        now = utcnow()
        now_json = _json_time(now)
        ends = [x for r in relations for x in (r.source, r.target)]
        if kinds is None or not kinds.keys() >= set(ends):
            kinds = self.kinds_of(ends, conn)
        fits: dict[tuple[str, str, str], str | None] = {}
        existing: dict[str, Any] = {}
        for chunk in _chunks(list(dict.fromkeys(r.id for r in relations))):
            for rid, data, digest, version in _select_in(conn, _SEL_REL_EXISTING, chunk):
                existing[rid] = _RowStub(rid, "relation", data, digest, version)
        outcomes: list[Outcome] = []
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        hist: list[dict[str, Any]] = []
        for rel in relations:
            values = rel.__dict__
            source_kind, target_kind = kinds.get(values["source"]), kinds.get(values["target"])
            if source_kind is None or target_kind is None:
                end, ref = ("source", rel.source) if source_kind is None else ("target", rel.target)
                outcomes.append(Outcome("rejected", rel.id, f"{end} record '{ref}' not found", end))
                continue
            key = (values["type"], source_kind, target_kind)
            if key not in fits:
                fits[key] = check_relation_kinds(rel.type, Kind(key[1]), Kind(key[2]))
            why = fits[key]
            if why:
                outcomes.append(Outcome("rejected", rel.id, why, "type"))
                continue
            old = existing.get(rel.id)
            merged = rel
            if old is None:
                # a new relation: its stored body straight from one dump of the model
                body = _new_relation_body(rel, changed_by, now_json)
                created = _as_utc(values["created_at"]) or now
                row = {"id": rel.id, "type": _REL_TYPE[rel.type], "source_id": rel.source,
                       "target_id": rel.target, "role": rel.role, "visibility": _VIS[rel.visibility],
                       "owner": rel.owner, "data": _canonical(body), "hash": content_hash(body),
                       "created_at": created, "updated_at": _as_utc(values["updated_at"]) or created, "version": 1}
                status_new: Status = "updated" if rel.id in inserts else "created"
                inserts[rel.id] = row
                outcomes.append(Outcome(status_new, rel.id))
                continue
            if old is not None:
                prev = json.loads(old.data)
                prev.pop("kind", None)
                base = Relation.model_validate(prev)
                body_old = base.model_dump()
                for name in rel.model_fields_set - {"id", "created_at"}:
                    body_old[name] = (_merge_provenance(base.provenance, rel.provenance)
                                      if name == "provenance" else getattr(rel, name))
                merged = Relation.model_validate(body_old)
                merged.created_at = base.created_at
                merged.updated_at = _as_utc(rel.updated_at) if "updated_at" in rel.model_fields_set else now
            else:
                merged = rel.model_copy()
                if not merged.provenance:
                    merged.provenance = [Provenance(source=changed_by or "unknown")]
                merged.created_at = _as_utc(rel.created_at) or now
                merged.updated_at = _as_utc(rel.updated_at) or merged.created_at
            body = relation_to_dict(merged)
            digest = content_hash(body)
            if old is not None and digest == old.hash:
                outcomes.append(Outcome("unchanged", rel.id))
                continue
            row = {"id": rel.id, "type": rel.type.value, "source_id": rel.source, "target_id": rel.target,
                   "role": rel.role, "visibility": merged.visibility.value, "owner": merged.owner,
                   "data": _canonical(body), "hash": digest, "created_at": merged.created_at,
                   "updated_at": merged.updated_at}
            if old is None:
                row["version"] = 1
                status: Status = "updated" if rel.id in inserts else "created"
                inserts[rel.id] = row
                outcomes.append(Outcome(status, rel.id))
            else:
                hist.append({"entity": "relation", "entity_id": rel.id, "version": old.version, "change": "update",
                             "data": old.data, "changed_at": now, "changed_by": changed_by})
                row["version"] = old.version + 1
                existing[rel.id] = _RowStub(rel.id, "relation", row["data"], digest, row["version"])
                updates[rel.id] = row
                outcomes.append(Outcome("updated", rel.id))
        if inserts:
            _bulk_insert(conn, t.relations, list(inserts.values()))
        if updates:
            _bulk_update(conn, t.relations, list(updates.values()))
        if hist:
            _bulk_insert(conn, t.history, hist)
        return outcomes

    def delete_record(self, record_id: str, *, changed_by: str | None = None) -> None:
        """Delete a record and its relations; both are kept in history."""
        self.generation += 1
        changed_by = who(changed_by)
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(t.records.c.data, t.records.c.version).where(t.records.c.id == record_id)
                               ).first()
            if row is None:
                raise NotFound(f"no record with id '{record_id}'")
            rels = conn.execute(select(t.relations.c.id, t.relations.c.data, t.relations.c.version).where(
                or_(t.relations.c.source_id == record_id, t.relations.c.target_id == record_id))).all()
            hist = [{"entity": "relation", "entity_id": r.id, "version": r.version, "change": "delete",
                     "data": r.data, "changed_at": now, "changed_by": changed_by} for r in rels]
            hist.append({"entity": "record", "entity_id": record_id, "version": row.version, "change": "delete",
                         "data": row.data, "changed_at": now, "changed_by": changed_by})
            conn.execute(insert(t.history), hist)
            conn.execute(delete(t.relations).where(
                or_(t.relations.c.source_id == record_id, t.relations.c.target_id == record_id)))
            conn.execute(delete(t.external_ids).where(t.external_ids.c.record_id == record_id))
            conn.execute(delete(t.records).where(t.records.c.id == record_id))

    def delete_relation(self, relation_id: str, *, changed_by: str | None = None) -> None:
        self.generation += 1
        changed_by = who(changed_by)
        with self.engine.begin() as conn:
            row = conn.execute(select(t.relations.c.data, t.relations.c.version).where(
                t.relations.c.id == relation_id)).first()
            if row is None:
                raise NotFound(f"no relation with id '{relation_id}'")
            conn.execute(insert(t.history), [{"entity": "relation", "entity_id": relation_id,
                                              "version": row.version, "change": "delete", "data": row.data,
                                              "changed_at": utcnow(), "changed_by": changed_by}])
            conn.execute(delete(t.relations).where(t.relations.c.id == relation_id))

    # ------------------------------------------------------------------ import log
    def start_import(self, source: str, sha256: str | None) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(insert(t.imports).values(source=source, sha256=sha256, started_at=utcnow()))
            return int(res.inserted_primary_key[0])

    def finish_import(self, seq: int, counts: dict[str, int], status: str = "done") -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.imports).where(t.imports.c.seq == seq).values(
                finished_at=utcnow(), status=status, **{k: counts.get(k, 0) for k in
                                                        ("created", "updated", "unchanged", "rejected")}))

    def imports_log(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.imports).order_by(t.imports.c.seq.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in rows]


_KIND = {k: k.value for k in Kind}
_VIS = {v: v.value for v in Visibility}
_EMPTY = ({}, [], "")


_TIME_ADAPTER: Any = None


def _json_time(value: datetime) -> str:
    """A datetime as pydantic writes it in JSON mode (as ``record_to_dict`` stores it)."""
    global _TIME_ADAPTER
    if _TIME_ADAPTER is None:
        from pydantic import TypeAdapter

        _TIME_ADAPTER = TypeAdapter(datetime)
    return str(_TIME_ADAPTER.dump_python(value, mode="json"))


def _new_body(rec: Record, tid: str, changed_by: str | None, now: datetime, now_json: str
              ) -> tuple[dict[str, Any], tuple[datetime, datetime]]:
    """The stored body of a brand-new record: exactly ``record_to_dict`` of the record the merge path builds
    (id set, a default provenance, UTC timestamps), without copying the model; and (created_at, updated_at)."""
    body = rec.model_dump(mode="json", exclude_none=True)
    body = {"kind": _KIND[rec.kind], **{k: v for k, v in body.items() if v not in _EMPTY}}
    body["id"] = tid
    if not rec.provenance:
        body["provenance"] = [{"source": changed_by or "unknown"}]
    values = rec.__dict__
    created = _as_utc(values["created_at"])
    updated = _as_utc(values["updated_at"])
    body["created_at"] = now_json if created is None else _json_time(created)
    created = created or now
    body["updated_at"] = body["created_at"] if updated is None else _json_time(updated)
    return body, (created, updated or created)


_REL_TYPE = {r: r.value for r in RelationType}
_PLAIN_JSON = frozenset({str, int, bool})  # attribute values JSON mode writes as they are


def _new_relation_body(rel: Relation, changed_by: str | None, now_json: str) -> dict[str, Any]:
    """``relation_to_dict`` of the relation the merge path would store for a new one (default provenance,
    UTC timestamps), from one dump of the model; a plain relation (no dates, weight, attributes, owner or
    timestamps, public) without the model serializer."""
    values = rel.__dict__
    attrs = values["attributes"]
    if (values["start_date"] is None and values["end_date"] is None and values["weight"] is None
            and all(v.__class__ in _PLAIN_JSON for v in attrs.values())
            and values["owner"] is None and values["created_at"] is None
            and values["updated_at"] is None and values["visibility"] is Visibility.public
            and all(p.__dict__["retrieved_at"] is None for p in values["provenance"])):
        body = {"kind": "relation", "id": values["id"], "type": _REL_TYPE[values["type"]],
                "source": values["source"], "target": values["target"]}
        if values["role"]:
            body["role"] = values["role"]
        if attrs:
            body["attributes"] = dict(attrs)
        body["provenance"] = ([{k: v for k, v in p.__dict__.items() if v is not None} for p in values["provenance"]]
                              or [{"source": changed_by or "unknown"}])
        body["visibility"] = "public"
        body["created_at"] = body["updated_at"] = now_json
        return body
    body = rel.model_dump(mode="json", exclude_none=True)
    body = {"kind": "relation", **{k: v for k, v in body.items() if v not in _EMPTY}}
    if not rel.provenance:
        body["provenance"] = [{"source": changed_by or "unknown"}]
    values = rel.__dict__
    created = _as_utc(values["created_at"])
    updated = _as_utc(values["updated_at"])
    body["created_at"] = now_json if created is None else _json_time(created)
    body["updated_at"] = body["created_at"] if updated is None else _json_time(updated)
    return body


@dataclass(slots=True)
class _RowStub:
    id: str
    kind: str
    data: str
    hash: str
    version: int


def _year_of(record: Record) -> int | None:
    # field values live in __dict__; getattr on a field a kind lacks goes through pydantic's slow miss path
    values = record.__dict__
    year = values.get("year")
    if year:
        return int(year)
    start = values.get("start_date") or values.get("deadline")
    return start.year if start else None


def _chunks(items: list[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


__all__ = ["Store", "Outcome", "content_hash", "merge_records", "fallback_key"]
