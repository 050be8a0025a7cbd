"""ROR (Research Organization Registry) data dumps -> organisations and their relationships.

Reads the official dump files (a JSON array of records, possibly gzipped), schema v2 and v1 detected per
record (v2 has ``names``/``admin``; v1 has ``name``/``labels``/``acronyms``/``aliases``/``addresses``), and
streams them record by record: a 300 MB dump is read in constant memory.

ROR relationships become ``related_to`` relations with the ROR relationship type as role (``parent``,
``child``, ``related``, ``successor``, ``predecessor``) and, for ``parent``, also ``member_of`` from the
child to the parent. Relationships to organisations outside the dump are counted, not rejected.

ROR data is CC0 (https://ror.org/about/faqs/#what-license-are-ror-data-available-under).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from citybridge.errors import NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.ingest.jsonstream import iter_json_array, open_binary
from citybridge.model.entities import Organization, OrganizationType, Provenance, normalize_external_id
from citybridge.model.relations import Relation, RelationType

LICENCE = "CC0-1.0"
_ID_SCHEMES = {"grid": "grid", "isni": "isni", "fundref": "fundref", "wikidata": "wikidata"}
_TYPE_PRIORITY: tuple[tuple[str, OrganizationType], ...] = (
    ("education", OrganizationType.university),
    ("facility", OrganizationType.research_institute),
    ("archive", OrganizationType.research_institute),
    ("funder", OrganizationType.funder),
    ("company", OrganizationType.company),
    ("nonprofit", OrganizationType.ngo),
    ("government", OrganizationType.other),
    ("healthcare", OrganizationType.other),
    ("other", OrganizationType.other),
)
# names that make a government body clearly a local one (city, municipality, county ...)
_LOCAL = re.compile(
    r"\b(city (of|council)|municipal(ity)?|town (of|council)|county council|borough|metropolitan|"
    r"mairie|ville de|stadt|gemeente|comune|ayuntamiento|prefeitura|municipio|kommune|kunta|"
    r"gmina|concello|ajuntament)\b", re.I)


def org_type_of(types: list[str], name: str) -> OrganizationType:
    """Map ROR organisation types to one citybridge ``org_type``.

    >>> org_type_of(["government"], "City of Helsinki")
    <OrganizationType.local_government: 'local_government'>
    """
    lowered = {t.lower() for t in types}
    if lowered == {"government"} and _LOCAL.search(name):
        return OrganizationType.local_government
    for ror_type, org_type in _TYPE_PRIORITY:
        if ror_type in lowered:
            return org_type
    return OrganizationType.other


def _ror_id(value: str) -> str:
    return normalize_external_id("ror", value)


def _all_values(entry: Any) -> list[str]:
    values = entry.get("all") if isinstance(entry, dict) else None
    if isinstance(values, str):
        values = [values]
    preferred = entry.get("preferred") if isinstance(entry, dict) else None
    out = [preferred] if preferred else []
    out += [v for v in values or [] if v and v != preferred]
    return [str(v).replace(" ", "") for v in out]  # ISNIs come as "0000 0004 1758 6597"


def _ext_ids(raw: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Primary value per known scheme, and every value of every scheme (v2 list or v1 dict form)."""
    entries: list[tuple[str, Any]]
    if isinstance(raw, list):
        entries = [(str(e.get("type", "")), e) for e in raw if isinstance(e, dict)]
    elif isinstance(raw, dict):
        entries = list(raw.items())
    else:
        entries = []
    primary: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for scheme, entry in entries:
        values = _all_values(entry)
        if not values:
            continue
        key = scheme.lower()
        every[key] = values
        if key in _ID_SCHEMES:
            primary[_ID_SCHEMES[key]] = values[0]
    return primary, every


def _v2_fields(rec: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in rec.get("names") or [] if isinstance(n, dict) and n.get("value")]
    display = next((n for n in names if "ror_display" in (n.get("types") or [])),
                   names[0] if names else None)
    labels: dict[str, str] = {}
    aliases: list[str] = []
    acronyms: list[str] = []
    for n in names:
        types = n.get("types") or []
        if "label" in types and n.get("lang"):
            labels.setdefault(n["lang"], n["value"])
        if "alias" in types:
            aliases.append(n["value"])
        if "acronym" in types:
            acronyms.append(n["value"])
    out: dict[str, Any] = {"name": display["value"] if display else None, "labels": labels,
                           "aliases": aliases, "acronyms": acronyms}
    links = rec.get("links") or []
    typed = {lk.get("type"): lk.get("value") for lk in reversed(links) if isinstance(lk, dict)}
    out["website"] = typed.get("website")
    out["wikipedia"] = typed.get("wikipedia")
    loc = next((x for x in rec.get("locations") or [] if isinstance(x, dict)), None)
    if loc:
        g = loc.get("geonames_details") or {}
        out.update(city=g.get("name"), region=g.get("country_subdivision_name"),
                   country=g.get("country_code"),
                   lat=g.get("lat"), lon=g.get("lng"), geonames_id=loc.get("geonames_id"))
    admin = rec.get("admin") or {}
    out["last_modified"] = (admin.get("last_modified") or {}).get("date")
    return out


def _v1_fields(rec: dict[str, Any]) -> dict[str, Any]:
    labels = {lb["iso639"]: lb["label"] for lb in rec.get("labels") or []
              if isinstance(lb, dict) and lb.get("iso639") and lb.get("label")}
    out: dict[str, Any] = {"name": rec.get("name"), "labels": labels,
                           "aliases": [a for a in rec.get("aliases") or [] if a],
                           "acronyms": [a for a in rec.get("acronyms") or [] if a]}
    links = [lk for lk in rec.get("links") or [] if isinstance(lk, str) and lk]
    out["website"] = links[0] if links else None
    out["wikipedia"] = rec.get("wikipedia_url") or None
    addr = next((a for a in rec.get("addresses") or [] if isinstance(a, dict)), None)
    country = rec.get("country") or {}
    out["country"] = country.get("country_code") if isinstance(country, dict) else None
    if addr:
        city = addr.get("geonames_city") or {}
        admin1 = city.get("geonames_admin1") or {} if isinstance(city, dict) else {}
        out.update(city=addr.get("city") or city.get("city"), region=addr.get("state") or admin1.get("name"),
                   lat=addr.get("lat"), lon=addr.get("lng"), geonames_id=city.get("id"))
    return out


def _relationships(rec: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    out = []
    for rel in rec.get("relationships") or []:
        if isinstance(rel, dict) and rel.get("id") and rel.get("type"):
            out.append((str(rel["type"]).lower(), _ror_id(rel["id"]), rel.get("label")))
    return out


def record_to_items(rec: Any, where: str, *, source: str = "ror") -> list[SourceItem]:
    """The organisation and relationship items of one ROR record (v1 or v2)."""
    if not isinstance(rec, dict):
        return [SourceItem(where, rejection=Rejection(where, "expected a JSON object"))]
    if not rec.get("id"):
        return [SourceItem(where, rejection=Rejection(where, "ROR record without an id", "id"))]
    ror = _ror_id(rec["id"])
    where = f"{where} ({ror})"
    schema = "v2" if "names" in rec or "admin" in rec else "v1"
    f = _v2_fields(rec) if schema == "v2" else _v1_fields(rec)
    if not f.get("name"):
        return [SourceItem(where, rejection=Rejection(where, "ROR record without a name", "name"))]
    types = [str(t) for t in rec.get("types") or []]
    org_type = org_type_of(types, f["name"])
    primary, every = _ext_ids(rec.get("external_ids"))
    tags = sorted({t.lower() for t in types})  # keeps "government", "healthcare" ... that org_type folds
    acronyms = f["acronyms"]
    attributes: dict[str, Any] = {"ror_types": [t.lower() for t in types], "ror_schema": schema}
    for key in ("geonames_id", "wikipedia", "last_modified"):
        if f.get(key):
            attributes[key] = f[key]
    if rec.get("domains"):
        attributes["domains"] = rec["domains"]
    extra_ids = {k: v for k, v in every.items() if k not in primary or len(v) > 1}
    if extra_ids:
        attributes["external_ids_all"] = extra_ids
    country = f.get("country")
    if country and country.upper() == "UK":  # never in ROR, but cheap insurance
        country = "GB"
    try:
        org = Organization(
            name=f["name"], org_type=org_type, acronym=acronyms[0] if acronyms else None,
            aliases=f["aliases"] + acronyms[1:], labels=f["labels"], website=f.get("website"),
            city=f.get("city"), region=f.get("region"), country=country, lat=f.get("lat"), lon=f.get("lon"),
            established=rec.get("established") if isinstance(rec.get("established"), int) else None,
            status=rec.get("status"), tags=tags, attributes=attributes,
            external_ids={"ror": ror, **primary},
            provenance=[Provenance(source=source, record_id=ror, licence=LICENCE, url=f"https://ror.org/{ror}")],
        )
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        err = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
        fld = ".".join(str(p) for p in err.get("loc", ())) or None
        return [SourceItem(where, rejection=Rejection(where, err.get("msg", str(exc)), fld))]
    items = [SourceItem(where, record=org)]
    for rel_type, other, label in _relationships(rec):
        if other == ror:
            continue
        prov = [Provenance(source=source, record_id=ror, licence=LICENCE)]
        attrs = {"label": label} if label else {}
        items.append(SourceItem(f"{where} {rel_type} {other}", optional=True, relation=Relation(
            type=RelationType.related_to, source=f"ror:{ror}", target=f"ror:{other}", role=rel_type,
            attributes=attrs, provenance=prov)))
        if rel_type == "parent":
            items.append(SourceItem(f"{where} member of {other}", optional=True, relation=Relation(
                type=RelationType.member_of, source=f"ror:{ror}", target=f"ror:{other}", role="parent",
                provenance=prov)))
    return items


class RorSource:
    """A ROR dump file (``.json`` or ``.json.gz``, schema v1 or v2 or both mixed).

    >>> from citybridge.ingest import Importer                                 # doctest: +SKIP
    >>> Importer(store).run(RorSource("ror-v2-records.json.gz")).created      # doctest: +SKIP
    13503
    """

    def __init__(self, path: str | Path, *, source: str = "ror") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFound("ROR dump not found", where=str(self.path))
        self.name = self.path.name
        self.source = source

    def items(self) -> Iterator[SourceItem]:
        with open_binary(self.path) as fh:
            for el in iter_json_array(fh):
                where = f"{self.name}:record {el.index}"
                if el.error is not None:
                    yield SourceItem(where, rejection=Rejection(where, el.error))
                    continue
                yield from record_to_items(el.value, where, source=self.source)


def _score(target: str) -> float:
    name = Path(target).name.lower()
    return 2.0 if "ror" in name and name.endswith((".json", ".json.gz", ".zip.json")) else 0.0


registry.register("ror", RorSource, _score)

__all__ = ["RorSource", "org_type_of", "record_to_items"]
