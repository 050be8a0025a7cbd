"""What the cross-lingual channel costs on the demo pack: e5 embedding speed on its short fields, extrapolated.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_crosslingual.py [--data DIR] [--n 300] [--json]

DIR: a knowledge pack folder (default: data/demo). The ``embed:e5`` enrichment step embeds one short text per
document, project and opportunity (title + first sentences, cut to ``E5_BUDGET_CHARS``); this script counts
those records, embeds ``--n`` of them (evenly spaced) with e5 and, as the reference, with wordllama, and
extrapolates the e5 step's time to the whole pack. The machine's load average is printed beside the figures:
on a shared machine they are lower bounds of the speed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

KINDS = {"document", "project", "opportunity"}


def short_texts(folder: Path) -> list[str]:
    from citybridge.enrich.embed import short_text

    out = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if '"kind"' not in line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    sys.exit(f"{path}:{n}: not JSON")
                if row.get("kind") in KINDS:
                    out.append(short_text(row.get("name"), row.get("description")))
    return out


def run(folder: Path, n: int) -> dict[str, Any]:
    from citybridge.enrich.embed import get_embedder

    texts = short_texts(folder)
    if not texts:
        sys.exit(f"{folder}: no documents, projects or opportunities")
    step = max(1, len(texts) // n)
    sample = texts[::step][:n]
    out: dict[str, Any] = {"data": str(folder), "records": len(texts), "sample": len(sample),
                           "mean_chars": round(sum(map(len, sample)) / len(sample), 1),
                           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                           "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    for name in ("wordllama", "e5"):
        emb = get_embedder(name)
        emb.embed(sample[:4])  # warm-up
        t0 = time.perf_counter()
        emb.embed(sample)
        dt = time.perf_counter() - t0
        rate = len(sample) / dt
        out[name] = {"texts_per_s": round(rate, 1), "whole_pack_s": round(len(texts) / rate, 1)}
        print(f"{name}: {rate:.1f} texts/s -> {len(texts) / rate:.0f}s for the pack", file=sys.stderr)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run(args.data, max(8, args.n))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['records']} documents/projects/opportunities in {out['data']}; sample {out['sample']} "
          f"(mean {out['mean_chars']} chars); load average {out['load_average_before']}")
    for name in ("wordllama", "e5"):
        r = out[name]
        print(f"{name:10} {r['texts_per_s']:8.1f} texts/s   whole pack {r['whole_pack_s']:8.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
