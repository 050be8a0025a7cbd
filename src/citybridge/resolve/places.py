"""Place resolution: city names and their variants in other languages ("München", "Munich", "Ciudad de
México", "CDMX") -> the gazetteer city, with country context. A name the gazetteer does not know, or one
that stays ambiguous in its country, is reported as such, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from citybridge.resolve.proposals import Proposal

#: a name shared by several cities of one country resolves to the biggest only when it is this much bigger
DOMINANCE = 10.0
SCORE_WITH_COUNTRY = 0.97  # a unique city of that name in the given country
SCORE_DOMINANT = 0.9  # the much bigger of several, or a unique one with no country given


@dataclass(slots=True)
class PlaceMatch:
    query: str
    country: str | None
    status: str  # "match" | "ambiguous" | "unknown"
    place_id: str | None = None
    name: str | None = None
    probability: float = 0.0
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "country": self.country, "status": self.status, "place_id": self.place_id,
                "name": self.name, "probability": round(self.probability, 4), "candidates": self.candidates}


def match_places(items: Sequence[str | tuple[str, str | None]]) -> list[PlaceMatch]:
    """Each name (optionally with an ISO country code or country name) -> the gazetteer city, or the reason
    there is none. Batch-shaped: one result per item, in order."""
    from citybridge.enrich.gazetteer import load_gazetteer
    from citybridge.model.entities import PlaceType

    gaz = load_gazetteer()
    out = []
    for item in items:
        name, country = (item, None) if isinstance(item, str) else item
        iso = gaz.resolve_country(country) if country else None
        cities = [e for e in gaz.lookup_any_case(name.strip()) if e.place_type == PlaceType.city]
        if iso:
            cities = [e for e in cities if e.country == iso]
        cities.sort(key=lambda e: -(e.population or 0))
        cands = [{"place_id": e.id, "name": e.name, "country": e.country, "admin1": e.admin1,
                  "population": e.population} for e in cities[:5]]
        if not cities:
            out.append(PlaceMatch(name, iso, "unknown"))
        elif len(cities) == 1 or (cities[0].population or 0) >= DOMINANCE * max(1, cities[1].population or 0):
            p = SCORE_WITH_COUNTRY if iso and len(cities) == 1 else SCORE_DOMINANT
            out.append(PlaceMatch(name, iso, "match", cities[0].id, cities[0].name, p, cands))
        else:
            out.append(PlaceMatch(name, iso, "ambiguous", candidates=cands))
    return out


def propose_places(store: Any) -> tuple[list[Proposal], dict[str, int]]:
    """Place records that are not gazetteer places (imported city names) -> the stored gazetteer city."""
    loose = [b for b in store.iter_record_dicts("place")
             if not set(b.get("external_ids") or {}) & {"simplemaps", "iso"} and b.get("place_type", "city") == "city"]
    matches = match_places([(b["name"], b.get("country")) for b in loose])
    counts = {"considered": len(loose), "matched": 0, "ambiguous": 0, "unknown": 0}
    out = []
    for body, m in zip(loose, matches, strict=True):
        if m.status != "match":
            counts[m.status] += 1
            continue
        target = m.place_id or ""
        if target == body["id"] or not store.exists(target):  # the gazetteer city is not stored
            counts["unknown"] += 1
            continue
        counts["matched"] += 1
        out.append(Proposal("place", target, body["id"], m.probability, "place:gazetteer",
                            {"query": body["name"], "country": body.get("country"), "city": m.name,
                             "candidates": m.candidates}))
    return out, counts


__all__ = ["PlaceMatch", "match_places", "propose_places"]
