"""The README's main job on each backend, step by step: demo import, enrich, reindex, a search, a link call.

    .venv/bin/python benchmarks/bench_backends.py [--data data/demo] [--postgres-url URL] [--json]
        [--backends sqlite,postgresql] [--workers N]
    .venv/bin/python benchmarks/bench_backends.py --guards [--json]   # what SQLite's guards cost per row

Each backend gets a fresh store: SQLite in a temp folder, PostgreSQL in a new database created on the server of
``--postgres-url`` (default: CITYBRIDGE_TEST_POSTGRES_URL; any database there that the user may connect to, e.g.
``postgresql+psycopg://postgres@127.0.0.1:55432/postgres``) and dropped at the end. Each step runs on a new
Hub, as a new ``citybridge`` command would: *search* and *link* are the first call (loading the indexes and
models it needs) and then the median of warm calls. Nothing is asserted; ``--json`` prints the figures alone on
stdout (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from citybridge.hub import Hub  # noqa: E402
from citybridge.settings import Settings  # noqa: E402
from citybridge.store.engine import temporary_database  # noqa: E402

QUERIES = ["urban heat island", "flood resilience", "renewable energy communities", "air quality traffic",
           "affordable housing", "water scarcity drought", "circular economy waste", "public transport"]
CHALLENGES = [("reduce urban heat in dense neighbourhoods", "Lisbon"),
              ("flood resilience for coastal cities with nature-based solutions", None),
              ("affordable housing and informal settlements upgrading", "Nairobi"),
              ("energy efficiency retrofits of social housing", None),
              ("drought and water scarcity in growing cities", "Cape Town")]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextmanager
def store_for(backend: str, admin_url: str | None) -> Iterator[str | None]:
    """None for SQLite (in the data folder), else the URL of a new PostgreSQL database, dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    if not admin_url:
        raise SystemExit("PostgreSQL needs --postgres-url or CITYBRIDGE_TEST_POSTGRES_URL")
    with temporary_database(admin_url, prefix="cbbench_") as url:
        yield url


def timed(settings: Settings, step: Callable[[Hub], Any]) -> tuple[float, Any]:
    """Seconds for ``step`` on a new Hub (opening it included), and what it returned."""
    t0 = time.perf_counter()
    with Hub(settings) as hub:
        out = step(hub)
    return time.perf_counter() - t0, out


def first_and_warm(settings: Settings, calls: list[Callable[[Hub], Any]]) -> dict[str, float]:
    """Seconds of the first call on a new Hub, and the median of the others on the same Hub."""
    with Hub(settings) as hub:
        t0 = time.perf_counter()
        calls[0](hub)
        first = time.perf_counter() - t0
        warm = []
        for call in calls[1:]:
            t = time.perf_counter()
            call(hub)
            warm.append(time.perf_counter() - t)
    return {"first_s": round(first, 3), "warm_median_ms": round(statistics.median(warm) * 1000, 1)}


def link(hub: Hub, text: str, place: str | None) -> Any:
    from citybridge.errors import NotFound

    try:
        return hub.link(text, place=place)
    except NotFound:  # a smaller pack (--data) may not hold the focus city
        return hub.link(text)


def run_backend(backend: str, data: Path, admin_url: str | None, workers: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"cb-bench-{backend}-") as tmp, store_for(backend, admin_url) as url:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url, demo_dir=data, workers=workers,
                            _env_file=None)
        out: dict[str, Any] = {"backend": backend}
        log(f"[{backend}] demo import ...")
        secs, report = timed(settings, lambda h: h.load_demo())
        out["demo_import_s"] = round(secs, 1)
        out["records_written"] = report.created + report.updated
        log(f"[{backend}] demo import {secs:.1f} s ({out['records_written']:,} records and relations); enrich ...")
        secs, report = timed(settings, lambda h: h.enrich())
        out["enrich_s"] = round(secs, 1)
        out["enriched_records"] = max(report.steps.values(), default=0)
        out["annotations"] = report.annotations
        log(f"[{backend}] enrich {secs:.1f} s ({out['enriched_records']:,} records); reindex ...")
        secs, report = timed(settings, lambda h: h.reindex())
        out["reindex_s"] = round(secs, 1)
        out["indexed"] = report["documents"]
        log(f"[{backend}] reindex {secs:.1f} s; search and link ...")
        out["search"] = first_and_warm(settings, [lambda h, q=q: h.search(q) for q in QUERIES + QUERIES])
        out["link"] = first_and_warm(settings, [lambda h, c=c: link(h, *c) for c in CHALLENGES * 2])
        with Hub(settings) as hub:
            out["top_search"] = [r["id"] for r in hub.search(QUERIES[0])["results"][:3]]
        log(f"[{backend}] search {out['search']}, link {out['link']}")
        return out


def guard_cost(rows: int = 100_000, repeats: int = 5) -> dict[str, float]:
    """Microseconds per inserted ``records`` row that SQLite's guard triggers add (store/guards.py): the same rows
    into an in-memory table with and without them, best of ``repeats``."""
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.schema import CreateTable

    from citybridge.store.guards import guard_triggers
    from citybridge.store.tables import metadata, records

    ddl = str(CreateTable(records).compile(create_engine("sqlite://")))
    guards = [sql for table, sql in guard_triggers(metadata).values() if table == "records"]
    data = json.dumps({"name": "x" * 60, "description": "y" * 800})
    params = [(f"org_{i:018d}", "organization", "university", f"University {i}", "PT", 2000, "public", None, data,
               "a" * 40, 1, "2020-01-01", "2020-01-01", "import:orgs.csv") for i in range(rows)]
    best: dict[str, float] = {}
    for _ in range(repeats):
        for label, triggers in (("without", []), ("with", guards)):
            conn = sqlite3.connect(":memory:")
            for sql in [ddl, *triggers]:
                conn.execute(sql)
            t0 = time.perf_counter()
            conn.executemany(f"INSERT INTO records VALUES ({', '.join('?' * 14)})", params)
            conn.commit()
            best[label] = min(best.get(label, 1e9), time.perf_counter() - t0)
            conn.close()
    return {"rows": rows, "without_us_per_row": round(best["without"] / rows * 1e6, 2),
            "with_us_per_row": round(best["with"] / rows * 1e6, 2),
            "added_us_per_row": round((best["with"] - best["without"]) / rows * 1e6, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "demo",
                    help="demo pack folder (*.jsonl.gz)")
    ap.add_argument("--postgres-url", default=os.environ.get("CITYBRIDGE_TEST_POSTGRES_URL"),
                    help="a PostgreSQL server to create the benchmark database on")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--workers", type=int, default=None, help="enrichment processes (default: cores)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    ap.add_argument("--guards", action="store_true", help="only measure what SQLite's guard triggers cost per row")
    args = ap.parse_args()
    if args.guards:
        cost = guard_cost()
        print(json.dumps(cost) if args.json else
              f"records rows into SQLite: {cost['without_us_per_row']} us without the guards, "
              f"{cost['with_us_per_row']} us with them (+{cost['added_us_per_row']} us per row)")
        return
    load = os.getloadavg()
    results = [run_backend(b.strip(), args.data, args.postgres_url, args.workers) for b in args.backends.split(",")]
    body = {"data": str(args.data), "cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()], "results": results}
    if args.json:
        print(json.dumps(body, indent=1))
        return
    print(f"main job on {args.data} ({os.cpu_count()} cpus, load average {load[0]:.1f} at start, "
          f"{body['load_average_at_end'][0]:.1f} at end)")
    print(f"{'backend':<11} {'demo s':>8} {'enrich s':>9} {'reindex s':>10} {'search 1st s':>13} "
          f"{'search ms':>10} {'link 1st s':>11} {'link ms':>8}")
    for r in results:
        print(f"{r['backend']:<11} {r['demo_import_s']:>8} {r['enrich_s']:>9} {r['reindex_s']:>10} "
              f"{r['search']['first_s']:>13} {r['search']['warm_median_ms']:>10} {r['link']['first_s']:>11} "
              f"{r['link']['warm_median_ms']:>8}")


if __name__ == "__main__":
    main()
