"""The intake pipeline: source items -> validated records/relations -> batched upserts -> a report.

Each batch is one transaction, so a crash or kill mid-import leaves the store as it was before that
batch; re-running the same import continues, because upserts of unchanged rows are no-ops.
"""

from __future__ import annotations

import functools
import gc
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from citybridge.ingest.base import Rejection, Source, SourceItem
from citybridge.ingest.columnar import build_records
from citybridge.ingest.mapping import (
    Mapping,
    RowError,
    build_record,
    build_relation,
    check_relation_row,
    plain_relation,
    row_kind,
)
from citybridge.ingest.resolve import Resolver
from citybridge.model.entities import EXTERNAL_ID_SCHEMES, Provenance, Record, normalize_external_id
from citybridge.model.relations import Relation, unchecked_provenance, with_ends
from citybridge.store.repository import Outcome, Store, fallback_key

MAX_DETAILED_REJECTIONS = 10_000
MAX_UNRESOLVED_EXAMPLES = 5


@dataclass
class ImportReport:
    """Counts and rejections of an import run; ``to_dict`` gives the JSON report."""

    sources: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    unresolved: int = 0  # optional relations skipped because an end is not in the store
    unresolved_examples: list[str] = field(default_factory=list)
    inferred: list[dict[str, Any]] = field(default_factory=list)  # per file: the mapping that was inferred
    stopped_at: str | None = None  # strict import: the first bad row; nothing was written

    def add_unresolved(self, where: str, ref: str) -> None:
        self.unresolved += 1
        if len(self.unresolved_examples) < MAX_UNRESOLVED_EXAMPLES:
            self.unresolved_examples.append(f"{where}: {ref}")

    def add(self, status: str, where: str, *, id: str | None = None, reason: str | None = None,
            field: str | None = None) -> None:
        setattr(self, status, getattr(self, status) + 1)
        if status == "rejected" and len(self.rejections) < MAX_DETAILED_REJECTIONS:
            self.rejections.append({"where": where, "field": field, "reason": reason, "id": id})

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}

    def merge(self, other: ImportReport) -> None:
        self.sources += other.sources
        for k, v in other.counts().items():
            setattr(self, k, getattr(self, k) + v)
        self.rejections += other.rejections[: MAX_DETAILED_REJECTIONS - len(self.rejections)]
        self.unresolved += other.unresolved
        room = MAX_UNRESOLVED_EXAMPLES - len(self.unresolved_examples)
        self.unresolved_examples += other.unresolved_examples[:max(room, 0)]
        self.inferred += other.inferred
        self.stopped_at = self.stopped_at or other.stopped_at

    def stop(self, where: str) -> None:
        """A strict import stopped at ``where`` and rolled back: only the rejection remains."""
        self.created = self.updated = self.unchanged = 0
        self.unresolved, self.unresolved_examples = 0, []
        self.stopped_at = where

    def to_dict(self) -> dict[str, Any]:
        out = {"sources": self.sources, **self.counts(), "rejections": self.rejections}
        if self.unresolved:
            out.update(unresolved=self.unresolved, unresolved_examples=self.unresolved_examples)
        if self.inferred:
            out["inferred"] = self.inferred
        if self.stopped_at:
            out.update(stopped_at=self.stopped_at, written=False)
        return out

    def lines(self) -> Iterator[str]:
        """One human line per rejection: ``file:line: field: reason``."""
        for r in self.rejections:
            fld = f" [{r['field']}]" if r.get("field") else ""
            yield f"{r['where']}:{fld} {r['reason']}"
        if self.unresolved:
            yield (f"{self.unresolved:,} links skipped because the record at their other end is not in the "
                   f"store (e.g. {'; '.join(self.unresolved_examples[:3])})")


@functools.lru_cache(maxsize=1 << 16)
def _ref_pair(ref: str) -> tuple[str, str] | None:
    """(scheme, normalised value) of a relation end written as ``scheme:value``; cached, as a file's relations
    name the same records again and again."""
    scheme, sep, value = ref.partition(":")
    if sep and scheme.lower() in EXTERNAL_ID_SCHEMES and value:
        return scheme.lower(), normalize_external_id(scheme.lower(), value)
    return None


def record_key(rec: Record) -> str:
    """The key two records of one input share when they are the same record (duplicates are rejected)."""
    return rec.id or f"{rec.kind}|{rec.natural_key() or fallback_key(rec)}"


def duplicate_reason(rec: Record, first: str) -> tuple[str, str]:
    """Why a record repeats one read earlier (at ``first``) in the same input, and the field at fault."""
    if rec.id or rec.external_ids:
        return f"duplicate of {first} in the same input", "id"
    return f"same name as {first} in the same input (no id or external id tells them apart)", "name"


class Importer:
    """Runs sources into a store in batches and reports what happened to every item."""

    def __init__(self, store: Store, *, batch_size: int = 2000, changed_by: str | None = None,
                 progress: Callable[[int], None] | None = None, row_log: IO[str] | None = None,
                 resolver: Resolver | None = None, columnar: bool = True) -> None:
        self.store = store
        self.columnar = columnar  # False: every record row on the model path (tests compare the two)
        self.resolver = resolver
        self.batch_size = batch_size
        self.changed_by = changed_by
        self.progress = progress
        self.row_log = row_log
        self._conn: Any = None  # the one transaction of a strict run

    def run(self, source: Source, *, kind: str | None = None, mapping: Mapping | None = None,
            provenance_source: str | None = None, strict: bool = False) -> ImportReport:
        """Import ``source``; ``strict`` runs it as one transaction that stops and rolls back at the first
        rejected row (the report then holds that row and ``stopped_at``; nothing is written)."""
        report = ImportReport(sources=[source.name])
        seq = self.store.start_import(source.name, getattr(source, "sha256", None))
        status = "failed"
        try:
            if strict:
                status = self._run_strict(source, report, kind, mapping, provenance_source)
            else:
                self._run(source, report, kind, mapping, provenance_source)
                status = "done"
        finally:
            self.store.finish_import(seq, report.counts(), status)
        return report

    def _run(self, source: Source, report: ImportReport, kind: str | None, mapping: Mapping | None,
             provenance_source: str | None) -> None:
        seen: dict[str, str] = {}
        deferred = _Deferred()
        batch: list[SourceItem] = []
        with _collector_paused() as collect:
            for item in source.items():
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._flush(batch, report, seen, deferred, kind, mapping, provenance_source, final=False)
                    batch = []
                    collect()
            self._flush(batch, report, seen, deferred, kind, mapping, provenance_source, final=False)
            collect()
            # relations whose ends appeared later in the input get a second chance
            retry, deferred = deferred, _Deferred()
            for chunk in retry.batches(self.batch_size):
                self._flush_relations(chunk, report, deferred, final=True)
                collect()
            retry.close()

    def _run_strict(self, source: Source, report: ImportReport, kind: str | None, mapping: Mapping | None,
                    provenance_source: str | None) -> str:
        row_log, self.row_log = self.row_log, io.StringIO()  # row statuses hold only once committed
        try:
            with self.store.engine.begin() as conn:
                self._conn = conn
                self._run(source, report, kind, mapping, provenance_source)
        except _StrictStop as stop:
            report.stop(stop.where)
            if row_log is not None:
                row_log.write(self.row_log.getvalue().splitlines()[-1] + "\n")
            return "stopped"
        finally:
            self._conn = None
            buffered, self.row_log = self.row_log, row_log
        if row_log is not None:
            row_log.write(buffered.getvalue())
        return "done"

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """The batch's transaction, or the whole run's in a strict import."""
        if self._conn is not None:
            yield self._conn
            return
        with self.store.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------ internals
    def _log(self, status: str, where: str, id: str | None = None, reason: str | None = None,
             field: str | None = None, report: ImportReport | None = None) -> None:
        if report is not None:
            report.add(status, where, id=id, reason=reason, field=field)
        if self.row_log is not None and getattr(self.row_log, "active", True):
            entry = {"where": where, "status": status, "id": id}
            if reason:
                entry.update(reason=reason, field=field)
            self.row_log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if status == "rejected" and self._conn is not None:
            raise _StrictStop(where)

    def _flush(self, items: list[SourceItem], report: ImportReport, seen: dict[str, str],
               deferred: _Deferred, kind: str | None,
               mapping: Mapping | None, provenance_source: str | None, *, final: bool) -> None:
        if not items:
            return
        records: list[tuple[SourceItem, Record]] = []
        relations: list[tuple[SourceItem, Relation | dict[str, Any]]] = []
        for item, built in zip(items, self._build_batch(items, kind, mapping, provenance_source), strict=True):
            if item.rejection is not None:
                rej = item.rejection
                self._log("rejected", rej.where, reason=rej.reason, field=rej.field, report=report)
                continue
            if isinstance(built, RowError):
                self._log("rejected", item.where, reason=built.reason, field=built.field, report=report)
                continue
            if isinstance(built, Record) and item.stub:
                records.append((item, built))  # reference records may repeat; the store merges them
            elif isinstance(built, Record):
                key = record_key(built)
                if key in seen:
                    reason, fld = duplicate_reason(built, seen[key])
                    self._log("rejected", item.where, id=built.id or None, reason=reason, field=fld, report=report)
                    continue
                seen[key] = item.where
                records.append((item, built))
            else:
                relations.append((item, built))
        with self._tx() as conn:
            if self.resolver is not None and records:
                resolved: list[tuple[SourceItem, Record]] = []
                decisions = self.resolver.resolve([r for _i, r in records], self.store, conn)
                for (item, _rec), res in zip(records, decisions, strict=True):
                    if res.duplicate_of is not None:
                        self._log("unchanged", item.where, id=res.duplicate_of,
                                  reason=f"duplicate: same content as {res.duplicate_of}", report=report)
                    else:
                        resolved.append((item, res.record))
                records = _as_patches(self.store, conn, resolved)
            outcomes = self.store.upsert_records([r for _i, r in records], changed_by=self.changed_by,
                                                 conn=conn)
            for (item, _rec), out in zip(records, outcomes, strict=True):
                self._log(out.status, item.where, id=out.id, reason=out.reason, field=out.field,
                          report=report)
            self._relations_in(conn, relations, report, deferred, final=final)
        if self.progress:
            self.progress(len(items))

    def _flush_relations(self, relations: list[tuple[SourceItem, Relation | dict[str, Any]]],
                         report: ImportReport, deferred: _Deferred, *, final: bool) -> None:
        with self._tx() as conn:
            self._relations_in(conn, relations, report, deferred, final=final)

    def _relations_in(self, conn: Any, relations: list[tuple[SourceItem, Relation | dict[str, Any]]],
                      report: ImportReport, deferred: _Deferred, *, final: bool) -> None:
        if not relations:
            return
        ends = [_ends(rel) for _i, rel in relations]
        refs = {ref for pair in ends for ref in pair}
        kinds = self.store.kinds_of(refs, conn)
        pairs = {ref: p for ref in refs - set(kinds) if (p := _ref_pair(ref))}
        resolved = {ref: ref for ref in kinds}
        # the records named by external id, with their kinds, so the store need not read every end again
        ext = self.store.resolve_external(pairs.values(), conn, kinds=kinds) if pairs else {}
        resolved |= {ref: ext[p] for ref, p in pairs.items() if p in ext}
        ready: list[tuple[SourceItem, Relation]] = []
        for (item, rel), (src, dst) in zip(relations, ends, strict=True):
            if src not in resolved or dst not in resolved:
                missing = [(end, ref) for end, ref in (("source", src), ("target", dst)) if ref not in resolved]
                if not final:
                    deferred.append((item, rel))
                elif item.optional:
                    report.add_unresolved(item.where, missing[0][1])
                else:
                    end, ref = missing[0]
                    self._log("rejected", item.where, reason=f"{end} record '{ref}' not found", field=end,
                              report=report)
                continue
            try:
                if isinstance(rel, Relation):
                    built = with_ends(rel, resolved[src], resolved[dst])
                    if not rel.id or rel.id == rel.key():
                        built.__dict__["id"] = built.key()
                else:
                    built = plain_relation(rel, resolved[src], resolved[dst])  # type: ignore[assignment]
                    if built is None:
                        row = dict(rel)
                        row["source"], row["target"] = resolved[src], resolved[dst]
                        built = build_relation(row)
            except RowError as exc:
                self._log("rejected", item.where, reason=exc.reason, field=exc.field, report=report)
                continue
            ready.append((item, built))
        outcomes: list[Outcome] = self.store.upsert_relations([r for _i, r in ready],
                                                              changed_by=self.changed_by, conn=conn, kinds=kinds)
        for (item, _rel), out in zip(ready, outcomes, strict=True):
            self._log(out.status, item.where, id=out.id, reason=out.reason, field=out.field, report=report)

    def _build_batch(self, items: list[SourceItem], kind: str | None, mapping: Mapping | None,
                     provenance_source: str | None) -> list[Record | Relation | dict[str, Any] | RowError | None]:
        """What each item of a batch becomes (None for an item that is a rejection already): record rows are
        checked a column at a time (:mod:`citybridge.ingest.columnar`); a row that fails any check there is
        built on the model path, which raises its error (returned as the RowError)."""
        out: list[Record | Relation | dict[str, Any] | RowError | None] = [None] * len(items)
        pending: list[tuple[int, dict[str, Any], str, dict[str, str] | None]] = []
        for i, item in enumerate(items):
            if item.rejection is not None:
                continue
            try:
                built = self._build(item, kind, mapping, provenance_source, defer=self.columnar)
            except RowError as exc:
                out[i] = exc
                continue
            if built.__class__ is _RecordRow:
                pending.append((i, built.row, built.kind, built.prov))  # type: ignore[union-attr]
            else:
                out[i] = built  # type: ignore[assignment]
        if pending:
            provs = [unchecked_provenance(p) if p is not None else None for _i, _r, _k, p in pending]
            fast = build_records([r for _i, r, _k, _p in pending], [k for _i, _r, k, _p in pending], provs)
            for (i, row, rkind, prov), rec in zip(pending, fast, strict=True):
                if rec is None:
                    try:
                        rec = build_record(row, rkind, Provenance(**prov) if prov is not None else None)
                    except RowError as exc:
                        out[i] = exc
                        continue
                out[i] = rec
        return out

    def _build(self, item: SourceItem, kind: str | None, mapping: Mapping | None,
               provenance_source: str | None, *, defer: bool = False
               ) -> Record | Relation | dict[str, Any] | _RecordRow:
        if item.record is not None:
            return item.record
        if item.relation is not None:
            return item.relation
        row = item.row or {}
        if mapping is not None:
            row = mapping.apply(row)
        resolved_kind = row_kind(row, kind, mapping.kind if mapping else None, item.kind)
        prov = None
        if provenance_source:
            rid = row.get("id") or next((f"{s}:{row[s]}" for s in _schemes_in(row) if row.get(s)), None)
            prov = {"source": provenance_source, "record_id": str(rid)} if rid else {"source": provenance_source}
        if resolved_kind == "relation":
            # ends are resolved, and the row validated, inside the batch transaction
            check_relation_row(row)
            if prov is not None and "provenance" not in row:
                row = {**row, "provenance": [prov]}
            return row
        if defer:
            return _RecordRow(row, resolved_kind, prov)
        return build_record(row, resolved_kind, Provenance(**prov) if prov is not None else None)


@dataclass(slots=True)
class _RecordRow:
    """A mapped record row waiting for the batch's columnar check."""

    row: dict[str, Any]
    kind: str
    prov: dict[str, str] | None


_SCHEME_COLUMNS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _schemes_in(row: dict[str, Any]) -> tuple[str, ...]:
    """The external id schemes among a row's columns, in priority order (rows of one file share columns)."""
    key = tuple(row)
    found = _SCHEME_COLUMNS.get(key)
    if found is None:
        if len(_SCHEME_COLUMNS) > 1000:
            _SCHEME_COLUMNS.clear()
        found = _SCHEME_COLUMNS[key] = tuple(s for s in EXTERNAL_ID_SCHEMES if s in row)
    return found


def _as_patches(store: Store, conn: Any, records: list[tuple[SourceItem, Record]]
                ) -> list[tuple[SourceItem, Record]]:
    """Records that complete a stored one, as patches: a stub (e.g. an institution named on a paper) only
    adds its ids and provenance; ``keep`` fields are not written over a stored record; ``merge_attributes``
    unites the stored attributes with the incoming ones (incoming keys win)."""
    patch_ids = {rec.id for item, rec in records if (item.stub or item.keep or item.merge_attributes) and rec.id}
    if not patch_ids:
        return records
    stored = store.kinds_of(patch_ids, conn)
    merging = [rec.id for item, rec in records if item.merge_attributes and rec.id in stored]
    old = _attributes_of(store, conn, merging) if merging else {}
    out = []
    for item, rec in records:
        if rec.id in stored and (item.stub or item.keep or item.merge_attributes):
            fields = set(rec.model_fields_set)
            rec = rec.model_copy()
            if item.stub:
                fields = {"id", "external_ids", "provenance"}
            fields -= item.keep
            if item.merge_attributes and rec.id in old:
                rec.attributes = {**old[rec.id], **rec.attributes}
            object.__setattr__(rec, "__pydantic_fields_set__", fields)
        out.append((item, rec))
    return out


@contextmanager
def _collector_paused() -> Iterator[Callable[[], None]]:
    """Python's cyclic garbage collector off while a batch is read, checked and written, and one young-generation
    collection after each batch (the caller calls the function yielded): a batch allocates hundreds of thousands of
    short-lived objects, and the collections they trigger traverse every long-lived object of the process, which
    cost as much as the validation itself (measured: ~25 -> ~13 us per organisation row). Reference counting
    frees the batch's objects as before; cycles a batch makes (an exception and its traceback) are collected
    after it, so memory stays bounded by the batch. The collector is left as it was found."""
    was_enabled = gc.isenabled()
    if not was_enabled:
        yield lambda: None
        return
    gc.disable()
    try:
        yield lambda: gc.collect(0)
    finally:
        gc.enable()


class _StrictStop(Exception):
    """The first rejected row of a strict import: roll everything back."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _attributes_of(store: Store, conn: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from citybridge.store import tables as t

    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        rows = conn.execute(select(t.records.c.id, t.records.c.data).where(t.records.c.id.in_(ids[i:i + 500])))
        for row in rows:
            out[row.id] = dict(json.loads(row.data).get("attributes") or {})
    return out


class _Deferred:
    """Relations waiting for their ends: kept in memory up to a limit, then spilled to a temp file, so a
    snapshot whose works cite millions of absent works still imports in flat memory."""

    def __init__(self, max_in_memory: int = 20_000) -> None:
        self.items: list[tuple[SourceItem, Relation | dict[str, Any]]] = []
        self.max_in_memory = max_in_memory
        self._spill: IO[str] | None = None

    def append(self, entry: tuple[SourceItem, Relation | dict[str, Any]]) -> None:
        if len(self.items) < self.max_in_memory:
            self.items.append(entry)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed in close())
        item, rel = entry
        body = rel.model_dump(mode="json") if isinstance(rel, Relation) else rel
        self._spill.write(json.dumps({"w": item.where, "o": item.optional, "r": isinstance(rel, Relation),
                                      "b": body}, ensure_ascii=False, default=str) + "\n")

    def batches(self, size: int) -> Iterator[list[tuple[SourceItem, Relation | dict[str, Any]]]]:
        for i in range(0, len(self.items), size):
            yield self.items[i:i + size]
        if self._spill is None:
            return
        self._spill.seek(0)
        chunk: list[tuple[SourceItem, Relation | dict[str, Any]]] = []
        for line in self._spill:
            d = json.loads(line)
            rel: Relation | dict[str, Any] = Relation.model_validate(d["b"]) if d["r"] else d["b"]
            chunk.append((SourceItem(d["w"], optional=d["o"]), rel))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


def _ends(rel: Relation | dict[str, Any]) -> tuple[str, str]:
    if isinstance(rel, Relation):
        return rel.source, rel.target
    return str(rel["source"]).strip(), str(rel["target"]).strip()


def run_import(store: Store, sources: Iterable[Source], **kwargs: Any) -> ImportReport:
    """Import several sources into ``store``; kwargs go to :meth:`Importer.run`."""
    total = ImportReport()
    importer = Importer(store)
    for source in sources:
        total.merge(importer.run(source, **kwargs))
    return total


__all__ = ["ImportReport", "Importer", "Rejection", "run_import"]
