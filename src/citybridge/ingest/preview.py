"""Plan an import before writing: open the file, find its layout, infer the mapping, and preview the
records and per-row problems it would give.

:func:`plan_import` is what every import runs first (the CLI, the web page, the API); :func:`preview`
reads the whole file through the same mapping and validation as the import, writing nothing.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from citybridge.errors import Invalid
from citybridge.ingest.base import SourceItem
from citybridge.ingest.infer.guess import Inference, choose, infer_mapping
from citybridge.ingest.mapping import (
    Mapping,
    RowError,
    build_record,
    build_relation,
    check_relation_row,
    normalize_kind,
    row_kind,
)
from citybridge.ingest.pipeline import duplicate_reason, record_key
from citybridge.ingest.tabular import open_tabular
from citybridge.model.entities import Record, model_for, record_to_dict

SAMPLE_ROWS = 500  # rows the inference looks at
MAX_PROBLEMS = 500  # problems listed in a preview (all are counted)


@dataclass
class Choices:
    """A curator's changes to an inferred mapping (the web import page): a target per column (``'-'``
    ignores it), value maps per target field, defaults."""

    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    def check(self, kind: str | None) -> None:
        """Raise Invalid for a value map or default that ``kind`` cannot take."""
        fields = model_for(kind).model_fields if kind and kind != "relation" else {}
        for target, table in self.values.items():
            allowed = _enum_values(fields.get(target))
            if allowed is None:
                raise Invalid(f"'{target}' takes no value map", field=f"values.{target}")
            bad = next((v for v in table.values() if v not in allowed), None)
            if bad is not None:
                raise Invalid(f"'{bad}' is not a {target} (one of: {', '.join(allowed)})", field=f"values.{target}")
        for name in self.defaults:
            if name not in fields:
                raise Invalid(f"'{name}' is not a field of a {kind or 'record of unknown kind'}",
                              field=f"defaults.{name}")

    def apply(self, mapping: Mapping | None) -> Mapping | None:
        """``mapping`` with these value maps and defaults added (columns are applied to the inference)."""
        if not (self.values or self.defaults):
            return mapping
        m = mapping or Mapping()
        for target, table in self.values.items():
            m.values[target] = {**m.values.get(target, {}), **table}
        m.defaults.update(self.defaults)
        return m


@dataclass
class ImportPlan:
    """How one file will be imported: the source, the mapping (given or inferred) and what was inferred."""

    source: Any
    mapping: Mapping | None
    inference: Inference | None = None
    layout_notes: list[str] = field(default_factory=list)
    kind: str | None = None  # given with --kind
    rows: list[dict[str, Any]] = field(default_factory=list)  # the sample the inference read
    choices: Choices | None = None

    @property
    def notes(self) -> list[str]:
        return self.layout_notes + (self.inference.notes if self.inference else [])

    def saved_mapping(self) -> Mapping:
        """The complete mapping a user can edit and reuse (``--save-mapping``): every column, the kind, the
        header row, delimiter and encoding as read."""
        if self.inference is not None:
            m = self.inference.mapping(complete=True) or Mapping()
            m = (self.choices.apply(m) if self.choices else m) or m
        else:
            m = Mapping(**vars(self.mapping)) if self.mapping else Mapping()
        m.kind = m.kind or self.kind or (self.inference.kind if self.inference else None)
        info = describe(self.source)
        m.header_row = info.get("header_row") if info.get("header_row", 1) != 1 else m.header_row
        m.delimiter = info.get("delimiter", m.delimiter)
        m.encoding = info.get("encoding", m.encoding)
        return m

    def comments(self) -> dict[str, str]:
        return {g.column: g.reason for g in self.inference.columns} if self.inference else {}

    def summary(self) -> dict[str, Any]:
        """What was inferred, for reports: the kind, the columns that were renamed, parsed, value-mapped or
        ignored, and the notes."""
        out: dict[str, Any] = {"source": self.source.name, **describe(self.source)}
        if self.inference is not None:
            out["kind"] = self.inference.kind
            out["kind_reason"] = self.inference.kind_reason
            out["columns"] = [g.to_dict() for g in self.inference.inferred()]
        out["notes"] = self.notes
        return out


def _enum_values(info: Any) -> list[str] | None:
    annotation = getattr(info, "annotation", None)
    for t in (annotation, *typing.get_args(annotation)):
        if isinstance(t, type) and issubclass(t, Enum):
            return [e.value for e in t]
    return None


def type_values(kind: str | None, target: str | None) -> list[str]:
    """The values a type field (``org_type``, ``doc_type`` ...) of ``kind`` takes; [] for any other field."""
    if not kind or kind in ("relation", "theme") or not target or normalize_kind(kind) is None:
        return []
    return _enum_values(model_for(kind).model_fields.get(target)) or []


def describe(source: Any) -> dict[str, Any]:
    return source.describe() if hasattr(source, "describe") else {"file": getattr(source, "name", "?")}


def plan_import(path: str | Path, *, kind: str | None = None, mapping: Mapping | None = None,
                delimiter: str | None = None, encoding: str | None = None, header_row: int | None = None,
                infer: bool = True, choices: Choices | None = None, sample: int = SAMPLE_ROWS) -> ImportPlan:
    """Open ``path`` and decide how to import it.

    A given ``mapping`` is used as it is (its header row, delimiter and encoding apply unless given here);
    without one, the mapping is inferred from the header and the first ``sample`` rows (``infer=False``
    keeps the plain default mapping), then changed by the curator's ``choices``.
    """
    header_row = header_row or (mapping.header_row if mapping else None)
    source = open_tabular(path, kind=kind, delimiter=delimiter or (mapping.delimiter if mapping else None),
                          encoding=encoding or (mapping.encoding if mapping else None), header_row=header_row)
    layout = source.layout() if hasattr(source, "layout") else None
    notes = list(layout.notes) if layout is not None else []
    if mapping is not None or not infer:
        return ImportPlan(source, mapping, None, notes, kind)
    rows: list[dict[str, Any]] = []
    hint: str | None = None
    for item in itertools.islice(source.items(), sample * 2):
        if item.row is not None:
            rows.append(item.row)
            hint = hint or item.kind
        if len(rows) >= sample:
            break
    columns = list(layout.columns.kept) if layout is not None and layout.problem is None else []
    for row in rows:  # JSON rows, and sheets after the first, may bring more columns
        columns += [c for c in row if c not in columns]
    inference = infer_mapping(columns, rows, kind=kind, kind_hint=None if kind else hint)
    if choices is not None and choices.columns:
        inference = choose(inference, rows, {c: t for c, t in choices.columns.items() if c in columns})
    m = inference.mapping()
    if inference.kind_source == "columns":
        m = m or Mapping()
        m.kind = inference.kind
    elif m is not None:
        m.kind = None  # a kind from --kind, the file name or a sheet name stays where it came from
    if choices is not None:
        choices.check(normalize_kind(kind or inference.kind))
        m = choices.apply(m)
    return ImportPlan(source, m, inference, notes, kind, rows, choices)


@dataclass
class Preview:
    """What an import would do, without writing: the plan, the first rows as records, the problems."""

    plan: ImportPlan
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    ok: int = 0
    rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        m = self.plan.mapping
        return {**self.plan.summary(), "inferred": self.plan.inference.to_dict() if self.plan.inference else None,
                "mapping": m.to_dict() if m else None, "rows": self.rows, "ok": self.ok,
                "rejected": self.rejected, "records": self.records, "problems": self.problems}


def preview(plan: ImportPlan, *, records: int = 5, max_problems: int = MAX_PROBLEMS) -> Preview:
    """Read the whole file as the import would (mapping, kinds, validation, duplicates within the file)
    and keep the first ``records`` records and the problems; nothing is written. Problems only the
    store can tell (an id held by a record of another kind, a relation end not stored) are not checked."""
    out = Preview(plan)
    seen: dict[str, str] = {}
    for item in plan.source.items():
        out.rows += 1
        problem = _problem(item, plan, seen, out, records)
        if problem is None:
            out.ok += 1
            continue
        out.rejected += 1
        if len(out.problems) < max_problems:
            out.problems.append(problem)
    return out


def _problem(item: SourceItem, plan: ImportPlan, seen: dict[str, str], out: Preview, records: int
             ) -> dict[str, Any] | None:
    if item.rejection is not None:
        return {"where": item.rejection.where, "field": item.rejection.field, "reason": item.rejection.reason}
    try:
        built = build_item(item, plan)
    except RowError as exc:
        return {"where": item.where, "field": exc.field, "reason": exc.reason}
    if isinstance(built, Record):
        key = record_key(built)
        if key in seen:
            reason, fld = duplicate_reason(built, seen[key])
            return {"where": item.where, "field": fld, "reason": reason}
        seen[key] = item.where
        if len(out.records) < records:
            out.records.append({"where": item.where, **record_to_dict(built)})
    elif len(out.records) < records:
        out.records.append({"where": item.where, "kind": "relation", **built})
    return None


def build_item(item: SourceItem, plan: ImportPlan) -> Record | dict[str, Any]:
    """The record (or relation row) an item becomes, as the import builds it; raises RowError."""
    row = item.row or {}
    m = plan.mapping
    if m is not None:
        row = m.apply(row)
    kind = row_kind(row, plan.kind, m.kind if m else None, item.kind)
    if kind == "relation":
        check_relation_row(row)
        build_relation({**row, "source": "x", "target": "y"})  # validates type, dates, weight
        return dict(row)
    return build_record(row, kind)


__all__ = ["MAX_PROBLEMS", "SAMPLE_ROWS", "Choices", "ImportPlan", "Preview", "build_item", "plan_import",
           "preview", "type_values"]
