"""``benchmarks/bench_scale.py --json`` on a tiny size (the hidden ``--records`` option): pure JSON on stdout with
the figures the issue names, for each size, measured on a real store grown from the shared data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if p.exists()),
              ROOT.parent / "shared" / "data")
KEYS = {"import_records_per_s", "openalex_works_per_s", "enrich_abstracts_per_s", "index_build_peak_rss_mb",
        "search_p95_ms", "link_p95_ms", "records"}


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ror" / "ror-v2-records.json.gz").exists(), reason="shared data missing")
def test_bench_scale_quick_json(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"), "--quick", "--records",
                           "1500", "--enrich-sample", "60", "--queries", "5", "--data", str(SHARED),
                           "--workdir", str(tmp_path), "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    (size,) = out["sizes"]
    assert set(size) >= KEYS
    assert size["records"] == 1500 and size["imported"] == 1500
    assert all(size[k] > 0 for k in KEYS)
    assert size["store_mb"] > 0 and size["search_calls"] == 5
