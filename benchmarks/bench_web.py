"""Load benchmark of the web UI and REST API: ``citybridge serve`` on a copy of a store, driven by simulated
readers and writers over loopback.

Starts the server as a subprocess on 127.0.0.1 (a free port, ``--workers`` uvicorn worker processes), warms it
(the first search loads the memory-mapped indexes, the first link call builds the link indexes), samples
record ids through the API, then runs ``--users`` concurrent readers and ``--writers`` writers for
``--seconds`` (or until ``--max-requests``). A reader picks a search page (random query, sometimes a facet or
page 2), an entity page, an API search, a link call (``/api/v1/link``: challenge texts of
benchmarks/data/link-challenges.jsonl, half of them with a random suffix so that they cannot be answered
from a cache) or the map, and waits a random think time (mean ``--think`` s) before the next. Writer 0
imports a small JSON Lines file of new documents (``POST /api/v1/import``), writer 1 edits stored records
(``PUT /api/v1/entities/{id}`` with ``If-Match``), each about every ``--write-every`` s. Prints requests/s
and p50/p95/p99 per route, every error (0 expected) and the longest write.

Bounded by design: loopback only, at most 200 users, 600 s and ``--max-requests``. Measured, never asserted on
time. ``--short`` is the mode the tests use (5 readers, 2 writers, 5 s: each route of the mix is some reader's
first request).

    python benchmarks/bench_web.py --data-dir /tmp/demo-copy                 # 50 readers + 2 writers, 60 s
    python benchmarks/bench_web.py --data-dir /tmp/demo-copy --seconds 300 --workers 2 --json   # the full run

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

CHALLENGES = Path(__file__).resolve().parent / "data" / "link-challenges.jsonl"

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


def link_texts() -> list[tuple[str, str | None]]:
    """(challenge, city) pairs the link calls draw from."""
    out: list[tuple[str, str | None]] = [(q, None) for q in QUERIES[:18]]
    if CHALLENGES.exists():
        for line in CHALLENGES.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((row["text"], row.get("city")))
    return out


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITYBRIDGE_DATA_DIR": str(data_dir), "CITYBRIDGE_ENVIRONMENT": "development"}
    env.pop("CITYBRIDGE_WRITE_TOKEN", None)  # loopback writes without a token (development, no token set)
    env.pop("CITYBRIDGE_TOKENS", None)
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


async def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 600) -> None:
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
    raise SystemExit(f"the server did not answer within {timeout:g} s")


async def warm(base: str, workers: int, link: bool = True) -> dict[str, Any]:
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
        for params in MAP_VIEWS * max(1, workers) * 2:  # the map views the readers ask for, in every worker
            async with httpx.AsyncClient(base_url=base, timeout=600) as own:
                (await own.get("/api/v1/map", params=params)).raise_for_status()
        has_link = link and "/api/v1/link" in (await c.get("/api/v1/openapi.json")).json().get("paths", {})
        cities: set[str] = set()
        if has_link:  # the first link builds the profile, city and partner indexes
            for _ in range(max(1, workers)):
                (await c.get("/api/v1/link", params={"text": "urban heat"})).raise_for_status()
            for city in sorted({city for _t, city in link_texts() if city}):  # the cities this store knows
                r = await c.get("/api/v1/link", params={"text": "urban heat", "place": city, "want": "peer_cities",
                                                        "limit": 1})
                if r.status_code == 200:
                    cities.add(city)
    return {"ids": ids, "seconds": round(time.perf_counter() - t0, 1), "link": has_link, "cities": cities}


#: the map views readers ask for
MAP_VIEWS: list[dict[str, Any]] = [{}, {"sdg": "11"}, {"pathway": "nature-based"}, {"layer": "city"},
                                   {"sdg": "13", "layer": "organization"}]
#: a reader's mix: (route, share); link calls keep the 5% of the earlier read-only runs (issue 16: link p95 2.2 s)
MIX = (("search_page", 0.45), ("entity_page", 0.20), ("api_search", 0.20), ("api_link", 0.05), ("map", 0.10))


def mix_with_link(share: float) -> tuple[tuple[str, float], ...]:
    """MIX with link calls at ``share`` of the readers' requests, the rest as in MIX (scaled)."""
    others = [(name, w) for name, w in MIX if name != "api_link"]
    rest = sum(w for _n, w in others)
    return (*((name, w * (1 - share) / rest) for name, w in others), ("api_link", share))


def first_routes(n: int, readers: int, mix: tuple[tuple[str, float], ...]) -> list[str]:
    """The routes reader ``n`` asks first, rarest first, so that together the readers' first requests visit every
    route of the mix once (even a 5 s run with 5 readers calls link): route j goes to reader j % readers."""
    order = [name for name, share in sorted(mix, key=lambda m: m[1]) if share > 0]
    return order[n::readers] if readers > 0 else []


def pick(rng: random.Random, ids: dict[str, list[str]], has_link: bool, texts: list[tuple[str, str | None]],
         cities: set[str], mix: tuple[tuple[str, float], ...] = MIX,
         route: str | None = None) -> tuple[str, str, dict[str, Any]]:
    if route is None:
        roll = rng.random()
        route = "map"  # (only if the shares sum to a hair under 1)
        for name, share in mix:
            if roll < share:
                route = name
                break
            roll -= share
    if route == "api_link" and not has_link:
        route = "api_search"
    if route == "search_page":
        params: dict[str, Any] = {"q": rng.choice(QUERIES), **rng.choice(FACETS)}
        if rng.random() < 0.2:
            params["page"] = 2
        return route, "/search", params
    if route == "entity_page":
        pool = ids["city"] if (rng.random() < 0.5 and ids["city"]) or not ids["other"] else ids["other"]
        return route, f"/entity/{rng.choice(pool)}", {}
    if route == "api_link":
        text, city = rng.choice(texts)
        if rng.random() < 0.5:  # a challenge no one asked before: no cached answer can serve it
            extra = rng.choice(QUERIES).strip('*"')
            text = f"{text} {extra} {rng.randrange(10**6)}"
        params = {"text": text}
        if city in cities and rng.random() < 0.5:
            params["place"] = city
        return route, "/api/v1/link", params
    if route == "map":
        return route, "/api/v1/map", rng.choice(MAP_VIEWS)
    return "api_search", "/api/v1/search", {"q": rng.choice(QUERIES), **rng.choice(FACETS)}


class Budget:
    """The run's bounds: a deadline and a request count."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + seconds
        self.left = max_requests

    def take(self) -> bool:
        if time.monotonic() >= self.deadline or self.left <= 0:
            return False
        self.left -= 1
        return True


async def user(n: int, think: float, warmed: dict[str, Any], texts: list[tuple[str, str | None]],
               client: httpx.AsyncClient, budget: Budget, out: dict[str, list[float]], errors: list[str],
               readers: int = 1) -> None:
    rng = random.Random(n)
    first = first_routes(n, readers, warmed["mix"])
    await asyncio.sleep(rng.uniform(0, max(think, 0.05)))  # users arrive spread out, not in one burst
    while budget.take():
        route, path, params = pick(rng, warmed["ids"], warmed["link"], texts, warmed["cities"], warmed["mix"],
                                   first.pop(0) if first else None)
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


def import_file(rng: random.Random, n: int, rows: int) -> bytes:
    """A small JSON Lines file of new documents on urban subjects (ids unique to this run)."""
    topics = ["urban heat", "district heating", "flood resilience", "energy poverty", "cycling lanes", "green roofs"]
    out = []
    for i in range(rows):
        topic = rng.choice(topics)
        out.append(json.dumps({"kind": "document", "subtype": "report", "id": f"doc_benchw_{n}_{i}",
                               "name": f"Load test note {n}.{i} on {topic}",
                               "description": f"A field note on {topic} written by the load benchmark ({n}.{i}).",
                               "year": 2026, "languages": ["en"]}))
    return ("\n".join(out) + "\n").encode()


async def writer(n: int, every: float, ids: dict[str, list[str]], client: httpx.AsyncClient, budget: Budget,
                 out: dict[str, list[float]], errors: list[str], rows: int) -> None:
    """Writer 0 imports files, writer 1 (and any further) edits records; both pace themselves."""
    rng = random.Random(1000 + n)
    k = 0
    await asyncio.sleep(rng.uniform(0, every))
    while budget.take():
        k += 1
        if n % 2 == 0:
            route = "write_import"
            body = import_file(rng, n * 100_000 + k, rows)
            t0 = time.perf_counter()
            try:
                r = await client.post("/api/v1/import", files={"file": (f"bench-{n}-{k}.jsonl", body)})
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 200 or r.json().get("rejected"):
                    errors.append(f"{route} {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                ms = (time.perf_counter() - t0) * 1000
                errors.append(f"{route} {type(exc).__name__}")
        else:
            route = "write_edit"
            rid = rng.choice(ids["other"] or ids["city"])
            t0 = time.perf_counter()
            try:
                got = await client.get(f"/api/v1/entities/{rid}")
                rec = got.json()["record"]
                change = {**rec, "description": f"{(rec.get('description') or '')[:2000]} [edited {k}]".strip()}
                r = await client.put(f"/api/v1/entities/{rid}", json=change,
                                     headers={"If-Match": got.headers.get("etag", "*")})
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    errors.append(f"{route} {r.status_code} {r.text[:200]}")
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                ms = (time.perf_counter() - t0) * 1000
                errors.append(f"{route} {type(exc).__name__}")
        out[route].append(ms)
        await asyncio.sleep(rng.uniform(0.5 * every, 1.5 * every))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))] if s else float("nan")


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of one process group (the server: uvicorn and its
    workers, started in a session of their own), from /proc (0 where there is none)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 12 and int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process (the load generator) and of its waited-for children (the server, once
    stopped)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


async def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cpu0 = cpu_seconds()
    proc = start_server(args.data_dir, port, args.workers)
    try:
        t0 = time.perf_counter()
        await wait_ready(base, proc)
        started = round(time.perf_counter() - t0, 1)
        warmed = await warm(base, args.workers, link=args.link_share > 0)
        warmed["mix"] = mix_with_link(args.link_share)
        if not warmed["link"] and args.link_share > 0:
            print("note: no /api/v1/link route on this server; link calls skipped", file=sys.stderr)
        out: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        texts = link_texts()
        # idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them: otherwise a request
        # sent on a connection the server is just closing fails with a ReadError that is no server fault
        limits = httpx.Limits(max_connections=args.users + args.writers,
                              max_keepalive_connections=args.users + args.writers, keepalive_expiry=3.0)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            budget = Budget(args.seconds, args.max_requests)
            t1 = time.monotonic()
            run_cpu0 = time.process_time(), group_cpu(proc.pid)
            await asyncio.gather(
                *(user(i, args.think, warmed, texts, client, budget, out, errors, args.users)
                  for i in range(args.users)),
                *(writer(i, args.write_every, warmed["ids"], client, budget, out, errors, args.import_rows)
                  for i in range(args.writers)))
            wall = time.monotonic() - t1
            run_cpu = time.process_time() - run_cpu0[0], group_cpu(proc.pid) - run_cpu0[1]
    finally:
        stop_server(proc)
    client1, server1 = cpu_seconds()
    client_cpu, server_cpu = client1 - cpu0[0], server1 - cpu0[1]
    cpu = client_cpu + server_cpu
    total = sum(len(v) for v in out.values())
    routes = {name: {"n": len(v), "rps": round(len(v) / wall, 2), "p50_ms": round(pct(v, 50), 1),
                     "p95_ms": round(pct(v, 95), 1), "p99_ms": round(pct(v, 99), 1), "max_ms": round(max(v), 1),
                     "mean_ms": round(statistics.fmean(v), 1),
                     "errors": sum(1 for e in errors if e.startswith(name + " "))}
              for name, v in sorted(out.items())}
    writes = [ms for name in ("write_import", "write_edit") for ms in out.get(name, [])]
    return {"users": args.users, "writers": args.writers, "seconds": args.seconds, "think_s": args.think,
            "link_share": args.link_share,
            "workers": args.workers, "startup_s": started, "warmup_s": warmed["seconds"], "requests": total,
            "wall_s": round(wall, 1), "rps": round(total / wall, 1), "cpu_s": round(cpu, 1),
            "client_cpu_s": round(client_cpu, 1), "server_cpu_s": round(server_cpu, 1),
            "requests_per_cpu_s": round(total / cpu, 2) if cpu > 0 else None,
            "run_client_cpu_s": round(run_cpu[0], 1), "run_server_cpu_s": round(run_cpu[1], 1),
            "requests_per_server_cpu_s": round(total / run_cpu[1], 2) if run_cpu[1] > 0 else None,
            "max_write_ms": round(max(writes), 1) if writes else None,
            "writes_over_1s": sum(1 for ms in writes if ms > 1000), "errors": len(errors),
            "error_examples": errors[:5], "load_average": os.getloadavg(), "routes": routes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=os.environ.get("CITYBRIDGE_DATA_DIR"),
                    help="a COPY of a loaded store (default: $CITYBRIDGE_DATA_DIR)")
    ap.add_argument("--users", type=int, default=50, help="concurrent readers (1-200)")
    ap.add_argument("--writers", type=int, default=2, help="concurrent writers: imports and edits (0-8)")
    ap.add_argument("--seconds", type=float, default=60, help="measured duration (1-600)")
    ap.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between a reader's requests, s")
    ap.add_argument("--write-every", type=float, default=2.0, help="mean time between a writer's writes, s")
    ap.add_argument("--import-rows", type=int, default=10, help="records per imported file")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--link-share", type=float, default=0.05, help="share of the readers' requests that are "
                    "link calls (0-0.5; 0 measures search, pages and map alone)")
    ap.add_argument("--short", action="store_true", help="the tests' mode: 5 readers, 2 writers, 5 s")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON (logs on stderr)")
    args = ap.parse_args()
    if args.short:
        args.users, args.writers, args.seconds, args.max_requests = 5, 2, 5.0, 400
        args.think, args.write_every, args.import_rows = 0.2, 0.5, 3
    if not args.data_dir or not (Path(args.data_dir) / "citybridge.db").exists():
        ap.error("--data-dir must be a folder with a citybridge.db (use a copy of the demo store)")
    if (not 1 <= args.users <= 200 or not 1 <= args.seconds <= 600 or args.think < 0 or not 1 <= args.workers <= 8
            or not 0 <= args.writers <= 8 or args.write_every <= 0 or not 1 <= args.import_rows <= 1000
            or args.max_requests < 1 or not 0 <= args.link_share <= 0.5):
        ap.error("bounds: --users 1-200, --writers 0-8, --seconds 1-600, --think >= 0, --workers 1-8, "
                 "--write-every > 0, --import-rows 1-1000, --max-requests >= 1, --link-share 0-0.5")
    res = asyncio.run(run(args))
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{res['users']} readers + {res['writers']} writers, {res['seconds']:g} s, think {res['think_s']:g} s, "
          f"{res['workers']} worker(s); startup {res['startup_s']} s, warm-up {res['warmup_s']} s")
    print(f"{res['requests']:,} requests in {res['wall_s']} s = {res['rps']} req/s; {res['cpu_s']} CPU s "
          f"(server {res['server_cpu_s']} incl. start-up and warm-up + client {res['client_cpu_s']}) = "
          f"{res['requests_per_cpu_s']} req per CPU s; load average {res['load_average']}")
    print(f"measured phase: server {res['run_server_cpu_s']} CPU s = {res['requests_per_server_cpu_s']} req per "
          f"server CPU s; load generator {res['run_client_cpu_s']} CPU s")
    print(f"errors: {res['errors']}; longest write {res['max_write_ms']} ms, {res['writes_over_1s']} over 1 s")
    print(f"{'route':<13}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for name, r in res["routes"].items():
        print(f"{name:<13}{r['n']:>7}{r['rps']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}"
              f"{r['errors']:>8}")
    for e in res["error_examples"]:
        print("  error:", e)


if __name__ == "__main__":
    main()
