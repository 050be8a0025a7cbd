"""Expertise profiles of persons, organisations and cities, aggregated from the records linked to them.

A profile keeps, per SDG/pathway/keyword/place label, the weighted sum of scores, the number of
contributing records and the best of them (for explanations), the years covered, and a profile vector:
the weighted mean of the contributing records' embeddings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.model.entities import utcnow
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.repository import Store, _chunks

PROFILE_VERSION = "profile/1"
LABEL_PREFIXES = ("sdg:", "pathway:", "kw:", "place:")
MAX_RECORDS_PER_LABEL = 8

# (relation type, direction from the entity, weight). "out": entity -> record; "in": record -> entity.
PERSON_LINKS = (("authored", "out", 1.0), ("leads", "out", 1.0), ("partner_in", "out", 0.8))
ORG_LINKS = (("partner_in", "out", 1.0), ("leads", "out", 1.0), ("authored", "out", 1.0), ("funded_by", "in", 0.6))
CITY_LINKS = (("about", "in", 1.0), ("located_in", "in", 0.7))


def _links(store: Store, types: set[str]) -> list[tuple[str, str, str]]:
    """(type, source, target) of every relation of these types."""
    out = []
    c = t.relations.c
    after = ""
    while True:
        q = (select(c.id, c.type, c.source_id, c.target_id).where(c.type.in_(sorted(types)), c.id > after)
             .order_by(c.id).limit(50_000))
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return out
        out.extend((r.type, r.source_id, r.target_id) for r in rows)
        after = rows[-1].id


def contributors(store: Store, entity_ids: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """Entity id -> {contributing record id: weight}, for persons, organisations and cities."""
    kinds: dict[str, tuple[str, str | None]] = {}
    with store.engine.connect() as conn:
        q = select(t.records.c.id, t.records.c.kind, t.records.c.subtype).where(
            t.records.c.kind.in_(["person", "organization", "place"]))
        for r in conn.execute(q):
            kinds[r.id] = (r.kind, r.subtype)
    wanted = set(entity_ids) if entity_ids is not None else None
    links = _links(store, {"authored", "leads", "partner_in", "funded_by", "about", "located_in", "affiliated_with"})
    out: dict[str, dict[str, float]] = defaultdict(dict)

    def add(entity: str, record: str, w: float) -> None:
        if wanted is not None and entity not in wanted:
            return
        if entity != record and w > out[entity].get(record, 0.0):
            out[entity][record] = w

    rules = {"person": PERSON_LINKS, "organization": ORG_LINKS}
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rtype, src, dst in links:
        by_source[src].append((rtype, dst))
        src_kind = kinds.get(src, ("", None))[0]
        dst_kind, dst_sub = kinds.get(dst, ("", None))
        for rt, direction, w in rules.get(src_kind, ()):
            if rt == rtype and direction == "out":
                add(src, dst, w)
        for rt, direction, w in rules.get(dst_kind, ()):
            if rt == rtype and direction == "in":
                add(dst, src, w)
        if dst_kind == "place" and dst_sub == "city":
            for rt, direction, w in CITY_LINKS:
                if rt == rtype and direction == "in":
                    add(dst, src, w)
    # second hop: a city also learns from the projects of organisations located in it, an organisation
    # from what its affiliated people authored
    for rtype, src, dst in links:
        if rtype == "located_in" and kinds.get(dst, ("", None)) == ("place", "city") \
                and kinds.get(src, ("", None))[0] == "organization":
            for rt, target in by_source.get(src, ()):
                if rt in ("partner_in", "leads"):
                    add(dst, target, 0.5)
        if rtype == "affiliated_with" and kinds.get(src, ("", None))[0] == "person":
            for rt, target in by_source.get(src, ()):
                if rt == "authored":
                    add(dst, target, 0.5)
    return out


def build_profiles(store: Store, entity_ids: Iterable[str] | None = None, *, model: str | None = "wordllama",
                   batch: int = 2000) -> int:
    """(Re)compute profiles for these entities (all persons, organisations and cities when None)."""
    es = EnrichmentStore(store)
    contrib = contributors(store, entity_ids)
    entities = [e for e, recs in contrib.items() if recs]
    written = 0
    for chunk in _chunks(entities, batch):
        records = {r for e in chunk for r in contrib[e]}
        anns = es.annotations_for(records, steps=("tags", "keywords", "places"))
        years = _years(store, records)
        vecs: dict[str, np.ndarray] = {}
        if model:
            vecs = {rid: v for rid, _p, _f, _s, _e, v in es.vectors(model, records)}
        rows = []
        now = utcnow()
        for entity in chunk:
            data, vector = _profile(contrib[entity], anns, years, vecs)
            rows.append({"entity_id": entity, "version": PROFILE_VERSION, "n_records": len(contrib[entity]),
                         "data": json.dumps(data, ensure_ascii=False), "model": model if vector is not None else None,
                         "vector": vector.tobytes() if vector is not None else None, "updated_at": now})
        es.write_profiles(rows)
        written += len(rows)
    return written


def _years(store: Store, ids: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(list(ids)):
            q = select(t.records.c.id, t.records.c.year).where(t.records.c.id.in_(chunk), t.records.c.year.isnot(None))
            out.update({r.id: r.year for r in conn.execute(q)})
    return out


def _profile(records: dict[str, float], anns: dict[str, list[dict[str, Any]]], years: dict[str, int],
             vecs: dict[str, np.ndarray]) -> tuple[dict[str, Any], np.ndarray | None]:
    labels: dict[str, dict[str, Any]] = {}
    for rid, w in records.items():
        for a in anns.get(rid, ()):
            label = a["label"]
            if not label.startswith(LABEL_PREFIXES) or (label.startswith("sdg:") and "." in label):
                continue
            entry = labels.setdefault(label, {"sum": 0.0, "n": 0, "records": []})
            entry["sum"] += w * a["score"]
            entry["n"] += 1
            entry["records"].append((round(w * a["score"], 4), rid))
    for entry in labels.values():
        entry["sum"] = round(entry["sum"], 4)
        entry["records"] = [rid for _s, rid in sorted(entry["records"], reverse=True)[:MAX_RECORDS_PER_LABEL]]
    kws = sorted((k for k in labels if k.startswith("kw:")), key=lambda k: -labels[k]["sum"])[:40]
    places = sorted((k for k in labels if k.startswith("place:")), key=lambda k: -labels[k]["sum"])[:20]
    keep = {k: v for k, v in labels.items() if k.startswith(("sdg:", "pathway:")) or k in kws or k in places}
    ys = [years[r] for r in records if r in years]
    data = {"labels": keep, "n_records": len(records), "years": [min(ys), max(ys)] if ys else None,
            "recent": sum(1 for y in ys if y >= max(ys) - 4) if ys else 0}
    vector = None
    vs = [(vecs[r], w) for r, w in records.items() if r in vecs]
    if vs:
        m = np.sum([v * w for v, w in vs], axis=0)
        norm = float(np.linalg.norm(m))
        if norm > 0:
            vector = (m / norm).astype(np.float32)
    return data, vector


def dirty_entities(store: Store, record_ids: set[str]) -> set[str]:
    """Entities whose profile depends on any of these records (directly or through one hop)."""
    if not record_ids:
        return set()
    out: set[str] = set()
    c = t.relations.c
    with store.engine.connect() as conn:
        for chunk in _chunks(list(record_ids)):
            for r in conn.execute(select(c.source_id, c.target_id).where(c.target_id.in_(chunk))):
                out.add(r.source_id)
            for r in conn.execute(select(c.source_id, c.target_id).where(c.source_id.in_(chunk))):
                out.add(r.target_id)
        # one more hop for cities (org located in city) and organisations (affiliated persons)
        for chunk in _chunks(list(out)):
            for r in conn.execute(select(c.target_id).where(c.source_id.in_(chunk),
                                                            c.type.in_(["located_in", "affiliated_with"]))):
                out.add(r.target_id)
    return out | set(record_ids)
