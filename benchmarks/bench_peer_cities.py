"""Speed of peer-city queries over the whole shipped gazetteer (44,690 cities) in a temp-dir SQLite store.

    PYTHONPATH=src python benchmarks/bench_peer_cities.py [--queries 200] [--json]

Prints the time to store the cities (setup, not part of a query), to build the city index (first query after
a change to the store) and per query once the index is cached (includes the store fingerprint check).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from citybridge.enrich.gazetteer import place_records
from citybridge.hub import Hub
from citybridge.settings import Settings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Settings(data_dir=Path(tmp) / "data", _env_file=None))
        hub.init()
        cities = [p for p in place_records() if p.place_type.value == "city"]
        t0 = time.perf_counter()
        hub.upsert(cities)
        store_s = time.perf_counter() - t0
        ids = [c.id for c in cities]
        t0 = time.perf_counter()
        first = hub.peer_cities(ids[0])
        build_s = time.perf_counter() - t0
        sample = random.Random(7).sample(ids, min(args.queries, len(ids)))
        t0 = time.perf_counter()
        for cid in sample:
            hub.peer_cities(cid, limit=10)
        per_query_ms = 1000 * (time.perf_counter() - t0) / len(sample)
        hub.close()
    out = {"cities": len(cities), "store_s": round(store_s, 2), "index_build_s": round(build_s, 2),
           "query_ms": round(per_query_ms, 2), "queries": len(sample), "example": [p.name for p in first[:5]]}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['cities']:,} cities; storing them {out['store_s']} s (setup)")
        print(f"first query (builds the index): {out['index_build_s']} s; then {out['query_ms']} ms per query "
              f"({out['queries']} random cities, top 10)")
        print(f"peers of {cities[0].name}: {', '.join(out['example'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
