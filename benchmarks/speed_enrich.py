"""Throughput of the enrichment steps on SciFact abstracts (title + text), one process, one core.

Usage: ``PYTHONPATH=src python benchmarks/speed_enrich.py [--n 500] [--shared ../shared/data]``
Also prints a proxy of keyword quality: for SciFact claims, the share of a claim's content-word stems that
appear among the top-10 keyword stems of the abstract the claim is about (no keyphrase gold exists here).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from pathlib import Path

from citybridge.enrich import detect_languages, extract_keywords, recognize_places
from citybridge.enrich.gazetteer import load_gazetteer
from citybridge.enrich.keywords import _stem_fn
from citybridge.enrich.stopwords import stopwords


def timed(label: str, n: int, fn) -> object:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<34}{n / dt:9,.0f} texts/s  ({dt:.2f} s for {n})")
    return out


def claim_recall(docs: dict[str, str], shared: Path, method: str, limit: int) -> float:
    claims = {}
    with open(shared / "scifact" / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            claims[q["_id"]] = q["text"]
    pairs = []
    with open(shared / "scifact" / "qrels" / "train.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["corpus-id"] in docs and row["query-id"] in claims:
                pairs.append((claims[row["query-id"]], docs[row["corpus-id"]]))
    pairs = pairs[:limit]
    kws = extract_keywords([d for _, d in pairs], ["en"] * len(pairs), method=method)
    stem, stop = _stem_fn("en"), stopwords("en")
    scores = []
    for (claim, _), ks in zip(pairs, kws, strict=True):
        want = {stem(w) for w in re.findall(r"[a-z][a-z\-]+", claim.lower()) if w not in stop and len(w) > 2}
        got = {stem(w) for k in ks for w in re.findall(r"[a-z][a-z\-]+", k.phrase.lower())}
        if want:
            scores.append(len(want & got) / len(want))
    return sum(scores) / len(scores)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    if not (args.shared / "scifact").exists():
        args.shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    docs = {}
    with open(args.shared / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs[d["_id"]] = f"{d['title']}. {d['text']}"
    texts = list(docs.values())[: args.n]
    print(f"{len(texts)} SciFact abstracts, mean {sum(map(len, texts)) / len(texts):,.0f} characters")
    t0 = time.perf_counter()
    detect_languages(["warm-up: load the language model once"])
    load_gazetteer()
    print(f"loading language model + gazetteer: {time.perf_counter() - t0:.2f} s")
    timed("detect_languages", len(texts), lambda: detect_languages(texts))
    timed("recognize_places", len(texts), lambda: recognize_places(texts))
    timed("extract_keywords (fast)", len(texts), lambda: extract_keywords(texts, ["en"] * len(texts)))
    try:
        import yake  # noqa: F401

        k = min(100, len(texts))
        timed("extract_keywords (yake)", k, lambda: extract_keywords(texts[:k], ["en"] * k, method="yake"))
        methods = ("fast", "yake")
    except ImportError:
        methods = ("fast",)
    for method in methods:
        r = claim_recall(docs, args.shared, method, 300)
        print(f"keyword proxy ({method}): {r:.3f} of claim content stems in the top-10 keywords")


if __name__ == "__main__":
    main()
