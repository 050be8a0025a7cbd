"""OpenAlex snapshot intake: works/s and peak memory over a generated 200k-work gzipped JSONL snapshot.

    PYTHONPATH=src python benchmarks/bench_openalex.py [--works 200000] [--import-works 20000] [--json]

The snapshot is generated from the shape of the real sample work (shared/data/openalex/W2741809807.json):
ids, DOIs, titles, authors (drawn from a pool of 50k people with ORCIDs and ROR-carrying institutions)
and cited works vary. Phase 1 streams the whole snapshot through the source (parse + map to records and
relations); phase 2 imports the first ``--import-works`` works into a fresh SQLite store. Measured on one
core, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ror import PeakRss  # noqa: E402

from citybridge.ingest import ExactIdResolver, Importer  # noqa: E402
from citybridge.ingest.openalex import OpenAlexSnapshotSource  # noqa: E402
from citybridge.store import Store  # noqa: E402

SAMPLE = [
    Path(__file__).resolve().parents[2] / "shared/data/openalex/W2741809807.json",
    Path("/work/shared/data/openalex/W2741809807.json"),
]
KEEP = (
    "id",
    "doi",
    "title",
    "display_name",
    "publication_year",
    "publication_date",
    "ids",
    "language",
    "primary_location",
    "type",
    "open_access",
    "authorships",
    "cited_by_count",
    "primary_topic",
    "topics",
    "keywords",
    "sustainable_development_goals",
    "referenced_works",
    "abstract_inverted_index",
)


def generate(path: Path, n: int, seed: int = 7) -> None:
    base = json.loads(next(p for p in SAMPLE if p.exists()).read_text())
    base = {k: base[k] for k in KEEP if k in base}
    rng = random.Random(seed)
    authorship = base["authorships"][0]
    words = list(base["abstract_inverted_index"])
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(n):
            w = dict(base)
            wid = f"https://openalex.org/W{7_000_000_000 + i}"
            w["id"] = wid
            w["doi"] = f"https://doi.org/10.5555/bench.{i}"
            w["ids"] = {"openalex": wid, "doi": w["doi"]}
            w["title"] = w["display_name"] = f"{' '.join(rng.sample(words, 8))} ({i})"
            auths = []
            for pos in range(rng.randint(1, 6)):
                a = rng.randrange(50_000)
                inst = dict(
                    authorship["institutions"][0],
                    id=f"https://openalex.org/I{a % 3000}",
                    ror=f"https://ror.org/0bench{a % 3000:04d}",
                    display_name=f"Institute {a % 3000}",
                )
                auths.append(
                    dict(
                        authorship,
                        author_position="first" if pos == 0 else "middle",
                        author={
                            "id": f"https://openalex.org/A{5_000_000_000 + a}",
                            "display_name": f"Author {a}",
                            "orcid": f"https://orcid.org/0000-0002-{a // 10000:04d}-{a % 10000:04d}",
                        },
                        institutions=[inst],
                    )
                )
            w["authorships"] = auths
            w["referenced_works"] = [
                f"https://openalex.org/W{7_000_000_000 + rng.randrange(n)}" for _ in range(rng.randint(0, 12))
            ]
            fh.write(json.dumps(w, separators=(",", ":")) + "\n")


# Measured before the fast paths (commit 789e9d3; the figure): 20,000 works imported into SQLite;
# and per CPU-second on main before the openalexfast branch (111742b, 10,000 works, load average ~10).
PREVIOUS = {"import_works_per_s": 142, "import_works_per_cpu_s": 387}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--works", type=int, default=200_000)
    ap.add_argument("--import-works", type=int, default=20_000)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON on stdout (logs on stderr)")
    args = ap.parse_args()
    log = sys.stderr if args.json else sys.stdout
    out: dict[str, object] = {"previous": PREVIOUS, "loadavg": os.getloadavg()[0]}
    print(f"load average {os.getloadavg()[0]:.1f} (the machine may be shared: compare per-CPU-second figures)",
          file=log)
    with tempfile.TemporaryDirectory() as tmp:
        snap = Path(tmp) / "works.jsonl.gz"
        t0 = time.perf_counter()
        generate(snap, args.works)
        print(
            f"generated {args.works:,} works ({snap.stat().st_size / 2**20:.0f} MiB gz) "
            f"in {time.perf_counter() - t0:.0f} s", file=log
        )
        with PeakRss() as mem:
            t0, c0 = time.perf_counter(), time.process_time()
            works = items = 0
            samples = []
            for it in OpenAlexSnapshotSource(snap).items():
                items += 1
                if it.record is not None and it.record.kind.value == "document":
                    works += 1
                    if works % 50_000 == 0:
                        samples.append(f"{mem.proc.memory_info().rss / 2**20:.0f}")
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        base, peak = mem.mib()
        out.update(stream_works=works, stream_works_per_s=works / dt, stream_works_per_cpu_s=works / cpu,
                   stream_peak_rss_mb=peak)
        print(
            f"stream {works:,} works ({items:,} items) in {dt:.1f} s wall = {works / dt:,.0f} works/s "
            f"({cpu:.1f} s CPU = {works / cpu:,.0f} works per CPU-second); "
            f"RSS {base:.0f} -> peak {peak:.0f} MiB (every 50k works: {', '.join(samples)} MiB)", file=log
        )
        if args.import_works:
            part = Path(tmp) / "part.jsonl.gz"
            with gzip.open(snap, "rt") as fin, gzip.open(part, "wt", compresslevel=1) as fout:
                for i, line in enumerate(fin):
                    if i >= args.import_works:
                        break
                    fout.write(line)
            store = Store.open(f"sqlite:///{tmp}/bench.db")
            with PeakRss() as mem:
                t0, c0 = time.perf_counter(), time.process_time()
                report = Importer(store, resolver=ExactIdResolver()).run(OpenAlexSnapshotSource(part))
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            base, peak = mem.mib()
            stats = store.stats()
            store.close()
            out.update(import_works=args.import_works, import_works_per_s=args.import_works / dt,
                       import_works_per_cpu_s=args.import_works / cpu, records=stats["records"],
                       relations=stats["relations"], unresolved=report.unresolved, import_peak_rss_mb=peak)
            print(
                f"import {args.import_works:,} works into SQLite in {dt:.1f} s = "
                f"{args.import_works / dt:,.0f} works/s wall, {args.import_works / cpu:,.0f} works per CPU-second "
                f"(previous: {PREVIOUS['import_works_per_s']:,} works/s, "
                f"{PREVIOUS['import_works_per_cpu_s']:,} per CPU-second); {stats['records']:,} records, "
                f"{stats['relations']:,} relations, {report.unresolved:,} citations to works outside the "
                f"part; RSS {base:.0f} -> peak {peak:.0f} MiB", file=log
            )
    if args.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
