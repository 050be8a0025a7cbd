"""Place recognition against hand-labelled gold sets, beside a plain dictionary baseline in the same run.

Usage: ``.venv/bin/python benchmarks/eval_places.py [--gold FILE ...] [--errors] [--min-score 0.3] [--json]``

Gold sets (``benchmarks/data``, see ``benchmarks/README.md``):

- ``places-gold.jsonl``: 137 real sentences (OSDG, SciFact, ROR affiliations), labelled before the recogniser's
  output was looked at;
- ``places-error-classes.jsonl``: 50 sentences written for the error classes seen on urban case-study
  papers (a country named elsewhere pulling a big city to a small namesake, "City of X" names in longer
  names, small cities with no country named, sentence starts and compound parts, cities read as regions or
  countries), ten per class, with controls where the old behaviour was right.

Prints precision / recall / F1 of
- mentions, strict: same span and same gazetteer place; lenient: overlapping span and same place;
- detection only: overlapping span, whatever place it was linked to;
- cities: strict and lenient, counting only gold cities and mentions linked to a city;
- countries: the set of countries each text mentions (through any city, region or country);

for citybridge and for the baseline: every capitalised gazetteer name (longest first), linked to its most
populous place.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from citybridge.enrich import PlaceMention, recognize_places
from citybridge.enrich.gazetteer import TOKEN, Gazetteer, fold, load_gazetteer

DATA = Path(__file__).with_name("data")
GOLD = [DATA / "places-gold.jsonl", DATA / "places-error-classes.jsonl"]
LEVELS = ("strict", "lenient", "detection", "city", "city-lenient", "country")


def dictionary_baseline(gaz: Gazetteer, text: str) -> list[PlaceMention]:
    """Every capitalised gazetteer name, longest match first, linked to its most populous place."""
    folded = fold(text)
    tokens = [(m.start(), m.end(), m.group(0)) for m in TOKEN.finditer(folded)]
    out, i = [], 0
    while i < len(tokens):
        best = None
        if tokens[i][2][0].isupper() and tokens[i][2] in gaz.first_tokens:
            key = tokens[i][2]
            for j in range(i, min(i + gaz.max_tokens, len(tokens))):
                if j > i:
                    gap = folded[tokens[j - 1][1]:tokens[j][0]]
                    if len(gap) > 1 or "\n" in gap:
                        break
                    key = f"{key}{gap}{tokens[j][2]}"
                if key in gaz.index:
                    best = (j, gaz.index[key])
        if best is None:
            i += 1
            continue
        j, hits = best
        e = max((gaz.entries[k] for k, _ in hits), key=lambda e: e.weight)
        out.append(PlaceMention(tokens[i][0], tokens[j][1], text[tokens[i][0]:tokens[j][1]], e.id, e.name,
                                e.place_type.value, e.country, 1.0, "dictionary"))
        i = j + 1
    return out


def prf(tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> tuple[float, float, float]:
    p = tp_pred / n_pred if n_pred else 1.0
    r = tp_gold / n_gold if n_gold else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _overlap(p: Any, x: dict[str, Any]) -> bool:
    return bool(p.start < x["end"] and x["start"] < p.end)


def _strict(p: Any, x: dict[str, Any]) -> bool:
    return bool((p.start, p.end) == (x["start"], x["end"]) and p.place_id == x["place_id"])


def _lenient(p: Any, x: dict[str, Any]) -> bool:
    return _overlap(p, x) and p.place_id == x["place_id"]


def count(gold: list[dict], preds: list[list[Any]]) -> dict[str, dict[str, list[int]]]:
    """Per group (all, file, source, class) and level: [predictions that match, predicted, gold items that
    are matched, gold]."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0, 0, 0] for k in LEVELS})
    for g, ps in zip(gold, preds, strict=True):
        gs = g["places"]
        cities_p = [p for p in ps if p.place_type == "city"]
        cities_g = [x for x in gs if x["type"] == "city"]
        for group in {"all", g["_file"], g["source"].split(":")[0], g.get("class") or "all"}:
            c = counts[group]
            for level, match, pp, gg in (("strict", _strict, ps, gs), ("lenient", _lenient, ps, gs),
                                         ("detection", _overlap, ps, gs), ("city", _strict, cities_p, cities_g),
                                         ("city-lenient", _lenient, cities_p, cities_g)):
                c[level][0] += sum(any(match(p, x) for x in gg) for p in pp)
                c[level][1] += len(pp)
                c[level][2] += sum(any(match(p, x) for p in pp) for x in gg)
                c[level][3] += len(gg)
            pc, gc = {p.country for p in ps}, {x["country"] for x in gs}
            for k, v in enumerate((len(pc & gc), len(pc), len(pc & gc), len(gc))):
                c["country"][k] += v
    return counts


def errors(gold: list[dict], preds: list[list[Any]]) -> list[str]:
    out = []
    for g, ps in zip(gold, preds, strict=True):
        gs = g["places"]
        for p in ps:
            if not any(_lenient(p, x) for x in gs):
                out.append(f"FP {g['id']} '{p.surface}' -> {p.name} ({p.place_type}, {p.country}) "
                           f"{p.score} [{p.reason}]")
        for x in gs:
            if not any(_lenient(p, x) for p in ps):
                got = [f"{p.name} ({p.country})" for p in ps if _overlap(p, x)]
                out.append(f"FN {g['id']} '{x['surface']}' = {x['name']} ({x['type']}, {x['country']})"
                           + (f", linked to {got[0]}" if got else ""))
    return sorted(out)


def table(counts: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for group, levels in counts.items():
        out[group] = {}
        for level, (tp, n_pred, tp_gold, n_gold) in levels.items():
            p, r, f = prf(tp, n_pred, tp_gold, n_gold)
            out[group][level] = {"precision": p, "recall": r, "f1": f, "tp": tp, "pred": n_pred, "gold": n_gold}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, action="append", help="gold JSONL file(s); default: both shipped sets")
    ap.add_argument("--errors", action="store_true", help="list every false positive and false negative")
    ap.add_argument("--min-score", type=float, default=0.3)
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    gold = [{**json.loads(line), "_file": path.stem} for path in (args.gold or GOLD)
             for line in path.open(encoding="utf-8") if line.strip()]
    gaz = load_gazetteer()
    t0 = time.perf_counter()
    preds = recognize_places([g["text"] for g in gold], min_score=args.min_score)
    elapsed = time.perf_counter() - t0
    base = [dictionary_baseline(gaz, g["text"]) for g in gold]
    report = {
        "gold": [str(p) for p in (args.gold or GOLD)], "texts": len(gold),
        "mentions": sum(len(g["places"]) for g in gold), "min_score": args.min_score,
        "texts_per_s": len(gold) / elapsed,
        "citybridge": table(count(gold, preds)), "dictionary baseline": table(count(gold, base)),
    }
    if args.errors:
        report["errors"] = errors(gold, preds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"gold: {len(gold)} texts, {report['mentions']} place mentions; gazetteer {len(gaz.entries):,} entries")
    print(f"{'group':<26}{'level':<13}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'pred':>5}{'gold':>5}"
          f"   baseline P/R/F1")
    groups = report["citybridge"]
    for group in ("all", *sorted(k for k in groups if k != "all")):
        for level in LEVELS:
            r, b = groups[group][level], report["dictionary baseline"][group][level]
            print(f"{group:<26}{level:<13}{r['precision']:7.3f}{r['recall']:7.3f}{r['f1']:7.3f}{r['tp']:5d}"
                  f"{r['pred']:5d}{r['gold']:5d}   {b['precision']:.3f}/{b['recall']:.3f}/{b['f1']:.3f}")
    print(f"speed: {report['texts_per_s']:,.0f} texts/s (gazetteer already loaded)")
    if args.errors:
        print("\n".join(report["errors"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
