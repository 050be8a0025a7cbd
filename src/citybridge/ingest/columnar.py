"""Columnar validation of a batch of mapped rows: one check per column, models built unchecked.

The model path (:func:`citybridge.ingest.mapping.build_record`) validates each row with the kind's pydantic
model and its Python validators, which costs more than storing the row. Here the rows of a batch that share
a kind and a set of columns are checked a column at a time (country codes, ids, external ids, enums, lengths,
dates, numbers, lists) with exactly the rules the model applies, and each row that passes every check becomes
its model through ``model_construct`` (no second validation). A row that fails any check, or holds anything
this path does not know (a JSON cell, a datetime, a field with a validator not listed here, a kind with a
model validator not listed here), gets ``None``: the importer then builds it on the model path, so its error
message - naming file, line and field - is exactly the model path's. ``tests/ingest/test_columnar.py`` checks
that every record built here equals the model path's (values and the set of fields given) and that every row
the model path refuses is left to it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import date
from enum import Enum
from types import UnionType
from typing import Any, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen, MinLen

from citybridge.model.entities import (
    _ID_RE,
    EXTERNAL_ID_SCHEMES,
    MAX_EXTERNAL_ID,
    MAX_SCHEME,
    MAX_TEXT,
    Kind,
    Provenance,
    Record,
    model_for,
    normalize_external_id,
)

_BAD = object()  # a cell this path does not accept: the row goes to the model path
_SPLIT = re.compile(r"[;|]")
_COUNTRY = re.compile(r"[A-Z]{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?")
_BAD_CHARS = re.compile("[\udc80-\udcff\x00]")

# field validators of the models whose rule each column check below applies (any other validator: model path)
_KNOWN_FIELD_VALIDATORS = {
    "_check_id": ("id",), "_nul": ("name",), "_check_text": ("description",), "_norm_ids": ("external_ids",),
    "_split_list": ("languages", "tags"), "_c": ("country",), "_a": ("aliases", "authors"), "_body": ("body",),
    "_k": ("keywords",),
}
# model validators: what a row must not hold for the model validator to be a no-op or checked here
_KNOWN_MODEL_VALIDATORS = {"_owner_for_restricted", "_dates", "_year"}
_TEXT_LIMITS = {"description": MAX_TEXT, "body": 50 * MAX_TEXT}
_LIST_FIELDS = {"languages", "tags", "aliases", "authors", "keywords"}


# ---------------------------------------------------------------- column checks (values -> converted or _BAD)
def _text(min_len: int, max_len: int | None) -> Callable[[list[str]], list[Any]]:
    def check(values: list[str]) -> list[Any]:
        if max_len is None:
            return [v if len(v) >= min_len else _BAD for v in values]
        return [v if min_len <= len(v) <= max_len else _BAD for v in values]
    return check


def _enum(enum: type[Enum]) -> Callable[[list[str]], list[Any]]:
    members = enum._value2member_map_

    def check(values: list[str]) -> list[Any]:
        return [members.get(v, _BAD) for v in values]
    return check


def _country(values: list[str]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        u = v.strip().upper()
        out.append(u if _COUNTRY.fullmatch(u) else _BAD)
    return out


def _id(values: list[str]) -> list[Any]:
    return [v if _ID_RE.match(v) else _BAD for v in values]


def _split(values: list[str]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v.strip()[:1] in ("[", "{"):  # a JSON cell: the model path reads it
            out.append(_BAD)
        else:
            out.append([p.strip() for p in _SPLIT.split(v) if p.strip()])
    return out


def _date(values: list[str]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not _ISO_DATE.fullmatch(v):
            out.append(_BAD)
            continue
        try:
            out.append(date.fromisoformat(v))
        except ValueError:
            out.append(_BAD)
    return out


def _number(cast: type, lo: float | None, hi: float | None) -> Callable[[list[str]], list[Any]]:
    pattern = _INT if cast is int else _FLOAT

    def check(values: list[str]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if not pattern.fullmatch(v):
                out.append(_BAD)
                continue
            n = cast(v)
            out.append(_BAD if (lo is not None and n < lo) or (hi is not None and n > hi) else n)
        return out
    return check


def _external_id(scheme: str) -> Callable[[list[str]], list[Any]]:
    """``Record._norm_ids`` for one scheme (the column's name, lower-cased)."""
    def check(values: list[str]) -> list[Any]:
        if len(scheme.strip()) > MAX_SCHEME or scheme != scheme.strip():
            return [_BAD] * len(values)
        out: list[Any] = []
        for v in values:
            norm = normalize_external_id(scheme, v)
            out.append(norm if len(norm) <= MAX_EXTERNAL_ID and "\x00" not in norm else _BAD)
        return out
    return check


def _same(values: list[str]) -> list[Any]:
    return values


@functools.cache
def _column_checks(model: type[Record]) -> dict[str, Callable[[list[str]], list[Any]]] | None:
    """Field name -> column check for the fields this path handles; None when the kind has a model
    validator it does not know."""
    decorators = model.__pydantic_decorators__
    if not set(decorators.model_validators) <= _KNOWN_MODEL_VALIDATORS:
        return None
    validated: set[str] = set()
    for name, dec in decorators.field_validators.items():
        if _KNOWN_FIELD_VALIDATORS.get(name) is None or not set(dec.info.fields) <= set(_KNOWN_FIELD_VALIDATORS[name]):
            validated.update(dec.info.fields)  # unknown: its fields go through the model
    out: dict[str, Callable[[list[str]], list[Any]]] = {}
    for name, f in model.model_fields.items():
        if name in validated:
            continue
        ann = f.annotation
        args = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) in (Union, UnionType) else []
        base = args[0] if len(args) == 1 else ann
        min_len = next((m.min_length for m in f.metadata if isinstance(m, MinLen)), 0)
        max_len = next((m.max_length for m in f.metadata if isinstance(m, MaxLen)), None)
        lo = next((m.ge for m in f.metadata if isinstance(m, Ge)), None)
        hi = next((m.le for m in f.metadata if isinstance(m, Le)), None)
        if name == "country":
            out[name] = _country
        elif name == "id":
            out[name] = _id
        elif name in _LIST_FIELDS and ann == list[str]:
            out[name] = _split
        elif base is str:
            limit = _TEXT_LIMITS.get(name, max_len)
            out[name] = _text(max(min_len, 1), limit)
        elif isinstance(base, type) and issubclass(base, Enum):
            if name == "visibility":
                out[name] = _enum_public
            else:
                out[name] = _enum(base)
        elif base is date:
            out[name] = _date
        elif base in (int, float) and all(isinstance(m, Ge | Le) for m in f.metadata):
            out[name] = _number(base, lo, hi)
    return out


@functools.cache
def _required(model: type[Record]) -> frozenset[str]:
    return frozenset(name for name, f in model.model_fields.items() if f.is_required())


def _enum_public(values: list[str]) -> list[Any]:
    """Visibility: only ``public`` here (the others need an owner, which the model checks)."""
    from citybridge.model.entities import Visibility

    return [Visibility.public if v == "public" else _BAD for v in values]


# ---------------------------------------------------------------- the batch
class _Plan:
    """How the columns of a set of rows (one key tuple) map onto a kind's fields; None targets: model path."""

    __slots__ = ("columns", "ok")

    def __init__(self, keys: tuple[Any, ...], kind: str) -> None:
        model = model_for(kind)
        checks = _column_checks(model)
        self.ok = checks is not None
        # (column, role, target, check): role is field / ext / attr / label
        self.columns: list[tuple[str, str, str, Callable[[list[str]], list[Any]]]] = []
        if checks is None:
            return
        fields = model.model_fields
        seen_targets: set[tuple[str, str]] = set()
        for key in keys:
            if key.__class__ is not str:
                self.ok = False
                return
            k = key.strip()
            if k == "kind":
                continue
            if k == "subtype" and model.subtype_field:
                role, target = "field", model.subtype_field
            elif k.startswith("external_ids."):
                role, target = "ext", k.split(".", 1)[1].lower()
            elif k.startswith("labels.") and "labels" in fields:
                role, target = "label", k.split(".", 1)[1]
            elif k.startswith("attributes."):
                role, target = "attr", k.split(".", 1)[1]
            elif k in fields:
                role, target = "field", k
            elif k.lower() in EXTERNAL_ID_SCHEMES:
                role, target = "ext", k.lower()
            else:
                role, target = "attr", k
            if (role, target) in seen_targets:  # two columns onto one target: the last non-empty wins there
                self.ok = False
                return
            seen_targets.add((role, target))
            if role == "field":
                check = checks.get(target)
                if check is None:
                    self.ok = False
                    return
            elif role == "ext":
                check = _external_id(target)
            else:
                check = _same  # attributes and labels hold the text as it is
            self.columns.append((key, role, target, check))
        if not any(role == "field" and target == "name" for _k, role, target, _c in self.columns):
            self.ok = False  # the model path names the missing column (or joins a person's names)


_PLANS: dict[tuple[str, tuple[Any, ...]], _Plan] = {}


def _plan(kind: str, keys: tuple[Any, ...]) -> _Plan:
    plan = _PLANS.get((kind, keys))
    if plan is None:
        if len(_PLANS) > 1000:
            _PLANS.clear()
        plan = _PLANS[(kind, keys)] = _Plan(keys, kind)
    return plan


def build_records(rows: Sequence[dict[str, Any]], kinds: Sequence[str],
                  provenances: Sequence[Provenance | None]) -> list[Record | None]:
    """The records of mapped rows (``rows[i]`` of ``kinds[i]``, with ``provenances[i]``), checked a column
    at a time; None for each row the model path must build (it raises that row's error, or accepts a value
    this path does not read)."""
    out: list[Record | None] = [None] * len(rows)
    groups: dict[tuple[str, tuple[Any, ...]], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((kinds[i], tuple(row)), []).append(i)
    for (kind, keys), index in groups.items():
        plan = _plan(kind, keys)
        if plan.ok:
            _build_group(plan, model_for(kind), [rows[i] for i in index], [provenances[i] for i in index],
                         index, out)
    return out


def _build_group(plan: _Plan, model: type[Record], rows: list[dict[str, Any]],
                 provenances: list[Provenance | None], index: list[int], out: list[Record | None]) -> None:
    n = len(rows)
    good = [True] * n
    # one scan per row for NUL and undecodable bytes over all its text cells (the model path names the cell)
    for j, row in enumerate(rows):
        texts = [v for v in row.values() if v is not None]
        if any(v.__class__ is not str for v in texts) or _BAD_CHARS.search("\x01".join(texts)):
            good[j] = False
    columns: list[tuple[str, str, list[Any], list[bool]]] = []
    for key, role, target, check in plan.columns:
        raw = [row[key] for row in rows]
        present = [v is not None and v.__class__ is str and bool(v.strip()) for v in raw]
        converted = check([v if p else "x" for v, p in zip(raw, present, strict=True)])
        for j in range(n):
            if present[j] and converted[j] is _BAD:
                good[j] = False
        columns.append((role, target, converted, present))
    dates = model.kind == Kind.project
    required = _required(model)
    for j in range(n):
        if not good[j]:
            continue
        body: dict[str, Any] = {}
        ext: dict[str, str] = {}
        attrs: dict[str, Any] = {}
        labels: dict[str, Any] = {}
        for role, target, converted, present in columns:
            if not present[j]:
                continue
            if role == "field":
                body[target] = converted[j]
            elif role == "ext":
                ext[target] = converted[j]
            elif role == "attr":
                attrs[target] = converted[j]
            else:
                labels[target] = converted[j]
        if not required <= body.keys():
            continue  # the model path names the missing column
        if model.kind == Kind.document and "published" in body:
            continue  # the model fills the year from it
        if dates and body.get("start_date") and body.get("end_date") and body["end_date"] < body["start_date"]:
            continue
        if ext:
            body["external_ids"] = ext
        if labels:
            body["labels"] = labels
        if attrs:
            body["attributes"] = attrs
        if provenances[j] is not None:
            body["provenance"] = [provenances[j]]
        out[index[j]] = _construct(model, body)


@functools.cache
def _defaults(model: type[Record]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    plain = {name: f.default for name, f in model.model_fields.items()
             if not f.is_required() and f.default_factory is None}
    factories = tuple((name, f.default_factory) for name, f in model.model_fields.items()
                      if f.default_factory is not None)
    return plain, factories  # type: ignore[return-value]


def _construct(model: type[Record], body: dict[str, Any]) -> Record:
    """``model.model_construct(**body)`` (what it sets: every field, the fields given, no extras), without
    its per-call inspection of each default factory's signature, which costs more than the whole check."""
    plain, factories = _defaults(model)
    values = plain.copy()
    for name, factory in factories:
        if name not in body:
            values[name] = factory()
    values.update(body)
    rec = model.__new__(model)
    object.__setattr__(rec, "__dict__", values)
    object.__setattr__(rec, "__pydantic_fields_set__", set(body))
    object.__setattr__(rec, "__pydantic_extra__", None)
    object.__setattr__(rec, "__pydantic_private__", None)
    return rec


__all__ = ["build_records"]
