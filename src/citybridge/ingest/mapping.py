"""Map raw rows (CSV/XLSX cells, JSON objects) onto records and relations.

Default column mapping (documented in docs/import.md):

* a column named like a field of the kind's model fills that field (``name``, ``description``,
  ``country``, ``org_type``, ``start_date`` ...); ``subtype`` fills the kind's subtype field;
* ``kind`` names the entity kind, or ``relation`` for a relation row (``type``, ``source``, ``target``,
  ``role``, ``start_date``, ``end_date``, ``weight``);
* ``external_ids.<scheme>`` or a bare scheme name (``ror``, ``doi``, ``orcid``, ``geonames``, ``openalex``,
  ``cordis``, ``wikidata``, ``pic``) fills an external id;
* ``labels.<lang>`` fills a multilingual label; ``attributes.<name>`` and any unknown column are kept in
  ``attributes``, so nothing in the input is dropped;
* list fields (``aliases``, ``authors``, ``languages``, ``tags``, ``keywords``) split on ``;`` or ``|``;
  dict and list fields also accept a JSON cell; empty cells are left out, so they never blank out a value.

A mapping file (JSON, TOML or YAML) renames columns, maps values and adds defaults::

    kind = "organization"
    [columns]
    "Organisation name" = "name"
    "ROR" = "external_ids.ror"
    [values.org_type]
    "City council" = "local_government"
    [defaults]
    visibility = "public"
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from citybridge.errors import Invalid
from citybridge.model.entities import (
    EXTERNAL_ID_SCHEMES,
    Kind,
    Provenance,
    Record,
    model_for,
)
from citybridge.model.relations import Relation

_KIND_ALIASES = {
    **{k.value: k.value for k in Kind},
    **{k.value + "s": k.value for k in Kind},
    "organisation": "organization", "organisations": "organization", "people": "person",
    "opportunities": "opportunity", "cities": "place", "relation": "relation", "relations": "relation",
    "edges": "relation",
}
_RELATION_FIELDS = set(Relation.model_fields)


def normalize_kind(value: str | None) -> str | None:
    if value is None:
        return None
    return _KIND_ALIASES.get(str(value).strip().lower())


@dataclass
class Mapping:
    """Column renames, value maps and defaults applied to each raw row before validation."""

    kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        """Read a mapping file (.json, .toml, .yaml/.yml)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise Invalid("mapping file not found", where=str(p)) from None
        try:
            if p.suffix == ".json":
                data = json.loads(text)
            elif p.suffix == ".toml":
                data = tomllib.loads(text)
            elif p.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                raise Invalid("mapping file must be .json, .toml or .yaml", where=str(p))
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise Invalid(f"malformed mapping file: {exc}", where=str(p)) from None
        except Exception as exc:  # yaml errors
            if isinstance(exc, Invalid):
                raise
            raise Invalid(f"malformed mapping file: {exc}", where=str(p)) from None
        if not isinstance(data, dict):
            raise Invalid("mapping file must hold an object/table", where=str(p))
        unknown = set(data) - {"kind", "columns", "values", "defaults", "delimiter", "encoding"}
        if unknown:
            raise Invalid(f"unknown mapping keys: {', '.join(sorted(unknown))}", where=str(p))
        kind = data.get("kind")
        if kind is not None and normalize_kind(kind) is None:
            raise Invalid(f"unknown kind '{kind}'", where=str(p), field="kind")
        return cls(kind=normalize_kind(kind), columns=dict(data.get("columns") or {}),
                   values={k: dict(v) for k, v in (data.get("values") or {}).items()},
                   defaults=dict(data.get("defaults") or {}), delimiter=data.get("delimiter"),
                   encoding=data.get("encoding"))

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.defaults)
        for key, value in row.items():
            target = self.columns.get(key, key)
            if target in ("", "-", None):
                continue  # column explicitly dropped
            if target in self.values and isinstance(value, str) and value in self.values[target]:
                value = self.values[target][value]
            out[target] = value
        return out


class RowError(Exception):
    """A row that cannot become a record; carries the field at fault."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in "[{":
            try:
                return json.loads(s)
            except json.JSONDecodeError:
                return value
    return value


_BAD_CHARS = re.compile("[\udc80-\udcff\x00]")


def _check_text(row: dict[str, Any]) -> None:
    # one scan over all string cells; only on a hit look for the cell to name it
    if not _BAD_CHARS.search("\x01".join(v for v in row.values() if isinstance(v, str))):
        return
    for key, value in row.items():
        if isinstance(value, str) and (m := _BAD_CHARS.search(value)):
            ch = m.group()
            if ch == "\x00":
                raise RowError("NUL character in text", str(key))
            raise RowError(f"invalid byte 0x{ord(ch) - 0xDC00:02X} for the file's encoding", str(key))


def _validation_error(exc: ValidationError) -> RowError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or None
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, str | int | float) and loc and err.get("type") not in ("missing",):
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        msg = f"{msg} (got {shown!r})"
    more = len(exc.errors()) - 1
    if more > 0:
        msg += f" (+{more} more)"
    return RowError(msg, loc)


def _cells(row: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The row's non-empty cells but ``kind``, keys stripped (empty cells never blank a stored value)."""
    _check_text(row)
    for key, value in row.items():
        if value is None or (value.__class__ is str and not value.strip()):
            continue
        key = str(key).strip()
        if key != "kind":
            yield key, value


def _finish(model: Any, body: dict[str, Any], attrs: dict[str, Any], required: tuple[str, ...],
            provenance: Provenance | None) -> Any:
    """Merge loose columns into ``attributes``, check required columns, add provenance, validate."""
    if attrs:
        body["attributes"] = {**(body.get("attributes") or {}), **attrs}
    for column in required:
        if column not in body:
            raise RowError(f"missing required column '{column}'", column)
    if provenance is not None and "provenance" not in body:
        body["provenance"] = [provenance]
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def build_relation(row: dict[str, Any], provenance: Provenance | None = None) -> Relation:
    """A Relation from a raw row whose ends are already resolved to record ids."""
    body: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for key, value in _cells(row):
        if key.startswith("attributes."):
            attrs[key.split(".", 1)[1]] = value
        elif key in _RELATION_FIELDS:
            body[key] = _maybe_json(value) if key in ("attributes", "provenance") else value
        else:
            attrs[key] = value
    return _finish(Relation, body, attrs, ("type", "source", "target"), provenance)  # type: ignore[no-any-return]


@functools.cache
def _structured_fields(model: type[Record]) -> frozenset[str]:
    """Fields holding lists or dicts, which also accept a JSON cell."""
    return frozenset(name for name, f in model.model_fields.items()
                     if "dict" in str(f.annotation) or "list" in str(f.annotation))


def build_record(row: dict[str, Any], kind: str, provenance: Provenance | None = None) -> Record:
    """A Record of ``kind`` from a raw row, following the default column mapping."""
    model = model_for(kind)
    fields = model.model_fields
    structured = _structured_fields(model)
    body: dict[str, Any] = {}
    ext: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    for key, value in _cells(row):
        if key == "subtype" and model.subtype_field:
            body[model.subtype_field] = value
        elif key.startswith("external_ids."):
            ext[key.split(".", 1)[1].lower()] = value
        elif key.startswith("labels.") and "labels" in fields:
            labels[key.split(".", 1)[1]] = value
        elif key.startswith("attributes."):
            attrs[key.split(".", 1)[1]] = value
        elif key in fields:
            if key in structured and isinstance(value, str):
                value = _maybe_json(value)
            body[key] = value
        elif key.lower() in EXTERNAL_ID_SCHEMES:
            ext[key.lower()] = value
        else:
            attrs[key] = value
    if ext:
        body["external_ids"] = {**(body.get("external_ids") or {}), **ext}
    if labels:
        body["labels"] = {**(body.get("labels") or {}), **labels}
    return _finish(model, body, attrs, ("name",), provenance)  # type: ignore[no-any-return]
