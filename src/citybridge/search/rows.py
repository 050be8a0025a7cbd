"""Index rows: what the main search index holds of one record, read window by window in record-id order.

A row is the record's four text fields (title, keywords, abstract, body), the language choosing its analyzer,
its facet values and its record vectors (one per embedding model). ``SearchService.rebuild`` streams rows into
the two-pass lexical build and a memory-mapped vector file, so the build never holds the corpus. Rows come
from the store (:class:`StoreRows`, what ``citybridge reindex`` reads) or from another source that falls back
to the store for what it does not hold (the bulk pipeline's Parquet partitions, see
``citybridge.pipelines.index_rows``).

A row from elsewhere is used only if it was computed from exactly what the store holds now: its
:func:`signatures` (the record's content hash, the versions of the enrichment steps done on it, the count and
newest number of its annotations and its vectors per model) must equal the store's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import and_, func, select

from citybridge.store import tables as t
from citybridge.store.repository import Store

WINDOW = 2000  # records per store window
_IN = 900  # ids per IN (...) list (SQLite's bound-parameter limit)


@dataclass
class Enrichment:
    """What the index takes from a record's annotations."""

    language: str | None = None
    sdgs: tuple[str, ...] = ()
    pathways: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


EMPTY = Enrichment()


def enrichment_by_record(annotations: Iterable[dict[str, Any]]) -> dict[str, Enrichment]:
    """Annotations (each with ``record_id``, ``label``, ``score``; in store order) -> per-record enrichment."""
    acc: dict[str, dict[str, Any]] = {}
    for a in annotations:
        entry = acc.setdefault(a["record_id"], {"language": None, "lang_score": -1.0, "sdgs": [], "pathways": [],
                                                "keywords": []})
        label: str = a["label"]
        if label.startswith("lang:") and a["score"] > entry["lang_score"]:
            entry["language"], entry["lang_score"] = label[5:], a["score"]
        elif label.startswith("sdg:") and "." not in label:
            entry["sdgs"].append(label[4:])
        elif label.startswith("pathway:"):
            entry["pathways"].append(label[8:])
        elif label.startswith("kw:") and len(entry["keywords"]) < 12:
            entry["keywords"].append(label[3:])
    return {rid: Enrichment(e["language"], tuple(e["sdgs"]), tuple(e["pathways"]), tuple(e["keywords"]))
            for rid, e in acc.items()}


@dataclass
class IndexRow:
    """One document of the main index (see the module docstring)."""

    id: str
    doc: dict[str, str]  # title, keywords, abstract, body
    lang: str
    facets: dict[str, Any]  # FacetBuilder.add keyword arguments
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # model id -> record vector (float32)


class RowSource(Protocol):
    """Rows of every record the store holds, in record-id order (the order ``citybridge reindex`` uses)."""

    def rows(self, store: Store, models: Sequence[str]) -> Iterator[IndexRow]: ...


def make_row(body: dict[str, Any], info: Enrichment, vectors: dict[str, np.ndarray] | None = None) -> IndexRow:
    """A record's row from its stored JSON body and its enrichment (the only place the mapping is written)."""
    from citybridge.search.service import _LEXICAL_LANGS, BODY_CHARS, _gazetteer, _source, _subtype, _year

    kws = list(info.keywords) + list(body.get("tags") or []) + list(body.get("aliases") or [])
    if body.get("acronym"):
        kws.append(body["acronym"])
    doc = {"title": body.get("name") or "", "keywords": " ; ".join(kws), "abstract": body.get("description") or "",
           "body": (body.get("body") or "")[:BODY_CHARS]}
    lang = info.language or ((body.get("languages") or ["en"])[0])
    country = body.get("country")
    gaz = _gazetteer()
    prov = body.get("provenance") or [{}]
    facets = {"kind": body["kind"], "subtype": _subtype(body), "country": country,
              "region": body.get("un_region") or (gaz.un_region(country) if gaz and country else None),
              "language": info.language, "year": _year(body), "source": _source(prov[0].get("source")),
              "visibility": body.get("visibility", "public"), "owner": body.get("owner"),
              "sdgs": info.sdgs, "pathways": info.pathways}
    return IndexRow(body["id"], doc, lang if lang in _LEXICAL_LANGS else "en", facets, vectors or {})


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN):
        yield ids[i:i + _IN]


def store_rows(store: Store, bodies: list[dict[str, Any]], models: Sequence[str]) -> list[IndexRow]:
    """Rows of these stored records (bodies as the store holds them), enrichment and vectors read from the
    store for just these ids, in the given order."""
    ids = [b["id"] for b in bodies]
    a, e = t.annotations.c, t.embeddings.c
    anns: list[dict[str, Any]] = []
    vecs: dict[str, dict[str, np.ndarray]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(ids):
            q = select(a.seq, a.record_id, a.label, a.score).where(a.record_id.in_(chunk))
            anns.extend(r._asdict() for r in conn.execute(q))
            for model in models:
                q = select(e.record_id, e.vector).where(e.model == model, e.passage == -1, e.record_id.in_(chunk))
                for rid, blob in conn.execute(q):
                    vecs.setdefault(rid, {})[model] = np.frombuffer(blob, dtype=np.float32)
    anns.sort(key=lambda r: r["seq"])  # store order, as a whole-table scan by seq gives them
    enr = enrichment_by_record(anns)
    return [make_row(b, enr.get(b["id"], EMPTY), vecs.get(b["id"])) for b in bodies]


class StoreRows:
    """Every record's row from the store (``citybridge reindex``), a window of records at a time."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.stats = {"from_store": 0}

    def rows(self, store: Store, models: Sequence[str]) -> Iterator[IndexRow]:
        r = t.records.c
        after = ""
        while True:
            with store.engine.connect() as conn:
                got = conn.execute(select(r.id, r.data).where(r.id > after).order_by(r.id).limit(self.window)).all()
            if not got:
                return
            bodies = [json.loads(data) for _id, data in got]
            self.stats["from_store"] += len(bodies)
            yield from store_rows(store, bodies, models)
            after = got[-1][0]


def signatures(store: Store, ids: Sequence[str] | None = None, *, lo: str | None = None,
               hi: str | None = None) -> dict[str, str]:
    """Record id -> a digest of everything a row derives from: the record's content hash, the (step, version)
    pairs of the enrichment done on it, its annotations' count and newest number, its vector rows per model.
    For ``ids``, or for every record with ``lo <= id <= hi``."""
    parts = _signature_parts(store, ids, lo=lo, hi=hi)
    return {rid: hashlib.sha1("|".join(p).encode()).hexdigest()[:20] for rid, p in parts.items()}


def _signature_parts(store: Store, ids: Sequence[str] | None = None, *, lo: str | None = None,
                     hi: str | None = None) -> dict[str, list[str]]:
    rc, sc, ac, ec = t.records.c, t.enrich_state.c, t.annotations.c, t.embeddings.c
    parts: dict[str, list[Any]] = {}

    def where(col: Any, chunk: Sequence[str] | None) -> Any:
        return col.in_(chunk) if chunk is not None else and_(col >= lo, col <= hi)

    with store.engine.connect() as conn:
        for chunk in (_chunks(ids) if ids is not None else [None]):
            for rid, h in conn.execute(select(rc.id, rc.hash).where(where(rc.id, chunk))):
                parts[rid] = [h]
            for rid, step, version in conn.execute(select(sc.record_id, sc.step, sc.step_version)
                                                   .where(where(sc.record_id, chunk))
                                                   .order_by(sc.record_id, sc.step)):
                if rid in parts:
                    parts[rid].append(f"s:{step}={version}")
            for rid, n, top in conn.execute(select(ac.record_id, func.count(), func.max(ac.seq))
                                            .where(where(ac.record_id, chunk)).group_by(ac.record_id)):
                if rid in parts:
                    parts[rid].append(f"a:{n}:{top}")
            for rid, model, n in conn.execute(select(ec.record_id, ec.model, func.count())
                                              .where(where(ec.record_id, chunk))
                                              .group_by(ec.record_id, ec.model).order_by(ec.record_id, ec.model)):
                if rid in parts:
                    parts[rid].append(f"v:{model}:{n}")
    return parts
