"""The analytics figures reshaped for the page: the JSON each chart draws (``static/js/charts.js``), the tables
beside the charts, the CSV files and the records behind one mark. Nothing is computed here that the Hub did not
return: only picked, labelled and linked.

Inputs are the results of ``Hub.network_metrics``, ``Hub.trends`` and ``Hub.gaps`` (their shapes are documented
there); ``links`` builds the page's URLs (see ``analytics_pages._links``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from citybridge.model.taxonomy import PATHWAYS, sdg_nodes, theme_id
from citybridge.web import gapmap

#: rows of the heat-map: the chosen theme, then the themes of the largest gaps, then the busiest
HEATMAP_THEMES = 16
#: trend series drawn: the chosen theme, the emerging and rising ones, then the busiest
TREND_SERIES = 14


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    out = {}
    for n in sdg_nodes():
        out[f"sdg:{n.code}"] = f"SDG {n.code} {n.labels.get('en', n.name)}" if n.level == "goal" else n.name
    for p in PATHWAYS:
        out[f"pathway:{p.code}"] = p.name
    return out


def theme_name(label: str) -> str:
    """``sdg:11`` -> ``SDG 11 Sustainable cities and communities``; ``kw:energy communities`` -> the words."""
    if label in _names():
        return _names()[label]
    scheme, _sep, code = label.partition(":")
    return code if scheme == "kw" and code else label


def theme_record(label: str) -> str | None:
    """The id of the theme record of an SDG or pathway label (its page links to the analytics and back)."""
    scheme, _sep, code = label.partition(":")
    return theme_id(scheme, code) if scheme in ("sdg", "pathway") and label in _names() else None


# ------------------------------------------------------------------ the page
def page_view(figs: dict[str, Any], label: str, _: Callable[..., str], *, links: dict[str, Any]) -> dict[str, Any]:
    """Everything ``analytics.html`` shows for one theme."""
    rec = theme_record(label)
    return {"theme": {"label": label, "name": theme_name(label), "href": links["entity"](rec) if rec else None},
            "network": network_view(figs["network"], label, _, links),
            "trends": trends_view(figs["trends"], label, _, links),
            "gaps": gaps_view(figs["gaps"], label, _, links)}


def _people(net: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every agent the network result ranks, merged across its lists (excellence first)."""
    out: dict[str, dict[str, Any]] = {}
    for key in ("excellence", "brokers", "pioneers", "central"):
        for n in net.get(key) or []:
            row = out.setdefault(n["id"], {**n, "excellence": None, "broker": False, "pioneer": False})
            if key == "excellence":
                row["excellence"] = n.get("score")
            elif key == "brokers":
                row["broker"], row["broker_score"] = True, n.get("score")
            elif key == "pioneers":
                row["pioneer"], row["first_year"] = True, n.get("first_year")
    return out


def _community_labels(net: dict[str, Any], _: Callable[..., str]) -> dict[int, str]:
    out = {}
    for c in net.get("communities") or []:
        where = ", ".join(list(c.get("countries") or {})[:3])
        out[int(c["id"])] = _("analytics.community", n=int(c["id"]) + 1, size=c.get("size", 0), where=where) \
            if where else _("analytics.community.nowhere", n=int(c["id"]) + 1, size=c.get("size", 0))
    return out


def network_view(net: dict[str, Any], label: str, _: Callable[..., str], links: dict[str, Any]) -> dict[str, Any]:
    graph = net.get("graph") or {"nodes": [], "edges": []}
    people = _people(net)
    comm = _community_labels(net, _)
    nodes = []
    for n in graph["nodes"]:
        roles = [_("analytics.pioneer")] * bool(n.get("pioneer")) + [_("analytics.broker")] * bool(n.get("broker"))
        where = f", {n['country']}" if n.get("country") else ""
        nodes.append({"id": n["id"], "name": n["name"], "community": n.get("community"),
                      "broker": bool(n.get("broker")), "pioneer": bool(n.get("pioneer")),
                      "score": n.get("pagerank") or 0.0, "href": links["entity"](n["id"]),
                      "title": f"{n['name']}{where} — {comm.get(n.get('community', -1), '')}"
                               + (f" · {', '.join(roles)}" if roles else "")})
    table = []
    for p in sorted(people.values(), key=lambda p: (-(p["excellence"] or 0), -p.get("pagerank", 0), p["id"])):
        c = p.get("community")
        table.append({"id": p["id"], "name": p["name"], "pioneer": p["pioneer"], "broker": p["broker"],
                      "community": c, "community_label": comm.get(c, "") if c is not None else "",
                      "excellence": p["excellence"], "degree": p.get("degree", 0), "records": p.get("n_records", 0),
                      "records_href": links["records"]("network", node=p["id"]), "first_year": p.get("first_year")})
    return {"nodes": nodes, "agents": net.get("nodes", 0), "edges": net.get("edges", 0),
            "communities": net.get("n_communities", 0),
            "table": table, "csv": links["csv"]("network"),
            "chart": {"nodes": nodes, "edges": [{"source": e["source"], "target": e["target"],
                                                 "weight": e.get("shared") or 1} for e in graph["edges"]]}}


def _pick_series(tr: dict[str, Any], label: str) -> list[dict[str, Any]]:
    series = tr.get("series") or []
    hot = {label, *(tr.get("emerging") or []), *(tr.get("rising") or [])}
    first = [s for s in series if s["theme"] in hot]
    rest = [s for s in series if s["theme"] not in hot]
    return (first + rest)[:max(TREND_SERIES, len(first))]


def trends_view(tr: dict[str, Any], label: str, _: Callable[..., str], links: dict[str, Any]) -> dict[str, Any]:
    years = [int(y) for y in tr.get("years") or []]
    emerging = set(tr.get("emerging") or [])
    sides = [{"key": k, "label": _("analytics.side." + k)} for k in ("demand", "supply")]
    rows, table = [], []
    for s in _pick_series(tr, label):
        name = theme_name(s["theme"])
        for side in sides:
            data = s.get(side["key"]) or {}
            href = links["records"]("trends", row=s["theme"], side=side["key"])
            counts = [int((data.get("counts") or {}).get(str(y), 0)) for y in years]
            by_year = (s.get("records_by_year") or {}).get(side["key"])
            for y, n in zip(years, counts, strict=True):
                point = links["records"]("trends", row=s["theme"], side=side["key"], year=y) if by_year else href
                rows.append({"theme": s["theme"], "label": name, "year": y, "side": side["key"],
                             "side_label": side["label"], "n": n, "href": point,
                             "title": f"{name}, {y}: {n} {side['label'].lower()}"})
            table.append({"label": name, "side": side["label"], "counts": counts, "total": sum(counts),
                          "href": href, "emerging": s["theme"] in emerging, "selected": s["theme"] == label})
    shown_emerging = [{"label": theme_name(s["theme"]), "href": links["theme_page"](s["theme"]),
                       "reason": s.get("reason"),
                       "records_href": links["records"]("trends", row=s["theme"], side="demand")}
                      for s in tr.get("series") or [] if s["theme"] in emerging]
    return {"table": table, "years": years, "emerging": shown_emerging, "csv": links["csv"]("trends"),
            "chart": {"rows": rows, "emerging": sorted(emerging), "selected": label, "sides": sides,
                      "axis": {"year": _("analytics.axis.year"), "records": _("analytics.axis.records"),
                               "emerging": _("analytics.axis.emerging")}}}


def _gap_text(gap: float) -> str:
    return f"{gap:+.1f}" if abs(gap) < 10 else f"{gap:+.0f}"


def gaps_view(gp: dict[str, Any], label: str, _: Callable[..., str], links: dict[str, Any]) -> dict[str, Any]:
    cells = gp.get("cells") or []
    demand: dict[str, int] = {}
    for c in cells:
        demand[c["theme"]] = demand.get(c["theme"], 0) + int(c["demand"])
    themes: list[str] = [label] if any(c["theme"] == label for c in cells) else []
    for c in gp.get("ranked") or []:
        if c["theme"] not in themes:
            themes.append(c["theme"])
    for th in sorted(demand, key=lambda t: (-demand[t], t)):
        if th not in themes:
            themes.append(th)
    themes = themes[:HEATMAP_THEMES]
    keep = set(themes)
    shown = [c for c in cells if c["theme"] in keep]
    areas = sorted({c["area"] for c in shown})

    def href(c: dict[str, Any]) -> str:
        return links["records"]("gaps", row=c["theme"], region=c["area"])

    def title(c: dict[str, Any]) -> str:
        return _("analytics.gaps.cell", theme=theme_name(c["theme"]), area=c["area"], demand=c["demand"],
                 supply=c["supply"], gap=_gap_text(c["gap"]))

    chart_cells = [{"theme": c["theme"], "label": theme_name(c["theme"]), "region": c["area"],
                    "supply": c["supply"], "demand": c["demand"], "gap": round(float(c["gap"]), 1),
                    "href": href(c), "title": title(c), "selected": c["theme"] == label} for c in shown]
    # the chosen theme's cells first (largest gap first), then the network's largest gaps on other themes
    reasons = {(c["theme"], c["area"]): c.get("reason") for c in gp.get("ranked") or []}
    mine = sorted((c for c in cells if c["theme"] == label), key=lambda c: (-c["gap"], c["area"]))
    others = [c for c in gp.get("ranked") or [] if c["theme"] != label]
    table = [{"label": theme_name(c["theme"]), "region": c["area"], "demand": c["demand"], "supply": c["supply"],
              "gap_text": _gap_text(c["gap"]), "href": href(c), "reason": reasons.get((c["theme"], c["area"])),
              "selected": c["theme"] == label} for c in mine + others]
    own = {c["area"]: c for c in cells if c["theme"] == label}
    the_map = None
    if own:
        the_map = {"theme": theme_name(label),
                   **gapmap.gap_map({a: float(c["gap"]) for a, c in own.items()},
                                    {a: href(c) for a, c in own.items()}, {a: title(c) for a, c in own.items()})}
    return {"cells": chart_cells, "table": table, "map": the_map, "csv": links["csv"]("gaps"),
            "chart": {"cells": chart_cells, "regions": areas, "themes": [theme_name(t) for t in themes],
                      "axis": {"region": _("analytics.axis.region"), "theme": _("analytics.axis.theme"),
                               "gap": _("analytics.axis.gap")}}}


# ------------------------------------------------------------------ CSV
def csv_of(part: str, raw: dict[str, Any], label: str) -> str:
    """One chart's figures as CSV (one row per node / theme-year-side / theme-area), ids of the records behind
    each row in the last column separated by spaces."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if part == "network":
        w.writerow(["id", "name", "kind", "sector", "country", "community", "degree", "pagerank", "betweenness",
                    "excellence", "broker", "pioneer", "first_year", "n_records", "records"])
        for p in sorted(_people(raw).values(), key=lambda p: (-(p["excellence"] or 0), p["id"])):
            w.writerow([p["id"], p["name"], p.get("kind"), p.get("sector"), p.get("country") or "", p.get("community"),
                        p.get("degree"), p.get("pagerank"), p.get("betweenness"), p["excellence"] or "",
                        int(p["broker"]), int(p["pioneer"]), p.get("first_year") or "", p.get("n_records"),
                        " ".join(p.get("records") or [])])
    elif part == "trends":
        emerging = set(raw.get("emerging") or [])
        w.writerow(["theme", "name", "side", "year", "records", "rising", "emerging", "growth", "evidence"])
        for s in raw.get("series") or []:
            for side in ("demand", "supply"):
                data = s.get(side) or {}
                for year, n in (data.get("counts") or {}).items():
                    w.writerow([s["theme"], theme_name(s["theme"]), side, year, n, int(bool(data.get("rising"))),
                                int(s["theme"] in emerging), data.get("growth", ""),
                                " ".join((s.get("records") or {}).get(side) or [])])
    else:
        w.writerow(["theme", "name", "area", "demand", "supply", "experts", "gap", "reason", "demand_records",
                    "supply_records"])
        reasons = {(c["theme"], c["area"]): c.get("reason") for c in raw.get("ranked") or []}
        for c in sorted(raw.get("cells") or [], key=lambda c: (-c["gap"], c["theme"], c["area"])):
            w.writerow([c["theme"], theme_name(c["theme"]), c["area"], c["demand"], c["supply"], c.get("experts", ""),
                        c["gap"], reasons.get((c["theme"], c["area"])) or "",
                        " ".join(c["records"]["demand"]), " ".join(c["records"]["supply"])])
    return out.getvalue()


# ------------------------------------------------------------------ the records behind one mark
def records_behind(part: str, raw: dict[str, Any], label: str, _: Callable[..., str], *, node: str | None = None,
                   row: str | None = None, side: str | None = None, region: str | None = None,
                   year: int | None = None) -> tuple[str, list[str]]:
    """(what the mark is, the ids of the records behind it) for a node of the network, a theme's supply or demand
    in the trends, or a cell of the gap map; no ids when the mark is not in the figures."""
    if part == "network":
        p = _people(raw).get(node or "")
        if p is None:  # not ranked, or not visible to this caller: the id asked for is not echoed back
            return _("analytics.records.unknown", theme=theme_name(label)), []
        return _("analytics.records.node", name=p["name"], theme=theme_name(label)), list(p.get("records") or [])
    if part == "trends":
        for s in raw.get("series") or []:
            if s["theme"] == row:
                sides = [side] if side else ["demand", "supply"]
                side_word = _("analytics.side." + side).lower() if side else ""
                if year is not None:  # one point of the chart: that year's records
                    by_year = s.get("records_by_year") or {}
                    ids = [i for sd in sides for i in (by_year.get(sd) or {}).get(str(year)) or []]
                    return _("analytics.records.trend_year", theme=theme_name(s["theme"]), side=side_word,
                             year=year), ids
                ids = [i for sd in sides for i in (s.get("records") or {}).get(sd) or []]
                what = _("analytics.records.trend", theme=theme_name(s["theme"]), side=side_word)
                return what, ids
        return _("analytics.records.unknown", theme=theme_name(label)), []
    for c in raw.get("cells") or []:
        if c["theme"] == row and c["area"] == region:
            return (_("analytics.records.cell", theme=theme_name(c["theme"]), area=c["area"]),
                    [*c["records"]["demand"], *c["records"]["supply"], *(c.get("expert_ids") or [])])
    return _("analytics.records.unknown", theme=theme_name(label)), []
