"""The home page's numbers: records by kind, by SDG and by UN region, the latest additions, and what the network
knows right now: projects, calls closing soon, recent news."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from citybridge.model.access import Caller
from citybridge.model.entities import Document, Opportunity, Project, Record
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


def _visible(reads: VisibleReads, caller: Caller, kind: str, subtype: str | None = None) -> Iterator[Record]:
    after = None
    while True:
        page = reads.list_records(caller, kind, subtype=subtype, after=after, limit=1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].id


def highlights(store: Store, caller: Caller, today: date, *, n: int = 6) -> dict[str, list[dict[str, Any]]]:
    """Calls closing soon (open on ``today``, nearest deadline first), the latest news, and the most recent
    projects that have a title and objective (not those known by number only)."""
    reads = VisibleReads(store)
    calls = []
    for rec in _visible(reads, caller, "opportunity"):
        if isinstance(rec, Opportunity) and rec.deadline is not None and rec.deadline >= today and \
                str(rec.attributes.get("status") or "").lower() != "closed":
            calls.append({"id": rec.id, "name": rec.name, "deadline": rec.deadline.isoformat(),
                          "days": (rec.deadline - today).days, "status": rec.attributes.get("status"),
                          "programme": rec.attributes.get("programme") or rec.funder})
    news = [{"id": rec.id, "name": rec.name, "published": rec.published.isoformat(), "publisher": rec.publisher}
            for rec in _visible(reads, caller, "document", "news") if isinstance(rec, Document) and rec.published]
    projects = [{"id": rec.id, "name": rec.name, "acronym": rec.acronym, "programme": rec.programme,
                 "start": rec.start_date.isoformat(), "end": rec.end_date.isoformat() if rec.end_date else None}
                for rec in _visible(reads, caller, "project")
                if isinstance(rec, Project) and rec.description and rec.start_date
                and "generated_name" not in rec.attributes]
    return {"closing_soon": sorted(calls, key=lambda c: (c["deadline"], c["name"]))[:n],
            "news": sorted(news, key=lambda d: (d["published"], d["id"]), reverse=True)[:n],
            "projects": sorted(projects, key=lambda p: (p["start"], p["id"]), reverse=True)[:n]}


def overview(store: Store, caller: Caller, *, latest: int = 10, today: date | None = None) -> dict[str, Any]:
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
        **highlights(store, caller, today or date.today()),
    }
