"""The map of gaps: the world basemap (``basemap.py``, Natural Earth via world-atlas) with each country filled by the
gap of its region (or its own, when the gaps are by country), drawn server-side as SVG like the map page.

World-atlas names countries by ISO 3166-1 numeric code and a short English name; the gazetteer
(``enrich/data/countries.tsv``) knows ISO alpha-2 codes and their names, so a country is matched by name, with
the few abbreviated atlas names spelled out below."""

from __future__ import annotations

import csv
import io
import json
import math
from functools import lru_cache
from importlib import resources

from citybridge.web import basemap

#: world-atlas short names the gazetteer does not list (N. Cyprus and Somaliland have no ISO code)
ATLAS_NAMES = {"W. Sahara": "EH", "Dem. Rep. Congo": "CD", "Dominican Rep.": "DO", "Falkland Is.": "FK",
               "Fr. S. Antarctic Lands": "TF", "Central African Rep.": "CF", "Eq. Guinea": "GQ",
               "Solomon Is.": "SB", "Bosnia and Herz.": "BA", "S. Sudan": "SS"}
#: gap colours, from "supply covers demand" (blue) through balance (grey) to "demand outruns supply" (red)
RAMP = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
NO_DATA = "#cfd3c6"


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, str], dict[str, tuple[str, str, str]]]:
    """(lower-case name or alias -> ISO2, ISO2 -> (name, UN region, UN subregion))."""
    text = resources.files("citybridge.enrich").joinpath("data", "countries.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(x for x in text.splitlines() if not x.startswith("#"))),
                          delimiter="\t")
    by_name: dict[str, str] = {}
    info: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        info[row["iso2"]] = (row["name"], row.get("un_region") or "", row.get("un_subregion") or "")
        for name in [row["name"], *row.get("names", "").split("|")]:
            if name:
                by_name.setdefault(name.lower(), row["iso2"])
    return by_name, info


def _unwrapped_path(rings: list[list[tuple[float, float]]]) -> str:
    """SVG path data of rings whose longitudes are made continuous across the antimeridian (Russia, Fiji), so
    a filled shape never streaks across the map; the page clips what then lies beyond the sphere."""
    parts = []
    for ring in rings:
        if len(ring) < 3:
            continue
        lons = [ring[0][0]]
        for lon, _lat in ring[1:]:
            prev = lons[-1]
            lons.append(lon + 360 * round((prev - lon) / 360))
        pts = [basemap.project(lon, lat) for lon, (_l, lat) in zip(lons, ring, strict=True)]
        parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts) + "Z")
    return "".join(parts)


@lru_cache(maxsize=1)
def country_shapes() -> tuple[tuple[str | None, str, str], ...]:
    """(ISO alpha-2 or None, atlas name, SVG path data) of every country on the basemap."""
    by_name, _info = _gazetteer()
    raw = resources.files("citybridge.web").joinpath(basemap.TOPOJSON).read_text(encoding="utf-8")
    topo = json.loads(raw)
    arcs = basemap._arcs(topo)
    out = []
    for geom in topo["objects"]["countries"]["geometries"]:
        polys = [geom["arcs"]] if geom.get("type") == "Polygon" else geom.get("arcs", [])
        d = _unwrapped_path([basemap._ring(arcs, ring) for poly in polys for ring in poly])
        name = geom.get("properties", {}).get("name", "")
        if d:
            out.append((ATLAS_NAMES.get(name) or by_name.get(name.lower()), name, d))
    return tuple(out)


def regions_of(iso2: str) -> tuple[str, ...]:
    """The names a country's region may go by in the gaps, most specific first: its ISO code, its UN subregion
    (e.g. Southern Europe), its UN region (Europe)."""
    info = _gazetteer()[1].get(iso2)
    return (iso2,) + ((info[2], info[1]) if info else ())


def colour(gap: float, extent: float) -> str:
    """The ramp colour of a gap on a symmetric scale of +-``extent`` (0 is the middle grey)."""
    if extent <= 0:
        return RAMP[3]
    x = max(-1.0, min(1.0, gap / extent))
    return RAMP[3 + round(x * 3)]


def legend(extent: float) -> list[tuple[str, str]]:
    """(colour, text) of the ramp: the gap each colour stands for, rounded."""
    if extent <= 0:
        return [(RAMP[3], "0")]
    out = []
    for i, c in enumerate(RAMP):
        v = (i - 3) / 3 * extent
        out.append((c, f"{v:+.0f}" if abs(v) >= 1 or v == 0 else f"{v:+.1f}"))
    return out


def gap_map(values: dict[str, float], hrefs: dict[str, str], titles: dict[str, str]) -> dict[str, object]:
    """The map's drawing: ``values`` keyed by a region name, a UN subregion or an ISO2 code (the most specific
    wins for each country), ``hrefs``/``titles`` keyed the same way.

    Returns ``{width, height, outline, countries: [{d, fill, title, href}], legend: [(colour, text)], no_data}``.
    """
    extent = max((abs(v) for v in values.values() if not math.isnan(v)), default=0.0)
    countries = []
    for iso2, name, d in country_shapes():
        key = next((k for k in regions_of(iso2) if k in values), None) if iso2 else None
        if key is None:
            countries.append({"d": d, "fill": NO_DATA, "title": name, "href": None})
            continue
        countries.append({"d": d, "fill": colour(values[key], extent), "href": hrefs.get(key),
                          "title": f"{name}: {titles.get(key, key)}"})
    return {"width": basemap.WIDTH, "height": basemap.HEIGHT, "outline": basemap.outline(), "countries": countries,
            "legend": legend(extent), "no_data": NO_DATA}
