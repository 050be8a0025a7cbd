"""Place recognition against the hand-labelled gold set ``benchmarks/data/places-gold.jsonl``.

Usage: ``PYTHONPATH=src python benchmarks/eval_places.py [--errors] [--min-score 0.3]``

Prints precision / recall / F1 of
- mentions, strict: same span and same gazetteer place;
- mentions, lenient: overlapping span and same place;
- detection only: overlapping span, whatever place it was linked to;
- countries: the set of countries each text mentions (through any city, region or country).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from citybridge.enrich import recognize_places
from citybridge.enrich.gazetteer import load_gazetteer

GOLD = Path(__file__).with_name("data") / "places-gold.jsonl"


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_gold if n_gold else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _overlap(p: Any, x: dict[str, Any]) -> bool:
    return bool(p.start < x["end"] and x["start"] < p.end)


def _same_span(p: Any, x: dict[str, Any]) -> bool:
    return bool((p.start, p.end) == (x["start"], x["end"]))


def _same_place(p: Any, x: dict[str, Any]) -> bool:
    return bool(p.place_id == x["place_id"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list every false positive and false negative")
    ap.add_argument("--min-score", type=float, default=0.3)
    args = ap.parse_args()
    gold = [json.loads(line) for line in GOLD.open(encoding="utf-8")]
    gaz = load_gazetteer()
    t0 = time.perf_counter()
    preds = recognize_places([g["text"] for g in gold], min_score=args.min_score)
    elapsed = time.perf_counter() - t0

    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    errors: list[str] = []
    for g, ps in zip(gold, preds, strict=True):
        source = g["source"].split(":")[0]
        gs = g["places"]
        for group in ("all", source):
            c = counts[group]
            c["strict"][0] += sum(any(_same_span(p, x) and _same_place(p, x) for x in gs) for p in ps)
            c["lenient"][0] += sum(any(_overlap(p, x) and _same_place(p, x) for x in gs) for p in ps)
            c["detection"][0] += sum(any(_overlap(p, x) for x in gs) for p in ps)
            pc = {p.country for p in ps}
            gc = {x["country"] for x in gs}
            c["country"][0] += len(pc & gc)
            c["country"][1] += len(pc)
            c["country"][2] += len(gc)
            for level in ("strict", "lenient", "detection"):
                c[level][1] += len(ps)
                c[level][2] += len(gs)
        for p in ps:
            if not any(p.start < x["end"] and x["start"] < p.end and p.place_id == x["place_id"] for x in gs):
                errors.append(f"FP {g['id']} '{p.surface}' -> {p.name} ({p.place_type}, {p.country}) "
                              f"{p.score} [{p.reason}]")
        for x in gs:
            if not any(p.start < x["end"] and x["start"] < p.end and p.place_id == x["place_id"] for p in ps):
                got = [f"{p.name} ({p.country})" for p in ps if p.start < x["end"] and x["start"] < p.end]
                errors.append(f"FN {g['id']} '{x['surface']}' = {x['name']} ({x['type']}, {x['country']})"
                              + (f", linked to {got[0]}" if got else ""))

    n_gold = sum(len(g["places"]) for g in gold)
    n_empty = sum(not g["places"] for g in gold)
    print(f"gold: {len(gold)} texts, {n_gold} place mentions, {n_empty} texts without places; "
          f"gazetteer {len(gaz.entries):,} entries")
    print(f"{'group':<18}{'level':<11}{'P':>7}{'R':>7}{'F1':>7}{'tp':>6}{'pred':>6}{'gold':>6}")
    for group in ("all", *sorted(k for k in counts if k != "all")):
        for level in ("strict", "lenient", "detection", "country"):
            tp, n_pred, n_g = counts[group][level]
            p, r, f = prf(tp, n_pred, n_g)
            print(f"{group:<18}{level:<11}{p:7.3f}{r:7.3f}{f:7.3f}{tp:6d}{n_pred:6d}{n_g:6d}")
    print(f"speed: {len(gold) / elapsed:,.0f} texts/s (gazetteer already loaded)")
    if args.errors:
        print("\n".join(sorted(errors)))


if __name__ == "__main__":
    main()
