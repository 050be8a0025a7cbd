"""Two-fold check that the link re-ranking's knobs generalise: each knob setting of a small grid is run on every
challenge; the setting chosen on one half of the challenges (odd lines) is reported on the other half (even
lines) and vice versa, beside the figures of every setting on all challenges.

    CITYBRIDGE_DATA_DIR=./citybridge-data .venv/bin/python benchmarks/cv_link.py [--data FILE] [--today D] [--json]

The knobs (``citybridge.link.search_sections``): KEY_CONCEPT_SHARE (0 = key concepts are those of at least the
median weight, else those of at least this share of the heaviest), GROUP_MATCH and the SEARCH_WEIGHTS with or
without the ``concepts`` component (8 settings). A setting is chosen by precision@5 of the
projects section, then of the opportunities section, among the settings that fill the search sections
(evidence, practice, projects, opportunities) of every challenge of the tuning half at least as well as the
best setting does. Relevance is eval_link.py's rule. About 40 s per setting on the demo pack (loaded machine).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_link import DEFAULT, RULE, load, relevant  # noqa: E402

SEARCHED = ("evidence", "practice", "projects", "opportunities")
WEIGHTS = {
    "match-led": {"match": 0.35, "concepts": 0.0, "themes": 0.2, "phrase": 0.15, "title": 0.15, "place": 0.1,
                  "recency": 0.05},
    "concepts": {"match": 0.25, "concepts": 0.2, "themes": 0.15, "phrase": 0.15, "title": 0.1, "place": 0.1,
                 "recency": 0.05},
}
GRID = [dict(zip(("KEY_CONCEPT_SHARE", "GROUP_MATCH", "SEARCH_WEIGHTS"), v, strict=True))
        for v in itertools.product([0.0, 0.75], ["any", "half"], list(WEIGHTS))]


def run_setting(hub: Any, challenges: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    out = []
    for ch in challenges:
        res = hub.link(ch["text"], place=ch.get("city") or None, want=list(SEARCHED), today=today)
        ids = {i.id for n in ("projects", "opportunities") for i in res.sections[n]}
        recs = hub.store.get_many(ids)
        row: dict[str, Any] = {"filled": sum(1 for n in SEARCHED if res.sections[n])}
        for n in ("projects", "opportunities"):
            row[n] = [relevant(" ".join(recs[i.id].text_fields().values()), ch["relevant_terms"])
                      if i.id in recs else False for i in res.sections[n][:5]]
        out.append(row)
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"min_search_sections": min(r["filled"] for r in rows)}
    for n in ("projects", "opportunities"):
        shown = [r[n] for r in rows if r[n]]
        out[n] = round(sum(sum(s) / len(s) for s in shown) / len(shown), 3) if shown else 0.0
    return out


def choose(results: dict[int, list[dict[str, Any]]], half: slice) -> int:
    sums = {k: summary(v[half]) for k, v in results.items()}
    best_fill = max(s["min_search_sections"] for s in sums.values())
    ok = [k for k, s in sums.items() if s["min_search_sections"] >= best_fill]
    return max(ok, key=lambda k: (sums[k]["projects"], sums[k]["opportunities"], -k))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT, help="challenges, JSON Lines")
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="the day calls are judged open on")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args()
    challenges = load(args.data)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import citybridge.link.search_sections as ss
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    hub = Hub(Settings())
    today = args.today or hub.today()
    defaults = {k: getattr(ss, k) for k in GRID[0]}
    hub.link(challenges[0]["text"], place=challenges[0].get("city"), today=today)  # warm the indexes
    results: dict[int, list[dict[str, Any]]] = {}
    try:
        for k, setting in enumerate(GRID):
            t0 = time.perf_counter()
            for name, value in setting.items():
                setattr(ss, name, WEIGHTS[value] if name == "SEARCH_WEIGHTS" else value)
            results[k] = run_setting(hub, challenges, today)
            print(f"[{k + 1}/{len(GRID)}] {time.perf_counter() - t0:4.0f} s {setting} all: "
                  f"{summary(results[k])}", file=sys.stderr, flush=True)
    finally:
        for name, value in defaults.items():
            setattr(ss, name, value)
        hub.close()
    odd, even = slice(0, None, 2), slice(1, None, 2)
    folds = {}
    for tune, test, label in ((odd, even, "tuned_on_odd_reported_on_even"),
                              (even, odd, "tuned_on_even_reported_on_odd")):
        k = choose(results, tune)
        folds[label] = {"setting": GRID[k], "tuning_half": summary(results[k][tune]),
                        "held_out_half": summary(results[k][test])}
    held = [f["held_out_half"] for f in folds.values()]
    out = {"challenges": len(challenges), "rule": RULE, "today": today.isoformat(), "folds": folds,
           "cross_validated": {n: round(sum(h[n] for h in held) / 2, 3) for n in ("projects", "opportunities")},
           "settings": [{"setting": GRID[k], "all": summary(v), "odd": summary(v[odd]), "even": summary(v[even])}
                        for k, v in results.items()]}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    for label, f in folds.items():
        print(f"{label}: {f['setting']}\n  tuning half {f['tuning_half']}\n  held-out half {f['held_out_half']}")
    print(f"cross-validated precision@5 (mean of the two held-out halves): {out['cross_validated']}")


if __name__ == "__main__":
    main()
