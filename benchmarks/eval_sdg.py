"""Evaluate the SDG tagger on an expert-labelled benchmark (rows ``id,text,sdg,label``).

For each row the tagger predicts whether ``text`` addresses goal ``sdg``; the script prints per-goal
precision, recall, F1 and accuracy, their means over goals, a 2-fold cross-validated mean accuracy (weights
and threshold fitted on one half, scored on the other, then swapped) and published reference figures.

    PYTHONPATH=src python benchmarks/eval_sdg.py [--data FILE] [--tune] [--no-embeddings] [--json]

``--tune`` refits the global weights on the whole file and prints them in the form of ``SDG_WEIGHTS`` in
``src/citybridge/enrich/sdg.py`` (that is how the shipped values were chosen).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from citybridge.enrich.sdg import FEATURES, SDG_WEIGHTS, SDG_WEIGHTS_NO_EMBEDDINGS, THRESHOLD, Tagger

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {  # mean per-goal accuracy on the same benchmark, as published
    "best published systems": "87-88%",
    "text2sdg": "83%",
    "Aurora queries": "79%",
    "OSDG": "70%",
}


def default_data() -> Path:
    # ../shared beside the checkout; a git worktree under <repo>/../wt/ finds it one level further up.
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared/data/sdg/benchmark-dev.csv"
        if candidate.exists():
            return candidate
    return ROOT.parent / "shared/data/sdg/benchmark-dev.csv"


def load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    texts, goals, labels, ids = [], [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                goal = int(row["sdg"])
                label = row["label"].strip().lower()
                if not 1 <= goal <= 17 or label not in {"true", "false", "1", "0"}:
                    raise ValueError(f"sdg {row['sdg']!r} / label {row['label']!r}")
            except (KeyError, ValueError) as exc:
                sys.exit(f"{path}:{n}: expected columns id,text,sdg(1-17),label(True/False): {exc}")
            texts.append(row["text"] or "")
            goals.append(goal)
            labels.append(label in {"true", "1"})
            ids.append(row.get("id") or str(n))
    if not texts:
        sys.exit(f"{path}: no rows")
    return texts, np.asarray(goals), np.asarray(labels), ids


def per_goal(pred: np.ndarray, goals: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> dict:
    mask = np.ones(len(y), bool) if mask is None else mask
    rows = {}
    for g in range(1, 18):
        m = mask & (goals == g)
        if not m.any():
            continue
        p, t = pred[m], y[m]
        tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows[g] = {"n": int(m.sum()), "precision": prec, "recall": rec, "f1": f1,
                   "accuracy": float((p == t).mean())}
    return rows


def mean_accuracy(pred: np.ndarray, goals: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean([r["accuracy"] for r in per_goal(pred, goals, y, mask).values()]))


def fit(x: np.ndarray, y: np.ndarray, goals: np.ndarray, mask: np.ndarray,
        names: list[str]) -> dict[str, float]:
    """Logistic regression (L2, gradient descent) on the rows in ``mask``, then one bias shift chosen to
    maximise mean per-goal accuracy at score >= THRESHOLD. Deterministic."""
    xs, ys = x[mask].astype(np.float64), y[mask].astype(np.float64)
    mu, sd = xs.mean(0), xs.std(0) + 1e-9
    z = (xs - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - ys) / len(ys) + 1e-3 * w)
        b -= 0.5 * float(np.mean(p - ys))
    weights = w / sd
    bias = b - float(mu @ weights)
    logit = x @ weights + bias
    cuts = np.unique(logit[mask])
    accs = [mean_accuracy(logit >= c, goals, y, mask) for c in cuts]
    k = int(np.argmax(accs))  # first best cut; then halfway to the next lower score, for a margin
    cut = (cuts[k] + cuts[k - 1]) / 2 if k > 0 else cuts[0] - 1e-3
    shift = -float(cut)
    out = {"bias": round(bias + shift, 4)}
    out.update({n: round(float(v), 4) for n, v in zip(names, weights, strict=True)})
    return out


def folds(ids: list[str], goals: np.ndarray) -> np.ndarray:
    """Two folds, balanced per goal, by a hash of the row id (reproducible, order-independent)."""
    first = np.zeros(len(ids), bool)
    for g in range(1, 18):
        rows = sorted(np.flatnonzero(goals == g), key=lambda i: hashlib.sha1(ids[i].encode()).hexdigest())
        first[rows[::2]] = True
    return first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data(), help="CSV with id,text,sdg,label")
    ap.add_argument("--tune", action="store_true", help="refit the global weights on the file and print them")
    ap.add_argument("--no-embeddings", action="store_true", help="lexical signals only (no wordllama)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"{args.data}: no such file (pass --data FILE)")

    texts, goals, y, ids = load(args.data)
    tagger = Tagger(use_embeddings=not args.no_embeddings and None)
    started = time.perf_counter()
    feats = tagger.features(texts)
    seconds = time.perf_counter() - started
    x = feats[np.arange(len(texts)), goals - 1, :]
    names = [n for n in FEATURES if tagger.embeddings or n != "semantic"]
    x = x[:, [FEATURES.index(n) for n in names]]
    weights = SDG_WEIGHTS if tagger.embeddings else SDG_WEIGHTS_NO_EMBEDDINGS

    everything = np.ones(len(y), bool)
    tuned = fit(x, y, goals, everything, names) if args.tune else None
    used = tuned or weights
    score = tagger.goal_scores(feats, used)[np.arange(len(texts)), goals - 1]
    pred = score >= THRESHOLD
    rows = per_goal(pred, goals, y)

    first = folds(ids, goals)
    cv_acc, cv_rows = [], {}
    for train in (first, ~first):
        w = fit(x, y, goals, train, names)
        p = tagger.goal_scores(feats, w)[np.arange(len(texts)), goals - 1] >= THRESHOLD
        for g, r in per_goal(p, goals, y, ~train).items():
            cv_rows.setdefault(g, []).append(r["accuracy"])
        cv_acc.append(mean_accuracy(p, goals, y, ~train))

    metrics = ("precision", "recall", "f1", "accuracy")
    means = {k: float(np.mean([r[k] for r in rows.values()])) for k in metrics}
    report = {
        "data": str(args.data), "rows": len(texts), "tagger": tagger.version, "seconds": round(seconds, 2),
        "weights": used, "per_goal": rows, "mean": means,
        "min_goal_accuracy": min(r["accuracy"] for r in rows.values()),
        "cv2_mean_accuracy": float(np.mean(cv_acc)), "cv2_fold_accuracy": cv_acc,
        "cv2_min_goal_accuracy": min(float(np.mean(v)) for v in cv_rows.values()),
        "reference_mean_accuracy": REFERENCE,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"data: {args.data} ({len(texts)} rows), features in {seconds:.1f}s")
    print(f"tagger: {tagger.version}")
    print(f"{'goal':>4} {'n':>4} {'prec':>6} {'recall':>6} {'F1':>6} {'acc':>6}")
    for g, r in rows.items():
        print(f"{g:>4} {r['n']:>4} " + " ".join(f"{r[k]:6.3f}" for k in metrics))
    print("mean      " + " ".join(f"{means[k]:6.3f}" for k in metrics))
    print(f"min per-goal accuracy: {report['min_goal_accuracy']:.3f}")
    print(f"2-fold CV mean per-goal accuracy: {report['cv2_mean_accuracy']:.3f} "
          f"(folds {', '.join(f'{a:.3f}' for a in cv_acc)}; min goal {report['cv2_min_goal_accuracy']:.3f})")
    print("published mean per-goal accuracy: " + ", ".join(f"{k} {v}" for k, v in REFERENCE.items()))
    if tuned:
        key = "SDG_WEIGHTS" if tagger.embeddings else "SDG_WEIGHTS_NO_EMBEDDINGS"
        print(f"\ntuned {key} (paste into src/citybridge/enrich/sdg.py):")
        print(json.dumps(tuned, indent=4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
