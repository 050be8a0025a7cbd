"""Search speed: citybridge lexical / dense / hybrid vs bm25s (numpy backend) vs SQLite FTS5, in one run.

    PYTHONPATH=src nice python benchmarks/bench_search.py [--data DIR] [--synthetic N | --quick] [--json]
    PYTHONPATH=src nice python benchmarks/bench_search.py --build-only N [--json]   # build peak RSS + p95 at N

Phase 1 indexes the BEIR corpus (default SciFact) and runs its judged queries one at a time (single
thread; analysis/tokenisation and query embedding included in each latency). Phase 2 does the same on a
synthetic corpus of N documents (default 1,000,000; ``--quick`` = 100,000) whose words are drawn from
the SciFact vocabulary with SciFact's word frequencies and document lengths.

Synthetic dense vectors: embedding 1M documents with wordllama takes ~30 min on 2 cores, so each
synthetic doc gets the (real) wordllama vector of a random SciFact doc plus Gaussian noise, re-normalised.
Speed does not depend on the vector values; the HNSW graph sees a realistic, clustered distribution.

Peak RSS is the process high-water mark (ru_maxrss) read after each system, in run order, and the
current RSS after the citybridge indexes are reopened from disk with mmap.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from beir import DEFAULT_DATA, load_beir  # noqa: E402

from citybridge.enrich import get_embedder  # noqa: E402
from citybridge.search import FusionConfig, HybridSearcher, LexicalIndex, VectorIndex, fusion_for  # noqa: E402


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def vm_hwm_mb() -> float:
    """This process's own RSS high-water mark (ru_maxrss of an exec'd child inherits the parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_mb()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_queries(fn: Callable[[str], object], queries: list[str], budget_s: float) -> dict[str, float]:
    """Run queries one by one until done or ``budget_s`` is spent; latency percentiles in ms."""
    for q in queries[:5]:  # warm caches / lazy tables
        fn(q)
    lat = []
    start = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        fn(q)
        lat.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget_s:
            break
    a = np.array(lat) * 1000
    return {
        "queries": len(a),
        "qps": len(a) / (a.sum() / 1000),
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "mean_ms": float(a.mean()),
    }


def synthetic_corpus(
    titles: list[str], texts: list[str], n: int, seed: int = 0
) -> tuple[list[dict[str, str]], np.ndarray]:
    """``n`` docs with words sampled from the corpus unigram distribution and its title/abstract lengths."""
    base, docs = synthetic_stream(titles, texts, n, seed)
    return list(docs), base


def synthetic_stream(
    titles: list[str], texts: list[str], n: int, seed: int = 0
) -> tuple[np.ndarray, Iterator[dict[str, str]]]:
    """The SciFact row each synthetic doc borrows its lengths from, and the docs as a generator (20,000 at
    a time), so a corpus larger than memory can be indexed without ever being held whole."""
    rng = np.random.default_rng(seed)
    word = re.compile(r"\S+")
    counts: Counter[str] = Counter()
    tl, al = [], []
    for t, x in zip(titles, texts, strict=True):
        tw, aw = word.findall(t), word.findall(x)
        counts.update(tw)
        counts.update(aw)
        tl.append(len(tw))
        al.append(len(aw))
    vocab = np.array(list(counts), dtype=object)
    p = np.array(list(counts.values()), dtype=np.float64)
    p /= p.sum()
    base = rng.integers(0, len(titles), size=n)  # each synthetic doc borrows the lengths of a real one
    tlen, alen = np.array(tl)[base], np.array(al)[base]

    def docs() -> Iterator[dict[str, str]]:
        chunk = 20_000
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            tot_t, tot_a = int(tlen[s:e].sum()), int(alen[s:e].sum())
            tw = vocab[rng.choice(len(vocab), size=tot_t, p=p)].tolist()
            aw = vocab[rng.choice(len(vocab), size=tot_a, p=p)].tolist()
            it = ia = 0
            for i in range(s, e):
                yield {"title": " ".join(tw[it : it + tlen[i]]), "abstract": " ".join(aw[ia : ia + alen[i]])}
                it += tlen[i]
                ia += alen[i]

    return base, docs()


def synthetic_vectors(real_vecs: np.ndarray, base: np.ndarray, path: Path, seed: int = 1) -> np.ndarray:
    """Row ``i`` = the wordllama vector of SciFact doc ``base[i]`` plus Gaussian noise, re-normalised,
    written to a ``.npy`` memory map 50,000 rows at a time; returns the map opened read-only."""
    from citybridge.search.artifacts import release_pages

    rng = np.random.default_rng(seed)
    n, dim = len(base), real_vecs.shape[1]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    for s in range(0, n, 50_000):
        e = min(n, s + 50_000)
        v = real_vecs[base[s:e]] + rng.normal(scale=0.02, size=(e - s, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[s:e] = v
        out.flush()
        release_pages(out)
    del out
    return np.load(path, mmap_mode="r")


def cpu_s() -> float:
    """CPU seconds of this process and its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def build_only(n: int, data: str, split: str, budget_s: float, workdir: Path) -> dict[str, object]:
    """Index build at ``n`` synthetic docs the way a large deployment builds (documents streamed, postings
    spilled and bucketed, vectors from a memory map), then serving latency from a fresh process."""
    b = load_beir(data, split)
    emb = get_embedder("wordllama")
    real_vecs = emb.embed(b.passages(), batch_size=128)
    t, c = time.perf_counter(), cpu_s()
    base, docs = synthetic_stream(b.titles, b.texts, n)
    vecs = synthetic_vectors(real_vecs, base, workdir / "synthetic-vectors.npy")
    gen_s = time.perf_counter() - t
    t, c = time.perf_counter(), cpu_s()
    lex = LexicalIndex.build_to(workdir / "lex", docs)
    lex_s, lex_cpu = time.perf_counter() - t, cpu_s() - c
    del lex
    gc.collect()
    t, c = time.perf_counter(), cpu_s()
    VectorIndex.build(vecs, emb.model_id).save(workdir / "vec")
    vec_s, vec_cpu = time.perf_counter() - t, cpu_s() - c
    peak = vm_hwm_mb()
    srv = serve_in_subprocess(workdir, data, split, budget_s)
    return {
        "docs": n,
        "generate_s": round(gen_s, 1),
        "lexical_build_s": round(lex_s, 1),
        "lexical_build_cpu_s": round(lex_cpu, 1),
        "vector_build_s": round(vec_s, 1),
        "vector_build_cpu_s": round(vec_cpu, 1),
        "build_peak_rss_mb": round(peak),
        "index_bytes": sum(f.stat().st_size for f in workdir.rglob("*") if f.is_file() and "synthetic" not in f.name),
        "serving": srv,
        "hybrid_p95_ms": round(srv["hybrid default"]["p95_ms"], 2),
    }


def serve(workdir: Path, queries: list[str], budget_s: float) -> dict[str, dict]:
    """Fresh process: reopen the saved indexes (mmap) and time queries; RSS here is what a server needs."""
    emb = get_embedder("wordllama")
    lex = LexicalIndex.load(workdir / "lex", verify=False)
    vec = VectorIndex.load(workdir / "vec", verify=False)
    out = {"lexical": timed_queries(lambda q: lex.search(q, 10, fuzzy=False), queries, budget_s)}
    out["dense"] = timed_queries(lambda q: vec.search(emb.embed([q])[0], 10), queries, budget_s)
    for name, cfg in (("hybrid default", fusion_for("wordllama")), ("hybrid rerank", RERANK)):
        hs = HybridSearcher(lex, vec, emb, cfg)
        out[name] = timed_queries(lambda q, hs=hs: hs.search(q, 10, fuzzy=False), queries, budget_s)
    out["process"] = {"rss_mb": rss_mb(), "peak_rss_mb": vm_hwm_mb()}
    return out


def serve_in_subprocess(workdir: Path, data: str, split: str, budget_s: float) -> dict[str, dict]:
    cmd = [
        sys.executable,
        __file__,
        "--serve",
        str(workdir),
        "--data",
        data,
        "--split",
        split,
        "--budget",
        str(budget_s),
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


RERANK = FusionConfig("rerank", alpha=0.3, norm="max", depth=50)


def run_phase(
    label: str,
    docs: list[dict[str, str]],
    vectors: np.ndarray,
    embedder,
    queries: list[str],
    workdir: Path,
    budget_s: float,
    minilm: tuple | None = None,
    serve_args: tuple[str, str] | None = None,
) -> dict[str, dict]:
    out: dict[str, dict] = {}
    n = len(docs)
    print(
        f"\n== {label}: {n:,} docs, {len(queries)} queries (time box {budget_s:.0f}s per system)", flush=True
    )

    # --- citybridge lexical
    t = time.perf_counter()
    lex = LexicalIndex.build(docs)
    build = time.perf_counter() - t
    lex.save(workdir / "lex")
    del lex
    gc.collect()
    lex = LexicalIndex.load(workdir / "lex", verify=False)
    r = timed_queries(lambda q: lex.search(q, 10, fuzzy=False), queries, budget_s)
    r.update(build_s=build, peak_rss_mb=peak_mb())
    out["citybridge lexical"] = r
    print(
        f"  citybridge lexical: build {build:.1f}s  {r['qps']:.0f} q/s  p50 {r['p50_ms']:.2f} ms  "
        f"p95 {r['p95_ms']:.2f} ms  peak RSS {peak_mb():.0f} MB",
        flush=True,
    )

    # --- citybridge dense + hybrid (default embedder)
    t = time.perf_counter()
    vec = VectorIndex.build(vectors, embedder.model_id)
    vbuild = time.perf_counter() - t
    vec.save(workdir / "vec")
    del vec
    gc.collect()
    vec = VectorIndex.load(workdir / "vec", verify=False)
    r = timed_queries(lambda q: vec.search(embedder.embed([q])[0], 10), queries, budget_s)
    r.update(build_s=vbuild, hnsw=vec.meta["hnsw"], peak_rss_mb=peak_mb())
    out[f"citybridge dense {embedder.model_id}"] = r
    print(
        f"  citybridge dense ({embedder.model_id}, {'HNSW' if vec.meta['hnsw'] else 'exact'}): index build "
        f"{vbuild:.1f}s  {r['qps']:.0f} q/s  p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms",
        flush=True,
    )
    cfgs = [
        ("default", fusion_for("wordllama")),
        ("rerank", RERANK),
    ]
    for name, cfg in cfgs:
        hs = HybridSearcher(lex, vec, embedder, cfg)
        r = timed_queries(lambda q, hs=hs: hs.search(q, 10, fuzzy=False), queries, budget_s)
        r.update(config=cfg.__dict__, peak_rss_mb=peak_mb())
        out[f"citybridge hybrid {embedder.model_id} {name}"] = r
        print(
            f"  citybridge hybrid ({cfg.method}, depth {cfg.depth}): {r['qps']:.0f} q/s  "
            f"p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms",
            flush=True,
        )
    if minilm is not None:
        memb, mvecs = minilm
        mvec = VectorIndex.build(mvecs, memb.model_id)
        hs = HybridSearcher(lex, mvec, memb, fusion_for("minilm"))
        r = timed_queries(lambda q: hs.search(q, 10, fuzzy=False), queries, budget_s)
        out[f"citybridge hybrid {memb.model_id}"] = r
        print(
            f"  citybridge hybrid ({memb.model_id}, {hs.config.method}): {r['qps']:.0f} q/s  "
            f"p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms",
            flush=True,
        )
    out["citybridge build process"] = {"rss_mb": rss_mb(), "peak_rss_mb": peak_mb()}
    print(
        f"  RSS of this process (corpus texts included): {rss_mb():.0f} MB, peak so far {peak_mb():.0f} MB",
        flush=True,
    )
    if serve_args is not None:
        srv = serve_in_subprocess(workdir, *serve_args, budget_s)
        out["citybridge serving process"] = srv
        line = "; ".join(
            f"{k} {v['qps']:.0f} q/s p50 {v['p50_ms']:.2f} p95 {v['p95_ms']:.2f} ms"
            for k, v in srv.items()
            if "qps" in v
        )
        print(
            f"  fresh serving process (indexes mmapped): {line}; RSS {srv['process']['rss_mb']:.0f} MB, "
            f"peak {srv['process']['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    lex = vec = hs = None  # release the indexes before timing the other systems
    gc.collect()

    # --- bm25s (reference), numpy backend, its own tokenizer + English Snowball stemmer
    try:
        import bm25s
        import Stemmer
    except ImportError:
        print("  bm25s: not installed, skipped", flush=True)
    else:
        stemmer = Stemmer.Stemmer("english")
        t = time.perf_counter()
        corpus_tokens = bm25s.tokenize(
            [f"{d['title']} {d['abstract']}" for d in docs],
            stopwords="en",
            stemmer=stemmer,
            show_progress=False,
        )
        retriever = bm25s.BM25(k1=1.2, b=0.75, backend="numpy")
        retriever.index(corpus_tokens, show_progress=False)
        build = time.perf_counter() - t
        del corpus_tokens

        def bm25s_query(q: str) -> object:
            qt = bm25s.tokenize(q, stopwords="en", stemmer=stemmer, show_progress=False)
            return retriever.retrieve(qt, k=10, show_progress=False, n_threads=1)

        r = timed_queries(bm25s_query, queries, budget_s)
        r.update(build_s=build, peak_rss_mb=peak_mb())
        out["bm25s (numpy)"] = r
        print(
            f"  bm25s numpy: build {build:.1f}s  {r['qps']:.0f} q/s  p50 {r['p50_ms']:.2f} ms  "
            f"p95 {r['p95_ms']:.2f} ms  peak RSS {peak_mb():.0f} MB",
            flush=True,
        )
        del retriever
        gc.collect()

    # --- SQLite FTS5, bm25() ranking, OR of the query words (BM25 semantics), porter stemmer
    db_path = workdir / "fts.db"
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, abstract, tokenize='porter unicode61')")
    t = time.perf_counter()
    con.executemany(
        "INSERT INTO docs(title, abstract) VALUES (?, ?)", ((d["title"], d["abstract"]) for d in docs)
    )
    con.commit()
    con.execute("INSERT INTO docs(docs) VALUES('optimize')")
    con.commit()
    build = time.perf_counter() - t
    word = re.compile(r"[^\W_]+")

    def fts_query(q: str) -> list:
        terms = " OR ".join(f'"{w}"' for w in word.findall(q.lower()))
        if not terms:
            return []
        return con.execute(
            "SELECT rowid, bm25(docs, 2.0, 1.0) AS s FROM docs WHERE docs MATCH ? ORDER BY s LIMIT 10",
            (terms,),
        ).fetchall()

    r = timed_queries(fts_query, queries, budget_s)
    r.update(build_s=build, peak_rss_mb=peak_mb())
    out["SQLite FTS5"] = r
    print(
        f"  SQLite FTS5: build {build:.1f}s  {r['qps']:.1f} q/s  p50 {r['p50_ms']:.2f} ms  "
        f"p95 {r['p95_ms']:.2f} ms",
        flush=True,
    )
    con.close()
    ours, ref, fts = out["citybridge lexical"]["qps"], out.get("bm25s (numpy)", {}).get("qps"), r["qps"]
    print(
        f"  => citybridge lexical vs bm25s: {ours / ref:.2f}x   vs FTS5: {ours / fts:.1f}x" if ref else "",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--split", default="train")
    ap.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic corpus size (0 = skip)")
    ap.add_argument(
        "--quick", action="store_true", help="synthetic corpus of 100,000 docs, shorter time boxes"
    )
    ap.add_argument("--budget", type=float, default=None, help="seconds per system per phase")
    ap.add_argument("--minilm", action="store_true", help="also time the MiniLM hybrid (real corpus only)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--build-only", type=int, default=0, metavar="N",
                    help="only the index build at N synthetic docs (streamed) + serving p95 from a fresh process")
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)  # internal: the serving subprocess
    args = ap.parse_args(argv)
    if args.serve:
        b = load_beir(args.data, args.split)
        print(json.dumps(serve(Path(args.serve), list(b.queries.values()), args.budget or 20.0)))
        return 0
    if args.build_only:
        work = Path(args.workdir or tempfile.mkdtemp(prefix="citybridge-bench-"))
        res = build_only(args.build_only, args.data, args.split, args.budget or 20.0, work)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        if args.json:
            print(json.dumps(res, default=str))
        else:
            srv = res["serving"]
            print(f"index build at {res['docs']:,} synthetic docs: lexical {res['lexical_build_s']} s "
                  f"({res['lexical_build_cpu_s']} CPU s), vectors+HNSW {res['vector_build_s']} s "
                  f"({res['vector_build_cpu_s']} CPU s); build peak RSS {res['build_peak_rss_mb']:,} MB "
                  f"(target < 4,096 MB; the in-memory build peaked at 13.2 GB at 1M); "
                  f"index {res['index_bytes'] / 2**20:,.0f} MB on disk")
            print("serving (fresh process, mmapped): " + "; ".join(
                f"{k} p50 {v['p50_ms']:.2f} p95 {v['p95_ms']:.2f} ms" for k, v in srv.items() if "qps" in v)
                + f"; RSS {srv['process']['rss_mb']:.0f} MB  (target: hybrid p95 < 100 ms at 1M)")
        return 0
    n_syn = 100_000 if args.quick else args.synthetic
    budget = args.budget or (20.0 if args.quick else 60.0)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="citybridge-bench-"))
    b = load_beir(args.data, args.split)
    queries = list(b.queries.values())
    emb = get_embedder("wordllama")
    t = time.perf_counter()
    real_vecs = emb.embed(b.passages(), batch_size=128)
    print(f"embedded {len(b.ids)} docs with {emb.model_id} in {time.perf_counter() - t:.1f}s", flush=True)
    minilm = None
    if args.minilm:
        memb = get_embedder("minilm")
        minilm = (memb, memb.embed(b.passages()))
    results = {
        "real": run_phase(
            f"{Path(args.data).name} [{args.split}]",
            b.docs(),
            real_vecs,
            emb,
            queries,
            _fresh(work / "real"),
            budget,
            minilm,
            (args.data, args.split),
        )
    }
    if n_syn:
        t = time.perf_counter()
        docs, base = synthetic_corpus(b.titles, b.texts, n_syn)
        rng = np.random.default_rng(1)
        vecs = real_vecs[base] + rng.normal(scale=0.02, size=(n_syn, emb.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        print(f"\ngenerated {n_syn:,} synthetic docs in {time.perf_counter() - t:.1f}s", flush=True)
        results["synthetic"] = run_phase(
            f"synthetic {n_syn:,}",
            docs,
            vecs,
            emb,
            queries,
            _fresh(work / "synthetic"),
            budget,
            serve_args=(args.data, args.split),
        )
    if args.json:
        print(json.dumps(results, indent=1, default=str))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _fresh(p: Path) -> Path:
    shutil.rmtree(p, ignore_errors=True)
    p.mkdir(parents=True)
    return p


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
