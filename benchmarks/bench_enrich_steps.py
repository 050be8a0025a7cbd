"""Throughput of each enrichment step and of the whole chain, one process and a 2-process pool.

The chain is what the pipeline runs per record: language detection, one wordllama embedding (kept for the
vector index and reused by the tagger), SDG/pathway tagging, place recognition and keywords.

Usage: ``PYTHONPATH=src python benchmarks/bench_enrich_steps.py [--n 2000] [--batch 256] [--workers 2]``

Timings on a shared machine are noisy: compare runs made back to back. Models load once per process
(``_init``) and are not timed; the pool's figure includes sending texts and results between processes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from citybridge.enrich import detect_languages, extract_keywords, load_gazetteer, recognize_places
from citybridge.enrich.sdg import Tagger
from citybridge.enrich.sdg_knowledge import embed

_tagger: Tagger | None = None


def _init() -> None:
    """Load every model once (per worker process)."""
    global _tagger
    _tagger = Tagger()
    load_gazetteer()
    warm = ["Urban flooding and drinking water access in Lisbon, Portugal: a review of adaptation plans."]
    enrich_batch(warm)


def enrich_batch(texts: list[str]) -> list[dict[str, Any]]:
    """The whole chain on one batch; one dict of results per text."""
    assert _tagger is not None
    langs = detect_languages(texts)
    codes = [r.lang for r in langs]
    vectors = embed(texts)
    tags = _tagger.tag(texts, langs=codes, vectors=vectors)
    places = recognize_places(texts)
    keywords = extract_keywords(texts, codes)
    return [
        {"lang": lg, "vector": v, "tags": t, "places": p, "keywords": k}
        for lg, v, t, p, k in zip(langs, vectors, tags, places, keywords, strict=True)
    ]


def load_texts(shared: Path, n: int) -> list[str]:
    texts = []
    with open(shared / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            texts.append(f"{d['title']}. {d['text']}")
    while len(texts) < n:  # SciFact has 5,183 abstracts; repeat for larger runs
        texts = texts + texts
    return texts[:n]


def timed(label: str, n: int, fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:<40}{n / dt:9,.0f} texts/s  ({dt:.2f} s for {n})", flush=True)
    return n / dt


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = ap.parse_args()
    if not (args.shared / "scifact").exists():
        args.shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    texts = load_texts(args.shared, args.n)
    n = len(texts)
    print(f"{n} SciFact abstracts, mean {sum(map(len, texts)) / n:,.0f} characters; "
          f"batches of {args.batch}; {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    _init()
    print(f"loading models: {time.perf_counter() - t0:.2f} s")
    assert _tagger is not None
    tagger = _tagger
    langs = [r.lang for r in detect_languages(texts)]
    vectors = embed(texts)

    print("\none process, per step:")
    timed("detect_languages", n, lambda: detect_languages(texts))
    timed("embed (wordllama)", n, lambda: embed(texts))
    timed("Tagger.tag (embeds itself)", n, lambda: tagger.tag(texts, langs=langs))
    timed("Tagger.tag (vectors given)", n, lambda: tagger.tag(texts, langs=langs, vectors=vectors))
    timed("recognize_places", n, lambda: recognize_places(texts))
    timed("extract_keywords", n, lambda: extract_keywords(texts, langs))

    print("\nwhole chain:")
    timed("one process", n, lambda: [enrich_batch(b) for b in batches(texts, args.batch)])
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        list(pool.map(enrich_batch, [texts[:8]] * args.workers))  # start the workers and their models
        timed(f"{args.workers}-process pool", n, lambda: list(pool.map(enrich_batch, batches(texts, args.batch))))


if __name__ == "__main__":
    main()
