"""Cell values: what a column holds (dates, numbers, countries, URLs, e-mails, identifiers) and the
parsers that turn a spreadsheet's spelling into the model's (``31/12/2020`` -> ``2020-12-31``,
``1.234,5`` -> ``1234.5``, ``Deutschland`` -> ``DE``).

A parser is named by a short spec, the form a mapping file keeps in its ``[parse]`` table:
``date:%d/%m/%Y``, ``number:comma`` (decimal comma), ``number:dot`` (thousands commas),
``country`` (ISO2, ISO3, EU codes or a country name in a shipped language), ``enum`` (a type written
as people write it: ``City council`` -> ``local_government``, see ``infer.synonyms.TYPE_VALUES``).
A value a parser cannot read is returned unchanged, so validation names it in the row's rejection.

>>> parse_value("date:%d/%m/%Y", "31/12/2020")
'2020-12-31'
>>> parse_value("number:comma", "1.234,5")
'1234.5'
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from citybridge.errors import Invalid

# ---------------------------------------------------------------------------------------------- patterns
URL = re.compile(r"^(https?://|www\.)[^\s<>\"]+\.[^\s<>\"]+$", re.I)
EMAIL = re.compile(r"^(mailto:)?[\w.+'-]+@[\w-]+(\.[\w-]+)+$", re.I)
#: identifier schemes recognised from their values alone (bare forms only where they cannot be confused)
IDENTIFIERS: dict[str, re.Pattern[str]] = {
    "orcid": re.compile(r"^(https?://orcid\.org/)?\d{4}-\d{4}-\d{4}-\d{3}[\dX]$", re.I),
    "ror": re.compile(r"^(https?://ror\.org/)?0[a-hj-km-np-tv-z0-9]{6}\d{2}$", re.I),
    "doi": re.compile(r"^(https?://(dx\.)?doi\.org/|doi:\s*)?10\.\d{4,9}/\S+$", re.I),
    "wikidata": re.compile(r"^(https?://(www\.)?wikidata\.org/(wiki|entity)/)?Q\d+$", re.I),
    "geonames": re.compile(r"^https?://(www\.|sws\.)?geonames\.org/\d+/?", re.I),
    "openalex": re.compile(r"^https?://(api\.)?openalex\.org/(\w+/)?[WAISCFTP]\d{3,}$", re.I),
    "isni": re.compile(r"^(https?://isni\.org/isni/)?\d{4} ?\d{4} ?\d{4} ?\d{3}[\dX]$", re.I),
    "grid": re.compile(r"^grid\.\d+\.[0-9a-f]+$", re.I),
    "pic": re.compile(r"^9\d{8}$"),
}
#: schemes whose bare values (a number) need a header naming them too
WEAK_IDENTIFIERS: dict[str, re.Pattern[str]] = {
    "geonames": re.compile(r"^\d{1,9}$"),
    "pic": re.compile(r"^\d{9}$"),
    "cordis": re.compile(r"^\d{4,9}$"),
}

_DATE_SHAPE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_DATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%y", "%m/%d/%y",
    "%d.%m.%y",
)
_TIME_PARTS = ("", " %H:%M", " %H:%M:%S", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f", "T%H:%M:%SZ", "T%H:%M")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NUMBER_COMMA = re.compile(r"^[-+]?\d{1,3}(\.\d{3})*(,\d+)?$|^[-+]?\d+,\d+$")
_NUMBER_DOT = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_MONEY = re.compile(r"[€$£¥\s\u00a0\u202f']|\b(EUR|USD|GBP|CHF)\b", re.I)
_EU_COUNTRY = {"UK": "GB", "EL": "GR"}  # EU protocol codes (CORDIS, Eurostat) -> ISO 3166-1


# ---------------------------------------------------------------------------------------------- helpers
def text_values(values: Iterable[Any], limit: int = 1000) -> list[str]:
    """The non-empty scalar values as stripped strings (lists and objects are skipped)."""
    out: list[str] = []
    for v in values:
        if v is None or isinstance(v, dict | list | tuple):
            continue
        s = str(v).strip()
        if s:
            out.append(s)
            if len(out) >= limit:
                break
    return out


def share(values: Sequence[str], test: Any) -> float:
    """The share of ``values`` for which ``test(value)`` is true (0.0 for no values)."""
    if not values:
        return 0.0
    return sum(1 for v in values if test(v)) / len(values)


def fold(text: str) -> str:
    """Lower case without accents: ``País`` -> ``pais``."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------------- countries
@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    """Folded country name or code -> ISO2, from the gazetteer's country table (read here without loading
    the gazetteer, which the import does not need)."""
    table = resources.files("citybridge").joinpath("enrich", "data", "countries.tsv").read_text(encoding="utf-8")
    lines = table.splitlines()
    if not lines or not lines[0].startswith("#citybridge-gazetteer 1 countries"):
        raise Invalid("the country table has an unknown format", where="citybridge/enrich/data/countries.tsv")
    rows = csv.DictReader(lines[1:], delimiter="\t")
    index: dict[str, str] = {}
    for row in rows:
        iso2 = row["iso2"]
        for name in (*row["names"].split("|"), row["name"]):
            if name:
                index.setdefault(fold(name).strip(), iso2)
        index[iso2.casefold()] = iso2
        index[row["iso3"].casefold()] = iso2
    for code, iso2 in _EU_COUNTRY.items():
        index[code.casefold()] = iso2
    return index


def country_code(value: Any) -> str | None:
    """ISO 3166-1 alpha-2 code of a country written as ISO2, ISO3, an EU code or a name, else None.

    >>> country_code("Deutschland"), country_code("EL"), country_code("Atlantis")
    ('DE', 'GR', None)
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return _country_index().get(fold(text))


def is_iso2(value: str) -> bool:
    return len(value) == 2 and value.isupper() and value not in _EU_COUNTRY and country_code(value) == value


# ---------------------------------------------------------------------------------------------- dates
def _strptime(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


def date_format(values: Sequence[str]) -> tuple[str | None, float, bool]:
    """The strftime format most of ``values`` are written in: ``(format, share, ambiguous)``.

    ``ambiguous`` is true when day-first and month-first both read every value (all days <= 12); the
    day-first reading is chosen then, as European portals write dates.
    """
    shaped = [v for v in values if _DATE_SHAPE.match(v)]
    if not values or len(shaped) < 0.5 * len(values):
        return None, 0.0, False
    probe = shaped[:300]
    best: tuple[float, int, str] | None = None
    scores: dict[str, float] = {}
    for order, base in enumerate(_DATE_FORMATS):
        time_part = next((t for t in _TIME_PARTS if _strptime(probe[0], base + t)), None)
        if time_part is None:
            continue
        fmt = base + time_part
        got = share(probe, lambda v, f=fmt: _strptime(v, f) is not None) * len(shaped) / len(values)
        scores[base] = got
        if best is None or (got, -order) > (best[0], best[1]):
            best = (got, -order, fmt)
    if best is None:
        return None, 0.0, False
    fmt = best[2]
    ambiguous = any(scores.get(a, 0) == scores.get(b, -1) == best[0] for a, b in
                    (("%d/%m/%Y", "%m/%d/%Y"), ("%d/%m/%y", "%m/%d/%y"))) and not fmt.startswith("%Y")
    return fmt, best[0], ambiguous


# ---------------------------------------------------------------------------------------------- numbers
def is_number(value: str) -> bool:
    return bool(_NUMBER.match(value))


def number_format(values: Sequence[str]) -> tuple[str | None, float]:
    """``(None, share)`` when ``values`` are plain numbers, else ``('comma'|'dot', share)`` for a decimal
    comma (``1.234,5``) or thousands commas (``1,234.5``); currency signs and spaces are ignored."""
    if not values:
        return None, 0.0
    cleaned = [_MONEY.sub("", v) for v in values]
    plain = share(cleaned, is_number)
    comma = share(cleaned, lambda v: bool(_NUMBER_COMMA.match(v)) or is_number(v))
    dot = share(cleaned, lambda v: bool(_NUMBER_DOT.match(v)) or is_number(v))
    plain_raw = share(values, is_number)
    if plain_raw >= max(comma, dot):
        return None, plain_raw
    if comma > dot and any("," in v for v in cleaned):
        return "comma", comma
    if dot >= comma and any("," in v for v in cleaned):
        return "dot", dot
    return ("dot" if plain > plain_raw else None), max(plain, plain_raw)


# ---------------------------------------------------------------------------------------------- parsers
PARSERS = ("date:<strftime format>", "number:comma", "number:dot", "number", "country", "enum")


def check_parser(spec: str) -> None:
    """Raise Invalid for an unknown parser spec (mapping files are checked when loaded)."""
    kind, _, arg = spec.partition(":")
    if kind == "date" and arg and "%" in arg:
        return
    if (kind == "number" and arg in ("", "comma", "dot")) or spec in ("country", "enum"):
        return
    raise Invalid(f"unknown parser '{spec}' (one of: {', '.join(PARSERS)})", field="parse")


def parse_value(spec: str, value: Any, field: str | None = None) -> Any:
    """``value`` read with the parser ``spec`` (for ``enum``, the values of ``field``); returned unchanged
    when it does not fit (or is not text)."""
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip()
    kind, _, arg = spec.partition(":")
    if kind == "date":
        parsed = _strptime(text, arg)
        if parsed is None:
            return value
        return parsed.date().isoformat()  # the model's date fields keep the day
    if kind == "number":
        cleaned = _MONEY.sub("", text)
        if arg == "comma" and _NUMBER_COMMA.match(cleaned):
            return cleaned.replace(".", "").replace(",", ".")
        if arg == "dot" and (_NUMBER_DOT.match(cleaned) or is_number(cleaned)):
            return cleaned.replace(",", "")
        return cleaned if is_number(cleaned) else value
    if kind == "country":
        return country_code(text) or value
    if kind == "enum" and field:
        from citybridge.ingest.infer.synonyms import type_value

        return type_value(field, text) or value
    return value


__all__ = [
    "EMAIL", "IDENTIFIERS", "PARSERS", "URL", "WEAK_IDENTIFIERS", "check_parser", "country_code", "date_format",
    "fold", "is_iso2", "is_number", "number_format", "parse_value", "share", "text_values",
]
