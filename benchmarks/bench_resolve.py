"""Full-store organisation resolution on the demo pack: time, memory, merges proposed and applied, and how
many CORDIS participants gained a ROR id.

    .venv/bin/python benchmarks/bench_resolve.py [--data-dir DIR] [--kind organization] [--json]

Without ``--data-dir`` the demo pack (ROR + CORDIS + OpenAlex + cities, ``data/demo``) is loaded into a
temporary folder first (not timed); with it, the store is copied to a temporary folder so the original is
left as it was. Then ``Hub.resolve(kind, apply=True)`` runs once, timed, with the peak resident memory of the
process. The demo's CORDIS organisations are PIC-only ("Organisation PIC ..."); placeholders are never
matched, so they gain ROR ids only once the knowledge pack names them. ``--cordis-names FILE`` does that
naming here for the coordinators of the projects in a CORDIS project table with ``rcn``, ``coordinator`` and
``coordinatorCountry`` columns (e.g. ../shared/data/knowledge/cordis-h2020-cleantech/projects.csv): each
project's coordinating participant (from the stored partner_in relations) takes that name before resolving,
as the knowledge pack will. Never asserted on; a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cordis_with_ror(hub: Any) -> tuple[int, int]:
    """(CORDIS participant organisations, of which holding a ROR id)."""
    total = with_ror = 0
    for body in hub.store.iter_record_dicts("organization"):
        ids = body.get("external_ids") or {}
        if "pic" in ids:
            total += 1
            with_ror += "ror" in ids
    return total, with_ror


def name_coordinators(hub: Any, path: Path) -> int:
    """Give PIC-only CORDIS coordinators the names a CORDIS project table prints for them."""
    import csv

    from citybridge.errors import NotFound
    from citybridge.resolve.merge import PLACEHOLDER

    renamed = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            name, rcn = (row.get("coordinator") or "").strip(), (row.get("rcn") or "").strip()
            if not name or not rcn:
                continue
            try:
                project = hub.get(f"cordis:{rcn}")
            except NotFound:
                continue
            for rel in hub.store.relations_of(project.id, rel_type="partner_in"):
                if rel.role != "coordinator":
                    continue
                org = hub.store.get(rel.source)
                if PLACEHOLDER.match(org.name):
                    renamed.append(org.model_copy(update={"name": name}))
    hub.upsert(renamed, changed_by="bench:cordis-names")
    return len(renamed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, help="a loaded data folder (copied, never changed)")
    ap.add_argument("--kind", default="organization")
    ap.add_argument("--cordis-names", type=Path, help="CORDIS project table naming the coordinators")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    log = sys.stderr
    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-resolve-"))
    try:
        data = tmp / "data"
        if args.data_dir:
            shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("index"))
            hub = Hub(Settings(data_dir=data, _env_file=None))
        else:
            print("loading the demo pack (not timed) ...", file=log)
            hub = Hub(Settings(data_dir=data, _env_file=None))
            hub.load_demo()
        named = name_coordinators(hub, args.cordis_names) if args.cordis_names else 0
        stats = hub.store.stats()
        cordis_before = _cordis_with_ror(hub)
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        t_index = time.perf_counter()
        hub.org_matcher()
        index_s = time.perf_counter() - t_index
        report = hub.resolve(args.kind, apply=True, changed_by="bench")
        seconds = time.perf_counter() - t0
        cordis_after = _cordis_with_ror(hub)
        kinds = report["kinds"]
        out = {
            "records": stats["records"], "organizations": stats["by_kind"].get("organization", 0),
            "kind": args.kind, "seconds": round(seconds, 2), "index_build_s": round(index_s, 2),
            "peak_rss_mb": round(_rss_mb(), 1), "rss_before_mb": round(rss0, 1),
            "proposed": sum(k["proposed"] for k in kinds.values()), "applied": len(report["applied"]),
            "queued_for_review": len(report["queued"]), "counts": kinds, "thresholds": report["thresholds"],
            "cordis_participants": cordis_after[0], "cordis_with_ror_before": cordis_before[1],
            "cordis_with_ror_after": cordis_after[1],
            "cordis_gained_ror": cordis_after[1] - cordis_before[1], "cordis_named": named,
            "load_average": list(os.getloadavg()),
        }
        hub.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['records']:,} records ({out['organizations']:,} organisations); resolve --kind {args.kind} --apply "
          f"in {out['seconds']} s (index {out['index_build_s']} s), peak RSS {out['peak_rss_mb']} MB")
    print(f"  proposed {out['proposed']:,}, applied {out['applied']:,}, queued for review "
          f"{out['queued_for_review']:,}")
    for kind, counts in kinds.items():
        print(f"  {kind}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if named:
        print(f"  {named:,} CORDIS coordinators named from {args.cordis_names.name} before resolving")
    print(f"  CORDIS participants: {out['cordis_participants']:,}; with a ROR id before "
          f"{out['cordis_with_ror_before']:,}, after {out['cordis_with_ror_after']:,} "
          f"(gained {out['cordis_gained_ror']:,})")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
