"""Load benchmark of the web UI and REST API: ``citybridge serve`` on a copy of a store, driven by simulated
users over loopback.

Starts the server as a subprocess on 127.0.0.1 (a free port), warms it (the first search loads or builds
the indexes, the first peer-cities answer builds the city index), samples record ids through the API, then
runs ``--users`` concurrent users for ``--seconds``: each picks a search page (random query, sometimes a
facet or page 2), an entity page, or an API search, and waits a random think time (mean ``--think`` s)
before the next. Prints requests/s and p50/p95/p99 per route type, and every error (0 expected).

Bounded by design: loopback only, at most 200 users and 600 s. Measured, never asserted on time.

    python benchmarks/bench_web.py --data-dir /tmp/demo-copy                 # 50 users, 60 s
    python benchmarks/bench_web.py --data-dir /tmp/demo-copy --users 20 --seconds 30 --think 0 --workers 2

Never point it at a store you care about: serving reads only, but indexes are (re)built under its folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

QUERIES = ["urban heat", "green roofs", "mobility", "water", "flood risk adaptation", "energy efficiency buildings",
           "air quality", "public transport", "circular economy", "waste", "housing", "nature-based solutions",
           "climate adaptation", "smart city", "biodiversity", "cycling", "drought", "resilience", "lisbon",
           "university", "heat*", '"urban planning"', "agua", "mobilité", "schools", "health"]
FACETS = [{}, {}, {"kind": "organization"}, {"kind": "document"}, {"sdg": "11"}, {"sdg": "13"},
          {"country": "PT"}, {"pathway": "nature-based"}, {"kind": "project", "year_from": "2016"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITYBRIDGE_DATA_DIR": str(data_dir), "CITYBRIDGE_ENVIRONMENT": "development"}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = f"{src}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(src)
    cmd = [sys.executable, "-m", "citybridge.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, start_new_session=True)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: uvicorn and its workers, nothing else
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with code {proc.returncode}")
            try:
                if (await c.get("/api/v1/stats")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit("the server did not answer within 120 s")


async def warm(base: str, workers: int) -> dict[str, Any]:
    """Load the indexes and derived structures in every worker, and sample ids for entity pages."""
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600) as c:
        for _ in range(max(1, workers) * 3):  # requests spread over the workers by the kernel
            r = await c.get("/api/v1/search", params={"q": "urban heat", "per_page": 5})
            r.raise_for_status()
        cities = (await c.get("/api/v1/search", params={"kind": "organization", "subtype": "local_government",
                                                        "per_page": 100, "facet": "kind"})).json()["results"]
        docs = (await c.get("/api/v1/search", params={"q": "city climate water energy", "per_page": 100,
                                                      "facet": "kind"})).json()["results"]
        ids = {"city": [r["id"] for r in cities], "other": [r["id"] for r in docs]}
        async def one(i: int) -> None:  # a connection of its own, so the kernel may hand it to any worker
            async with httpx.AsyncClient(base_url=base, timeout=600) as own:
                (await own.get("/search", params={"q": "water"})).raise_for_status()
                if ids["city"]:
                    (await own.get(f"/entity/{ids['city'][i % len(ids['city'])]}")).raise_for_status()

        await asyncio.gather(*(one(i) for i in range(max(1, workers) * 4)))
        has_link = "/api/v1/link" in (await c.get("/api/v1/openapi.json")).json().get("paths", {})
        if has_link:  # the first link builds the profile, city and partner indexes
            for _ in range(max(1, workers)):
                (await c.get("/api/v1/link", params={"text": "urban heat"})).raise_for_status()
    return {"ids": ids, "seconds": round(time.perf_counter() - t0, 1), "link": has_link}


def pick(rng: random.Random, ids: dict[str, list[str]], has_link: bool) -> tuple[str, str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.5:
        params: dict[str, Any] = {"q": rng.choice(QUERIES), **rng.choice(FACETS)}
        if rng.random() < 0.2:
            params["page"] = 2
        return "search_page", "/search", params
    if roll < 0.75:
        pool = ids["city"] if (rng.random() < 0.5 and ids["city"]) or not ids["other"] else ids["other"]
        return "entity_page", f"/entity/{rng.choice(pool)}", {}
    if has_link and roll < 0.8:
        return "api_link", "/api/v1/link", {"text": rng.choice(QUERIES)}
    return "api_search", "/api/v1/search", {"q": rng.choice(QUERIES), **rng.choice(FACETS)}


async def user(n: int, base: str, deadline: float, think: float, ids: dict[str, list[str]], has_link: bool,
               client: httpx.AsyncClient, out: dict[str, list[float]], errors: list[str]) -> None:
    rng = random.Random(n)
    await asyncio.sleep(rng.uniform(0, max(think, 0.05)))  # users arrive spread out, not in one burst
    while time.monotonic() < deadline:
        route, path, params = pick(rng, ids, has_link)
        t0 = time.perf_counter()
        try:
            r = await client.get(path, params=params)
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                errors.append(f"{route} {r.status_code} {path} {params}")
        except httpx.HTTPError as exc:
            ms = (time.perf_counter() - t0) * 1000
            errors.append(f"{route} {type(exc).__name__} {path} {params}")
        out[route].append(ms)
        if think > 0:
            await asyncio.sleep(rng.uniform(0, 2 * think))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))] if s else float("nan")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(args.data_dir, port, args.workers)
    try:
        t0 = time.perf_counter()
        await wait_ready(base, proc)
        started = round(time.perf_counter() - t0, 1)
        warmed = await warm(base, args.workers)
        if not warmed["link"]:
            print("note: no /api/v1/link route on this server; link calls skipped", file=sys.stderr)
        out: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        limits = httpx.Limits(max_connections=args.users, max_keepalive_connections=args.users)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            t1 = time.monotonic()
            deadline = t1 + args.seconds
            await asyncio.gather(*(user(i, base, deadline, args.think, warmed["ids"], warmed["link"], client, out,
                                        errors) for i in range(args.users)))
            wall = time.monotonic() - t1
    finally:
        stop_server(proc)
    total = sum(len(v) for v in out.values())
    routes = {name: {"n": len(v), "rps": round(len(v) / wall, 1), "p50_ms": round(pct(v, 50), 1),
                     "p95_ms": round(pct(v, 95), 1), "p99_ms": round(pct(v, 99), 1), "max_ms": round(max(v), 1),
                     "mean_ms": round(statistics.fmean(v), 1),
                     "errors": sum(1 for e in errors if e.startswith(name + " "))}
              for name, v in sorted(out.items())}
    return {"users": args.users, "seconds": args.seconds, "think_s": args.think, "workers": args.workers,
            "startup_s": started, "warmup_s": warmed["seconds"], "requests": total, "wall_s": round(wall, 1),
            "rps": round(total / wall, 1), "errors": len(errors), "error_examples": errors[:5], "routes": routes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=os.environ.get("CITYBRIDGE_DATA_DIR"),
                    help="a COPY of a loaded store (default: $CITYBRIDGE_DATA_DIR)")
    ap.add_argument("--users", type=int, default=50, help="concurrent users (1-200)")
    ap.add_argument("--seconds", type=float, default=60, help="measured duration (1-600)")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between a user's requests, s")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if not args.data_dir or not (Path(args.data_dir) / "citybridge.db").exists():
        ap.error("--data-dir must be a folder with a citybridge.db (use a copy of the demo store)")
    if not 1 <= args.users <= 200 or not 1 <= args.seconds <= 600 or args.think < 0 or not 1 <= args.workers <= 8:
        ap.error("bounds: --users 1-200, --seconds 1-600, --think >= 0, --workers 1-8")
    res = asyncio.run(run(args))
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{res['users']} users, {res['seconds']:g} s, think {res['think_s']:g} s, {res['workers']} worker(s); "
          f"startup {res['startup_s']} s, warm-up {res['warmup_s']} s")
    print(f"{res['requests']:,} requests in {res['wall_s']} s = {res['rps']} req/s; errors: {res['errors']}")
    print(f"{'route':<13}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for name, r in res["routes"].items():
        print(f"{name:<13}{r['n']:>7}{r['rps']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}"
              f"{r['errors']:>8}")
    for e in res["error_examples"]:
        print("  error:", e)


if __name__ == "__main__":
    main()
