"""Persistence of merges: the review queue, applying a merge in one transaction, and undoing it exactly.

A merge folds one record (``merged_id``) into another (``survivor_id``). Applying it, in one transaction:
the survivor takes the combined body (a new version, the old one in history); the merged record's external
ids move to the survivor; its relations are re-pointed (relations that would point at their own source are
dropped); annotations that point at it are re-pointed; its own annotations, enrichment state, embeddings
and profile are set aside; files and feeds that name it are re-pointed; its id redirects to the survivor;
its last version goes to history (change ``merge``) and its row is removed. Everything changed is kept in
the merge's snapshot, so :meth:`MergeStore.undo` restores it: rows exactly as they were, the survivor as it
was before the merge in every field no later change has touched. Every write names ``changed_by``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, LargeBinary, Table, delete, func, insert, or_, select, update

from citybridge.errors import Conflict, Invalid, NotFound
from citybridge.model.entities import Record, record_to_dict, utcnow
from citybridge.model.relations import Relation, relation_to_dict
from citybridge.store import tables as t
from citybridge.store.repository import Store, _as_utc, _canonical, _year_of, content_hash

STATUSES = ("proposed", "applied", "rejected", "undone")


def new_merge_id() -> str:
    return "mrg_" + uuid.uuid4().hex[:16]


# ---------------------------------------------------------------- row snapshots (JSON-safe)
def _dump_row(table: Table, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in table.columns:
        v = row[col.name]
        if isinstance(v, datetime):
            v = _as_utc(v).isoformat()  # type: ignore[union-attr]
        elif isinstance(v, bytes | memoryview):
            v = base64.b64encode(bytes(v)).decode("ascii")
        out[col.name] = v
    return out


def _load_row(table: Table, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name not in body:
            continue
        v = body[col.name]
        if v is not None and isinstance(col.type, DateTime):
            v = datetime.fromisoformat(v)
        elif v is not None and isinstance(col.type, LargeBinary):
            v = base64.b64decode(v)
        out[col.name] = v
    return out


def _rows(conn: Connection, table: Table, *where: Any) -> list[dict[str, Any]]:
    return [_dump_row(table, r) for r in conn.execute(select(table).where(*where)).mappings()]


def _merge_row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["reasons"] = json.loads(out["reasons"]) if out.get("reasons") else {}
    out.pop("snapshot", None)
    for k in ("created_at", "decided_at", "undone_at"):
        out[k] = _as_utc(out[k])
    return out


class MergeStore:
    """Reads and writes merges beside the records they join."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ------------------------------------------------------------------ queue
    def propose(self, proposals: Iterable[dict[str, Any]], *, created_by: str | None = None,
                again: bool = False) -> list[str]:
        """Store proposed merges (``kind``, ``survivor_id``, ``merged_id``, ``score``, ``method``,
        ``reasons``); a pair already proposed, applied, rejected or undone is not proposed again (unless
        ``again``: a curator's explicit request). Returns the ids of the new proposals."""
        now = utcnow()
        new: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for p in proposals:
                if not again and self._pair_known(conn, p["survivor_id"], p["merged_id"]):
                    continue
                new.append({"id": new_merge_id(), "kind": p["kind"], "survivor_id": p["survivor_id"],
                            "merged_id": p["merged_id"], "status": "proposed", "score": float(p["score"]),
                            "method": p["method"], "reasons": json.dumps(p.get("reasons") or {}, sort_keys=True),
                            "created_at": now, "created_by": created_by})
            if new:
                conn.execute(insert(t.merges), new)
        return [p["id"] for p in new]

    @staticmethod
    def _pair_known(conn: Connection, a: str, b: str) -> bool:
        m = t.merges.c
        q = select(m.id).where(or_((m.survivor_id == a) & (m.merged_id == b),
                                   (m.survivor_id == b) & (m.merged_id == a)))
        return conn.execute(q.limit(1)).first() is not None

    def known_pairs(self, kind: str | None = None) -> set[frozenset[str]]:
        """Every pair of records a merge was ever proposed or applied for."""
        q = select(t.merges.c.survivor_id, t.merges.c.merged_id)
        if kind:
            q = q.where(t.merges.c.kind == kind)
        with self.engine.connect() as conn:
            return {frozenset(r) for r in conn.execute(q)}

    def pair_states(self, kind: str | None = None) -> dict[frozenset[str], tuple[str, str]]:
        """Every pair of records a merge was ever proposed for -> (the latest merge's id, its status)."""
        m = t.merges.c
        q = select(m.survivor_id, m.merged_id, m.id, m.status).order_by(m.created_at, m.id)
        if kind:
            q = q.where(m.kind == kind)
        with self.engine.connect() as conn:
            return {frozenset((r[0], r[1])): (r[2], r[3]) for r in conn.execute(q)}

    def get(self, merge_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.merges).where(t.merges.c.id == merge_id)).mappings().first()
        if row is None:
            raise NotFound(f"no merge with id '{merge_id}'", field="merge_id")
        return _merge_row(row)

    def list(self, *, status: str | None = None, kind: str | None = None, record_id: str | None = None,
             limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Merges, newest first; the review queue is ``status="proposed"`` (best scores first)."""
        if status is not None and status not in STATUSES:
            raise Invalid(f"unknown merge status '{status}' (one of: {', '.join(STATUSES)})", field="status")
        m = t.merges.c
        q = select(t.merges)
        if status:
            q = q.where(m.status == status)
        if kind:
            q = q.where(m.kind == kind)
        if record_id:
            q = q.where(or_(m.survivor_id == record_id, m.merged_id == record_id))
        order = [m.score.desc(), m.id] if status == "proposed" else [m.created_at.desc(), m.id]
        q = q.order_by(*order).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_merge_row(r) for r in conn.execute(q).mappings()]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(t.merges.c.status, func.count()).group_by(t.merges.c.status)).all())

    def reject(self, merge_id: str, *, changed_by: str | None = None) -> dict[str, Any]:
        with self.engine.begin() as conn:
            self._status(conn, merge_id, "proposed")
            conn.execute(update(t.merges).where(t.merges.c.id == merge_id).values(
                status="rejected", decided_at=utcnow(), decided_by=changed_by))
        return self.get(merge_id)

    @staticmethod
    def _status(conn: Connection, merge_id: str, *wanted: str) -> Any:
        row = conn.execute(select(t.merges).where(t.merges.c.id == merge_id)).mappings().first()
        if row is None:
            raise NotFound(f"no merge with id '{merge_id}'", field="merge_id")
        if row["status"] not in wanted:
            raise Conflict(f"merge '{merge_id}' is {row['status']}, not {' or '.join(wanted)}", field="merge_id")
        return row

    # ------------------------------------------------------------------ redirects
    def redirect(self, record_id: str) -> str | None:
        """The record that absorbed ``record_id`` (following chains), or None."""
        seen: set[str] = set()
        current, found = record_id, None
        with self.engine.connect() as conn:
            while current not in seen:
                seen.add(current)
                row = conn.execute(select(t.redirects.c.new_id).where(t.redirects.c.old_id == current)).first()
                if row is None:
                    break
                current = found = row.new_id
        return found

    # ------------------------------------------------------------------ apply
    def apply(self, merge_id: str, combined: Record, *, changed_by: str | None = None) -> dict[str, Any]:
        """Apply a proposed (or freshly created) merge with ``combined`` as the survivor's new body."""
        self.store.generation += 1
        with self.engine.begin() as conn:
            m = self._status(conn, merge_id, "proposed")
            snapshot = self._apply(conn, m["survivor_id"], m["merged_id"], combined, merge_id, changed_by)
            conn.execute(update(t.merges).where(t.merges.c.id == merge_id).values(
                status="applied", snapshot=json.dumps(snapshot), decided_at=utcnow(), decided_by=changed_by))
        return self.get(merge_id)

    def _apply(self, conn: Connection, sid: str, mid: str, combined: Record, merge_id: str,
               changed_by: str | None) -> dict[str, Any]:
        now = utcnow()
        rec = t.records.c
        srow = conn.execute(select(t.records).where(rec.id == sid)).mappings().first()
        mrow = conn.execute(select(t.records).where(rec.id == mid)).mappings().first()
        if srow is None or mrow is None:
            gone = sid if srow is None else mid
            raise Conflict(f"record '{gone}' no longer exists; the merge cannot be applied", field="record_id")
        if srow["kind"] != mrow["kind"]:
            raise Conflict(f"cannot merge a {mrow['kind']} into a {srow['kind']}", field="kind")
        snap: dict[str, Any] = {"survivor": _dump_row(t.records, srow), "merged": _dump_row(t.records, mrow)}
        # external ids follow the merged record into the survivor
        snap["external_ids"] = _rows(conn, t.external_ids, t.external_ids.c.record_id == mid)
        conn.execute(update(t.external_ids).where(t.external_ids.c.record_id == mid).values(record_id=sid))
        # the survivor's new version
        body = record_to_dict(combined.model_copy(update={"id": sid, "updated_at": now}))
        self._write_record(conn, srow, body, now, changed_by)
        snap["survivor_after_hash"] = content_hash(body)
        snap["survivor_after"] = body
        # relations: re-point, keep what the survivor already has, drop self-references
        rels = _rows(conn, t.relations, or_(t.relations.c.source_id == mid, t.relations.c.target_id == mid))
        snap["relations_removed"] = rels
        created: list[str] = []
        hist = []
        for r in rels:
            hist.append({"entity": "relation", "entity_id": r["id"], "version": r["version"], "change": "merge",
                         "data": r["data"], "changed_at": now, "changed_by": changed_by})
        conn.execute(delete(t.relations).where(or_(t.relations.c.source_id == mid, t.relations.c.target_id == mid)))
        for r in rels:
            src = sid if r["source_id"] == mid else r["source_id"]
            tgt = sid if r["target_id"] == mid else r["target_id"]
            if src == tgt:
                continue
            data = json.loads(r["data"])
            data.pop("kind", None)
            data.pop("id", None)
            rel = Relation.model_validate({**data, "source": src, "target": tgt})
            if conn.execute(select(t.relations.c.id).where(t.relations.c.id == rel.id)).first() is not None:
                continue  # the survivor already has this relation
            rbody = relation_to_dict(rel)
            conn.execute(insert(t.relations).values(
                id=rel.id, type=r["type"], source_id=src, target_id=tgt, role=r["role"], visibility=r["visibility"],
                owner=r["owner"], data=_canonical(rbody), hash=content_hash(rbody), version=1,
                created_at=_load_row(t.relations, r)["created_at"], updated_at=now))
            created.append(rel.id)
        snap["relations_created"] = created
        # what was derived from the merged record itself is set aside (enrichment redoes the survivor)
        for name, table in (("annotations", t.annotations), ("enrich_state", t.enrich_state),
                            ("embeddings", t.embeddings)):
            snap[name] = _rows(conn, table, table.c.record_id == mid)
            conn.execute(delete(table).where(table.c.record_id == mid))
        snap["profiles"] = _rows(conn, t.profiles, t.profiles.c.entity_id == mid)
        conn.execute(delete(t.profiles).where(t.profiles.c.entity_id == mid))
        # what points at the merged record points at the survivor
        a = t.annotations.c
        pointing = conn.execute(select(a.seq, a.label).where(a.target_id == mid)).all()
        snap["annotation_targets"] = [[row.seq, row.label] for row in pointing]
        for row in pointing:
            conn.execute(update(t.annotations).where(a.seq == row.seq).values(
                target_id=sid, label=row.label.replace(mid, sid)))
        f = t.ingested_files.c
        snap["files"] = [p for (p,) in conn.execute(select(f.path).where(f.record_id == mid))]
        conn.execute(update(t.ingested_files).where(f.record_id == mid).values(record_id=sid))
        fd = t.feeds.c
        snap["feeds"] = [i for (i,) in conn.execute(select(fd.id).where(fd.organization == mid))]
        conn.execute(update(t.feeds).where(fd.organization == mid).values(organization=sid))
        rd = t.redirects.c
        snap["redirects"] = [o for (o,) in conn.execute(select(rd.old_id).where(rd.new_id == mid))]
        conn.execute(update(t.redirects).where(rd.new_id == mid).values(new_id=sid))
        conn.execute(insert(t.redirects).values(old_id=mid, new_id=sid, merge_id=merge_id))
        hist.append({"entity": "record", "entity_id": mid, "version": mrow["version"], "change": "merge",
                     "data": mrow["data"], "changed_at": now, "changed_by": changed_by})
        conn.execute(insert(t.history), hist)
        conn.execute(delete(t.records).where(rec.id == mid))
        return snap

    def _write_record(self, conn: Connection, old: Any, body: dict[str, Any], now: datetime,
                      changed_by: str | None) -> None:
        """A new version of a stored record (the replaced version goes to history)."""
        from citybridge.model.entities import record_from_dict

        record = record_from_dict(body)
        conn.execute(insert(t.history).values(
            entity="record", entity_id=old["id"], version=old["version"], change="update", data=old["data"],
            changed_at=now, changed_by=changed_by))
        conn.execute(update(t.records).where(t.records.c.id == old["id"]).values(
            name=record.name, subtype=record.subtype, country=record.__dict__.get("country"), year=_year_of(record),
            visibility=record.visibility.value, owner=record.owner, data=_canonical(body), hash=content_hash(body),
            version=old["version"] + 1, updated_at=now, changed_by=changed_by))

    # ------------------------------------------------------------------ undo
    def undo(self, merge_id: str, *, changed_by: str | None = None) -> dict[str, Any]:
        """Undo an applied merge: the merged record, its ids, relations, annotations, embeddings, profile and
        redirects come back as they were; the survivor gets back every field the merge changed and nothing
        changed since. Raises Conflict when a later merge absorbed the survivor (undo that one first)."""
        self.store.generation += 1
        with self.engine.begin() as conn:
            m = self._status(conn, merge_id, "applied")
            snap = json.loads(conn.execute(select(t.merges.c.snapshot).where(t.merges.c.id == merge_id)).scalar_one())
            self._undo(conn, m, snap, changed_by)
            conn.execute(update(t.merges).where(t.merges.c.id == merge_id).values(
                status="undone", undone_at=utcnow(), undone_by=changed_by))
        return self.get(merge_id)

    def _undo(self, conn: Connection, m: Any, snap: dict[str, Any], changed_by: str | None) -> None:
        now = utcnow()
        sid, mid = m["survivor_id"], m["merged_id"]
        rec = t.records.c
        srow = conn.execute(select(t.records).where(rec.id == sid)).mappings().first()
        if srow is None:
            later = conn.execute(select(t.redirects.c.merge_id).where(t.redirects.c.old_id == sid)).first()
            hint = f"; undo merge '{later.merge_id}' first" if later else ""
            raise Conflict(f"record '{sid}' is no longer stored{hint}", field="merge_id")
        if conn.execute(select(rec.id).where(rec.id == mid)).first() is not None:
            raise Conflict(f"a record with id '{mid}' exists again; it cannot be restored", field="merge_id")
        # the survivor: fields untouched since the merge go back to their earlier values
        before = json.loads(snap["survivor"]["data"])
        after = snap["survivor_after"]
        current = json.loads(srow["data"])
        if content_hash(current) == snap["survivor_after_hash"]:
            restored = before
        else:
            restored = _three_way(before, after, current)
        self._write_record(conn, srow, restored, now, changed_by)
        # relations the merge created go; those it removed come back as they were
        created = snap["relations_created"]
        hist = []
        for rid in created:
            row = conn.execute(select(t.relations.c.data, t.relations.c.version).where(t.relations.c.id == rid)).first()
            if row is not None:
                hist.append({"entity": "relation", "entity_id": rid, "version": row.version, "change": "unmerge",
                             "data": row.data, "changed_at": now, "changed_by": changed_by})
                conn.execute(delete(t.relations).where(t.relations.c.id == rid))
        # the merged record, exactly as it was
        conn.execute(insert(t.records).values(**_load_row(t.records, snap["merged"])))
        for r in snap["relations_removed"]:
            if conn.execute(select(t.relations.c.id).where(t.relations.c.id == r["id"])).first() is None:
                other = r["target_id"] if r["source_id"] == mid else r["source_id"]
                if other == mid or conn.execute(select(rec.id).where(rec.id == other)).first() is not None:
                    conn.execute(insert(t.relations).values(**_load_row(t.relations, r)))
        for e in snap["external_ids"]:
            conn.execute(update(t.external_ids).where(
                t.external_ids.c.scheme == e["scheme"], t.external_ids.c.value == e["value"]).values(record_id=mid))
        for name, table in (("annotations", t.annotations), ("enrich_state", t.enrich_state),
                            ("embeddings", t.embeddings), ("profiles", t.profiles)):
            rows = [_load_row(table, r) for r in snap[name]]
            if name == "annotations":
                for r in rows:
                    r.pop("seq", None)
            if rows:
                conn.execute(insert(table), rows)
        a = t.annotations.c
        for seq, label in snap["annotation_targets"]:
            conn.execute(update(t.annotations).where(a.seq == seq, a.target_id == sid).values(
                target_id=mid, label=label))
        if snap["files"]:
            conn.execute(update(t.ingested_files).where(t.ingested_files.c.path.in_(snap["files"])).values(
                record_id=mid))
        if snap["feeds"]:
            conn.execute(update(t.feeds).where(t.feeds.c.id.in_(snap["feeds"])).values(organization=mid))
        rd = t.redirects.c
        conn.execute(delete(t.redirects).where(rd.old_id == mid))
        if snap["redirects"]:
            conn.execute(update(t.redirects).where(rd.old_id.in_(snap["redirects"])).values(new_id=mid))
        hist.append({"entity": "record", "entity_id": mid, "version": snap["merged"]["version"],
                     "change": "unmerge", "data": snap["merged"]["data"], "changed_at": now, "changed_by": changed_by})
        conn.execute(insert(t.history), hist)

    def snapshot(self, merge_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            text = conn.execute(select(t.merges.c.snapshot).where(t.merges.c.id == merge_id)).scalar_one_or_none()
        return json.loads(text) if text else None

    def iter_applied(self, kind: str | None = None) -> Iterator[dict[str, Any]]:
        q = select(t.merges).where(t.merges.c.status == "applied").order_by(t.merges.c.created_at)
        if kind:
            q = q.where(t.merges.c.kind == kind)
        with self.engine.connect() as conn:
            rows = [_merge_row(r) for r in conn.execute(q).mappings()]
        yield from rows


def _three_way(before: dict[str, Any], after: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The survivor after an undo when it changed since the merge: each field the merge set and nobody
    changed since goes back to ``before``; external ids and provenance lose what the merge added."""
    out = dict(current)
    for k in set(before) | set(after):
        if k in ("updated_at", "created_at", "id", "kind"):
            continue
        if current.get(k) == after.get(k):
            if k in before:
                out[k] = before[k]
            else:
                out.pop(k, None)
        elif k == "external_ids":
            added = {s for s, v in (after.get(k) or {}).items() if (before.get(k) or {}).get(s) != v}
            out[k] = {s: v for s, v in (current.get(k) or {}).items() if s not in added}
        elif k == "provenance":
            added_p = [p for p in after.get(k) or [] if p not in (before.get(k) or [])]
            out[k] = [p for p in current.get(k) or [] if p not in added_p]
    return out


__all__ = ["MergeStore", "STATUSES", "new_merge_id"]
