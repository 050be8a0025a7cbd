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
* a person with a given and a family name but no ``name`` gets them joined as the name;
* list fields (``aliases``, ``authors``, ``languages``, ``tags``, ``keywords``) split on ``;`` or ``|``;
  dict and list fields also accept a JSON cell; empty cells are left out, so they never blank out a value.

A mapping file (JSON, TOML or YAML) renames columns, maps values, reads values written another way
(``[parse]``: ``date:%d/%m/%Y``, ``number:comma``, ``number:dot``, ``country``, ``enum``; see
:mod:`citybridge.ingest.values`), adds defaults, and may name the header row::

    kind = "organization"
    header_row = 3
    [columns]
    "Organisation name" = "name"
    "ROR" = "external_ids.ror"
    "Internal note" = "-"
    [values.org_type]
    "City council" = "local_government"
    [parse]
    established = "date:%d/%m/%Y"
    [defaults]
    visibility = "public"

``citybridge import FILE --dry-run --save-mapping M.toml`` writes the mapping inferred for a file in this
form (see :mod:`citybridge.ingest.infer`).
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
from citybridge.ingest.values import check_parser, parse_value
from citybridge.model.entities import (
    EXTERNAL_ID_SCHEMES,
    Kind,
    Provenance,
    Record,
    model_for,
)
from citybridge.model.relations import MAX_ROLE, Relation, RelationType, unchecked_provenance, unchecked_relation

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


_MAPPING_KEYS = ("kind", "header_row", "delimiter", "encoding", "columns", "values", "parse", "defaults")


def is_default_column(name: str, kind: str | None = None) -> bool:
    """True when the default mapping gives ``name`` a meaning for ``kind`` (a field, ``kind``, ``subtype``,
    a scheme, ``external_ids.*``, ``labels.*``, ``attributes.*``); with no kind, a field of any kind."""
    if name in ("kind", "subtype") or name.startswith("attributes.") or name.lower() in EXTERNAL_ID_SCHEMES:
        return True
    prefix, _, rest = name.partition(".")
    if prefix == "external_ids":
        return rest.lower() in EXTERNAL_ID_SCHEMES
    if prefix == "labels":
        return bool(re.fullmatch(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?", rest))
    if kind is None or kind == "relation":
        return any(name in model_for(k.value).model_fields for k in Kind) or name in _RELATION_FIELDS
    return name in model_for(kind).model_fields


@dataclass
class Mapping:
    """Column renames, value maps, value parsers and defaults applied to each raw row before validation."""

    kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None
    parse: dict[str, str] = field(default_factory=dict)  # target field -> parser spec (ingest.values)
    header_row: int | None = None  # 1-based row holding the column names (default: found)

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        """Read a mapping file (.json, .toml, .yaml/.yml)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise Invalid("mapping file not found", where=str(p)) from None
        except UnicodeDecodeError as exc:
            line = p.read_bytes()[: exc.start].count(b"\n") + 1
            raise Invalid(f"mapping file is not UTF-8 text (byte {exc.start}: {exc.reason})",
                          where=f"{p}:{line}") from None
        except OSError as exc:
            raise Invalid(f"mapping file cannot be read: {exc.strerror or exc}", where=str(p)) from None
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
        try:
            return cls.from_dict(data)
        except Invalid as exc:
            raise Invalid(exc.message, where=str(p), field=exc.field) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        """A mapping from its file form (the keys of a mapping file); raises Invalid naming the bad key."""
        unknown = set(data) - set(_MAPPING_KEYS)
        if unknown:
            raise Invalid(f"unknown mapping keys: {', '.join(sorted(unknown))}")
        kind = data.get("kind")
        if kind is not None and normalize_kind(kind) is None:
            raise Invalid(f"unknown kind '{kind}'", field="kind")
        for key in ("columns", "values", "parse", "defaults"):
            if not isinstance(data.get(key) or {}, dict):
                raise Invalid(f"'{key}' must be a table", field=key)
        header_row = data.get("header_row")
        if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool)
                                       or header_row < 1):
            raise Invalid("header_row must be a row number (1 or more)", field="header_row")
        parse = {str(k): str(v) for k, v in (data.get("parse") or {}).items()}
        for target, spec in parse.items():
            try:
                check_parser(spec)
            except Invalid as exc:
                raise Invalid(exc.message, field=f"parse.{target}") from None
        columns = {str(k): str(v) for k, v in (data.get("columns") or {}).items()}
        values = {str(k): {str(a): str(b) for a, b in dict(v).items()} for k, v in (data.get("values") or {}).items()}
        return cls(kind=normalize_kind(kind), columns=columns, values=values,
                   defaults=dict(data.get("defaults") or {}), delimiter=data.get("delimiter"),
                   encoding=data.get("encoding"), parse=parse, header_row=header_row)

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.defaults)
        for key, value in row.items():
            target = self.columns.get(key, key)
            if target in ("", "-", None):
                continue  # column explicitly dropped
            if target in self.values and isinstance(value, str) and value in self.values[target]:
                value = self.values[target][value]
            elif target in self.parse:
                value = parse_value(self.parse[target], value, target)
            if target in out and (value is None or (isinstance(value, str) and not value.strip())):
                continue  # an empty cell never hides a default or another column's value
            out[target] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        """The file form: what :meth:`from_dict` reads back."""
        out: dict[str, Any] = {}
        for key in _MAPPING_KEYS:
            value = getattr(self, key)
            if value not in (None, {}, ""):
                out[key] = value
        return out

    def to_toml(self, comments: dict[str, str] | None = None, header: str | None = None) -> str:
        """The mapping as a TOML file; ``comments`` (column -> text) are written beside the columns."""
        lines = [f"# {line}".rstrip() for line in (header or "").splitlines()]
        for key in ("kind", "header_row", "delimiter", "encoding"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        for table in ("columns", "parse", "defaults"):
            entries = getattr(self, table)
            if entries:
                lines += ["", f"[{table}]"]
                for k, v in entries.items():
                    note = (comments or {}).get(k) if table == "columns" else None
                    lines.append(f"{_toml_key(k)} = {_toml_value(v)}" + (f"  # {_one_line(note)}" if note else ""))
        for target, table in self.values.items():
            lines += ["", f"[values.{_toml_key(target)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path, comments: dict[str, str] | None = None, header: str | None = None) -> Path:
        """Write the mapping (TOML, JSON or YAML by suffix) atomically; it reads back with :meth:`load`."""
        p = Path(path)
        if p.suffix == ".toml":
            text = self.to_toml(comments, header)
        elif p.suffix == ".json":
            text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)
        else:
            raise Invalid("mapping file must be .toml, .json or .yaml", where=str(p))
        tmp = p.with_name(p.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        return p


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # a JSON string is a TOML basic string (JSON escapes control characters as \uXXXX, as TOML reads them),
    # except DEL, which JSON leaves as it is and TOML does not accept
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
            except (json.JSONDecodeError, RecursionError):
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


def row_kind(row: dict[str, Any], *fallbacks: str | None) -> str:
    """The kind of a mapped row: its ``kind`` column, else the first fallback given (``--kind``, the
    mapping's, the file's), else ``relation`` for a row with ``type``, ``source`` and ``target``."""
    value = row.get("kind")
    if value not in (None, ""):
        kind = normalize_kind(str(value))
        if kind is None:
            raise RowError(f"unknown kind '{value}'", "kind")
        return kind
    kind = normalize_kind(next((f for f in fallbacks if f), None))
    if kind is not None:
        return kind
    if {"type", "source", "target"} <= set(row):
        return "relation"
    raise RowError("no kind: add a 'kind' column or pass --kind", "kind")


def check_relation_row(row: dict[str, Any]) -> None:
    """A relation row names its type and both ends (which are resolved later, against the store)."""
    for end in ("type", "source", "target"):
        if row.get(end) in (None, ""):
            raise RowError(f"missing required column '{end}'", end)


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


_PLAIN_COLUMNS = frozenset({"kind", "type", "source", "target", "role", "provenance"})
_PROVENANCE_KEYS = frozenset({"source", "record_id"})


def plain_relation(row: dict[str, Any], source: str | None = None, target: str | None = None) -> Relation | None:
    """The Relation of a plain relation row (text ``type``, ``source``, ``target``, ``role`` and the importer's
    own provenance), checked here without a pydantic validation per row; None for any other row, or one
    with a value the model would refuse, which then goes through :func:`build_relation` (and its error).
    ``source`` and ``target``, when given, stand for the row's ends (resolved to record ids)."""
    if not _PLAIN_COLUMNS.issuperset(row):
        return None
    rtype = row.get("type")
    if source is None:
        source = row.get("source")
    if target is None:
        target = row.get("target")
    role = row.get("role")
    if (rtype.__class__ is not str or source.__class__ is not str or target.__class__ is not str
            or not source.strip() or not target.strip() or source == target):
        return None
    member = RelationType._value2member_map_.get(rtype)
    if member is None:
        return None
    if role is not None:
        if role.__class__ is not str or len(role) > MAX_ROLE:
            return None
        if not role.strip():
            role = None
    prov = row.get("provenance")
    provenance = []
    if prov is not None:
        if prov.__class__ is not list:
            return None
        for p in prov:
            if p.__class__ is not dict or not _PROVENANCE_KEYS.issuperset(p) or p.get("source").__class__ is not str:
                return None
            rid = p.get("record_id")
            if rid is not None and rid.__class__ is not str:
                return None
            provenance.append(unchecked_provenance(p))
    texts = [rtype, source, target, role or ""]
    if _BAD_CHARS.search("\x01".join(texts)):
        return None
    fields: dict[str, Any] = {"type": member, "source": source, "target": target}
    if role is not None:
        fields["role"] = role
    if provenance:
        fields["provenance"] = provenance
    rel = unchecked_relation(fields)
    rel.__dict__["id"] = rel.key()
    rel.__pydantic_fields_set__.add("id")
    return rel


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
    for key in ("external_ids", "labels", "attributes"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise RowError(f"'{key}' must be an object (key: value pairs), not {type(body[key]).__name__}", key)
    if ext:
        body["external_ids"] = {**(body.get("external_ids") or {}), **ext}
    if "name" not in body and model.kind == Kind.person:  # a staff list has first and last names
        parts = [str(body[k]).strip() for k in ("given_name", "family_name") if body.get(k)]
        if parts:
            body["name"] = " ".join(parts)
    if labels:
        body["labels"] = {**(body.get("labels") or {}), **labels}
    return _finish(model, body, attrs, ("name",), provenance)  # type: ignore[no-any-return]
