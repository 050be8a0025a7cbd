"""Peer cities: explainable similarity between cities.

Components, each in 0..1 and shown in every result:

- ``population``: 1 for the same population, falling linearly to 0 at a factor of 100 (log10 distance / 2);
- ``country``: 1 in the same country;
- ``region``: 1 in the same UN sub-region (e.g. Southern Europe), 0.5 in the same macro region (Europe);
- ``climate``: a latitude proxy - 1 at the same absolute latitude, 0 at 20 degrees apart, halved across
  hemispheres (seasons are opposite). Coastal/inland is left out: the gazetteer has no coastline data, and
  guessing it would not be honest;
- ``profile``: cosine of the cities' SDG/pathway profiles (from their projects and documents);
- ``partners``: cosine of the sets of organisations taking part in each city's projects (shared partners);
- ``networks``: cosine of the sets of networks the cities' local governments are members of.

The score is the weighted sum. Cheap components are computed for all cities at once with numpy; the
sparse ones (profile, partners, networks) only touch cities that have such data. One query over 44,000
cities takes a few milliseconds once the :class:`CityIndex` is built (it is cached per store state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citybridge.errors import Invalid, NotFound
from citybridge.link._derived import label_name, label_names
from citybridge.link.city_index import CityIndex
from citybridge.model.access import ANONYMOUS, Caller, can_see
from citybridge.model.entities import Organization, Place, PlaceType

COMPONENTS = ("population", "country", "region", "climate", "profile", "partners", "networks")
DEFAULT_WEIGHTS: dict[str, float] = {
    "population": 1.0, "country": 1.0, "region": 1.0, "climate": 1.0, "profile": 2.0, "partners": 1.5,
    "networks": 1.5,
}
POP_BANDS = ((1e5, "under 100k"), (5e5, "100k-500k"), (1e6, "500k-1M"), (5e6, "1M-5M"), (float("inf"), "5M+"))


@dataclass
class PeerCity:
    """One similar city, with every component, its weighted contribution and the reasons in words."""

    id: str
    name: str
    country: str | None
    score: float
    components: dict[str, float]
    contributions: dict[str, float]
    explanation: str
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in COMPONENTS:
            raise Invalid(f"unknown component '{name}' (one of: {', '.join(COMPONENTS)})", field="weights")
        if not value >= 0:
            raise Invalid(f"weight of '{name}' must be >= 0", field="weights")
        w[name] = float(value)
    if not any(w.values()):
        raise Invalid("at least one weight must be positive", field="weights")
    return w


def components(index: CityIndex, q: int) -> dict[str, np.ndarray]:
    """Every component of city ``q`` against every city of the index."""
    return {name: values[0] for name, values in components_many(index, np.array([q])).items()}


def components_many(index: CityIndex, qs: np.ndarray) -> dict[str, np.ndarray]:
    """Every component of each city of ``qs`` against every city: one (len(qs), cities) array per component."""
    qs = np.asarray(qs, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    dp = np.abs(index.log_pop[None, :] - index.log_pop[qs][:, None])
    out["population"] = np.nan_to_num(np.clip(1.0 - dp / 2.0, 0.0, 1.0), nan=0.0)
    out["country"] = ((index.country[None, :] == index.country[qs][:, None]) & (index.country >= 0)[None, :]
                      ).astype(np.float32)
    same_region = (index.region[None, :] == index.region[qs][:, None]) & (index.region >= 0)[None, :]
    same_macro = (index.macro[None, :] == index.macro[qs][:, None]) & (index.macro >= 0)[None, :]
    out["region"] = np.where(same_region, 1.0, np.where(same_macro, 0.5, 0.0)).astype(np.float32)
    lat = index.lat
    close = np.clip(1.0 - np.abs(np.abs(lat)[None, :] - np.abs(lat[qs])[:, None]) / 20.0, 0.0, 1.0)
    hemisphere = np.where(np.sign(lat)[None, :] == np.sign(lat[qs])[:, None], 1.0, 0.5)
    out["climate"] = np.nan_to_num(close * hemisphere, nan=0.0).astype(np.float32)
    for name, matrix in (("profile", index.profile), ("partners", index.partners), ("networks", index.networks)):
        rows = matrix[qs]
        nnz = np.diff(rows.indptr)
        if not nnz.any():
            out[name] = np.zeros((len(qs), len(index.ids)), np.float32)
            continue
        raw = np.asarray((rows @ matrix.T).todense(), dtype=np.float64)
        if name != "profile":  # set overlap -> cosine of binary rows
            sizes = np.asarray(matrix.sum(axis=1)).ravel()
            raw = raw / np.sqrt(np.maximum(sizes, 1.0)[None, :] * np.maximum(nnz, 1)[:, None])
        out[name] = np.clip(raw, 0.0, 1.0).astype(np.float32)
    return out


def top_peers(index: CityIndex, cities: np.ndarray, *, limit: int = 3, batch: int = 64) -> list[list[int]]:
    """Rows of the ``limit`` most similar cities of each city of ``cities`` (default weights), computed in
    batches of matrix operations: what :func:`peer_cities` ranks first, for many cities at once."""
    w = check_weights(None)
    out: list[list[int]] = []
    cities = np.asarray(cities, dtype=np.int64)
    for start in range(0, len(cities), batch):
        qs = cities[start:start + batch]
        comps = components_many(index, qs)
        score = np.zeros((len(qs), len(index.ids)), np.float32)
        for name, value in w.items():
            if value:
                score += np.float32(value) * comps[name]
        score[np.arange(len(qs)), qs] = -np.inf
        k = min(limit, len(index.ids) - 1)
        if k <= 0:
            out += [[] for _ in qs]
            continue
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        for b in range(len(qs)):
            t = top[b]
            t = t[np.lexsort((t, -np.nan_to_num(index.log_pop[t], nan=-1.0), -score[b, t]))]
            out.append([int(j) for j in t])
    return out


def peer_cities(index: CityIndex, city: int, *, weights: Mapping[str, float] | None = None, limit: int = 10,
                allowed: np.ndarray | None = None) -> list[PeerCity]:
    """The ``limit`` cities most similar to the city at row ``city`` of ``index``, best first.

    Args:
        index: the city arrays (:meth:`CityIndex.from_store`).
        city: row of the query city.
        weights: component -> weight, overriding :data:`DEFAULT_WEIGHTS` for the names given.
        limit: 1-200 results.
        allowed: optional boolean mask of cities that may be returned.
    """
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    w = check_weights(weights)
    comps = components(index, city)
    score = np.zeros(len(index.ids), np.float32)
    for name, value in w.items():
        if value:
            score += np.float32(value) * comps[name]
    score[city] = -np.inf
    if allowed is not None:
        score[~allowed] = -np.inf
    k = min(limit, int(np.isfinite(score).sum()))
    if k <= 0:
        return []
    top = np.argpartition(-score, k - 1)[:k]
    # ties (e.g. many towns with identical cheap components): larger population first, then id order
    top = top[np.lexsort((top, -np.nan_to_num(index.log_pop[top], nan=-1.0), -score[top]))]
    names = label_names()
    return [_result(index, city, int(j), comps, w, names) for j in top]


def _band(log_pop: float) -> str:
    p = 10 ** log_pop
    return next(label for limit, label in POP_BANDS if p < limit)


def _fmt_pop(log_pop: float) -> str:
    p = 10 ** log_pop
    return f"{p / 1e6:.1f}M" if p >= 1e6 else f"{p / 1e3:.0f}k"


def _fmt_lat(lat: float) -> str:
    return f"{abs(lat):.1f}°{'N' if lat >= 0 else 'S'}"


def _result(index: CityIndex, q: int, j: int, comps: dict[str, np.ndarray], w: dict[str, float],
            names: dict[str, str]) -> PeerCity:
    values = {c: round(float(comps[c][j]), 4) for c in COMPONENTS}
    contrib = {c: round(w[c] * values[c], 4) for c in COMPONENTS}
    reasons: list[tuple[float, str]] = []
    evidence: dict[str, Any] = {}
    if values["population"] > 0:
        a, b = float(index.log_pop[j]), float(index.log_pop[q])
        band = f"both {_band(a)}" if _band(a) == _band(b) else f"{_band(a)} vs {_band(b)}"
        reasons.append((contrib["population"], f"population {_fmt_pop(a)} vs {_fmt_pop(b)} ({band})"))
    if values["country"] > 0:
        reasons.append((contrib["country"], f"same country ({index.countries[index.country[j]]})"))
    if values["region"] > 0:
        code = index.region[j] if values["region"] == 1.0 else index.macro[j]
        what = "UN sub-region" if values["region"] == 1.0 else "UN region"
        reasons.append((contrib["region"], f"same {what} ({index.regions[code]})"))
    if values["climate"] > 0:
        reasons.append((contrib["climate"], f"similar latitude ({_fmt_lat(float(index.lat[j]))} vs "
                                            f"{_fmt_lat(float(index.lat[q]))})"))
    if values["profile"] > 0:
        a, b = index.profile.getrow(j), index.profile.getrow(q)
        common = a.multiply(b).tocoo()
        top = sorted(zip(common.data, common.col, strict=True), reverse=True)[:3]
        labels = [index.profile_labels[c] for _v, c in top]
        evidence["shared_themes"] = labels
        reasons.append((contrib["profile"], "shared themes: " + ", ".join(label_name(x, names) for x in labels)))
    for comp, matrix, noun in (("partners", index.partners, "shared partner"),
                               ("networks", index.networks, "shared network")):
        if values[comp] > 0:
            shared = sorted(set(matrix.getrow(j).indices) & set(matrix.getrow(q).indices))
            evidence[comp] = [index.org_ids[k] for k in shared]
            shown = ", ".join(index.org_names[k] for k in shared[:3]) + (" ..." if len(shared) > 3 else "")
            reasons.append((contrib[comp], f"{len(shared)} {noun}{'' if len(shared) == 1 else 's'}: {shown}"))
    if j in index.city_orgs:
        evidence["local_governments"] = index.city_orgs[j]
    reasons.sort(key=lambda r: -r[0])
    texts = [r for _c, r in reasons]
    country = index.countries[index.country[j]] if index.country[j] >= 0 else None
    return PeerCity(id=index.ids[j], name=index.names[j], country=country, score=round(sum(contrib.values()), 4),
                    components=values, contributions=contrib, explanation="; ".join(texts), reasons=texts,
                    evidence=evidence)


def peer_cities_for_store(hub: Any, city: str, *, weights: Mapping[str, float] | None = None, limit: int = 10,
                          caller: Caller = ANONYMOUS) -> list[PeerCity]:
    """:func:`peer_cities` over the store: ``city`` is a city place id (or ``simplemaps:<id>``), or an
    organisation located in a city (its local government). Raises NotFound for unknown or invisible ids."""
    record = hub.get(city)
    if not can_see(record.visibility, record.owner, caller):
        raise NotFound(f"no record with id '{city}'")
    check_weights(weights)
    from citybridge.link.challenge import city_index

    index: CityIndex = city_index(hub, caller)
    if isinstance(record, Place):
        if record.place_type != PlaceType.city:
            raise Invalid(f"'{city}' is a {record.place_type.value}, not a city", field="city")
        q = index.position(record.id)
    elif isinstance(record, Organization):
        q = index.city_of_org(record.id)
        if q is None:
            raise NotFound(f"organisation '{city}' is not located in a known city (run the places enrichment)")
    else:
        raise Invalid(f"'{city}' is a {record.kind.value}, not a city or an organisation", field="city")
    if q is None:
        raise NotFound(f"no city with id '{city}'")
    return peer_cities(index, q, weights=weights, limit=limit)


__all__ = ["COMPONENTS", "DEFAULT_WEIGHTS", "PeerCity", "check_weights", "components", "components_many",
           "peer_cities", "peer_cities_for_store", "top_peers"]
