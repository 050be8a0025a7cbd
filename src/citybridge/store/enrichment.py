"""Persistence of enrichment results: annotations, per-step state, embeddings and profiles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from citybridge.model.entities import utcnow
from citybridge.store import tables as t
from citybridge.store.repository import Store, _bulk_insert, _chunks


def version_key(version: str) -> str:
    """The short key a step's version is stored under (32 hex digits of BLAKE2b): a version text names the code,
    model, data and weights and has no natural length bound; ``step_versions`` keeps the text by its key.

    >>> version_key("language/1")
    '4ff93b41683bb812e153534411504396'
    """
    return hashlib.blake2b(version.encode("utf-8"), digest_size=16).hexdigest()


class EnrichmentStore:
    """Reads and writes what the enrichment steps produce, beside the records they describe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ------------------------------------------------------------------ what needs work
    def pending(self, step: str, version: str, kinds: Iterable[str] | None = None,
                batch: int = 5000) -> Iterator[str]:
        """Ids of records the step has not processed in this version since they last changed."""
        r, s = t.records, t.enrich_state
        key = version_key(version)
        after = ""
        while True:
            q = (select(r.c.id).select_from(r.outerjoin(s, and_(s.c.record_id == r.c.id, s.c.step == step)))
                 .where(r.c.id > after)
                 .where(or_(s.c.record_id.is_(None), s.c.record_hash != r.c.hash, s.c.step_version != key)))
            if kinds is not None:
                q = q.where(r.c.kind.in_(list(kinds)))
            q = q.order_by(r.c.id).limit(batch)
            with self.engine.connect() as conn:
                ids = [row.id for row in conn.execute(q)]
            if not ids:
                return
            yield from ids
            after = ids[-1]

    def hashes(self, ids: list[str], conn: Connection) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            for row in conn.execute(select(t.records.c.id, t.records.c.hash).where(t.records.c.id.in_(chunk))):
                out[row.id] = row.hash
        return out

    # ------------------------------------------------------------------ writing
    @staticmethod
    def _replace(conn: Connection, table: Any, key: str, value: str, rows: dict[str, list[dict[str, Any]]]) -> int:
        """Delete the rows of ``table`` for these records where ``key == value``, then insert the new ones."""
        for chunk in _chunks(list(rows)):
            conn.execute(delete(table).where(table.c.record_id.in_(chunk), table.c[key] == value))
        flat = [{"record_id": rid, key: value, **r} for rid, rs in rows.items() for r in rs]
        _bulk_insert(conn, table, flat)
        return len(flat)

    def replace_annotations(self, conn: Connection, step: str, rows: dict[str, list[dict[str, Any]]]) -> int:
        """Replace a step's annotations of the given records (record id -> annotation rows)."""
        return self._replace(conn, t.annotations, "step", step, rows)

    def replace_vectors(self, conn: Connection, model: str, rows: dict[str, list[dict[str, Any]]]) -> int:
        """Replace one model's vectors of the given records (record id -> passage rows)."""
        return self._replace(conn, t.embeddings, "model", model, rows)

    def mark_done(self, conn: Connection, step: str, version: str, hashes: dict[str, str],
                  when: datetime | None = None) -> None:
        self.store.generation += 1
        now = when or utcnow()
        key = self.remember_version(conn, step, version, now)
        self._replace(conn, t.enrich_state, "step", step,
                      {rid: [{"step_version": key, "record_hash": h, "done_at": now}] for rid, h in hashes.items()})

    @staticmethod
    def remember_version(conn: Connection, step: str, version: str, now: datetime | None = None) -> str:
        """Store a step's version text under its key (once); returns the key."""
        key = version_key(version)
        sv = t.step_versions
        if conn.execute(select(sv.c.key).where(sv.c.key == key)).first() is None:
            # a concurrent run may store the same key between the check and the insert
            upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(upsert(sv).values(key=key, step=step, version=version, first_seen=now or utcnow())
                         .on_conflict_do_nothing(index_elements=["key"]))
        return key

    # A durable "profiles are being updated" mark, kept among the step versions (a key no version hashes to):
    # set before a run's steps commit anything, removed once its profiles are written. A run killed in between
    # leaves it, and the next run then rebuilds every profile instead of only those its own changes touch.
    PROFILES_PENDING = "profiles-pending"

    def begin_profiles(self) -> bool:
        """Set the mark; True when it was already set (an earlier run stopped before its profiles)."""
        sv = t.step_versions
        with self.engine.begin() as conn:
            if conn.execute(select(sv.c.key).where(sv.c.key == self.PROFILES_PENDING)).first() is not None:
                return True
            upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(upsert(sv).values(key=self.PROFILES_PENDING, step="profiles", version="pending",
                                           first_seen=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
        return False

    def end_profiles(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.step_versions).where(t.step_versions.c.key == self.PROFILES_PENDING))

    def stale_derived_relations(self, conn: Connection, role: str, ids: list[str], keep: set[str]) -> list[str]:
        """Ids of relations a step derived earlier for these records that its new run no longer supports."""
        out: list[str] = []
        for chunk in _chunks(ids):
            q = select(t.relations.c.id).where(t.relations.c.source_id.in_(chunk), t.relations.c.role == role)
            out.extend(row.id for row in conn.execute(q) if row.id not in keep)
        return out

    def delete_relations(self, conn: Connection, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            conn.execute(delete(t.relations).where(t.relations.c.id.in_(chunk)))

    # ------------------------------------------------------------------ reading
    def annotations_of(self, record_id: str, step: str | None = None) -> list[dict[str, Any]]:
        q = select(t.annotations).where(t.annotations.c.record_id == record_id)
        if step:
            q = q.where(t.annotations.c.step == step)
        q = q.order_by(t.annotations.c.step, t.annotations.c.score.desc())
        with self.engine.connect() as conn:
            return [_ann(row) for row in conn.execute(q).mappings()]

    def annotations_for(self, ids: Iterable[str], steps: Iterable[str] | None = None,
                        prefix: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Annotations of many records at once, by record id."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                q = select(t.annotations).where(t.annotations.c.record_id.in_(chunk))
                if steps:
                    q = q.where(t.annotations.c.step.in_(list(steps)))
                if prefix:
                    q = q.where(t.annotations.c.label.like(prefix + "%"))
                for row in conn.execute(q).mappings():
                    out.setdefault(row["record_id"], []).append(_ann(row))
        return out

    def iter_annotations(self, prefix: str | None = None, batch: int = 20_000) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            q = select(t.annotations).where(t.annotations.c.seq > after)
            if prefix:
                q = q.where(t.annotations.c.label.like(prefix + "%"))
            q = q.order_by(t.annotations.c.seq).limit(batch)
            with self.engine.connect() as conn:
                rows = list(conn.execute(q).mappings())
            if not rows:
                return
            for row in rows:
                yield {**_ann(row), "record_id": row["record_id"]}
            after = rows[-1]["seq"]

    def label_counts(self, prefix: str) -> dict[str, int]:
        q = (select(t.annotations.c.label, func.count(func.distinct(t.annotations.c.record_id)))
             .where(t.annotations.c.label.like(prefix + "%")).group_by(t.annotations.c.label))
        with self.engine.connect() as conn:
            return dict(conn.execute(q).all())

    def vectors(self, model: str, ids: Iterable[str] | None = None, passages: bool = False
                ) -> Iterator[tuple[str, int, str | None, int | None, int | None, np.ndarray]]:
        """(record_id, passage, field, start, end, vector) rows of one model; record vectors only by default."""
        e = t.embeddings
        after = ("", -2)
        wanted = list(ids) if ids is not None else None
        while True:
            q = select(e).where(e.c.model == model)
            if not passages:
                q = q.where(e.c.passage == -1)
            if wanted is not None:
                if not wanted:
                    return
                chunk, wanted = wanted[:900], wanted[900:]
                q = q.where(e.c.record_id.in_(chunk)).order_by(e.c.record_id, e.c.passage)
                with self.engine.connect() as conn:
                    rows = conn.execute(q).all()
                for r in rows:
                    yield r.record_id, r.passage, r.field, r.start, r.end, np.frombuffer(r.vector, dtype=np.float32)
                continue
            q = q.where(or_(e.c.record_id > after[0], and_(e.c.record_id == after[0], e.c.passage > after[1])))
            q = q.order_by(e.c.record_id, e.c.passage).limit(20_000)
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                return
            for r in rows:
                yield r.record_id, r.passage, r.field, r.start, r.end, np.frombuffer(r.vector, dtype=np.float32)
            after = (rows[-1].record_id, rows[-1].passage)

    def state_summary(self) -> dict[str, dict[str, int]]:
        """Records done per step and version text."""
        s, sv = t.enrich_state, t.step_versions
        q = (select(s.c.step, func.coalesce(sv.c.version, s.c.step_version), func.count())
             .select_from(s.outerjoin(sv, sv.c.key == s.c.step_version))
             .group_by(s.c.step, sv.c.version, s.c.step_version))
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for step, version, n in conn.execute(q):
                out.setdefault(step, {})[version] = n
        return out

    # ------------------------------------------------------------------ profiles
    def write_profiles(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            for chunk in _chunks([r["entity_id"] for r in rows]):
                conn.execute(delete(t.profiles).where(t.profiles.c.entity_id.in_(chunk)))
            if rows:
                conn.execute(insert(t.profiles), rows)

    def profile(self, entity_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.profiles).where(t.profiles.c.entity_id == entity_id)).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["data"] = json.loads(out["data"])
        out["vector"] = np.frombuffer(out["vector"], dtype=np.float32) if out["vector"] else None
        return out

    def profiles(self, ids: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            if ids is None:
                rows: Iterable[Any] = conn.execute(select(t.profiles)).mappings()
                for row in rows:
                    yield _profile(row)
                return
            for chunk in _chunks(list(ids)):
                for row in conn.execute(select(t.profiles).where(t.profiles.c.entity_id.in_(chunk))).mappings():
                    yield _profile(row)


def _ann(row: Any) -> dict[str, Any]:
    return {"step": row["step"], "label": row["label"], "target_id": row["target_id"], "score": row["score"],
            "evidence": json.loads(row["evidence"]) if row["evidence"] else []}


def _profile(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["data"] = json.loads(out["data"])
    out["vector"] = np.frombuffer(out["vector"], dtype=np.float32) if out["vector"] else None
    return out
