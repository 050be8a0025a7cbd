"""Convert the Aurora SDG query definitions (v5 XML) into the gzipped JSON the tagger ships.

Usage: python scripts/build_aurora_data.py [XML_DIR]
(default ../shared/data/sdg/aurora-queries/xml relative to the repository root).
Writes src/citybridge/enrich/data/sdg/aurora-sdg-queries-v5.json.gz deterministically (no timestamps).
"""

from __future__ import annotations

import gzip
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS = {"dc": "http://dublincore.org/documents/dcmi-namespace/",
      "aqd": "http://aurora-network.global/queries/namespace/"}


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _default_dir() -> Path:
    # ../shared beside the checkout; a git worktree under <repo>/../wt/ also finds it one level up.
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared/data/sdg/aurora-queries/xml"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared/data/sdg/aurora-queries/xml"


def main() -> None:
    xml_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else _default_dir()
    goals: dict[str, dict[str, object]] = {}
    for goal in range(1, 18):
        root = ET.parse(xml_dir / f"query_SDG{goal}.xml").getroot()
        queries = []
        for definition in root.iter(f"{{{NS['aqd']}}}query-definition"):
            uri = _clean(definition.findtext("dc:identifier", namespaces=NS))
            target = uri.rsplit("/", 1)[-1]
            for line in definition.iter(f"{{{NS['aqd']}}}query-line"):
                queries.append({"target": target, "query": _clean(line.text)})
        goals[str(goal)] = {
            "title": _clean(root.findtext("dc:title", namespaces=NS)),
            "description": _clean(root.findtext("dc:description", namespaces=NS)),
            "queries": queries,
        }
    payload = {"name": "Aurora SDG query definitions", "version": "5.0", "doi": "10.5281/zenodo.3817445",
               "licence": "CC BY 4.0", "goals": goals}
    out = ROOT / "src/citybridge/enrich/data/sdg/aurora-sdg-queries-v5.json.gz"
    raw = json.dumps(payload, ensure_ascii=False, indent=0, sort_keys=True).encode("utf-8")
    out.write_bytes(gzip.compress(raw, mtime=0))
    print(f"wrote {out} ({sum(len(g['queries']) for g in goals.values())} query lines)")


if __name__ == "__main__":
    main()
