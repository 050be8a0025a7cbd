"""Retrieval quality on a BEIR-layout dataset: nDCG@10 and recall@100 of lexical, dense and hybrid search.

    PYTHONPATH=src python benchmarks/eval_retrieval.py [--data DIR] [--split train] [--tune] [--json]

Default data: ../shared/data/scifact (only its train split is present: tune and report on train, and read
the 2-fold cross-validated hybrid figure as the honest one). Corpus embeddings are cached under
``--cache`` (default: $TMPDIR/citybridge-bench-cache) keyed by model id and a hash of the corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from beir import DEFAULT_DATA, Beir, load_beir  # noqa: E402

from citybridge.errors import Unavailable  # noqa: E402
from citybridge.search import FusionConfig, Hits, LexicalIndex, fuse, fusion_for, parse_query  # noqa: E402
from citybridge.search.metrics import ndcg_at_k, recall_at_k  # noqa: E402

DEPTH = 200  # lexical/dense list length kept per query (>= recall@100 and every fusion depth)


def corpus_hash(b: Beir) -> str:
    h = hashlib.sha256()
    for i, t, x in zip(b.ids, b.titles, b.texts, strict=True):
        h.update(f"{i}\x00{t}\x00{x}\x01".encode())
    return h.hexdigest()[:16]


def cached_embeddings(embedder, texts: list[str], cache: Path, key: str, batch_size: int) -> np.ndarray:
    path = cache / f"{embedder.model_id.replace('/', '_')}-{key}.npy"
    if path.exists():
        arr = np.load(path)
        if arr.shape == (len(texts), embedder.dim):
            return arr
    t = time.perf_counter()
    arr = embedder.embed(texts, batch_size=batch_size)
    print(
        f"  embedded {len(texts)} texts with {embedder.model_id} in {time.perf_counter() - t:.1f}s",
        flush=True,
    )
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)
    return arr


def to_run(ids: list[str], hits: Hits) -> dict[str, float]:
    return {ids[d]: float(s) for d, s in zip(hits.docs.tolist(), hits.scores.tolist(), strict=True)}


def evaluate(
    qrels: dict, runs: dict[str, Hits], ids: list[str], qids: list[str] | None = None
) -> tuple[float, float]:
    qids = qids if qids is not None else list(runs)
    run = {q: to_run(ids, runs[q]) for q in qids}
    sub = {q: qrels[q] for q in qids}
    return ndcg_at_k(sub, run, 10), recall_at_k(sub, run, 100)


def make_embedder(spec: str):
    from citybridge.enrich.embed import get_embedder

    name, _, dim = spec.partition(":")
    return get_embedder(name, **({"dim": int(dim)} if dim else {}))


def fusion_grid() -> list[FusionConfig]:
    grid = []
    for a, rk, d in itertools.product([0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [10, 30, 60], [50, 100, 200]):
        grid.append(FusionConfig("rrf", alpha=a, rrf_k=rk, depth=d))
    for m, a, n, d in itertools.product(
        ["blend", "rerank"],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        ["minmax", "zscore", "max"],
        [20, 50, 100, 200],
    ):
        grid.append(FusionConfig(m, alpha=a, norm=n, depth=d))
    return grid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--split", default="train")
    ap.add_argument(
        "--embedders",
        default="wordllama,wordllama:128,wordllama:64,minilm",
        help="comma list of name[:dim]; missing optional ones are skipped",
    )
    ap.add_argument("--tune", action="store_true", help="grid-search fusion per embedder on this split")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "citybridge-bench-cache"))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)

    b = load_beir(args.data, args.split)
    qids = list(b.queries)
    print(f"{args.data} [{args.split}]: {len(b.ids)} docs, {len(qids)} judged queries", flush=True)
    results: dict[str, dict] = {}

    t = time.perf_counter()
    lex_index = LexicalIndex.build(b.docs(), ids=b.ids)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    lex_runs, weights = {}, {}
    for q in qids:
        lex_runs[q] = lex_index.search(b.queries[q], DEPTH)
        weights[q] = lex_index.query_terms(parse_query(b.queries[q]))
    q_s = time.perf_counter() - t
    nd, rc = evaluate(b.qrels, lex_runs, b.ids)
    results["lexical (BM25F)"] = {"ndcg@10": nd, "recall@100": rc, "build_s": build_s, "query_s": q_s}
    print(
        f"  lexical: nDCG@10 {nd:.4f}  R@100 {rc:.4f}  "
        f"(build {build_s:.2f}s, {len(qids)} queries {q_s:.2f}s)",
        flush=True,
    )

    half = {q: int(hashlib.md5(q.encode()).hexdigest(), 16) % 2 for q in qids}
    folds = [[q for q in qids if half[q] == f] for f in (0, 1)]
    cache = Path(args.cache)
    key = corpus_hash(b)
    for spec in [s.strip() for s in args.embedders.split(",") if s.strip()]:
        try:
            emb = make_embedder(spec)
        except Unavailable as e:
            print(f"  {spec}: skipped ({e})", flush=True)
            continue
        name = spec.partition(":")[0]
        C = cached_embeddings(emb, b.passages(), cache, key, args.batch_size)
        t = time.perf_counter()
        Q = emb.embed([b.queries[q] for q in qids], batch_size=args.batch_size)
        qemb_s = time.perf_counter() - t
        S = Q @ C.T
        dense_runs = {}
        for i, q in enumerate(qids):
            top = np.argpartition(-S[i], DEPTH)[:DEPTH]
            top = top[np.argsort(-S[i, top], kind="stable")]
            dense_runs[q] = Hits(top.astype(np.int64), S[i, top].astype(np.float32))
        nd, rc = evaluate(b.qrels, dense_runs, b.ids)
        results[f"dense {emb.model_id}"] = {"ndcg@10": nd, "recall@100": rc, "query_embed_s": qemb_s}
        print(f"  dense {emb.model_id}: nDCG@10 {nd:.4f}  R@100 {rc:.4f}", flush=True)

        def hybrid(cfg: FusionConfig, subset: list[str], S=S, dense_runs=dense_runs) -> dict[str, Hits]:
            pos = {q: i for i, q in enumerate(qids)}
            return {
                q: fuse(
                    cfg,
                    lex_runs[q],
                    dense_runs[q],
                    lambda d, q=q: lex_index.score_docs(weights[q], d),
                    lambda d, q=q: S[pos[q], d],
                    100,
                )
                for q in subset
            }

        cfg = fusion_for(name)
        nd, rc = evaluate(b.qrels, hybrid(cfg, qids), b.ids)
        results[f"hybrid {emb.model_id} default"] = {"ndcg@10": nd, "recall@100": rc, "config": cfg.__dict__}
        print(f"  hybrid {emb.model_id} [{cfg}]: nDCG@10 {nd:.4f}  R@100 {rc:.4f}", flush=True)
        for plain in (FusionConfig("rrf", alpha=0.5, rrf_k=60, depth=100),):
            nd, rc = evaluate(b.qrels, hybrid(plain, qids), b.ids)
            results[f"hybrid {emb.model_id} plain-rrf"] = {"ndcg@10": nd, "recall@100": rc}
            print(
                f"  hybrid {emb.model_id} [plain RRF k=60 1:1]: nDCG@10 {nd:.4f}  R@100 {rc:.4f}", flush=True
            )
        if args.tune:
            t = time.perf_counter()
            scored = []
            for c in fusion_grid():
                runs = hybrid(c, qids)
                scored.append(
                    (
                        c,
                        evaluate(b.qrels, runs, b.ids, folds[0])[0],
                        evaluate(b.qrels, runs, b.ids, folds[1])[0],
                        evaluate(b.qrels, runs, b.ids),
                    )
                )
            best = max(scored, key=lambda s: s[3][0])
            b0 = max(scored, key=lambda s: s[1])  # tuned on fold 0, measured on fold 1 and vice versa
            b1 = max(scored, key=lambda s: s[2])
            cv = (b0[2] * len(folds[1]) + b1[1] * len(folds[0])) / len(qids)
            per_method = {
                m: max((s for s in scored if s[0].method == m), key=lambda s: s[3][0])
                for m in ("rrf", "blend", "rerank")
            }
            results[f"hybrid {emb.model_id} tuned"] = {
                "ndcg@10": best[3][0],
                "recall@100": best[3][1],
                "config": best[0].__dict__,
                "cv2_heldout_ndcg@10": cv,
                "best_per_method": {m: [s[0].__dict__, s[3][0]] for m, s in per_method.items()},
            }
            print(
                f"  hybrid {emb.model_id} tuned on {args.split} [{best[0]}]: nDCG@10 {best[3][0]:.4f}  "
                f"R@100 {best[3][1]:.4f}; 2-fold CV held-out nDCG@10 {cv:.4f} "
                f"({len(scored)} configs, {time.perf_counter() - t:.0f}s)",
                flush=True,
            )
            for m, s in per_method.items():
                print(f"      best {m:6s}: {s[3][0]:.4f}  {s[0]}", flush=True)

    if args.json:
        print(json.dumps(results, indent=1, default=str))
    else:
        print(f"\n{'system':58s} {'nDCG@10':>8s} {'R@100':>8s}")
        for k, v in results.items():
            print(f"{k:58s} {v['ndcg@10']:8.4f} {v['recall@100']:8.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
