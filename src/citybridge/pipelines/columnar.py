"""The columnar form of a processed partition: three Parquet tables (pyarrow) a worker fills and the client
writes and loads.

* ``items``: the source items in input order (records, relations, rejections) with their flags and the exact
  JSON body the store receives;
* ``annotations``: each enrichment step's labels, scores and evidence per item (``seq``);
* ``vectors``: the embedding steps' passage and record vectors (float32 bytes).

Versioned by ``FORMAT``: a partition written by another format is processed again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from citybridge.enrich.pipeline import Annotation, BatchResult, StepOutput, Vectors
from citybridge.errors import Invalid
from citybridge.ingest.base import Rejection, SourceItem
from citybridge.model.entities import Record, Visibility, record_from_dict, record_to_dict
from citybridge.model.relations import Relation, RelationType, unchecked_provenance, unchecked_relation

FORMAT = 1
TABLES = ("items", "annotations", "vectors")


def pa() -> Any:
    """pyarrow, or Invalid naming the extra that installs it."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        raise Invalid("bulk runs need pyarrow and dask: pip install 'citybridge[dask,parquet]'",
                      field="bulk") from None
    return pyarrow


def _schemas(p: Any) -> dict[str, Any]:
    s, i = p.string(), p.int32()
    return {
        "items": p.schema([("seq", i), ("where", s), ("type", s), ("stub", p.bool_()), ("optional", p.bool_()),
                           ("keep", s), ("merge", p.bool_()), ("body", s), ("reason", s), ("field", s)]),
        "annotations": p.schema([("seq", i), ("step", s), ("label", s), ("score", p.float64()),
                                 ("target_id", s), ("evidence", s), ("relation", s)]),
        "vectors": p.schema([("seq", i), ("step", s), ("model", s), ("passage", i), ("field", s), ("start", i),
                             ("end", i), ("vector", p.binary())]),
    }


class PartitionWriter:
    """Collects one partition's items and step outputs as columns; ``to_parquet`` gives the file bytes."""

    def __init__(self) -> None:
        self.cols: dict[str, dict[str, list[Any]]] = {
            name: {f.name: [] for f in schema} for name, schema in _schemas(pa()).items()
        }
        self.seq = 0

    def add_item(self, item: SourceItem) -> int:
        """Append a source item; returns its ``seq`` (the key of its step outputs)."""
        c = self.cols["items"]
        seq = self.seq
        self.seq += 1
        body = kind = reason = fld = None
        if item.rejection is not None:
            kind, reason, fld = "rejection", item.rejection.reason, item.rejection.field
        elif item.record is not None:
            kind, body = "record", _dump(record_to_dict(item.record), item.record)
        elif item.relation is not None:
            kind, body = "relation", _dump(item.relation.model_dump(mode="json", exclude_none=True), item.relation)
        else:
            kind, body = "row", json.dumps(item.row, ensure_ascii=False, default=str)
        for key, value in (("seq", seq), ("where", item.where), ("type", kind), ("stub", item.stub),
                           ("optional", item.optional), ("keep", json.dumps(sorted(item.keep)) if item.keep else None),
                           ("merge", item.merge_attributes), ("body", body), ("reason", reason), ("field", fld)):
            c[key].append(value)
        return seq

    def add_results(self, seqs: Sequence[int], results: BatchResult) -> None:
        """Append one enriched batch's outputs; ``seqs[i]`` is the item of the batch's record ``i``."""
        import numpy as np

        a, v = self.cols["annotations"], self.cols["vectors"]
        for step, idx, outs in results:
            for i, out in zip(idx, outs, strict=True):
                seq = seqs[i]
                for ann in out.annotations:
                    for key, value in (("seq", seq), ("step", step), ("label", ann.label), ("score", float(ann.score)),
                                       ("target_id", ann.target_id),
                                       ("evidence", json.dumps(list(ann.evidence), ensure_ascii=False)
                                        if ann.evidence else None), ("relation", ann.relation)):
                        a[key].append(value)
                vec = out.vectors
                if vec is None:
                    continue
                rows = [(-1, None, None, None, vec.record_vector)]
                rows += [(k, f, s, e, x) for k, ((f, s, e), x) in enumerate(zip(vec.passages, vec.vectors,
                                                                                  strict=True))]
                for passage, fld, s, e, x in rows:
                    for key, value in (("seq", seq), ("step", step), ("model", vec.model), ("passage", passage),
                                       ("field", fld), ("start", s), ("end", e),
                                       ("vector", np.asarray(x, dtype=np.float32).tobytes())):
                        v[key].append(value)

    def to_parquet(self) -> dict[str, bytes]:
        """Table name -> Parquet file bytes (zstd)."""
        p = pa()
        import pyarrow.parquet as pq

        out = {}
        for name, schema in _schemas(p).items():
            table = p.table(self.cols[name], schema=schema)
            buf = io.BytesIO()
            pq.write_table(table, buf, compression="zstd")
            out[name] = buf.getvalue()
        return out


def _dump(body: dict[str, Any], model: Any) -> str:
    """The JSON body plus the fields the source set (a merge lets only those win over a stored record)."""
    return json.dumps({"_set": sorted(model.model_fields_set), **body}, ensure_ascii=False, default=str)


def _fields_set(model: Any, fields: list[str]) -> Any:
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    return model


def read_table(path: Any) -> dict[str, list[Any]]:
    """One Parquet table as columns (lists)."""
    pa()
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pydict()  # type: ignore[no-any-return]


def _loads(text: str) -> Any:
    """A body written by :func:`_dump`: orjson (several times faster), the standard library for what orjson
    refuses (NaN ...), so the values are the same."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_PLAIN_REL = frozenset({"_set", "id", "type", "source", "target", "role", "attributes", "provenance", "visibility"})
_PLAIN_PROV = frozenset({"source", "record_id", "licence", "url"})
_REL_TYPES = {t.value: t for t in RelationType}  # a dict lookup: calling an Enum by value costs more
_VISIBILITY = {v.value: v for v in Visibility}


def _relation(d: dict[str, Any], fields: list[str]) -> Relation:
    """The relation a worker dumped, back as the model. A plain one (what connectors emit: no dates, weight,
    owner or timestamps; text provenance) is rebuilt without validation: the worker built it from a validated
    model, and ``model_dump(mode="json")`` of those fields reads back as the same values (``tests/pipelines``
    compares both ways on a whole snapshot partition); any other goes through the model's validation."""
    if d.keys() <= _PLAIN_REL and all(p.keys() <= _PLAIN_PROV for p in d.get("provenance", ())):
        try:
            values: dict[str, Any] = {"id": d["id"], "type": _REL_TYPES[d["type"]], "source": d["source"],
                                      "target": d["target"]}
            if "role" in d:
                values["role"] = d["role"]
            if "attributes" in d:
                values["attributes"] = d["attributes"]
            if "provenance" in d:
                values["provenance"] = [unchecked_provenance(p) for p in d["provenance"]]
            if "visibility" in d:
                values["visibility"] = _VISIBILITY[d["visibility"]]
        except (KeyError, ValueError, TypeError):
            pass
        else:
            return unchecked_relation(values, set(fields))
    d = dict(d)
    d.pop("_set", None)
    return _fields_set(Relation.model_validate(d), fields)


def source_items(items: dict[str, list[Any]]) -> Iterator[tuple[int, SourceItem]]:
    """The stored items back as (seq, SourceItem), in input order."""
    cols = items
    for k in range(len(cols["seq"])):
        seq, where, kind, body = cols["seq"][k], cols["where"][k], cols["type"][k], cols["body"][k]
        flags: dict[str, Any] = {"stub": cols["stub"][k], "optional": cols["optional"][k],
                                 "merge_attributes": cols["merge"][k]}
        if cols["keep"][k]:
            flags["keep"] = frozenset(json.loads(cols["keep"][k]))
        if kind == "rejection":
            yield seq, SourceItem(where, rejection=Rejection(where, cols["reason"][k], cols["field"][k]))
        elif kind == "record":
            d = _loads(body)
            fields = d.pop("_set")
            yield seq, SourceItem(where, record=_fields_set(record_from_dict(d), fields), **flags)
        elif kind == "relation":
            d = _loads(body)
            yield seq, SourceItem(where, relation=_relation(d, d["_set"]), **flags)
        else:
            yield seq, SourceItem(where, row=json.loads(body), kind="relation", **flags)


def step_outputs(annotations: dict[str, list[Any]], vectors: dict[str, list[Any]]
                 ) -> dict[tuple[int, str], StepOutput]:
    """(seq, step) -> the step's output for that item, rebuilt from the annotation and vector tables."""
    import numpy as np

    out: dict[tuple[int, str], StepOutput] = {}
    a = annotations
    for k in range(len(a["seq"])):
        ev = a["evidence"][k]
        out.setdefault((a["seq"][k], a["step"][k]), StepOutput()).annotations.append(Annotation(
            label=a["label"][k], score=a["score"][k], target_id=a["target_id"][k],
            evidence=tuple(_loads(ev)) if ev else (), relation=a["relation"][k]))
    v = vectors
    for k in range(len(v["seq"])):
        o = out.setdefault((v["seq"][k], v["step"][k]), StepOutput())
        vec = np.frombuffer(v["vector"][k], dtype=np.float32)
        if o.vectors is None:
            o.vectors = Vectors(model=v["model"][k], passages=[], vectors=[], record_vector=None)
        if v["passage"][k] < 0:
            o.vectors.record_vector = vec
        else:
            o.vectors.passages.append((v["field"][k], v["start"][k], v["end"][k]))
            o.vectors.vectors.append(vec)
    return out


def records_of(items: Iterator[tuple[int, SourceItem]]) -> list[tuple[int, Record]]:
    """(seq, record) of the items that are records (not stubs)."""
    return [(seq, it.record) for seq, it in items if it.record is not None and not it.stub]
