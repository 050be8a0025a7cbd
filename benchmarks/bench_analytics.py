"""Time all analytics on the full CORDIS Horizon 2020 graph (35,871 organisations, 31,451 projects).

"All metrics" = the whole network's analysis (weighted graph, degree, strength, PageRank, betweenness
(pivot estimate above 1,000 nodes), Leiden communities, excellence, brokers, pioneers with their yearly
graphs, the drawable subgraph) plus the same analysis for every programme part (17 themes), the trends of
every theme and the gap maps by region and by country. Reading the CSV files into the participation table is
timed apart. Then the results are written as versioned cache artifacts and read back (what ``Hub`` does on
the next call while the store is unchanged), and a changed fingerprint is shown to miss.

Wall and CPU seconds are printed (CPU = process time incl. children: the machine may be shared).

    .venv/bin/python benchmarks/bench_analytics.py [--data ../shared/data/cordis] [--json]

``--json`` prints ``{"seconds": <all metrics, wall>, ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from citybridge.analyze.activity import activities_from_cordis
from citybridge.analyze.cache import AnalyticsCache
from citybridge.analyze.excellence import analyse
from citybridge.analyze.gaps import gap_map
from citybridge.analyze.trends import trends

ROOT = Path(__file__).resolve().parents[1]
TARGET = 30.0


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cordis",
                    help="folder with h2020.csv.gz and programme_parts.csv.gz")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()
    if not (args.data / "h2020.csv.gz").exists():
        sys.exit(f"error: {args.data / 'h2020.csv.gz'} not found (--data names the CORDIS folder)")
    w0, c0 = time.perf_counter(), cpu()
    acts = activities_from_cordis(args.data)
    load = (time.perf_counter() - w0, cpu() - c0)
    log(f"read {acts.n_agents:,} organisations, {acts.n_acts:,} projects, {len(acts.part_act):,} participations: "
        f"{load[0]:.1f} s wall, {load[1]:.1f} s CPU")
    w0, c0 = time.perf_counter(), cpu()
    steps: dict[str, float] = {}
    results: dict[str, dict] = {}
    t = time.perf_counter()
    results["network"] = analyse(acts, top=50)
    steps["whole network"] = time.perf_counter() - t
    themes = sorted(acts.theme_index())
    t = time.perf_counter()
    for th in themes:
        results[f"network:{th}"] = analyse(acts, theme=th, top=50)
    steps[f"{len(themes)} themes"] = time.perf_counter() - t
    t = time.perf_counter()
    results["trends"] = trends(acts, top=500)
    results["gaps:region"] = gap_map(acts, by="region", top=50)
    results["gaps:country"] = gap_map(acts, by="country", top=50)
    steps["trends + gaps"] = time.perf_counter() - t
    seconds, cpu_s = time.perf_counter() - w0, cpu() - c0
    for k, v in steps.items():
        log(f"  {k:>16}: {v:.1f} s wall")
    net = results["network"]
    log(f"all metrics: {seconds:.1f} s wall, {cpu_s:.1f} s CPU (target < {TARGET:.0f} s on 2 cores); "
        f"{net['nodes']:,} nodes, {net['edges']:,} ties, {net['n_communities']:,} communities, "
        f"betweenness {net['method']['betweenness']}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = AnalyticsCache(Path(tmp))
        t = time.perf_counter()
        for name, res in results.items():
            cache.save({"fn": "bench", "name": name}, "fp1", res)
        write = time.perf_counter() - t
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        t = time.perf_counter()
        hits = sum(cache.load({"fn": "bench", "name": name}, "fp1") is not None for name in results)
        read = time.perf_counter() - t
        stale = sum(cache.load({"fn": "bench", "name": name}, "fp2") is not None for name in results)
    log(f"cache: {len(results)} artifacts, {size / 1e6:.1f} MB written in {write:.2f} s, read back in {read:.2f} s "
        f"({hits} hits); after a store change (new fingerprint): {stale} hits, recomputed")
    out = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu_s, 2), "load_seconds": round(load[0], 2),
           "steps": {k: round(v, 2) for k, v in steps.items()}, "target_seconds": TARGET,
           "nodes": net["nodes"], "edges": net["edges"], "themes": len(themes),
           "cache": {"artifacts": len(results), "bytes": size, "write_seconds": round(write, 3),
                     "read_seconds": round(read, 3), "stale_hits": stale},
           "cpus": os.cpu_count(), "machine": "shared"}
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
