"""Enrichment throughput: the full pipeline (language, SDG/pathway tags, places, keywords, embeddings,
store writes, profiles) on the 5,183 SciFact abstracts, with the default static embedder and, when the
`minilm` extra is installed, with all-MiniLM-L6-v2. Prints abstracts/s per step and overall, and peak RSS.

    python benchmarks/bench_enrich.py [--n 5183] [--workers 2] [--minilm] [--cpu-by-step]

``--cpu-by-step``: instead, the whole chain once in one process with each step's ``run`` and the store writes
timed in CPU seconds (``time.process_time``): where the CPU goes, unaffected by other load on the machine.
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


LOG = sys.stdout  # the human-readable figures; stderr under --json (stdout then holds only the JSON)


def say(*parts: object) -> None:
    print(*parts, file=LOG)


def run(docs: list[Document], steps: list[str], workers: int, label: str) -> dict[str, object]:
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
    say(f"\n{label}: {len(docs):,} SciFact abstracts (avg {avg:,.0f} chars), {workers} worker process(es)")
    for name, (rate, per_cpu) in per_step.items():
        say(f"  {name:<22} {rate:9,.0f} abstracts/s  {per_cpu:7,.0f} per CPU-second")
    say(
        f"  {'full pipeline':<22} {len(docs) / total:9,.0f} abstracts/s  {len(docs) / cpu:7,.0f} per CPU-second  "
        f"({total:.1f} s wall, {cpu:.1f} CPU s; "
        f"{report.annotations:,} annotations, {report.vectors:,} vectors)"
    )
    say(
        f"  peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB (this process; "
        f"workers: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MB)"
    )
    return {"label": label, "abstracts": len(docs), "workers": workers,
            "abstracts_per_s": round(len(docs) / total, 1), "abstracts_per_cpu_s": round(len(docs) / cpu, 1),
            "wall_s": round(total, 2), "cpu_s": round(cpu, 2),
            "per_step": {k: {"per_s": round(r, 1), "per_cpu_s": round(c, 1)} for k, (r, c) in per_step.items()}}


def cpu_by_step(docs: list[Document], steps: list[str]) -> dict[str, object]:
    """The chain in this process (workers=1), CPU seconds per step and for the store writes."""
    from citybridge.enrich import runner

    spent: dict[str, float] = {}

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            c = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - c
        return wrapper

    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Settings(data_dir=Path(tmp), _env_file=None))
        hub.init()
        hub.upsert(docs)
        chosen = hub.enrichment_steps(steps)
        for s in chosen:
            s.run(docs[:4], None)  # load models (not timed)
            s.run = timed(s.name, s.run)
        hub.enrichment_steps = lambda names=None: chosen  # type: ignore[method-assign]
        write = runner.Enricher._write
        runner.Enricher._write = timed("store writes", write)  # type: ignore[method-assign]
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            hub.enrich(steps, workers=1, profiles=False)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            runner.Enricher._write = write  # type: ignore[method-assign]
        hub.close()
    n = len(docs)
    say(f"\none process, {n:,} abstracts: {n / wall:,.0f} abstracts/s wall, {n / cpu:,.0f} per CPU-second "
          f"({cpu:.2f} CPU s)")
    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        say(f"  {name:<18} {sec:6.2f} CPU s  {n / sec:8,.0f} per CPU-second  {100 * sec / cpu:4.1f}%")
    return {"abstracts": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "abstracts_per_cpu_s": round(n / cpu, 1), "cpu_s_by_step": {k: round(v, 3) for k, v in spent.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl")
    ap.add_argument("--n", type=int, default=5183)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--minilm", action="store_true", help="also run with the MiniLM embedder")
    ap.add_argument("--cpu-by-step", action="store_true", help="CPU seconds per step in one process, then stop")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON on stdout (the table on stderr)")
    args = ap.parse_args()
    global LOG
    if args.json:
        LOG = sys.stderr
    docs = load_abstracts(args.data, args.n)
    base = ["language", "tags", "places", "keywords"]
    if args.cpu_by_step:
        out: dict[str, object] = {"cpu_by_step": cpu_by_step(docs, base + ["embed:wordllama"])}
    else:
        out = {"runs": [run(docs, base + ["embed:wordllama"], args.workers, "default (wordllama)")]}
        if args.minilm:
            out["runs"].append(run(docs, base + ["embed:minilm"], args.workers, "MiniLM (all-MiniLM-L6-v2)"))  # type: ignore[attr-defined]
        say("target: >= 1,000 abstracts/s on 2 cores with the default embedder")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
