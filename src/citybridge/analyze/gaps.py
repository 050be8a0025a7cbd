"""The gap map: theme x region (or country) supply against demand, with the records behind every cell.

A cell counts, for one theme in one area, the demand records (calls, news, policies and plans, members'
challenges located there), the supply records (research and projects located there: their own country, the
places they are about, their partners') and the experts (distinct agents from the area taking part in
the theme's supply). Its **gap** is the demand the area's supply does not answer at the network's overall
balance: ``demand - supply * (all demand / all supply)`` (positive: demand outruns supply). The largest
gaps come with a plain-language reason.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from citybridge.analyze.activity import Activities

EVIDENCE = 10
KIND_WORDS = {"opportunity": ("call", "calls"), "document": ("document", "documents"),
              "project": ("project", "projects")}


@lru_cache(maxsize=1)
def subregions() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> UN M49 sub-region (e.g. ``Southern Europe``); EU codes UK/EL map too."""
    text = resources.files("citybridge.enrich").joinpath("data", "countries.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    out = {row["iso2"]: row["un_subregion"] or row["un_region"]
           for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t") if row.get("un_region")}
    out.setdefault("UK", out.get("GB", "Northern Europe"))
    out.setdefault("EL", out.get("GR", "Southern Europe"))
    return out


def area_of(country: str, by: str) -> str | None:
    return country if by == "country" else subregions().get(country)


def gap_map(acts: Activities, *, by: str = "region", scheme: str | None = None, themes: list[str] | None = None,
            years: tuple[int | None, int | None] = (None, None), top: int = 20,
            namer: Any = None) -> dict[str, Any]:
    """Cells, ranked gaps and the theme/area axes (shape: see ``Hub.gaps``)."""
    if by not in ("region", "country"):
        from citybridge.errors import Invalid

        raise Invalid(f"unknown gap axis '{by}' (region or country)", field="by")
    y = acts.years()
    lo, hi = years
    wanted = set(themes) if themes else None
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    experts: dict[tuple[str, str], set[int]] = {}
    agents_of: dict[int, list[int]] = {}
    for a, act in zip(acts.part_agent, acts.part_act, strict=True):
        agents_of.setdefault(int(act), []).append(int(a))
    for i, (side, ths, ctry) in enumerate(zip(acts.act_side, acts.act_themes, acts.act_countries, strict=True)):
        if side is None or not ths or not ctry:
            continue
        if (lo is not None and y[i] < lo) or (hi is not None and (y[i] > hi or y[i] == 0)):
            continue
        areas = {ar for c in ctry if (ar := area_of(c, by))}
        for th in ths:
            if (wanted is not None and th not in wanted) or (scheme and not th.startswith(scheme + ":")):
                continue
            for ar in areas:
                cell = cells.setdefault((th, ar), {"theme": th, "area": ar, "supply": 0, "demand": 0,
                                                   "records": {"supply": [], "demand": []}})
                cell[side] += 1
                cell["records"][side].append(i)
                if side == "supply":
                    for a in agents_of.get(i, ()):
                        c = acts.agent_country[a]
                        if c and area_of(c, by) == ar:
                            experts.setdefault((th, ar), set()).add(a)
    total_s = sum(c["supply"] for c in cells.values())
    total_d = sum(c["demand"] for c in cells.values())
    balance = total_d / total_s if total_s else 0.0
    out_cells = []
    for key, cell in cells.items():
        cell["experts"] = len(experts.get(key, ()))
        cell["gap"] = round(cell["demand"] - cell["supply"] * balance, 3)
        for side in ("supply", "demand"):
            idx = np.array(cell["records"][side], dtype=np.int64)
            idx = idx[np.argsort(-y[idx], kind="stable")] if len(idx) else idx
            cell["records"][side] = [acts.act_ids[j] for j in idx[:EVIDENCE]]
        cell["expert_ids"] = [acts.agent_ids[a] for a in sorted(experts.get(key, ()))][:EVIDENCE]
        out_cells.append(cell)
    out_cells.sort(key=lambda c: (c["theme"], c["area"]))
    ranked = sorted((c for c in out_cells if c["gap"] > 0), key=lambda c: (-c["gap"], c["theme"], c["area"]))[:top]
    kinds = {}
    for c in ranked:
        for rid in c["records"]["demand"]:
            kinds[rid] = None
    if kinds:
        index = {aid: i for i, aid in enumerate(acts.act_ids)}
        kinds = {rid: acts.act_kind[index[rid]] for rid in kinds}
    ranked = [{**c, "reason": _reason(kinds, c, (namer or (lambda th: th))(c["theme"]))} for c in ranked]
    return {"by": by, "themes": sorted({c["theme"] for c in out_cells}),
            "areas": sorted({c["area"] for c in out_cells}), "cells": out_cells, "ranked": ranked,
            "balance": round(balance, 4), "totals": {"supply": total_s, "demand": total_d},
            "method": {"gap": "demand - supply x (all demand / all supply)",
                       "areas": "UN M49 sub-regions" if by == "region" else "ISO 3166-1 countries"}}


def _reason(kinds_of: dict[str, str], cell: dict[str, Any], name: str) -> str:
    """"3 calls and 1 document name <theme> in <area>; 1 research or project record and 2 experts in the
    network address it there" (demand kinds estimated from the listed records when there are more)."""
    kinds: dict[str, int] = {}
    for rid in cell["records"]["demand"]:
        kinds[kinds_of[rid]] = kinds.get(kinds_of[rid], 0) + 1
    shown = sum(kinds.values()) or 1
    parts = []
    for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        est = round(n * cell["demand"] / shown)
        one, many = KIND_WORDS.get(k, ("record", "records"))
        parts.append(f"{est} {one if est == 1 else many}")
    demand = " and ".join(parts) if parts else f"{cell['demand']} records"
    s, e = cell["supply"], cell["experts"]
    return (f"{demand} name {name} in {cell['area']}; {s} research or project record{'' if s == 1 else 's'} "
            f"and {e or 'no'} expert{'' if e == 1 else 's'} in the network address it there")


__all__ = ["area_of", "gap_map", "subregions"]
