"""Import benchmark: organisations + relations from CSV into the embedded SQLite store.

Prints records/s and peak memory for growing file sizes, so that "memory flat in the file size"
can be read off the table. Not a test: nothing is asserted.

    python benchmarks/bench_import.py                 # 100k organisations + 300k relations
    python benchmarks/bench_import.py --orgs 20000    # smaller run
    python benchmarks/bench_import.py --orgs 20000 --steps 1 --postgres-url $CITYBRIDGE_TEST_POSTGRES_URL --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from citybridge.hub import Hub  # noqa: E402
from citybridge.settings import Settings  # noqa: E402

TYPES = ["university", "research_institute", "ngo", "company", "local_government", "funder", "other"]
COUNTRIES = ["BR", "PT", "DE", "FR", "IN", "KE", "ZA", "US", "MX", "ID", "JP", "ES", "IT", "NL", "CO"]
WORDS = [
    "urban",
    "climate",
    "institute",
    "resilience",
    "centre",
    "university",
    "city",
    "council",
    "energy",
    "water",
    "heat",
    "mobility",
    "green",
    "research",
    "foundation",
    "network",
    "agency",
    "planning",
    "health",
    "housing",
    "waste",
    "circular",
    "nature",
]


def make_files(folder: Path, n_orgs: int, n_rels: int, seed: int = 7) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    orgs = folder / f"organizations-{n_orgs}.csv"
    rels = folder / f"relations-{n_rels}.csv"
    with orgs.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "name", "org_type", "country", "ror", "city", "description"])
        for i in range(n_orgs):
            name = " ".join(rnd.choice(WORDS).title() for _ in range(3)) + f" {i}"
            w.writerow(
                [
                    "organization",
                    name,
                    rnd.choice(TYPES),
                    rnd.choice(COUNTRIES),
                    f"0{i:08x}",
                    f"City {rnd.randrange(5000)}",
                    " ".join(rnd.choice(WORDS) for _ in range(25)),
                ]
            )
    with rels.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "type", "source", "target", "role"])
        seen = set()
        while len(seen) < n_rels:
            a, b = rnd.randrange(n_orgs), rnd.randrange(n_orgs)
            rtype = rnd.choice(["member_of", "related_to", "affiliated_with"])
            if a == b or (a, b, rtype) in seen:
                continue
            seen.add((a, b, rtype))
            w.writerow(["relation", rtype, f"ror:0{a:08x}", f"ror:0{b:08x}", ""])
    return orgs, rels


class PeakRss:
    """Samples this process's resident set size every 20 ms (the OS high-water mark never goes down)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.proc.memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


# Measured on this machine before the columnar path (main at 111742b, SQLite): this same script, two runs
# interleaved with the columnar branch's at load average ~12 (means; wall figures depend on the load, compare the
# per-CPU-second one). Before the first fast path (789e9d3): 10,536 records per CPU-second.
PREVIOUS = {"orgs_per_s": 2_908, "rels_per_s": 3_523, "all_per_s": 3_342, "reimport_per_s": 2_540,
            "all_per_cpu_s": 12_432}


def _timed(fn: Any) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def run(n_orgs: int, n_rels: int, workdir: Path, database_url: str | None = None) -> dict[str, float]:
    orgs, rels = make_files(workdir, n_orgs, n_rels)
    data = workdir / f"data-{n_orgs}"
    settings: dict[str, Any] = {"data_dir": data, "import_batch": 5000, "_env_file": None}
    if database_url:
        settings["database_url"] = database_url
    hub = Hub(Settings(**settings))
    hub.init()
    base_rss = PeakRss().proc.memory_info().rss
    with PeakRss() as mem:
        rep_o, wall_o, cpu_o = _timed(lambda: hub.import_files([orgs]))
        rep_r, wall_r, cpu_r = _timed(lambda: hub.import_files([rels]))
    with PeakRss() as mem2:
        rep_again, wall_a, cpu_a = _timed(lambda: hub.import_files([orgs]))
    hub.close()
    if rep_o.rejected or rep_r.rejected:
        raise SystemExit(f"rejections: {(rep_o.rejections[:3], rep_r.rejections[:3])}")
    if rep_again.unchanged != n_orgs:
        raise SystemExit(f"re-import changed records: {rep_again.counts()}")
    total = n_orgs + n_rels
    return {
        "orgs": n_orgs,
        "rels": n_rels,
        "orgs_per_s": n_orgs / wall_o,
        "rels_per_s": n_rels / wall_r,
        "all_per_s": total / (wall_o + wall_r),
        "orgs_per_cpu_s": n_orgs / cpu_o,
        "rels_per_cpu_s": n_rels / cpu_r,
        "all_per_cpu_s": total / (cpu_o + cpu_r),
        "reimport_per_s": n_orgs / wall_a,
        "reimport_per_cpu_s": n_orgs / cpu_a,
        "peak_rss_mb": mem.peak / 2**20,
        "rss_growth_mb": (mem.peak - base_rss) / 2**20,
        "reimport_peak_rss_mb": mem2.peak / 2**20,
        "db_mb": sum(f.stat().st_size for f in data.glob("citybridge.db*")) / 2**20,
        "csv_mb": (orgs.stat().st_size + rels.stat().st_size) / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orgs", type=int, default=100_000)
    ap.add_argument("--rels-per-org", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="also run at 1/4 and 1/2 size to show memory scaling")
    ap.add_argument("--postgres-url", default=None,
                    help="also run on a temporary database of this PostgreSQL server (COPY bulk load), "
                         "e.g. $CITYBRIDGE_TEST_POSTGRES_URL")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON on stdout (logs on stderr)")
    args = ap.parse_args()
    sizes = [args.orgs // 4, args.orgs // 2, args.orgs][-args.steps :]
    log = sys.stderr if args.json else sys.stdout
    print(
        f"citybridge import benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
        f"single process; load average {os.getloadavg()[0]:.1f}: the machine may be shared, so compare the "
        "per-CPU-second figures)", file=log
    )
    header = (
        f"{'backend':>10} {'orgs':>8} {'rels':>8} {'orgs/s':>8} {'rels/s':>8} {'all rec/s':>9} {'all/CPU-s':>9} "
        f"{'re-import/s':>11} {'peak RSS MB':>11} {'RSS growth':>10} {'DB MB':>7}"
    )
    print(header, file=log)
    print(f"{'previous':>10} {20_000:>8,} {60_000:>8,} {PREVIOUS['orgs_per_s']:>8,} {PREVIOUS['rels_per_s']:>8,} "
          f"{PREVIOUS['all_per_s']:>9,} {PREVIOUS['all_per_cpu_s']:>9,} {PREVIOUS['reimport_per_s']:>11,}", file=log)
    results = []
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    with tempfile.TemporaryDirectory() as tmp:
        for backend, server in backends:
            for n in sizes:
                if server:
                    from citybridge.store.engine import temporary_database

                    with temporary_database(server, "cbbench_") as url:
                        r = run(n, n * args.rels_per_org, Path(tmp), url)
                else:
                    r = run(n, n * args.rels_per_org, Path(tmp))
                r["backend"] = backend  # type: ignore[assignment]
                results.append(r)
                print(
                    f"{backend:>10} {r['orgs']:>8,} {r['rels']:>8,} {r['orgs_per_s']:>8,.0f} "
                    f"{r['rels_per_s']:>8,.0f} {r['all_per_s']:>9,.0f} {r['all_per_cpu_s']:>9,.0f} "
                    f"{r['reimport_per_s']:>11,.0f} {r['peak_rss_mb']:>11.0f} {r['rss_growth_mb']:>10.0f} "
                    f"{r['db_mb'] if backend == 'sqlite' else float('nan'):>7.0f}",
                    flush=True, file=log,
                )
    print(
        f"max RSS of the whole run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        "target >= 20,000 records/s on one core, memory flat in the file size", file=log
    )
    if args.json:
        print(json.dumps({"previous": PREVIOUS, "runs": results, "loadavg": os.getloadavg()[0]}, indent=1))


if __name__ == "__main__":
    main()
