"""The world basemap: Natural Earth country shapes (public domain) from the npm package ``world-atlas``
(TopoJSON, vendored under ``static/vendor/world-atlas``), decoded here and drawn as SVG paths in the
Natural Earth I projection. Nothing is fetched at run time."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

WIDTH = 960.0
_XMAX = math.pi * 0.8707  # x of the projection at lon 180, lat 0
_SCALE = WIDTH / (2 * _XMAX)
HEIGHT = round(2 * 1.4224 * _SCALE + 2, 1)
TOPOJSON = "static/vendor/world-atlas/countries-110m.json"


def project(lon: float, lat: float) -> tuple[float, float]:
    """Natural Earth I projection (Šavrič et al. 2011, as in d3-geo) to SVG pixel coordinates."""
    lam, phi = math.radians(lon), math.radians(max(-90.0, min(90.0, lat)))
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return round(WIDTH / 2 + x * _SCALE, 2), round(HEIGHT / 2 - y * _SCALE, 2)


def _arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        out.append(points)
    return out


def _ring(arcs: list[list[tuple[float, float]]], indices: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(arc[1:] if ring else arc)
    return ring


def _path(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for ring in rings:
        pts = [project(lon, lat) for lon, lat in ring]
        if len(pts) < 3:
            continue
        parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts) + "Z")
    return "".join(parts)


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """(country name, SVG path data) for every country of the 1:110m Natural Earth map."""
    raw = resources.files("citybridge.web").joinpath(TOPOJSON).read_text(encoding="utf-8")
    topo = json.loads(raw)
    arcs = _arcs(topo)
    out = []
    for geom in topo["objects"]["countries"]["geometries"]:
        polys = [geom["arcs"]] if geom.get("type") == "Polygon" else geom.get("arcs", [])
        rings = [_ring(arcs, ring) for poly in polys for ring in poly]
        path = _path(rings)
        if path:
            out.append((geom.get("properties", {}).get("name", ""), path))
    return tuple(out)


def graticule(step: int = 30) -> str:
    """SVG path data of meridians and parallels every ``step`` degrees, and the outline of the globe."""
    parts = []
    for lon in range(-180, 181, step):
        pts = [project(lon, lat) for lat in range(-90, 91, 5)]
        parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts))
    for lat in range(-60, 61, step):
        pts = [project(lon, lat) for lon in range(-180, 181, 5)]
        parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts))
    return "".join(parts)


def outline() -> str:
    left = [project(-180, lat) for lat in range(-90, 91, 5)]
    right = [project(180, lat) for lat in range(90, -91, -5)]
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in left + right) + "Z"
