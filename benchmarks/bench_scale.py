"""Scale: how import, OpenAlex intake, enrichment, the index build, search and link grow with the store size.

    PYTHONPATH=src python benchmarks/bench_scale.py [--quick] [--sizes 100000,1000000,3000000] [--data DIR] [--json]

A synthetic store is grown from real records (shared/data): SciFact abstracts and Commission news as documents,
the knowledge pack's CORDIS projects as projects, ROR organisations (names, countries) and CORDIS participant
PICs as organisations. Record ``i`` resamples a real text and perturbs it (a random subset of its sentences, in
order): never invented text. Per size:

* **import**: the JSON Lines shards through ``Hub.import_files`` (records/s, wall and per CPU-second);
* **OpenAlex**: an OpenAlex-layout part of ``size/20`` works (at most 20k; benchmarks/openalex_snapshot.py)
  through ``Hub.openalex(snapshot=...)`` (works/s);
* **enrichment**: the default steps over ``--enrich-sample`` real base texts in their own store
  (``Hub.enrich(workers=2)``, abstracts/s); every synthetic record then gets its base text's annotations and
  vectors (copied through the enrichment store's writers), so the index is built over an enriched store;
* **index build**: ``citybridge reindex`` in a child process: wall time and the child's peak RSS (wait4);
* **search / link p95**: SciFact queries through ``Hub.search`` and the link challenges through ``Hub.link``;
* **store size** on disk (database + index).

``--quick`` runs 100k only. ``--json`` prints ``{"sizes": [{"records", "import_records_per_s",
"openalex_works_per_s", "enrich_abstracts_per_s", "index_build_peak_rss_mb", "search_p95_ms", "link_p95_ms",
...}]}`` on stdout (logs on stderr). Figures are measured, never asserted; the machine may be shared.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from openalex_snapshot import SHARED, generate, perturb, real_texts  # noqa: E402

from citybridge.hub import Hub  # noqa: E402
from citybridge.settings import Settings  # noqa: E402

SHARD = 100_000  # records per JSON Lines shard
MIX = (("document", 0.6), ("project", 0.15), ("organization", 0.25))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cpu() -> float:
    """CPU seconds of this process and its waited-for children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def base_pools(shared: Path) -> dict[str, list[dict[str, Any]]]:
    """Real records to resample: documents, projects and organisations."""
    docs = [{"name": t[:300], "description": x} for t, x in real_texts(shared)
            if "cordis" not in t.lower()]
    projects = []
    csv.field_size_limit(10_000_000)
    for f in sorted((shared / "knowledge").glob("cordis-*/projects.csv")):
        with f.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("title") and row.get("objective"):
                    projects.append({"name": row["title"][:300], "description": row["objective"],
                                     "acronym": row.get("acronym") or None})
    with gzip.open(shared / "ror" / "ror-v2-records.json.gz", "rt", encoding="utf-8") as fh:
        ror = json.load(fh)
    orgs = []
    for r in ror:
        name = next((x["value"] for x in r.get("names", []) if "ror_display" in x.get("types", [])), None)
        loc = (r.get("locations") or [{}])[0].get("geonames_details", {})
        if name:
            orgs.append({"name": name, "country": loc.get("country_code")})
    pics = []
    with gzip.open(shared / "cordis" / "h2020.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pics.append((row["pic"], row["country"]))
    pics = list({pic: (pic, country) for pic, country in pics}.values())  # one country per PIC
    return {"document": docs, "project": projects, "organization": orgs, "pics": pics}  # type: ignore[dict-item]


def write_shards(folder: Path, n: int, pools: dict[str, list[Any]], bases: dict[str, int], seed: int = 7
                 ) -> tuple[list[Path], dict[str, tuple[str, int]]]:
    """``n`` records as JSON Lines shards; returns the shards and external id -> (kind, base index)."""
    rng = random.Random(seed)
    kinds = [k for k, _w in MIX]
    weights = [w for _k, w in MIX]
    origin: dict[str, tuple[str, int]] = {}
    files = []
    fh = None
    for i in range(n):
        if i % SHARD == 0:
            if fh:
                fh.close()
            path = folder / f"records-{i // SHARD:03d}.jsonl"
            files.append(path)
            fh = path.open("w", encoding="utf-8")
        kind = rng.choices(kinds, weights)[0]
        if kind == "organization":
            org = pools["organization"][rng.randrange(len(pools["organization"]))]
            pic, country = pools["pics"][i % len(pools["pics"])]
            row = {"kind": kind, "name": org["name"], "country": org["country"] or country,
                   "pic": str(pic) if i < len(pools["pics"]) else str(900_000_000 + i)}
        else:
            b = rng.randrange(bases[kind])
            src = pools[kind][b]
            row = {"kind": kind, "name": src["name"], "description": perturb(src["description"], rng)}
            if kind == "document":
                row.update(doi=f"10.5555/scale.{i}", year=2000 + i % 25)
                origin[f"doi:10.5555/scale.{i}"] = (kind, b)
            else:
                row.update(cordis=str(10_000_000 + i), acronym=src.get("acronym"))
                origin[f"cordis:{10_000_000 + i}"] = (kind, b)
        assert fh is not None
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    if fh:
        fh.close()
    return files, origin


def enrich_sample(work: Path, pools: dict[str, list[Any]], bases: dict[str, int]) -> dict[str, Any]:
    """Enrich the base texts in their own store; returns the rate and each base's annotations and vectors."""
    from citybridge.store.enrichment import EnrichmentStore

    rows = []
    for kind in ("document", "project"):
        for b in range(bases[kind]):
            src = pools[kind][b]
            ext = {"doi": f"10.5555/base.{b}"} if kind == "document" else {"cordis": str(b + 1)}
            rows.append({"kind": kind, "name": src["name"], "description": src["description"], **ext})
    path = work / "base.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with Hub(Settings(data_dir=work / "base", crosslingual_embedder=None, _env_file=None)) as hub:
        hub.init()
        hub.import_files([path])
        t0, c0 = time.perf_counter(), cpu()
        report = hub.enrich(workers=2, profiles=False)
        wall, cpu_s = time.perf_counter() - t0, cpu() - c0
        n = report.steps.get("language", len(rows))
        es = EnrichmentStore(hub.store)
        by_id: dict[str, tuple[str, int]] = {}
        for kind in ("document", "project"):
            for b in range(bases[kind]):
                key = ("doi", f"10.5555/base.{b}") if kind == "document" else ("cordis", str(b + 1))
                by_id[hub.store.find_by_external(*key).id] = (kind, b)
        anns: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = {}
        for rid, base in by_id.items():
            for a in es.annotations_of(rid):
                ev = a.get("evidence")
                anns.setdefault(base, {}).setdefault(a["step"], []).append(
                    {"label": a["label"], "target_id": a.get("target_id"), "score": a["score"],
                     "evidence": json.dumps(ev, ensure_ascii=False) if ev else None})
        model = hub.settings.search_embedder
        vecs: dict[tuple[str, int], np.ndarray] = {}
        from citybridge.enrich.embed import get_embedder

        model_id = get_embedder(model).model_id if model else None
        if model_id:
            for rid, passage, *_rest, vec in es.vectors(model_id, list(by_id)):
                if passage == -1:
                    vecs[by_id[rid]] = np.asarray(vec, dtype=np.float32)
        steps = {s.name: s.version for s in hub.enrichment_steps()}
    log(f"  enrich {n:,} real abstracts (2 workers): {wall:.1f} s wall = {n / wall:,.0f}/s, {cpu_s:.1f} CPU-s = "
        f"{n / cpu_s:,.0f} per CPU-second")
    return {"rate": n / wall, "rate_cpu": n / cpu_s, "wall": wall, "n": n, "annotations": anns, "vectors": vecs,
            "model": model_id, "steps": steps}


def copy_enrichment(hub: Hub, origin: dict[str, tuple[str, int]], sample: dict[str, Any], seed: int = 7) -> float:
    """Give every synthetic record its base text's annotations and (noised) vector, marked done."""
    from citybridge.store.enrichment import EnrichmentStore

    es = EnrichmentStore(hub.store)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    items = list(origin.items())
    for i in range(0, len(items), 5000):
        chunk = items[i:i + 5000]
        pairs = [tuple(k.split(":", 1)) for k, _b in chunk]
        ids = hub.store.resolve_external(pairs)  # type: ignore[arg-type]
        with hub.store.engine.begin() as conn:
            per_step: dict[str, dict[str, list[dict[str, Any]]]] = {s: {} for s in sample["steps"]}
            vec_rows: dict[str, list[dict[str, Any]]] = {}
            for (_key, base), pair in zip(chunk, pairs, strict=True):
                rid = ids.get(pair)  # type: ignore[call-overload]
                if rid is None:
                    continue
                for step in per_step:
                    per_step[step][rid] = sample["annotations"].get(base, {}).get(step, [])
                v = sample["vectors"].get(base)
                if v is not None:
                    noisy = v + rng.normal(0, 0.02, v.shape).astype(np.float32)
                    noisy /= np.linalg.norm(noisy) or 1.0
                    vec_rows[rid] = [{"passage": -1, "field": None, "start": None, "end": None,
                                      "vector": noisy.astype(np.float32).tobytes()}]
            for step, rows in per_step.items():
                es.replace_annotations(conn, step, rows)
            if sample["model"] and vec_rows:
                es.replace_vectors(conn, sample["model"], vec_rows)
            hashes = es.hashes(list(vec_rows) or [r for rows in per_step.values() for r in rows], conn)
            for step, version in sample["steps"].items():
                es.mark_done(conn, step, version, hashes)
    return time.perf_counter() - t0


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def reindex_in_child(data_dir: Path) -> tuple[float, float, float]:
    """``citybridge reindex`` in a child process: (wall s, CPU s, peak RSS MB of the child)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "import sys; from citybridge.cli.main import main; sys.argv[0] = 'citybridge'; main()"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, "--data-dir", str(data_dir), "reindex", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"reindex failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def measure(size: int, work: Path, pools: dict[str, list[Any]], sample: dict[str, Any], bases: dict[str, int],
            queries: list[str], challenges: list[str]) -> dict[str, Any]:
    log(f"size {size:,}")
    shards, origin = write_shards(work / "shards", size, pools, bases)
    data = work / "store"
    out: dict[str, Any] = {"records": size}
    with Hub(Settings(data_dir=data, crosslingual_embedder=None, _env_file=None)) as hub:
        hub.init()
        t0, c0 = time.perf_counter(), cpu()
        rep = hub.import_files(shards)
        wall, cpu_s = time.perf_counter() - t0, cpu() - c0
        out.update(import_s=wall, import_cpu_s=cpu_s, import_records_per_s=rep.created / wall,
                   import_records_per_cpu_s=rep.created / cpu_s, imported=rep.created, rejected=rep.rejected)
        log(f"  import {rep.created:,} records: {wall:.1f} s wall = {rep.created / wall:,.0f}/s "
            f"({rep.created / cpu_s:,.0f} per CPU-second)")
        n_works = min(20_000, max(200, size // 20))
        snap = generate(work / "openalex", n_works, parts=1)[0]
        t0, c0 = time.perf_counter(), cpu()
        hub.openalex(snapshot=snap)
        wall, cpu_s = time.perf_counter() - t0, cpu() - c0
        out.update(openalex_works=n_works, openalex_s=wall, openalex_works_per_s=n_works / wall,
                   openalex_works_per_cpu_s=n_works / cpu_s)
        log(f"  OpenAlex {n_works:,} works: {wall:.1f} s wall = {n_works / wall:,.0f}/s "
            f"({n_works / cpu_s:,.0f} per CPU-second)")
        out["copy_enrichment_s"] = copy_enrichment(hub, origin, sample)
        out.update(enrich_abstracts_per_s=sample["rate"], enrich_abstracts_per_cpu_s=sample["rate_cpu"],
                   enrich_sample=sample["n"], enrich_s_projected=size / sample["rate"])
    wall, cpu_s, peak = reindex_in_child(data)
    out.update(index_build_s=wall, index_build_cpu_s=cpu_s, index_build_peak_rss_mb=peak)
    log(f"  index build: {wall:.1f} s wall, {cpu_s:.1f} CPU-s, peak RSS {peak:,.0f} MB")
    with Hub(Settings(data_dir=data, crosslingual_embedder=None, _env_file=None)) as hub:
        for name, call, inputs in (("search", hub.search, queries), ("link", hub.link, challenges)):
            call(inputs[0])  # warm: the index is opened and the models loaded
            lat, cpu_ms = [], []
            for text in inputs:
                t0, c0 = time.perf_counter(), time.process_time()
                call(text)
                lat.append((time.perf_counter() - t0) * 1000)
                cpu_ms.append((time.process_time() - c0) * 1000)
            # CPU per call beside wall: on a shared machine the wall time also counts waiting for a core
            out.update({f"{name}_p50_ms": pct(lat, 50), f"{name}_p95_ms": pct(lat, 95),
                        f"{name}_p95_cpu_ms": pct(cpu_ms, 95), f"{name}_calls": len(lat)})
    log(f"  search p95 {out['search_p95_ms']:.0f} ms, link p95 {out['link_p95_ms']:.0f} ms")
    out["store_mb"] = du_mb(data)
    out["db_mb"] = sum(f.stat().st_size for f in data.glob("citybridge.db*")) / 2**20
    log(f"  store on disk {out['store_mb']:,.0f} MB (database {out['db_mb']:,.0f} MB)")
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the 100k size only")
    ap.add_argument("--sizes", default="100000,1000000,3000000")
    ap.add_argument("--records", type=int, help=argparse.SUPPRESS)  # one tiny size (tests)
    ap.add_argument("--enrich-sample", type=int, default=2000, help="real base texts enriched (docs + projects)")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    ap.add_argument("--workdir", type=Path, help="keep the stores here (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = [args.records] if args.records else [100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    pools = base_pools(args.data)
    n_docs = max(1, min(len(pools["document"]), int(args.enrich_sample * 0.8)))
    bases = {"document": n_docs, "project": max(1, min(len(pools["project"]), args.enrich_sample - n_docs))}
    with (args.data / "scifact" / "queries.jsonl").open(encoding="utf-8") as fh:
        queries = [json.loads(line)["text"] for line in fh][: args.queries]
    with (HERE / "data" / "link-challenges.jsonl").open(encoding="utf-8") as fh:
        challenges = [json.loads(line)["text"] for line in fh]
    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench-scale-"))
    results = []
    try:
        sample = enrich_sample(root, pools, bases)
        for size in sizes:
            work = root / f"n{size}"
            shutil.rmtree(work, ignore_errors=True)
            (work / "shards").mkdir(parents=True)
            results.append(measure(size, work, pools, sample, bases, queries, challenges))
            if not args.workdir:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    machine = {"cpus": os.cpu_count(), "shared": True, "load_avg": os.getloadavg()}
    if args.json:
        print(json.dumps({"sizes": results, "machine": machine}, indent=1))
    else:
        cols = ("records", "import_records_per_s", "openalex_works_per_s", "enrich_abstracts_per_s",
                "index_build_s", "index_build_peak_rss_mb", "search_p95_ms", "link_p95_ms", "store_mb")
        print(" | ".join(cols))
        for r in results:
            print(" | ".join(f"{r[c]:,.0f}" if isinstance(r[c], float | int) else str(r[c]) for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
