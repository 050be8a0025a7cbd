"""Cross-lingual matching: does an embedder match an SDG target written in another language to its English text?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eval_crosslingual.py [--data FILE] [--langs es,fr,...]
        [--embedders wordllama,e5,minilm] [--limit N] [--json]

FILE: the UN SDG texts (``lang,level,code,field,text``; default ../shared/data/sdg/un-sdg-texts.csv). The 169
target titles in each language are the queries, the 169 English target titles the candidates; a query is
right at rank 1 when its own target comes first. Printed per language and embedder: acc@1 and MRR (mean of
1/rank), and the embedding speed. Queries are embedded as queries, targets as passages (this matters for e5
only). Nothing is fitted: there is no split to tune on. Every registered embedder is run whose dependencies are
installed (MiniLM needs the ``minilm`` extra); the others are listed as unavailable.
Targets (issue 17): acc@1 >= 0.95 on es, fr, it, de, ru, zh-Hans and >= 0.85 on ar.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

LANGS = ("es", "fr", "it", "de", "ru", "zh-Hans", "ar")
TARGETS = {"es": 0.95, "fr": 0.95, "it": 0.95, "de": 0.95, "ru": 0.95, "zh-Hans": 0.95, "ar": 0.85}
EMBEDDERS = ("wordllama", "e5", "minilm")


def default_data() -> Path:
    for base in (ROOT.parent, ROOT.parents[1]):  # ../shared beside the checkout, or beside a worktree's parent
        candidate = base / "shared/data/sdg/un-sdg-texts.csv"
        if candidate.exists():
            return candidate
    return ROOT.parent / "shared/data/sdg/un-sdg-texts.csv"


def load_targets(path: Path) -> dict[str, dict[str, str]]:
    """lang -> target code -> title."""
    out: dict[str, dict[str, str]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("level") == "target" and row.get("field") == "title" and (row.get("text") or "").strip():
                    out.setdefault(row["lang"], {})[row["code"]] = row["text"].strip()
    except FileNotFoundError:
        sys.exit(f"{path}: not found (pass --data)")
    except (KeyError, csv.Error) as exc:
        sys.exit(f"{path}: not the UN SDG texts table ({exc})")
    if "en" not in out:
        sys.exit(f"{path}: no English target titles")
    return out


def rank_metrics(q: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """acc@1 and MRR of row i of ``q`` finding row i of ``p`` (cosine; ties count against)."""
    sims = q @ p.T
    own = np.diag(sims)
    ranks = 1 + (sims > own[:, None]).sum(axis=1) + ((sims == own[:, None]).sum(axis=1) - 1)
    return float(np.mean(ranks == 1)), float(np.mean(1.0 / ranks))


def run(data: Path, langs: list[str], embedders: list[str], limit: int | None) -> dict[str, Any]:
    from citybridge.enrich.embed import embed_queries, get_embedder
    from citybridge.errors import Unavailable

    texts = load_targets(data)
    codes = sorted(texts["en"], key=lambda c: tuple(int(x) if x.isdigit() else 0 for x in c.split(".")) + (c,))
    results: dict[str, Any] = {}
    for name in embedders:
        try:
            emb = get_embedder(name)
        except Unavailable as exc:
            print(f"{name}: unavailable ({exc})", file=sys.stderr)
            results[name] = {"available": False, "reason": str(exc)}
            continue
        per: dict[str, Any] = {}
        n_texts, t_embed = 0, 0.0
        for lang in langs:
            have = [c for c in codes if c in texts.get(lang, {})][:limit]
            if not have:
                per[lang] = None
                continue
            t0 = time.perf_counter()
            p = emb.embed([texts["en"][c] for c in have])
            q = embed_queries(emb, [texts[lang][c] for c in have])
            t_embed += time.perf_counter() - t0
            n_texts += 2 * len(have)
            acc, mrr = rank_metrics(q, p)
            per[lang] = {"n": len(have), "acc_at_1": round(acc, 4), "mrr": round(mrr, 4),
                         "target": TARGETS.get(lang), "met": None if lang not in TARGETS else acc >= TARGETS[lang]}
            print(f"{name} {lang}: acc@1 {acc:.3f} mrr {mrr:.3f}", file=sys.stderr)
        results[name] = {"available": True, "model_id": emb.model_id, "languages": per,
                         "texts_per_s": round(n_texts / t_embed, 1) if t_embed else None}
    return {"data": str(data), "queries": "SDG target titles in each language",
            "candidates": "the 169 English target titles", "targets": TARGETS, "embedders": results}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--langs", default=",".join(LANGS), help="comma-separated language codes of the file")
    ap.add_argument("--embedders", default=",".join(EMBEDDERS))
    ap.add_argument("--limit", type=int, default=None, help="first N targets per language only (a quick check)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run(args.data, [x for x in args.langs.split(",") if x], [x for x in args.embedders.split(",") if x],
              args.limit)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    langs = [x for x in args.langs.split(",") if x]
    print(f"SDG target titles, each language -> English ({out['data']}); acc@1 / MRR")
    print("embedder".ljust(11) + "".join(lang.rjust(14) for lang in langs) + "  texts/s")
    for name, res in out["embedders"].items():
        if not res["available"]:
            print(name.ljust(11) + "  unavailable: " + res["reason"][:80])
            continue
        cells = []
        for lang in langs:
            r = res["languages"].get(lang)
            cells.append(("-" if r is None else f"{r['acc_at_1']:.3f}/{r['mrr']:.3f}").rjust(14))
        print(name.ljust(11) + "".join(cells) + f"  {res['texts_per_s']}")
    print("targets: acc@1 " + ", ".join(f"{k} >= {v}" for k, v in TARGETS.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
