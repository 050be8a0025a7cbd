"""Flat tables of the analytics results, for CSV (CLI ``--csv``, API ``format=csv``, the charts' downloads).

Each function takes the dict a Hub method returned and gives (header, rows); record id lists are joined
with spaces. The CLI and the API call the same functions, so both give the same figures.
"""

from __future__ import annotations

import csv
import io
from typing import Any

NETWORK_HEADER = ["ranking", "rank", "id", "name", "kind", "sector", "country", "score", "degree", "strength",
                  "pagerank", "betweenness", "community", "n_records", "records"]
TRENDS_HEADER = ["theme", "theme_name", "side", "year", "count", "rising", "burst", "growth", "z", "emerging"]
GAPS_HEADER = ["theme", "theme_name", "area", "supply", "demand", "experts", "gap", "rank", "reason",
               "supply_records", "demand_records"]


def network_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for ranking in ("excellence", "brokers", "pioneers", "central"):
        for i, n in enumerate(result.get(ranking, []), start=1):
            rows.append([ranking, i, n["id"], n["name"], n["kind"], n["sector"], n.get("country") or "",
                         n.get("score", n["pagerank"]), n["degree"], n["strength"], n["pagerank"],
                         n["betweenness"], n["community"], n["n_records"], " ".join(n["records"])])
    return NETWORK_HEADER, rows


def trends_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for s in result.get("series", []):
        for side in ("supply", "demand"):
            figs = s[side]
            for year, count in figs["counts"].items():
                rows.append([s["theme"], s.get("theme_name") or "", side, int(year), count, figs["rising"],
                             int(year) in figs["bursts"], figs["growth"], figs["z"], s["emerging"]])
    return TRENDS_HEADER, rows


def gaps_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rank = {(c["theme"], c["area"]): (i, c["reason"]) for i, c in enumerate(result.get("ranked", []), start=1)}
    rows = []
    for c in result.get("cells", []):
        r, reason = rank.get((c["theme"], c["area"]), ("", ""))
        rows.append([c["theme"], c.get("theme_name") or "", c["area"], c["supply"], c["demand"], c["experts"],
                     c["gap"], r, reason, " ".join(c["records"]["supply"]), " ".join(c["records"]["demand"])])
    return GAPS_HEADER, rows


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


__all__ = ["gaps_rows", "network_rows", "to_csv", "trends_rows"]
