"""A slice of the shipped demo pack (data/demo) small enough to enrich in a test: European cities of 150k+, the
projects, calls and news about urban heat, energy poverty and district heating, all their organisations and
participations. Loaded once per session by the `pack_hub` fixture (tests/web/conftest.py)."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[2] / "data" / "demo"
EUROPE = {"PT", "ES", "FR", "IT", "DE", "NL", "BE", "AT", "DK", "SE", "FI", "IE", "PL", "CZ", "GR", "HU", "RO", "SI",
          "HR", "SK", "BG", "LT", "LV", "EE", "LU", "GB", "NO", "CH"}
TOPICS = re.compile(r"urban heat|heat island|heatwave|cooling|energy poverty|fuel poverty|social housing|"
                    r"district heating|heat network|heating|renovation|retrofit", re.I)
DAY = date(2026, 6, 1)


def _lines(name: str) -> Iterator[dict]:
    path = PACK / name
    if not path.exists():
        pytest.skip(f"demo pack not built: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def pack_slice() -> bytes:
    """The pack's records and relations about the three challenges, as one JSON Lines file."""
    places = [p for p in _lines("10-places.jsonl.gz") if p.get("place_type") != "city" or
              (p.get("country") in EUROPE and (p.get("population") or 0) >= 150_000)]
    city_ids = {p["id"] for p in places}
    relations = list(_lines("90-relations.jsonl.gz"))
    lg_city = {r["source"]: r["target"] for r in relations if r["type"] == "located_in"}
    projects = [p for p in _lines("40-projects.jsonl.gz") if "generated_name" not in p.get("attributes", {})
                and TOPICS.search(f"{p['name']} {p.get('description', '')}")]
    project_ids = {p["id"] for p in projects}
    partner = [r for r in relations if r["type"] == "partner_in" and r["target"] in project_ids]
    members = {r["source"] for r in partner}
    orgs = [o for o in _lines("20-organizations.jsonl.gz") if o["id"] in members or lg_city.get(o["id"]) in city_ids]
    org_ids = {o["id"] for o in orgs}
    located = [r for r in relations if r["type"] == "located_in" and r["source"] in org_ids]
    docs = [d for d in _lines("50-documents.jsonl.gz") if d.get("doc_type") == "news" or TOPICS.search(d["name"])]
    opps = [o for o in _lines("60-opportunities.jsonl.gz")
            if o.get("opp_type") == "funding_programme" or TOPICS.search(f"{o['name']} {o.get('description', '')}")]
    out = io.StringIO()
    for row in [*places, *orgs, *projects, *docs, *opps, *partner, *located]:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out.getvalue().encode("utf-8")
