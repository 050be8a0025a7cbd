"""Rebuild the demo knowledge pack in data/demo/ from the shippable real data in ../shared/data.

The pack is a set of gzipped JSON Lines files in citybridge's exchange format (what ``citybridge export``
writes), so ``citybridge demo`` is a plain import. Sources and licences: data/demo/SOURCES.md.

    python scripts/build_demo_pack.py [--shared ../shared/data] [--out data/demo]

Contents:
  * places: 44,690 cities (SimpleMaps, CC BY 4.0), their first-level regions and 253 countries;
  * local governments: one per city of >= 100,000 inhabitants, located in its city;
  * research organisations from the ROR registry dumps (CC0), with their relationships;
  * the CORDIS Horizon 2020 collaboration graph (CC BY 4.0) for the societal-challenge programme parts
    (SC1-SC7: health, food, energy, transport, climate, societies, security) and for every project of the
    knowledge sets below: projects, participating organisations (ids, types, countries), partner_in relations
    with roles, contributions and listing order;
  * knowledge (../shared/data/knowledge, each through its registered source, as a user's files would be):
    2,701 CORDIS H2020 projects with titles and objectives (two exports merged by grant id, joined to the
    graph by rcn), 629 EU Funding & Tenders call topics and 191 Climate-ADAPT funding programmes as
    opportunities, 86 Commission news items;
  * the join: the graph's PIC-only organisations named from the exports' coordinator and participant lists
    (``Hub.join_cordis``), projects known by number only described by programme, years and partners;
  * the 5 pathways and 17 SDGs with 169 targets (built in, not in the pack);
  * the SDG benchmark's dev snippets (OSDG texts, CC BY 4.0) as report excerpts - texts only, no labels.

The OpenAlex API fixtures (a physics paper, bibliometrics authors) are off-topic here: they stay in the tests.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citybridge.enrich.gazetteer import place_records  # noqa: E402
from citybridge.hub import Hub  # noqa: E402
from citybridge.model import Document, Organization, Provenance, Relation, derive_id  # noqa: E402
from citybridge.settings import Settings  # noqa: E402

SOCIETAL = {"SC1", "SC2", "SC3", "SC4", "SC5", "SC6", "SC7"}
MIN_POPULATION = 100_000


def local_governments(cities_csv: Path) -> tuple[list[Organization], list[Relation]]:
    orgs, rels = [], []
    with cities_csv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                pop = int(float(row["population"] or 0))
            except ValueError:
                continue
            if pop < MIN_POPULATION:
                continue
            place_id = derive_id("place", f"simplemaps:{row['id']}")
            org_id = derive_id("organization", f"local-government:simplemaps:{row['id']}")
            orgs.append(Organization(
                id=org_id, name=f"{row['city']} city government", org_type="local_government",
                city=row["city"], region=row["admin_name"] or None, country=row["iso2"] or None,
                lat=float(row["lat"]), lon=float(row["lng"]),
                description=f"Local government of {row['city']}, {row['country']} "
                            f"(population {pop:,}).",
                attributes={"population": pop, "demo": "one local government per city of 100k+"},
                provenance=[Provenance(source="simplemaps-worldcities", record_id=row["id"],
                                       licence="CC-BY-4.0", url="https://simplemaps.com/data/world-cities")],
            ))
            rels.append(Relation(type="located_in", source=org_id, target=place_id,
                                 provenance=[Provenance(source="simplemaps-worldcities", record_id=row["id"])]))
    return orgs, rels


def sdg_snippets(path: Path) -> list[Document]:
    seen: dict[str, Document] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["text"].strip()
            if text in seen:
                continue
            first = text.split(". ")[0]
            name = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "..."
            seen[text] = Document(
                id=derive_id("document", f"osdg:{row['id']}"), name=name, description=text, doc_type="report",
                external_ids={"osdg": row["id"]},
                attributes={"note": "report excerpt from the OSDG Community Dataset (via the SDG "
                                    "Classification Expert Group benchmark); labels not included"},
                provenance=[Provenance(source="osdg-community-dataset", record_id=row["id"], licence="CC-BY-4.0")],
            )
    return list(seen.values())


def knowledge_rcns(shared: Path) -> set[str]:
    """Record numbers of the projects the knowledge exports describe (so their graph role ships too)."""
    rcns: set[str] = set()
    for path in sorted((shared / "knowledge").glob("cordis-*/projects.csv")):
        with path.open(encoding="utf-8-sig") as fh:
            rcns |= {row["rcn"].strip() for row in csv.DictReader(fh) if (row.get("rcn") or "").strip()}
    return rcns


def filtered_cordis(shared: Path, tmp: Path) -> Path:
    parts: dict[str, set[str]] = {}
    with gzip.open(shared / "cordis" / "programme_parts.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            parts.setdefault(row["rcn"], set()).add(row["programme_part"])
    keep = {rcn for rcn, p in parts.items() if p & SOCIETAL} | knowledge_rcns(shared)
    out = tmp / "cordis"
    out.mkdir()
    with gzip.open(shared / "cordis" / "h2020.csv.gz", "rt", encoding="utf-8") as src, \
            gzip.open(out / "h2020.csv.gz", "wt", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if row["rcn"] in keep:
                writer.writerow(row)
    shutil.copy(shared / "cordis" / "programme_parts.csv.gz", out / "programme_parts.csv.gz")
    return out / "h2020.csv.gz"


def pic_counts(hub: Hub) -> dict[str, int]:
    """CORDIS participants (organisations with a PIC): how many, named, holding a ROR id."""
    from citybridge.resolve.merge import PLACEHOLDER

    out = {"pic_organisations": 0, "named": 0, "with_ror": 0}
    for body in hub.store.iter_record_dicts("organization"):
        ids = body.get("external_ids") or {}
        if "pic" in ids:
            out["pic_organisations"] += 1
            out["named"] += not PLACEHOLDER.match(body["name"])
            out["with_ror"] += "ror" in ids
    return out


def resolve_named(hub: Hub) -> dict[str, object]:
    """The named CORDIS organisations (and the rest without a ROR id) resolved to ROR records by the entity-
    resolution matchers: merges above the auto-merge threshold are applied (the ROR record survives, with the
    PIC, the CORDIS name as an alias and the participation relations); those in review are left apart. Then the
    projects known by number only are described again, so their partners carry the resolved names."""
    before = pic_counts(hub)
    report = hub.resolve("organization", apply=True, changed_by="demo:resolve")
    after = pic_counts(hub)
    described = hub.describe_id_only_projects()
    return {"before": before, "after": after, "gained_ror": after["with_ror"] - before["with_ror"],
            "counts": report["kinds"].get("organization"), "applied": len(report["applied"]),
            "left_for_review": len(report["queued"]), "described_again": described["projects_described"]}


def write_pack(hub: Hub, out: Path) -> dict[str, int]:
    """Export the hub's records (but the built-in themes) and relations into numbered pack files."""
    files = {
        "place": "10-places.jsonl.gz", "organization": "20-organizations.jsonl.gz",
        "person": "30-people.jsonl.gz", "project": "40-projects.jsonl.gz",
        "document": "50-documents.jsonl.gz", "opportunity": "60-opportunities.jsonl.gz",
        "relation": "90-relations.jsonl.gz",
    }
    counts: dict[str, int] = {}
    for kind, name in files.items():
        buf = io.StringIO()
        n = hub.export(buf, "jsonl", kind=kind)
        if n == 0:
            continue
        # split on newlines only: str.splitlines() also breaks at U+2028 and other separators inside texts
        lines = [ln for ln in buf.getvalue().split("\n") if ln]
        # derived enrichment relations are not shipped: `citybridge enrich` recomputes them
        lines = [ln for ln in lines if '"role":"enrich:' not in ln.replace(" ", "")]
        with gzip.GzipFile(out / name, "wb", compresslevel=9, mtime=0) as fh:
            fh.write(("\n".join(lines) + "\n").encode("utf-8"))
        counts[name] = len(lines)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "demo")
    args = ap.parse_args()
    shared: Path = args.shared
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.jsonl.gz"):
        old.unlink()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        hub = Hub(Settings(data_dir=tmp / "data", _env_file=None))
        hub.init()

        def step(label: str, report: object) -> None:
            counts = report.counts()  # type: ignore[attr-defined]
            print(f"{label:<28} {counts}  ({time.time() - t0:.0f}s)", flush=True)

        step("places", hub.upsert(list(place_records()), changed_by="demo:places"))
        orgs, rels = local_governments(shared / "cities" / "worldcities.csv")
        step("local governments", hub.upsert(orgs, changed_by="demo:local-governments"))
        step("  located_in", hub.relate(rels, changed_by="demo:local-governments"))
        for dump in ("ror-v2-records.json.gz", "ror-v1-records.json.gz"):
            step(f"ror {dump}", hub.ror(shared / "ror" / dump))
        step("cordis h2020 graph", hub.cordis([filtered_cordis(shared, tmp)]))
        know = shared / "knowledge"
        # the cleantech export first: it has the rcn, so the energy-communities rows join those records by grant id
        for name in ("cordis-h2020-cleantech", "cordis-h2020-energy-communities"):
            step(name, hub.cordis([know / name / "projects.csv"]))
        step("eu calls", hub.ingest([know / "eu-calls" / "calls.jsonl.gz"], source="eu-calls"))
        step("climate-adapt funding", hub.ingest([know / "eu-adaptation-funding" / "mission_funding.csv"],
                                                 source="climate-adapt-funding"))
        step("ec news", hub.ingest([know / "ec-news"], source="ec-news"))
        step("sdg snippets", hub.upsert(sdg_snippets(shared / "sdg" / "benchmark-dev.csv"), changed_by="demo:osdg"))
        joined = hub.join_cordis(progress=lambda msg: print(f"  {msg}", flush=True))
        print(f"{'cordis join':<28} {json.dumps(joined)}  ({time.time() - t0:.0f}s)", flush=True)
        resolved = resolve_named(hub)
        print(f"{'ror resolution':<28} {json.dumps(resolved)}  ({time.time() - t0:.0f}s)", flush=True)
        counts = write_pack(hub, args.out)
        hub.close()
    size = sum(f.stat().st_size for f in args.out.glob("*.jsonl.gz"))
    print(json.dumps(counts, indent=1))
    print(f"pack: {size / 2**20:.1f} MB in {args.out} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
