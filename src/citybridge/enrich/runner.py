"""Runs enrichment steps over the store incrementally and writes their results, batch by batch."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from citybridge.enrich.pipeline import Annotation, EnrichReport, Step, StepOutput, StepRunner
from citybridge.errors import Invalid
from citybridge.model.entities import Provenance, Record
from citybridge.model.relations import Relation, RelationType
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.repository import Store


def derived_role(step: str) -> str:
    """The role that marks a relation as derived by an enrichment step (so a rerun can replace it)."""
    return f"enrich:{step}"


class Enricher:
    """Finds what each step has not yet seen and runs it, writing each batch in one transaction."""

    def __init__(
        self,
        store: Store,
        steps: Sequence[Step],
        *,
        batch_size: int = 512,
        workers: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.steps = list(steps)
        longest = t.relations.c.role.type.length - len(derived_role(""))  # the role of the relations a step derives
        for step in self.steps:
            if len(step.name) > longest:
                raise Invalid(f"enrichment step name '{step.name[:40]}...' is longer than {longest} characters",
                              field="step")
        self.es = EnrichmentStore(store)
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress

    def plan(self) -> dict[str, list[Step]]:
        """Record id -> the steps that still have to process it."""
        todo: dict[str, list[Step]] = {}
        for step in self.steps:
            kinds = [k.value for k in step.kinds] if step.kinds else None
            for rid in self.es.pending(step.name, step.version, kinds):
                todo.setdefault(rid, []).append(step)
        return todo

    def run(self) -> tuple[EnrichReport, set[str]]:
        """Run every pending step; returns the report and the ids of the records processed."""
        t0 = time.perf_counter()
        report = EnrichReport(steps={s.name: 0 for s in self.steps})
        todo = self.plan()
        ids = sorted(todo)
        batches = [ids[i:i + self.batch_size] for i in range(0, len(ids), self.batch_size)]
        with StepRunner(self.steps, self.workers) as runner:
            inflight: deque[tuple[list[Record], Any]] = deque()
            for batch in batches:
                found = self.store.get_many(batch)
                records = [found[rid] for rid in batch if rid in found]
                inflight.append((records, runner.submit(records, [{s.name for s in todo[r.id]} for r in records])))
                if len(inflight) >= runner.ahead:
                    self._write(*inflight.popleft(), runner, todo, report)
            while inflight:
                self._write(*inflight.popleft(), runner, todo, report)
        report.seconds = time.perf_counter() - t0
        return report, set(ids)

    def _write(self, records: list[Record], handle: Any, runner: StepRunner, todo: dict[str, list[Step]],
               report: EnrichReport) -> None:
        results = runner.result(handle)
        by_name = {s.name: s for s in self.steps}
        with self.store.engine.begin() as conn:
            hashes = self.es.hashes([r.id for r in records], conn)
            for name, idx, outs in results:
                step = by_name[name]
                subset = [r for r in records if step in todo.get(r.id, ())]
                ran = {records[i].id: out for i, out in zip(idx, outs, strict=True)}
                ann_rows: dict[str, list[dict[str, Any]]] = {}
                vec_rows: dict[str, list[dict[str, Any]]] = {}
                rels: list[Relation] = []
                model = None
                for rec in subset:
                    out = ran.get(rec.id, StepOutput())
                    ann_rows[rec.id] = [{"label": a.label[:512], "target_id": a.target_id, "score": float(a.score),
                                         "evidence": json.dumps(list(a.evidence), ensure_ascii=False)
                                         if a.evidence else None} for a in out.annotations]
                    rels.extend(_derived_relations(step.name, rec.id, out.annotations))
                    if out.vectors is not None:
                        model = out.vectors.model
                        vec_rows[rec.id] = _vector_rows(out)
                report.annotations += self.es.replace_annotations(conn, step.name, ann_rows)
                if model is not None and len(model) > t.embeddings.c.model.type.length:
                    raise Invalid(f"embedding model id '{model[:40]}...' is longer than "
                                  f"{t.embeddings.c.model.type.length} characters", field="model")
                if model is not None:
                    report.vectors += self.es.replace_vectors(conn, model, vec_rows)
                outcomes = (self.store.upsert_relations(rels, changed_by=derived_role(step.name), conn=conn)
                            if rels else [])
                kept = {o.id for o in outcomes if o.status != "rejected" and o.id}
                report.relations += sum(1 for o in outcomes if o.status in ("created", "updated"))
                stale = self.es.stale_derived_relations(conn, derived_role(step.name), [r.id for r in subset], kept)
                self.es.delete_relations(conn, stale)
                self.es.mark_done(conn, step.name, step.version, {r.id: hashes[r.id] for r in subset if r.id in hashes})
                report.steps[step.name] = report.steps.get(step.name, 0) + len(subset)
        if self.progress:
            self.progress(len(records))


def _derived_relations(step: str, record_id: str, annotations: list[Annotation]) -> list[Relation]:
    out = []
    seen: set[tuple[str, str]] = set()
    for a in annotations:
        if not a.relation or not a.target_id or a.target_id == record_id or (a.relation, a.target_id) in seen:
            continue
        seen.add((a.relation, a.target_id))
        out.append(
            Relation(
                type=RelationType(a.relation),
                source=record_id,
                target=a.target_id,
                role=derived_role(step),
                weight=round(float(a.score), 4),
                attributes={"label": a.label, "evidence": list(a.evidence[:3])},
                provenance=[Provenance(source=derived_role(step))],
            )
        )
    return out


def _vector_rows(out: StepOutput) -> list[dict[str, Any]]:
    v = out.vectors
    assert v is not None
    rows = [
        {
            "passage": -1,
            "field": None,
            "start": None,
            "end": None,
            "vector": np.asarray(v.record_vector, dtype=np.float32).tobytes(),
        }
    ]
    for k, ((fld, s, e), vec) in enumerate(zip(v.passages, v.vectors, strict=True)):
        rows.append(
            {"passage": k, "field": fld, "start": s, "end": e, "vector": np.asarray(vec, dtype=np.float32).tobytes()}
        )
    return rows
