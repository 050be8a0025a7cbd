"""How two records of the same real-world thing combine: which one survives, and what it takes from the other.

Pure functions over records (no I/O); :class:`citybridge.store.merges.MergeStore` persists the result.
The survivor keeps its own values; it gains the other record's external ids, provenance, aliases (its name
among them, when it differs), labels, tags and languages, and every field it lacks. Two records that hold
different values of the same id scheme (two ORCIDs, two ROR ids, two DOIs) are never combined.
"""

from __future__ import annotations

from typing import Any

from citybridge.errors import Conflict
from citybridge.model.entities import PLACEHOLDER_NAME, Kind, Record, record_from_dict, record_to_dict

#: schemes that name one thing each: two records with different values are different things
IDENTITY_SCHEMES = frozenset({"ror", "orcid", "doi", "simplemaps", "iso", "geonames", "openalex", "pic", "cordis",
                              "wikidata", "grid", "isni", "fundref"})
PLACEHOLDER = PLACEHOLDER_NAME
_LISTS = ("aliases", "tags", "languages")
_RANK = {"ror": 0, "orcid": 0, "doi": 0, "simplemaps": 0, "iso": 0}


def conflicting_ids(a: Record, b: Record) -> dict[str, tuple[str, str]]:
    """Id schemes both records hold with different values (these make them different things)."""
    return {s: (a.external_ids[s], b.external_ids[s]) for s in a.external_ids.keys() & b.external_ids.keys()
            if a.external_ids[s] != b.external_ids[s] and s in IDENTITY_SCHEMES}


def survivor_first(a: Record, b: Record) -> tuple[Record, Record]:
    """Order a pair as (survivor, merged): the record with a registry id (ROR, ORCID, DOI, gazetteer) wins,
    then the one with more external ids, then the older one."""
    def rank(r: Record) -> tuple[int, int, int, str]:
        registry = min((_RANK[s] for s in r.external_ids if s in _RANK), default=1)
        placeholder = 1 if PLACEHOLDER.match(r.name) else 0
        return registry, placeholder, -len(r.external_ids), r.created_at.isoformat() if r.created_at else ""

    return (a, b) if rank(a) <= rank(b) else (b, a)


def combine(survivor: Record, merged: Record, *, merge_id: str | None = None) -> Record:
    """The survivor with what ``merged`` adds. Raises Conflict when they hold different ids of one scheme."""
    if survivor.kind != merged.kind:
        raise Conflict(f"cannot merge a {merged.kind.value} into a {survivor.kind.value}", field="kind")
    clash = conflicting_ids(survivor, merged)
    if clash:
        scheme, (x, y) = next(iter(sorted(clash.items())))
        raise Conflict(f"the records hold different {scheme} ids ({x} and {y}); they are different things",
                       field=f"external_ids.{scheme}")
    body = record_to_dict(survivor)
    other = record_to_dict(merged)
    for key, value in other.items():
        if key in ("id", "kind", "created_at", "updated_at", "name", "visibility", "owner"):
            continue
        mine = body.get(key)
        if key == "external_ids":
            body[key] = {**value, **(mine or {})}
        elif key == "provenance":
            body[key] = (mine or []) + [p for p in value if p not in (mine or [])]
        elif key in _LISTS:
            body[key] = list(dict.fromkeys([*(mine or []), *value]))
        elif key in ("labels", "attributes"):
            body[key] = {**value, **(mine or {})}
        elif mine in (None, "", [], {}):
            body[key] = value
    _keep_name(body, survivor, merged)
    attrs = dict(body.get("attributes") or {})
    attrs["merged_from"] = [*(survivor.attributes.get("merged_from") or []),
                            {"id": merged.id, "name": merged.name, **({"merge": merge_id} if merge_id else {})}]
    body["attributes"] = attrs
    return record_from_dict(body)


def _keep_name(body: dict[str, Any], survivor: Record, merged: Record) -> None:
    """The merged record's name, when a real one and different, stays findable as an alias or variant."""
    if merged.name == survivor.name or PLACEHOLDER.match(merged.name):
        return
    if survivor.kind == Kind.organization:
        body["aliases"] = list(dict.fromkeys([*(body.get("aliases") or []), merged.name]))
    else:
        attrs = dict(body.get("attributes") or {})
        attrs["name_variants"] = list(dict.fromkeys([*(attrs.get("name_variants") or []), merged.name]))
        body["attributes"] = attrs


__all__ = ["IDENTITY_SCHEMES", "PLACEHOLDER", "combine", "conflicting_ids", "survivor_first"]
