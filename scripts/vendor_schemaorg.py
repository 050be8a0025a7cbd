"""Extract schema.org's type hierarchy and properties from the npm package ``schema-dts`` into a JSON file.

``schema-dts`` (Apache-2.0, by Google) is generated from the schema.org vocabulary (CC BY-SA 3.0) and lists every
type (``"@type": "City"``) with the properties of its ``...Base`` interface and the interfaces it extends. This
script reads its ``dist/schema.d.ts`` and writes ``src/citybridge/interop/data/schemaorg-terms.json``:

    {"source": ..., "types": {"City": "PlaceBase", ...},
     "bases": {"PlaceBase": {"extends": ["ThingBase"], "properties": ["geo", ...]}, ...},
     "deprecated": ["bookingAgent", ...]}

Usage: ``npm pack schema-dts@2.1.0 && tar xzf schema-dts-2.1.0.tgz`` then
``python scripts/vendor_schemaorg.py package/dist/schema.d.ts``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/citybridge/interop/data/schemaorg-terms.json"
BASE_RE = re.compile(r"^interface (\w+Base)(?: extends ([\w, <>]+))? \{")
LEAF_RE = re.compile(r"^export (?:interface|type) (\w+)Leaf\b.*?(?:extends (\w+Base)|Omit<(\w+Base),)")
TYPE_RE = re.compile(r'^\s+"@type": "(\w+)";')
PROP_RE = re.compile(r'^\s+"([A-Za-z][\w-]*)"\?: ')


def parse(text: str) -> dict[str, object]:
    bases: dict[str, dict[str, list[str]]] = {}
    types: dict[str, str] = {}
    deprecated: set[str] = set()
    current: str | None = None
    leaf_base: str | None = None
    pending_deprecated = False
    for line in text.splitlines():
        m = BASE_RE.match(line)
        if m:
            current = m.group(1)
            parents = [p.strip() for p in (m.group(2) or "").split(",") if p.strip().endswith("Base")]
            bases[current] = {"extends": sorted(set(parents)), "properties": []}
            continue
        m = LEAF_RE.match(line)
        if m:
            current, leaf_base = None, m.group(2) or m.group(3)
            continue
        m = TYPE_RE.match(line)
        if m and leaf_base:
            types[m.group(1)] = leaf_base
            leaf_base = None
            continue
        if "@deprecated" in line:
            pending_deprecated = True
            continue
        m = PROP_RE.match(line)
        if m and current:
            bases[current]["properties"].append(m.group(1))
            if pending_deprecated:
                deprecated.add(m.group(1))
            pending_deprecated = False
            continue
        if line.startswith("}"):
            current = None
    for body in bases.values():
        body["properties"] = sorted(set(body["properties"]))
    return {"source": "npm schema-dts 2.1.0 (Apache-2.0), generated from schema.org (CC BY-SA 3.0)",
            "types": dict(sorted(types.items())), "bases": dict(sorted(bases.items())),
            "deprecated": sorted(deprecated)}


if __name__ == "__main__":
    data = parse(Path(sys.argv[1]).read_text(encoding="utf-8"))
    OUT.write_text(json.dumps(data, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{len(data['types'])} types, {len(data['bases'])} bases -> {OUT}", file=sys.stderr)
