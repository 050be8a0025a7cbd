"""bench_web.py's short mode end to end: a real ``citybridge serve`` (2 worker processes) on a small store,
readers (search, pages, link, map) and 2 writers (imports, edits) over loopback; no request may fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.seed import seed
from citybridge.hub import Hub
from citybridge.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_load_with_writers_has_no_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = Hub(Settings(data_dir=data, _env_file=None))
    hub.init()
    seed(hub)
    hub.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_web.py"), "--data-dir", str(data),
                           "--short", "--workers", "2", "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout)
    assert res["errors"] == 0, res["error_examples"]
    assert res["writers"] == 2 and res["workers"] == 2
    routes = res["routes"]
    assert routes["write_import"]["n"] >= 1 and routes["write_edit"]["n"] >= 1, routes
    assert {"search_page", "entity_page", "api_search", "api_link", "map"} <= set(routes), routes
    # the imported documents are in the store, searchable once the server is gone
    hub = Hub(Settings(data_dir=data, _env_file=None))
    try:
        found = hub.searcher.search("load test note", per_page=5)["total"]
    finally:
        hub.close()
    assert found >= 1
