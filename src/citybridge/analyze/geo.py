"""Map layers: cities that records are located in or about, organisations with coordinates, and projects
placed at their partners' locations. Filterable by SDG/pathway labels and by kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import union

from citybridge.model.access import Caller
from citybridge.store.repository import Store
from citybridge.store.visible import VisibleReads

LAYERS = ("city", "organization", "project")


def map_layers(store: Store, caller: Caller, *, layers: tuple[str, ...] = LAYERS, labels: tuple[str, ...] = (),
               org_type: str | None = None, limit: int = 3000) -> dict[str, Any]:
    """Points the caller may see, by layer, each ``{id, name, lat, lon, ...}``; ``truncated`` names layers
    that hit ``limit``.

    ``labels`` (e.g. ``("sdg:11", "pathway:resilient")``) keep records tagged with all of them;
    organisations and cities also qualify through tagged projects they take part in or records in them.
    """
    reads = VisibleReads(store)
    tagged = reads.tagged_ids(list(labels)) if labels else None
    agents = reads.partners_in(tagged) if tagged is not None else None
    out: dict[str, Any] = {"cities": [], "organizations": [], "projects": [], "truncated": []}
    if "city" in layers:
        sources = union(tagged, agents) if tagged is not None and agents is not None else None
        rows = reads.linked_places(caller, tagged=sources, limit=limit)
        out["cities"] = [_point(r, n=int(r["n"])) for r in rows]
        if len(rows) >= limit:
            out["truncated"].append("city")
    if "organization" in layers:
        ids = union(tagged, agents) if tagged is not None and agents is not None else None
        rows = reads.located(caller, "organization", subtype=org_type, ids=ids, limit=limit)
        out["organizations"] = [_point(r, subtype=r["subtype"]) for r in rows]
        if len(rows) >= limit:
            out["truncated"].append("organization")
    if "project" in layers:
        rows = reads.project_partners(caller, tagged=tagged, limit=limit * 8)
        projects: dict[str, dict[str, Any]] = {}
        for r in rows:
            p = projects.setdefault(r["project_id"], {"id": r["project_id"], "name": r["project_name"],
                                                      "partners": [], "countries": set()})
            p["partners"].append((r["role"] == "coordinator", float(r["lat"]), float(r["lon"])))
            if r["country"]:
                p["countries"].add(r["country"])
        for p in list(projects.values())[:limit]:
            # the coordinator's place if known, else the first partner's
            _lead, lat, lon = sorted(p["partners"], key=lambda x: not x[0])[0]
            out["projects"].append({"id": p["id"], "name": p["name"], "lat": round(lat, 4), "lon": round(lon, 4),
                                    "partners": len(p["partners"]), "countries": sorted(p["countries"])})
        if len(projects) > limit or len(rows) >= limit * 8:
            out["truncated"].append("project")
    return out


def _point(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "country": row.get("country"),
            "lat": round(float(row["lat"]), 4), "lon": round(float(row["lon"]), 4), **extra}
