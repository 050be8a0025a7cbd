"""Enrichment throughput: the full pipeline (language, SDG/pathway tags, places, keywords, embeddings,
store writes, profiles) on the 5,183 SciFact abstracts, with the default static embedder and, when the
`minilm` extra is installed, with all-MiniLM-L6-v2. Prints abstracts/s per step and overall, and peak RSS.

    python benchmarks/bench_enrich.py [--n 5183] [--workers 2] [--minilm]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citybridge.enrich.runner import Enricher  # noqa: E402
from citybridge.hub import Hub  # noqa: E402
from citybridge.model import Document  # noqa: E402
from citybridge.settings import Settings  # noqa: E402


def load_abstracts(path: Path, n: int) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.append(
                Document(
                    id=f"scifact_{row['_id']}",
                    name=row.get("title") or row["_id"],
                    description=row["text"],
                    doc_type="paper",
                )
            )
            if len(docs) >= n:
                break
    return docs


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (the worker pool is shut down per run)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(docs: list[Document], steps: list[str], workers: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Settings(data_dir=Path(tmp), _env_file=None))
        hub.init()
        hub.upsert(docs)
        chosen = hub.enrichment_steps(steps)
        # warm up models once (loading is not throughput)
        for s in chosen:
            s.run(docs[:4], None)
        per_step = {}
        for s in chosen:  # each step alone, through the runner and the store, on all abstracts
            t0, c0 = time.perf_counter(), cpu_s()
            Enricher(hub.store, [s], workers=workers).run()
            per_step[s.name] = (len(docs) / (time.perf_counter() - t0), len(docs) / max(cpu_s() - c0, 1e-9))
        # and the whole chain again from scratch (new versions force a full rerun), plus profiles
        from citybridge.store import tables as t

        with hub.store.engine.begin() as conn:
            conn.execute(t.enrich_state.delete())
        t0, c0 = time.perf_counter(), cpu_s()
        report = hub.enrich(steps, workers=workers)
        total, cpu = time.perf_counter() - t0, cpu_s() - c0
        hub.close()
    avg = sum(len(d.description or "") for d in docs) / len(docs)
    print(f"\n{label}: {len(docs):,} SciFact abstracts (avg {avg:,.0f} chars), {workers} worker process(es)")
    for name, (rate, per_cpu) in per_step.items():
        print(f"  {name:<22} {rate:9,.0f} abstracts/s  {per_cpu:7,.0f} per CPU-second")
    print(
        f"  {'full pipeline':<22} {len(docs) / total:9,.0f} abstracts/s  {len(docs) / cpu:7,.0f} per CPU-second  "
        f"({total:.1f} s wall, {cpu:.1f} CPU s; "
        f"{report.annotations:,} annotations, {report.vectors:,} vectors)"
    )
    print(
        f"  peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB (this process; "
        f"workers: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl")
    ap.add_argument("--n", type=int, default=5183)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--minilm", action="store_true", help="also run with the MiniLM embedder")
    args = ap.parse_args()
    docs = load_abstracts(args.data, args.n)
    base = ["language", "tags", "places", "keywords"]
    run(docs, base + ["embed:wordllama"], args.workers, "default (wordllama)")
    if args.minilm:
        run(docs, base + ["embed:minilm"], args.workers, "MiniLM (all-MiniLM-L6-v2)")
    print("target: >= 1,000 abstracts/s on 2 cores with the default embedder")


if __name__ == "__main__":
    main()
