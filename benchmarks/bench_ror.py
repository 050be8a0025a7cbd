"""ROR dump intake: records/s and peak memory, for parsing alone and for a full import into SQLite.

    PYTHONPATH=src python benchmarks/bench_ror.py [DUMP ...] [--parse-only]

Defaults to the shared real dumps (ror-v2 13,503 records, ror-v1 37,867 records). Measured, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from citybridge.ingest import ExactIdResolver, Importer, RorSource
from citybridge.store import Store

DEFAULT = [Path(__file__).resolve().parents[1].parent / "shared/data/ror/ror-v2-records.json.gz",
           Path(__file__).resolve().parents[1].parent / "shared/data/ror/ror-v1-records.json.gz"]


class PeakRss:
    """Samples this process's resident memory every 20 ms; ``peak`` in MiB."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.base = self.proc.memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    def mib(self) -> tuple[float, float]:
        return self.base / 2**20, self.peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dumps", nargs="*", type=Path)
    ap.add_argument("--parse-only", action="store_true")
    args = ap.parse_args()
    dumps = args.dumps or [p if p.exists() else Path("/work/shared/data/ror") / p.name for p in DEFAULT]
    for dump in dumps:
        with PeakRss() as mem:
            t0 = time.perf_counter()
            n = sum(1 for it in RorSource(dump).items() if it.record is not None)
            dt = time.perf_counter() - t0
        base, peak = mem.mib()
        print(f"parse  {dump.name}: {n:,} records in {dt:.1f} s = {n / dt:,.0f} records/s; "
              f"RSS {base:.0f} -> peak {peak:.0f} MiB")
        if args.parse_only:
            continue
        with tempfile.TemporaryDirectory() as tmp, PeakRss() as mem:
            store = Store.open(f"sqlite:///{tmp}/bench.db")
            t0 = time.perf_counter()
            report = Importer(store, resolver=ExactIdResolver()).run(RorSource(dump))
            dt = time.perf_counter() - t0
            store.close()
        base, peak = mem.mib()
        print(f"import {dump.name}: {n:,} records ({report.created:,} records and relations created, "
              f"{report.unresolved:,} links outside the dump) in {dt:.1f} s = {n / dt:,.0f} records/s; "
              f"RSS {base:.0f} -> peak {peak:.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
