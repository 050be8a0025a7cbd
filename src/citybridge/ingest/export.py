"""Export the store as JSON Lines, CSV, JSON-LD or Turtle (schema.org + the citybridge vocabulary), streamed.

JSON Lines is the lossless exchange format: ``import(export(store))`` reproduces every record and relation
exactly, timestamps included. CSV flattens lists and objects into JSON cells and reads back the same way.
JSON-LD and Turtle are linked data (see :mod:`citybridge.interop.linked_data`): schema.org terms where they
exist, the instance's own vocabulary for the rest.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal

from citybridge.errors import Invalid
from citybridge.interop.linked_data import LinkedData, schema_type
from citybridge.model.entities import KIND_MODELS, Kind
from citybridge.model.relations import Relation
from citybridge.store.repository import Store

Format = Literal["jsonl", "csv", "jsonld", "ttl"]
FORMATS = ("jsonl", "csv", "jsonld", "ttl")
DEFAULT_BASE = "http://127.0.0.1:8000"

def _csv_columns(kind: str | None) -> list[str]:
    models = [KIND_MODELS[Kind(kind)]] if kind and kind != "relation" else list(KIND_MODELS.values())
    cols: list[str] = ["kind"]
    if kind != "relation":
        for model in models:
            for name in model.model_fields:
                if name not in cols:
                    cols.append(name)
    if kind in (None, "relation"):
        for name in Relation.model_fields:
            if name not in cols:
                cols.append(name)
    return cols


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class Exporter:
    """Streams the store in one of the export formats."""

    def __init__(self, store: Store, keep: Callable[[dict[str, Any]], bool] | None = None, *,
                 base: str = DEFAULT_BASE) -> None:
        self.store = store
        self.keep = keep  # e.g. a caller's visibility filter; None keeps everything
        self.linked = LinkedData(base)  # IRIs of records and of the citybridge vocabulary

    def _bodies(self, kind: str | None) -> Iterator[dict[str, Any]]:
        if self.keep is None:
            yield from self._all_bodies(kind)
        else:
            yield from filter(self.keep, self._all_bodies(kind))

    def _all_bodies(self, kind: str | None) -> Iterator[dict[str, Any]]:
        if kind not in (None, "relation"):
            if kind not in {k.value for k in Kind}:
                raise Invalid(f"unknown kind '{kind}'", field="kind")
            yield from self.store.iter_record_dicts(kind)
            return
        if kind is None:
            yield from self.store.iter_record_dicts(None)
        for body in self.store.iter_relation_dicts():
            yield {"kind": "relation", **{k: v for k, v in body.items() if k != "kind"}}

    def write(self, out: IO[str], fmt: Format, *, kind: str | None = None) -> int:
        """Write the export to ``out``; returns the number of items written."""
        if fmt == "jsonl":
            return self._jsonl(out, kind)
        if fmt == "csv":
            return self._csv(out, kind)
        if fmt == "jsonld":
            return self._jsonld(out, kind)
        if fmt == "ttl":
            return self._turtle(out, kind)
        raise Invalid(f"unknown export format '{fmt}' ({', '.join(FORMATS)})", field="format")

    def _jsonl(self, out: IO[str], kind: str | None) -> int:
        n = 0
        for body in self._bodies(kind):
            out.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        return n

    def _csv(self, out: IO[str], kind: str | None) -> int:
        cols = _csv_columns(kind)
        writer = csv.writer(out, lineterminator="\r\n")  # quotes any cell holding \r or \n
        writer.writerow(cols)
        n = 0
        for body in self._bodies(kind):
            writer.writerow([_csv_value(body.get(c)) for c in cols])
            n += 1
        return n

    def nodes(self, kind: str | None) -> Iterator[tuple[bool, list[dict[str, Any]]]]:
        """(is a record, JSON-LD nodes) for each exported item; a relation's schema.org property is emitted
        only when both its ends are exported too (the caller may see them, the kind filter keeps them)."""
        pending: list[dict[str, Any]] = []
        exported = kind in (None, "relation")

        def flush() -> Iterator[tuple[bool, list[dict[str, Any]]]]:
            types = self._schema_types({i for b in pending for i in (b["source"], b["target"])})
            for body in pending:
                src, tgt = types.get(body["source"]), types.get(body["target"])
                yield False, self.linked.relation_nodes(body, src if exported else None,
                                                        tgt if exported else None)
            pending.clear()

        for body in self._bodies(kind):
            if body.get("kind") != "relation":
                yield True, [self.linked.record_node(body)]
                continue
            pending.append(body)
            if len(pending) >= 2000:
                yield from flush()
        yield from flush()

    def _schema_types(self, ids: set[str]) -> dict[str, str]:
        """Schema types of the records with these ids that the export's filter keeps."""
        from sqlalchemy import select

        from citybridge.store import tables as t

        out: dict[str, str] = {}
        wanted = sorted(ids)
        with self.store.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                rows = conn.execute(select(t.records.c.id, t.records.c.kind, t.records.c.subtype,
                                           t.records.c.visibility, t.records.c.owner)
                                    .where(t.records.c.id.in_(chunk))).all()
                for row in rows:
                    if self.keep is not None and not self.keep({"kind": row.kind, "visibility": row.visibility,
                                                                "owner": row.owner}):
                        continue
                    out[row.id] = schema_type(row.kind, row.subtype)
        return out

    def _jsonld(self, out: IO[str], kind: str | None) -> int:
        out.write('{"@context": ' + json.dumps(self.linked.context()) + ', "@graph": [\n')
        n = 0
        first = True
        for _, nodes in self.nodes(kind):
            for node in nodes:
                out.write(("" if first else ",\n") + json.dumps(node, ensure_ascii=False))
                first = False
            n += 1
        out.write("\n]}\n")
        return n

    def _turtle(self, out: IO[str], kind: str | None, batch: int = 1000) -> int:
        """Turtle, written batch by batch (each batch repeats the same prefixes, which Turtle allows)."""
        rdflib = _rdflib()
        context = self.linked.context()
        n = 0
        nodes: list[dict[str, Any]] = []

        def flush() -> None:
            graph = rdflib.Graph()
            graph.bind("schema", "https://schema.org/")
            graph.bind("cb", self.linked.vocab)
            graph.parse(data=json.dumps({"@context": context, "@graph": nodes}), format="json-ld")
            out.write(graph.serialize(format="turtle"))
            nodes.clear()

        for _, item in self.nodes(kind):
            nodes.extend(item)
            n += 1
            if len(nodes) >= batch:
                flush()
        if nodes or n == 0:
            flush()
        return n


def _rdflib() -> Any:
    try:
        import rdflib
    except ImportError:  # pragma: no cover - rdflib is a core dependency
        raise Invalid("Turtle export needs rdflib (pip install rdflib)", field="format") from None
    return rdflib
