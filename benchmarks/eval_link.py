"""Linking quality on a loaded store: does ``Hub.link`` answer real city challenges, and with relevant items?

    CITYBRIDGE_DATA_DIR=./citybridge-data .venv/bin/python benchmarks/eval_link.py [--data FILE] [--json]

FILE is JSON Lines, one challenge a line: ``{"text": ..., "city": optional name, "lang": "en",
"relevant_terms": ["district heating", "heat network", ...]}`` (default: benchmarks/data/link-challenges.jsonl,
30 challenges written from real city situations in en, es, pt, fr, de, terms in English). The store must hold
the demo pack, enriched and indexed (what ``make demo`` builds).

Printed: per section the share of challenges with at least one item; how many of the 7 sections each challenge
fills (minimum, and how many challenges fill >= 5); precision@5 of the projects and opportunities sections.
An item is relevant when its title or text (name, description, body) contains one of the challenge's
``relevant_terms``: case- and accent-insensitive, whole words, hyphens as spaces. precision@5 = relevant items
among the first 5 / the number shown (at most 5), averaged over the challenges whose section is not empty;
``precision_at_5_strict`` divides by 5 and counts an empty section as 0. Calls are judged open on ``--today``
(default: today). The figures are also given for the odd and even lines of FILE separately (a two-fold split:
nothing in citybridge is fitted to these challenges, the split shows how much the figures move between halves).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "benchmarks" / "data" / "link-challenges.jsonl"
SECTIONS = ("evidence", "practice", "experts", "organisations", "peer_cities", "opportunities", "projects")
RULE = ("relevant = the item's title or text (name, description, body) contains one of the challenge's "
        "relevant_terms, case- and accent-insensitive, whole words, hyphens read as spaces")


def fold(text: str) -> str:
    """Lower case, accents off, hyphens and underscores as spaces, whitespace collapsed."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[-_‐‑–]", " ", text).split())


def relevant(text: str, terms: list[str]) -> bool:
    folded = fold(text)
    return any(re.search(rf"(?<!\w){re.escape(fold(t))}(?!\w)", folded) for t in terms if t.strip())


def load(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                sys.exit(f"{path}:{n}: not JSON ({exc.msg})")
            if not isinstance(row, dict) or not str(row.get("text") or "").strip():
                sys.exit(f"{path}:{n}: text: a challenge needs a text")
            if not isinstance(row.get("relevant_terms"), list) or not row["relevant_terms"]:
                sys.exit(f"{path}:{n}: relevant_terms: give a non-empty list of terms")
            out.append(row)
    if not out:
        sys.exit(f"{path}: no challenges")
    return out


def evaluate(hub: Any, challenges: list[dict[str, Any]], today: date, limit: int = 5) -> list[dict[str, Any]]:
    rows = []
    for i, ch in enumerate(challenges):
        t = time.perf_counter()
        res = hub.link(ch["text"], place=ch.get("city") or None, limit=limit, today=today)
        ms = (time.perf_counter() - t) * 1000
        ids = {item.id for name in ("projects", "opportunities") for item in res.sections.get(name, [])}
        records = hub.store.get_many(ids)
        row: dict[str, Any] = {"text": ch["text"], "city": ch.get("city"), "lang": ch.get("lang"), "ms": round(ms),
                               "counts": {s: len(res.sections.get(s, [])) for s in SECTIONS}}
        for name in ("projects", "opportunities"):
            top = res.sections.get(name, [])[:5]
            marks = [relevant(" ".join(records[it.id].text_fields().values()), ch["relevant_terms"])
                     if it.id in records else False for it in top]
            row[name] = [{"name": it.name[:90], "relevant": m} for it, m in zip(top, marks, strict=True)]
        rows.append(row)
        print(f"[{i + 1}/{len(challenges)}] {ms:5.0f} ms  {sum(1 for s in SECTIONS if row['counts'][s])}/7 sections"
              f"  {ch['text'][:60]}", file=sys.stderr, flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    filled = [sum(1 for s in SECTIONS if r["counts"][s]) for r in rows]
    out: dict[str, Any] = {
        "challenges": n,
        "min_sections_nonempty": min(filled) if filled else 0,
        "challenges_with_5_sections": sum(1 for f in filled if f >= 5),
        "share_nonempty": {s: round(sum(1 for r in rows if r["counts"][s]) / n, 3) for s in SECTIONS},
        "precision_at_5": {}, "precision_at_5_strict": {},
    }
    for name in ("projects", "opportunities"):
        shown = [r[name] for r in rows if r[name]]
        out["precision_at_5"][name] = round(sum(sum(i["relevant"] for i in s) / len(s) for s in shown)
                                            / len(shown), 3) if shown else 0.0
        out["precision_at_5_strict"][name] = round(sum(sum(i["relevant"] for i in r[name]) / 5 for r in rows) / n, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT, help="challenges, JSON Lines")
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="the day calls are judged open on")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args()
    challenges = load(args.data)
    sys.path.insert(0, str(ROOT / "src"))
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    hub = Hub(Settings())
    today = args.today or hub.today()
    print(f"store {hub.settings.data_dir}; calls judged open on {today}; warming up ...", file=sys.stderr, flush=True)
    hub.link(challenges[0]["text"], place=challenges[0].get("city"), today=today)
    rows = evaluate(hub, challenges, today)
    result = summarise(rows)
    langs = sorted({str(r.get("lang")) for r in rows})
    result.update(rule=RULE, today=today.isoformat(), data=str(args.data),
                  folds={"odd_lines": summarise(rows[0::2]), "even_lines": summarise(rows[1::2])},
                  by_lang={lang: summarise([r for r in rows if str(r.get("lang")) == lang]) for lang in langs},
                  ms_per_challenge=round(sum(r["ms"] for r in rows) / len(rows)), per_challenge=rows)
    hub.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"rule: {RULE}")
    print(f"{result['challenges']} challenges, calls open on {today}, {result['ms_per_challenge']} ms per challenge")
    print("share of challenges with >= 1 item per section:")
    for s, v in result["share_nonempty"].items():
        print(f"  {s:<14} {v:.2f}")
    print(f"sections non-empty per challenge: min {result['min_sections_nonempty']} of 7; "
          f"{result['challenges_with_5_sections']} of {result['challenges']} challenges have >= 5")
    for name in ("projects", "opportunities"):
        folds = result["folds"]
        print(f"precision@5 {name:<13} {result['precision_at_5'][name]:.3f} "
              f"(strict {result['precision_at_5_strict'][name]:.3f}; "
              f"odd lines {folds['odd_lines']['precision_at_5'][name]:.3f}, "
              f"even lines {folds['even_lines']['precision_at_5'][name]:.3f})")
    for lang, sub in result["by_lang"].items():
        print(f"  {lang}: {sub['challenges']} challenges, min {sub['min_sections_nonempty']} sections, "
              f"{sub['challenges_with_5_sections']} with >= 5; precision@5 projects "
              f"{sub['precision_at_5']['projects']:.3f}, opportunities {sub['precision_at_5']['opportunities']:.3f}")
    for r in rows:
        bad = [f"{k}: {i['name']}" for k in ("projects", "opportunities") for i in r[k] if not i["relevant"]]
        if bad:
            print(f"  not relevant for '{r['text'][:50]}': " + " | ".join(bad[:4]))


if __name__ == "__main__":
    main()
