"""The home page's numbers: records by kind, by SDG and by UN region, and the latest additions."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from typing import Any

from citybridge.model.access import Caller
from citybridge.model.taxonomy import sdg_nodes
from citybridge.store.repository import Store
from citybridge.store.visible import VisibleReads


@lru_cache(maxsize=1)
def un_regions() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> UN macro region (Africa, Americas, Asia, Europe, Oceania)."""
    text = resources.files("citybridge.enrich").joinpath("data", "countries.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return {row["iso2"]: row["un_region"] for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")
            if row.get("un_region")}


def overview(store: Store, caller: Caller, *, latest: int = 10) -> dict[str, Any]:
    """Counts a caller may see: by kind, by SDG goal (records tagged with the goal or one of its targets),
    by UN region (a record's own country, else the places it mentions), and the latest additions."""
    reads = VisibleReads(store)
    stats = reads.stats(caller)
    labels = reads.label_counts(caller, "sdg:")
    goals = {n.code: n for n in sdg_nodes() if n.level == "goal"}
    by_sdg = []
    for code, node in goals.items():
        # a record tagged with both the goal and a target counts once per label: take the largest count
        n = max([labels.get(f"sdg:{code}", 0)] + [v for k, v in labels.items() if k.startswith(f"sdg:{code}.")])
        by_sdg.append({"code": code, "name": node.name, "short": node.labels.get("en", node.name), "count": n})
    regions = un_regions()
    by_region: dict[str, int] = {}
    for country, n in reads.country_counts(caller).items():
        region = regions.get(country, "Other")
        by_region[region] = by_region.get(region, 0) + n
    return {
        "records": stats["records"],
        "relations": stats["relations"],
        "countries": stats["countries"],
        "by_kind": stats["by_kind"],
        "by_subtype": stats["by_subtype"],
        "by_sdg": by_sdg,
        "by_region": dict(sorted(by_region.items(), key=lambda kv: -kv[1])),
        "latest": reads.latest(caller, limit=latest),
    }
