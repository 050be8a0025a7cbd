"""How well a column's values fit a field: dates for a date, numbers for an amount, ISO codes or names for
a country, URLs for a web address, known types for a type field, identifiers for an external id; and
the parser or value map that reads them (see :mod:`citybridge.ingest.values`)."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from citybridge.ingest import values as V
from citybridge.ingest.infer.synonyms import type_value
from citybridge.model.entities import EXTERNAL_ID_SCHEMES, model_for

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


# ------------------------------------------------------------------------------------------ field types
@functools.cache
def field_types(kind: str) -> dict[str, str]:
    """Field name -> a coarse type (text, date, float, int, list, enum, country, dict) for one kind."""
    model = model_for(kind)
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        if name in ("external_ids", "provenance", "attributes", "labels", "created_at", "updated_at",
                    "visibility", "owner", "kind"):
            continue
        out[name] = _coarse(info.annotation)
        if name == "country":
            out[name] = "country"
    for scheme in EXTERNAL_ID_SCHEMES:
        if kind in SCHEME_KINDS.get(scheme, ()):
            out[f"external_ids.{scheme}"] = "identifier"
    return out


#: the kinds a scheme identifies: an organisation's GeoNames id is its city's, a person's ROR id their
#: employer's, so those stay attributes (an external id names one record only)
SCHEME_KINDS: dict[str, tuple[str, ...]] = {
    "ror": ("organization",), "grid": ("organization",), "isni": ("organization", "person"),
    "fundref": ("organization",), "pic": ("organization",), "orcid": ("person",),
    "doi": ("document", "project", "opportunity"), "cordis": ("project",), "geonames": ("place",),
    "wikidata": ("organization", "person", "project", "document", "opportunity", "place"),
    "openalex": ("organization", "person", "document"),
}


def _coarse(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        annotation = args[0]
    origin = typing.get_origin(annotation)
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return "enum"
        if issubclass(annotation, date):
            return "date"
        if issubclass(annotation, bool):
            return "text"
        if issubclass(annotation, float):
            return "float"
        if issubclass(annotation, int):
            return "int"
    return "text"


# ------------------------------------------------------------------------------------------ value fits
@dataclass
class Fit:
    """A value fit: ``factor`` (0 to 1) scales the header's score; ``share`` of the values read as the type."""

    factor: float
    parse: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    why: str = ""
    share: float = 1.0


def value_fit(target: str, ftype: str, values: Sequence[str], filled: float) -> Fit:
    """How well a column's non-empty ``values`` (``filled`` = share of rows with a value) fit ``target``."""
    if not values:
        return Fit(0.0 if target == "name" else 0.8, why="no values in the sample")
    common = 0.5 + 0.5 * filled
    if target == "id":
        ok = V.share(values, lambda v: bool(_ID.match(v)))
        return Fit(1.0 if ok >= 0.99 else 0.0, why="" if ok >= 0.99 else "values are not usable record ids")
    if target.startswith("external_ids."):
        return _identifier_fit(target.split(".", 1)[1], values)
    if target in ("website", "homepage", "url"):
        ok = V.share(values, lambda v: bool(V.URL.match(v)))
        return Fit(1.0 if ok >= 0.5 else 0.0, why=f"{ok:.0%} web addresses")
    if target == "email":
        ok = V.share(values, lambda v: bool(V.EMAIL.match(v)))
        return Fit(1.0 if ok >= 0.5 else 0.0, why=f"{ok:.0%} e-mail addresses")
    if ftype == "date":
        fmt, ok, ambiguous = V.date_format(values)
        if fmt is None or ok < 0.5:
            return Fit(0.0, why="values are not dates")
        why = f"dates written {_shown_format(fmt)}" + (" (day first: ambiguous, check)" if ambiguous else "")
        return Fit(_typed(ok), parse=None if fmt == "%Y-%m-%d" else f"date:{fmt}", why=why + _others(ok), share=ok)
    if ftype in ("float", "int"):
        return _number_fit(target, ftype, values)
    if ftype == "country":
        ok = V.share(values, lambda v: V.country_code(v) is not None)
        if ok < 0.5:
            return Fit(0.0, why=f"only {ok:.0%} of values name one country")
        iso = V.share(values, V.is_iso2) == 1.0
        return Fit(_typed(ok), parse=None if iso else "country", share=ok,
                   why=("ISO country codes" if iso else "country names or codes, read as ISO codes") + _others(ok))
    if ftype == "enum":
        return _enum_fit(target, values)
    if V.share(values, lambda v: bool(V.URL.match(v) or V.EMAIL.match(v))) >= 0.8:
        return Fit(0.3, why="values are web or e-mail addresses")  # not a name, a programme, a city ...
    if target == "name":
        long = sum(len(v) for v in values) / len(values) > 400
        return Fit(filled * (0.5 if long else 1.0))
    if target in ("description", "body"):
        short = sum(len(v) for v in values) / len(values) < 40
        return Fit(common * (0.6 if short else 1.0))
    return Fit(common)


def _typed(ok: float) -> float:
    """A typed field's fit from the share of values that read as its type: half-read columns are taken
    only when the header names the field exactly (their other rows are then rejected and reported)."""
    return 1.0 if ok >= 0.9 else 0.5


def _others(ok: float) -> str:
    return "" if ok >= 0.999 else f"; {1 - ok:.0%} of values do not read so: those rows will be rejected"


def _shown_format(fmt: str) -> str:
    return date(2020, 12, 31).strftime(fmt.split(" ")[0].split("T")[0])


def _identifier_fit(scheme: str, values: Sequence[str]) -> Fit:
    strong = V.IDENTIFIERS.get(scheme)
    weak = V.WEAK_IDENTIFIERS.get(scheme)
    ok = max(V.share(values, lambda v: bool(strong.match(v))) if strong else 0.0,
             V.share(values, lambda v: bool(weak.match(v))) if weak else 0.0)
    if ok >= 0.8:
        return Fit(1.0, why=f"{ok:.0%} {scheme.upper()} ids")
    spaced = V.share(values, lambda v: " " in v.strip())
    return Fit(0.7 if spaced < 0.2 else 0.0, why=f"values do not look like {scheme.upper()} ids")


def _number_fit(target: str, ftype: str, values: Sequence[str]) -> Fit:
    fmt, ok = V.number_format(values)
    if ok < 0.5:
        return Fit(0.0, why="values are not numbers")
    parse = f"number:{fmt}" if fmt else None
    numbers = [float(V.parse_value(parse or "number", v)) for v in values
               if V.is_number(str(V.parse_value(parse or "number", v)))]
    if ftype == "int" and any(not n.is_integer() for n in numbers):
        return Fit(0.0, why="values are not whole numbers")
    if target == "lat" and any(abs(n) > 90 for n in numbers) or target == "lon" and any(abs(n) > 180
                                                                                        for n in numbers):
        return Fit(0.0, why="values are out of range for coordinates")
    return Fit(_typed(ok), parse=parse, why="numbers" + (" with a decimal comma" if fmt == "comma" else "")
               + _others(ok), share=ok)


def _enum_fit(target: str, values: Sequence[str]) -> Fit:
    distinct = sorted(set(values))
    known = {v: type_value(target, v) for v in distinct}
    ok = V.share(values, lambda v: known[v] is not None)
    if ok < 0.6:
        return Fit(0.0, why=f"only {ok:.0%} of values are known types")
    value_map = {v: t for v, t in known.items() if t is not None and t != v}
    return Fit(1.0, parse="enum" if value_map else None, values=value_map,
                why="known types" + ("" if ok == 1 else f" ({ok:.0%} of values)"))


__all__ = ["SCHEME_KINDS", "Fit", "field_types", "value_fit"]
