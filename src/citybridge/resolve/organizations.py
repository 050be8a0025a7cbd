"""Store-wide organisation resolution: every organisation without a ROR id (CORDIS participants, OpenAlex
institutions, imported member lists) is matched against the stored ROR organisations by name, city and
country; those left unmatched are compared with each other (same normalised name in the same country).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from citybridge.model.entities import record_from_dict
from citybridge.resolve.merge import PLACEHOLDER, conflicting_ids, survivor_first
from citybridge.resolve.normalize import key
from citybridge.resolve.org_matcher import OrgMatcher
from citybridge.resolve.proposals import Proposal

#: ROR types an organisation of each citybridge type may be registered under (a city government is never a
#: university); "other" and unknown types fit anything
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "university": frozenset({"education", "healthcare", "facility", "other"}),
    "research_institute": frozenset({"facility", "education", "government", "nonprofit", "healthcare", "archive",
                                     "other", "funder"}),
    "company": frozenset({"company", "other"}),
    "local_government": frozenset({"government"}),
    "funder": frozenset({"funder", "government", "nonprofit"}),
    "ngo": frozenset({"nonprofit", "other", "facility", "archive"}),
}

#: probability given to two unregistered organisations with the same normalised name in the same country
#: (no labelled data to calibrate it on: such pairs always go to review, never merge on their own)
SAME_NAME_SAME_COUNTRY = 0.9


def query_of(body: dict[str, Any]) -> str:
    """The string an organisation record is matched by: its name, then its city."""
    parts = [body["name"]]
    if body.get("city") and body["city"].lower() not in body["name"].lower():
        parts.append(body["city"])
    return ", ".join(parts)


def unregistered(store: Any) -> Iterator[dict[str, Any]]:
    """Organisation records without a ROR id whose name says something (placeholders are skipped)."""
    for body in store.iter_record_dicts("organization"):
        if (body.get("external_ids") or {}).get("ror") or PLACEHOLDER.match(body["name"]):
            continue
        yield body


def propose_organizations(store: Any, matcher: OrgMatcher, *, progress: Callable[[int], None] | None = None
                          ) -> tuple[list[Proposal], dict[str, int]]:
    """Proposed merges (above the review threshold) and counts of what was looked at."""
    bodies = list(unregistered(store))
    proposals: list[Proposal] = []
    counts = {"considered": len(bodies), "matched_to_ror": 0, "same_name": 0, "no_match": 0}
    left: list[dict[str, Any]] = []
    ror_bodies: dict[str, dict[str, Any]] = {}
    for n, body in enumerate(bodies):
        cands = matcher.match(query_of(body), body.get("country"), limit=3)
        fits = COMPATIBLE_TYPES.get(body.get("org_type") or "other")
        if fits is not None:
            cands = [c for c in cands if set(_types(matcher, c.ror)) & fits]
        best = cands[0] if cands else None
        if best is None or best.probability < matcher.review or not best.record_id:
            counts["no_match"] += 1
            left.append(body)
        else:
            if best.record_id not in ror_bodies:
                ror_bodies[best.record_id] = store.get(best.record_id).model_dump(mode="json")
            survivor = ror_bodies[best.record_id]
            clash = conflicting_ids(_rec(survivor, "organization"), _rec(body, "organization"))
            if clash:
                counts["no_match"] += 1
                left.append(body)
            else:
                counts["matched_to_ror"] += 1
                proposals.append(Proposal(
                    "organization", best.record_id, body["id"], best.probability, "organization:ror-name",
                    {"query": query_of(body), "country": body.get("country"), "matched": best.matched,
                     "segment": best.segment, "unit": best.unit, "features": best.explain(),
                     "candidates": [{"ror": c.ror, "name": c.name, "probability": round(c.probability, 4)}
                                    for c in cands]}))
        if progress and n % 200 == 0:
            progress(n)
    # unregistered organisations among themselves: same normalised name, same country
    # (local governments are named after their city, and city names repeat within a country)
    groups: dict[tuple[str, str | None, str], list[dict[str, Any]]] = defaultdict(list)
    for body in left:
        k = key(body["name"])
        if k and body.get("org_type") != "local_government":
            groups[(k, body.get("country"), key(body.get("city") or ""))].append(body)
    for (k, country, _city), members in groups.items():
        if len(members) < 2 or country is None:
            continue
        recs = sorted((_rec(b, "organization") for b in members), key=lambda r: r.id)
        head = recs[0]
        for other in recs[1:]:
            head = survivor_first(head, other)[0]
        for other in recs:
            if other.id == head.id or conflicting_ids(head, other):
                continue
            counts["same_name"] += 1
            proposals.append(Proposal("organization", head.id, other.id, SAME_NAME_SAME_COUNTRY,
                                      "organization:same-name", {"name_key": k, "country": country}))
    return proposals, counts


def _types(matcher: OrgMatcher, ror: str) -> tuple[str, ...]:
    idx = matcher.index
    o = idx.by_ror.get(ror)
    return idx.orgs[o].types if o is not None else ()


def _rec(body: dict[str, Any], kind: str) -> Any:
    data = {k: v for k, v in body.items() if k != "kind"}
    return record_from_dict({"kind": kind, **data})


__all__ = ["COMPATIBLE_TYPES", "SAME_NAME_SAME_COUNTRY", "propose_organizations", "query_of", "unregistered"]
