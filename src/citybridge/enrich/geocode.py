"""Geocoding of structured location fields (an organisation's city, country and address) to the gazetteer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from citybridge.enrich.gazetteer import Gazetteer, GazetteerEntry, load_gazetteer, name_key
from citybridge.model import PlaceType


def max_edits(name: str) -> int:
    """Typos tolerated in a city name of this length (optimal string alignment: swaps count once)."""
    n = len(name)
    return 0 if n < 4 else 1 if n <= 6 else 2 if n <= 12 else 3


_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}-)?\d{3,6}(?:-\d{3,4})?\b|\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """The gazetteer place a set of location fields points to.

    ``method`` says how: ``"exact"`` (name as written), ``"fuzzy"`` (misspelt name), ``"address"`` (found in
    the address text) or ``"country"`` (only the country was known).
    """

    place_id: str
    name: str
    place_type: str
    country: str
    admin1: str | None
    lat: float | None
    lon: float | None
    score: float
    method: str


def _match(entry: GazetteerEntry, score: float, method: str) -> PlaceMatch:
    return PlaceMatch(
        entry.id,
        entry.name,
        entry.place_type.value,
        entry.country,
        entry.admin1,
        entry.lat,
        entry.lon,
        round(score, 3),
        method,
    )


def _best(
    entries: list[GazetteerEntry], iso2: str | None, region: str | None = None
) -> GazetteerEntry | None:
    if iso2:
        entries = [e for e in entries if e.country == iso2]
    if region:
        in_region = [
            e for e in entries if e.admin1 and name_key(e.admin1).casefold() == name_key(region).casefold()
        ]
        entries = in_region or entries
    places = [e for e in entries if e.place_type != PlaceType.country]
    if not places:
        return None
    # a city over a region of the same name ("São Paulo"), then the most populous
    return max(places, key=lambda e: (e.place_type == PlaceType.city, e.weight))


@lru_cache(maxsize=512)
def _city_names(iso2: str | None) -> tuple[list[str], list[list[GazetteerEntry]]]:
    gaz = load_gazetteer()
    by_name: dict[str, list[GazetteerEntry]] = {}
    for e in gaz.entries:
        if e.place_type == PlaceType.country or (iso2 and e.country != iso2):
            continue
        for n in {e.name, e.ascii_name or e.name, *e.aliases}:
            by_name.setdefault(name_key(n).casefold(), []).append(e)
    names = list(by_name)
    return names, [by_name[n] for n in names]


def _fuzzy(name: str, iso2: str | None) -> tuple[GazetteerEntry, float] | None:
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    names, groups = _city_names(iso2)
    query = name_key(name).casefold()
    k = max_edits(query)
    if k == 0:
        return None
    hits = process.extract(query, names, scorer=OSA.distance, score_cutoff=k, limit=10)
    if not hits:
        return None
    top = min(d for _, d, _ in hits)
    pool = [e for _, d, i in hits if d == top for e in groups[i]]
    best = _best(pool, iso2)
    return (best, 1.0 - top / max(len(query), 1)) if best else None


def geocode(
    city: str | None = None,
    country: str | None = None,
    address: str | None = None,
    *,
    region: str | None = None,
    gazetteer: Gazetteer | None = None,
) -> PlaceMatch | None:
    """The gazetteer place for an organisation's or project's location fields.

    The country (ISO2, ISO3 or a name in a shipped language) constrains the search. The city is matched
    exactly (accents and case ignored), then fuzzily: one typo in names of up to 6 letters, two up to 12,
    three beyond, a swap of two letters counting as one ("Barcelnoa" finds Barcelona). Failing that, each
    comma-separated part of the address is tried, last part first; failing that, the country is returned.

    Returns:
        A :class:`PlaceMatch`, or ``None`` when nothing could be matched.

    Example:
        >>> geocode("Sevile", "ES").name
        'Sevilla'
    """
    gaz = gazetteer or load_gazetteer()
    iso2 = gaz.resolve_country(country) if country else None
    if city and city.strip():
        m = _geocode_name(gaz, city, iso2, region)
        if m:
            return m
    if address and address.strip():
        parts = [p.strip() for p in re.split(r"[,;\n]", address[:2000]) if p.strip()]
        found_country = iso2
        for part in reversed(parts):
            c = gaz.resolve_country(part)
            if c and not found_country:
                found_country = c
                continue
            cleaned = _POSTCODE.sub(" ", part).strip()
            if not cleaned or any(ch.isdigit() for ch in cleaned):
                continue
            entry = _best(gaz.lookup_any_case(cleaned), found_country, region)
            if entry:
                return _match(entry, 0.85, "address")
        iso2 = iso2 or found_country
    if iso2 and iso2 in gaz.country_entry:
        return _match(gaz.country_entry[iso2], 1.0 if country else 0.8, "country")
    return None


def _geocode_name(gaz: Gazetteer, city: str, iso2: str | None, region: str | None) -> PlaceMatch | None:
    text = _POSTCODE.sub(" ", city[:300]).strip(" ,")
    if not text:
        return None
    entry = _best(gaz.lookup_any_case(text), iso2, region)
    if entry:
        return _match(entry, 1.0 if iso2 else 0.9, "exact")
    if len(text) >= 4:
        hit = _fuzzy(text, iso2)
        if hit:
            return _match(hit[0], hit[1] * (1.0 if iso2 else 0.9), "fuzzy")
    return None


def geocode_many(rows: Sequence[tuple[str | None, str | None, str | None]]) -> list[PlaceMatch | None]:
    """:func:`geocode` over ``(city, country, address)`` rows, the batch form for pipelines."""
    return [geocode(city, country, address) for city, country, address in rows]
