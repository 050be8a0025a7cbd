"""Evaluate the SDG tagger on an expert-labelled benchmark (rows ``id,text,sdg,label``) and on the UN texts.

For each row the tagger predicts whether ``text`` addresses goal ``sdg``. Printed, for the shipped weights:

- per-goal precision, recall, F1 and accuracy on the whole file ("dev": the shipped weights were fitted on
  it, so this figure is optimistic);
- repeated 5-fold cross-validation (5 x 5 folds, stratified by goal and label): the weights refitted on four
  folds, scored on the fifth; mean per-goal accuracy and the worst goal;
- leave-one-goal-family-out: the weights refitted without the goals of one family of the 2030 Agenda's
  "5 Ps" (people 1-5, planet 6/12-15, prosperity 7-11, peace 16, partnership 17), scored on that family;
- a multilingual check: the 169 UN target texts in en, es, fr, de, it, ru, zh and ar, each to be tagged
  with its own goal, the tagger's knowledge built *without* the target's own texts and queries (two folds
  of targets), so it shows how the tagger reads an unseen sentence in each language;
- published reference figures for the benchmark.

    .venv/bin/python benchmarks/eval_sdg.py [--data FILE] [--tune] [--no-embeddings] [--no-multilingual] [--json]

``--tune`` chooses, for every weight set of ``SDG_MODELS`` (``src/citybridge/enrich/sdg_model.py``), the
features by cross-validation on the file (every subset of signal margins on top of the model's signals; the
best CV mean per-goal accuracy, then within 0.005 of it the best worst goal, then the fewest features), fits
them on the whole file and prints the weights to paste; that is how the shipped values were chosen, on the
development half only. UN texts: MIT, "Source: United Nations" (open-sdg/sdg-translations).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.enrich.sdg import SDG_MODELS, Tagger
from citybridge.enrich.sdg_model import design, model_signals

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {  # mean per-goal accuracy on the same benchmark, as published
    "best published systems": "87-88%",
    "text2sdg": "83%",
    "Aurora queries": "79%",
    "OSDG": "70%",
}
FAMILIES = {"people": (1, 2, 3, 4, 5), "planet": (6, 12, 13, 14, 15), "prosperity": (7, 8, 9, 10, 11),
            "peace": (16,), "partnership": (17,)}
CHECK_LANGS = ("en", "es", "fr", "de", "it", "ru", "zh", "ar")
FOLDS, REPEATS = 5, 5


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


def _best_cut(logit: np.ndarray, goals: np.ndarray, y: np.ndarray) -> float:
    """The logit cut (tag at logit >= cut) with the best mean per-goal accuracy; halfway to the next lower
    score for a margin; the first best cut from the top on ties."""
    cuts = np.unique(logit)[::-1]
    acc = np.zeros(len(cuts))
    for g in np.unique(goals):
        lg, yg = logit[goals == g], y[goals == g]
        pos, neg = np.sort(lg[yg]), np.sort(lg[~yg])
        tp = len(pos) - np.searchsorted(pos, cuts, side="left")  # positives at or above the cut
        tn = np.searchsorted(neg, cuts, side="left")  # negatives below it
        acc += (tp + tn) / len(lg)
    k = int(np.argmax(acc))
    return float((cuts[k] + cuts[k + 1]) / 2) if k + 1 < len(cuts) else float(cuts[k] - 1e-3)


def fit(x: np.ndarray, y: np.ndarray, goals: np.ndarray, mask: np.ndarray,
        names: list[str]) -> dict[str, float]:
    """Logistic regression (L2, projected gradient descent, weights >= 0: more evidence never lowers a
    score) on the rows in ``mask``, then one bias shift chosen to maximise mean per-goal accuracy at
    score >= 0.5. Deterministic."""
    xs, ys = x[mask].astype(np.float64), y[mask].astype(np.float64)
    mu, sd = xs.mean(0), xs.std(0) + 1e-9
    z = (xs - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(2000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w = np.maximum(w - 0.5 * (z.T @ (p - ys) / len(ys) + 1e-3 * w), 0.0)
        b -= 0.5 * float(np.mean(p - ys))
    weights = w / sd
    bias = b - float(mu @ weights)
    cut = _best_cut(x[mask] @ weights + bias, goals[mask], y[mask])
    out = {"bias": round(bias - cut, 4)}
    out.update({n: round(float(v), 4) for n, v in zip(names, weights, strict=True)})
    return out


def predict(x: np.ndarray, names: list[str], weights: dict[str, float]) -> np.ndarray:
    return x @ np.array([weights.get(n, 0.0) for n in names]) + weights["bias"] >= 0


def stratified_folds(ids: list[str], goals: np.ndarray, y: np.ndarray, repeat: int) -> np.ndarray:
    """Fold number of each row: rows of each (goal, label) dealt round-robin in the order of a hash of
    ``repeat:id`` (reproducible, order-independent)."""
    fold = np.zeros(len(ids), int)
    for g in range(1, 18):
        for label in (False, True):
            rows = sorted(np.flatnonzero((goals == g) & (y == label)),
                          key=lambda i: hashlib.sha1(f"{repeat}:{ids[i]}".encode()).hexdigest())
            fold[rows] = np.arange(len(rows)) % FOLDS
    return fold


def cross_validate(x: np.ndarray, y: np.ndarray, goals: np.ndarray, ids: list[str],
                   names: list[str]) -> dict:
    """Repeated stratified k-fold: mean per-goal accuracy (and per goal) of out-of-fold predictions."""
    means, by_goal = [], np.zeros(17)
    for r in range(REPEATS):
        fold = stratified_folds(ids, goals, y, r)
        pred = np.zeros(len(y), bool)
        for f in range(FOLDS):
            train = fold != f
            pred[~train] = predict(x[~train], names, fit(x, y, goals, train, names))
        rows = per_goal(pred, goals, y)
        means.append(float(np.mean([v["accuracy"] for v in rows.values()])))
        by_goal += [rows[g]["accuracy"] for g in range(1, 18)]
    by_goal /= REPEATS
    return {"mean_accuracy": float(np.mean(means)), "repeat_means": means,
            "min_goal_accuracy": float(by_goal.min()), "per_goal_accuracy": dict(enumerate(by_goal.tolist(), 1))}


def leave_family_out(x: np.ndarray, y: np.ndarray, goals: np.ndarray, names: list[str]) -> dict:
    pred = np.zeros(len(y), bool)
    for fam in FAMILIES.values():
        test = np.isin(goals, fam)
        pred[test] = predict(x[test], names, fit(x, y, goals, ~test, names))
    rows = per_goal(pred, goals, y)
    acc = [v["accuracy"] for v in rows.values()]
    return {"mean_accuracy": float(np.mean(acc)), "min_goal_accuracy": float(min(acc))}


def own_goal_rows(feats: np.ndarray, goals: np.ndarray, names: list[str]) -> np.ndarray:
    return design(feats, names)[np.arange(len(goals)), goals - 1, :]


def tune_model(feats: np.ndarray, y: np.ndarray, goals: np.ndarray, ids: list[str], model: str) -> dict:
    """Feature choice by CV for one weight set, then its weights fitted on every row."""
    signals = list(model_signals(model))
    candidates = []
    for k in range(len(signals) + 1):
        for margins in itertools.combinations(signals, k):
            names = signals + [f"{s}_margin" for s in margins]
            cv = cross_validate(own_goal_rows(feats, goals, names), y, goals, ids, names)
            candidates.append({"features": names, "cv_mean": cv["mean_accuracy"],
                               "cv_min_goal": cv["min_goal_accuracy"]})
    best = max(c["cv_mean"] for c in candidates)
    near = [c for c in candidates if c["cv_mean"] >= best - 0.005]
    chosen = max(near, key=lambda c: (c["cv_min_goal"], -len(c["features"])))
    names = chosen["features"]
    weights = fit(own_goal_rows(feats, goals, names), y, goals, np.ones(len(y), bool), names)
    return {"candidates": candidates, "chosen": names, "weights": weights}


def evaluate_weights(feats: np.ndarray, y: np.ndarray, goals: np.ndarray, ids: list[str],
                     weights: dict[str, float]) -> dict:
    names = [k for k in weights if k != "bias"]
    x = own_goal_rows(feats, goals, names)
    rows = per_goal(predict(x, names, weights), goals, y)
    metrics = ("precision", "recall", "f1", "accuracy")
    return {"features": names, "per_goal": rows,
            "mean": {k: float(np.mean([r[k] for r in rows.values()])) for k in metrics},
            "min_goal_accuracy": min(r["accuracy"] for r in rows.values()),
            "cv": cross_validate(x, y, goals, ids, names), "lofo": leave_family_out(x, y, goals, names)}


def multilingual_check(use_embeddings: bool | None) -> dict:
    """Each UN target text, in each language of CHECK_LANGS, tagged by a tagger that never saw that target."""
    from citybridge.enrich.sdg import detect_language
    from citybridge.model.taxonomy import sdg_texts

    rows = [r for r in sdg_texts() if r["level"] == "target" and r["lang"] in CHECK_LANGS]
    codes = sorted({r["code"] for r in rows})
    fold = {c: int(hashlib.sha1(c.encode()).hexdigest(), 16) % 2 for c in codes}
    stats: dict[str, dict] = {}
    for f in (0, 1):
        tagger = Tagger(use_embeddings=use_embeddings, holdout=[c for c in codes if fold[c] == f])
        for lang in CHECK_LANGS:
            items = [r for r in rows if r["lang"] == lang and fold[r["code"]] == f]
            texts = [r["text"] for r in items]
            langs = [detect_language(t) for t in texts]
            scores = tagger.goal_scores(tagger.features(texts, langs=langs), langs=langs)
            own = np.array([int(r["code"].split(".")[0]) - 1 for r in items])
            s = stats.setdefault(lang, {"n": 0, "hit": 0, "top1": 0, "tags": 0, "detected": 0})
            s["n"] += len(items)
            s["hit"] += int((scores[np.arange(len(own)), own] >= 0.5).sum())
            s["top1"] += int((scores.argmax(1) == own).sum())
            s["tags"] += int((scores >= 0.5).sum())
            s["detected"] += sum(d == lang for d in langs)
    out = {}
    for lang, s in stats.items():
        recall = s["hit"] / s["n"]
        false_rate = (s["tags"] - s["hit"]) / (16 * s["n"])  # other goals tagged, per goal and text
        out[lang] = {"texts": s["n"], "recall": recall, "top1": s["top1"] / s["n"],
                     "goals_per_text": s["tags"] / s["n"], "balanced_accuracy": (recall + 1 - false_rate) / 2,
                     "language_detected": s["detected"] / s["n"]}
    return out


def record_features(tagger: Tagger, texts: list[str], *, own_embedding: bool = False) -> Any:
    """Features of each text read as a record, first sentence as its name, as the `tags` step computes them."""
    from citybridge.enrich.pipeline import record_text
    from citybridge.enrich.steps import TaggingStep
    from citybridge.model import Document

    docs = []
    for k, text in enumerate(texts):
        parts = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)
        docs.append(Document(id=f"dev_{k}", name=parts[0], description=parts[1] if len(parts) > 1 else None))
    tagged = [record_text(d, 20_000)[0] for d in docs]
    if own_embedding or not tagger.embeddings:
        return tagger.features(tagged, lang="en")
    return tagger.features(tagged, lang="en", vectors=TaggingStep._record_vectors(docs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data(), help="CSV with id,text,sdg,label")
    ap.add_argument("--tune", action="store_true", help="choose features and refit every weight set on the file")
    ap.add_argument("--no-embeddings", action="store_true", help="lexical signals only (no wordllama)")
    ap.add_argument("--no-multilingual", action="store_true", help="skip the multilingual UN-text check")
    ap.add_argument("--as-records", action="store_true",
                    help="read each text as a record (first sentence = name, the rest = description) and tag it "
                         "as the `tags` step does: its record text, and its record vector for the semantic signal")
    ap.add_argument("--own-embedding", action="store_true",
                    help="with --as-records: embed the tagged text instead (the `tags` step before issue 15)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"{args.data}: no such file (pass --data FILE)")

    texts, goals, y, ids = load(args.data)
    use_embeddings = False if args.no_embeddings else None
    tagger = Tagger(use_embeddings=use_embeddings)
    started = time.perf_counter()
    if args.as_records:
        feats = record_features(tagger, texts, own_embedding=args.own_embedding)
    else:
        feats = tagger.features(texts, lang="en")  # an English benchmark
    seconds = time.perf_counter() - started
    model = tagger.model_for("en")
    tuned = {m: tune_model(feats, y, goals, ids, m) for m in SDG_MODELS
             if tagger.embeddings or m != "en"} if args.tune else {}
    weights = tuned[model]["weights"] if tuned else SDG_MODELS[model]
    result = evaluate_weights(feats, y, goals, ids, weights)
    print("multilingual check...", file=sys.stderr)
    ml = {} if args.no_multilingual else multilingual_check(use_embeddings)

    report = {
        "data": str(args.data), "rows": len(texts), "tagger": tagger.version, "model": model,
        "seconds_features": round(seconds, 2), "weights": weights, **result,
        "cv_scheme": f"{REPEATS} x stratified {FOLDS}-fold", "families": FAMILIES,
        "other_models": {m: evaluate_weights(feats, y, goals, ids, tuned[m]["weights"] if m in tuned else w)
                         for m, w in SDG_MODELS.items() if m != model},
        "multilingual": ml, "reference_mean_accuracy": REFERENCE,
        "tuned": tuned,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"data: {args.data} ({len(texts)} rows), features in {seconds:.1f}s")
    print(f"tagger: {tagger.version}; weight set '{model}': {', '.join(result['features'])}")
    metrics = ("precision", "recall", "f1", "accuracy")
    print(f"{'goal':>4} {'n':>4} {'prec':>6} {'recall':>6} {'F1':>6} {'acc':>6} {'CV acc':>6}")
    for g, r in result["per_goal"].items():
        print(f"{g:>4} {r['n']:>4} " + " ".join(f"{r[k]:6.3f}" for k in metrics)
              + f" {result['cv']['per_goal_accuracy'][g]:6.3f}")
    print("mean      " + " ".join(f"{result['mean'][k]:6.3f}" for k in metrics)
          + f" {result['cv']['mean_accuracy']:6.3f}")
    print(f"\nmean per-goal accuracy (worst goal):  dev {result['mean']['accuracy']:.3f} "
          f"({result['min_goal_accuracy']:.3f})   CV {report['cv_scheme']} {result['cv']['mean_accuracy']:.3f} "
          f"({result['cv']['min_goal_accuracy']:.3f})   leave-one-family-out "
          f"{result['lofo']['mean_accuracy']:.3f} ({result['lofo']['min_goal_accuracy']:.3f})")
    for m, r in report["other_models"].items():
        print(f"  weight set '{m}' ({', '.join(r['features'])}) on this English file: dev "
              f"{r['mean']['accuracy']:.3f}, CV {r['cv']['mean_accuracy']:.3f} ({r['cv']['min_goal_accuracy']:.3f}),"
              f" LOFO {r['lofo']['mean_accuracy']:.3f}")
    print("published mean per-goal accuracy: " + ", ".join(f"{k} {v}" for k, v in REFERENCE.items()))
    if ml:
        print("\nmultilingual check: UN target texts, knowledge built without the target (2 folds of targets)")
        print(f"{'lang':<5} {'texts':>5} {'model':<10} {'own goal tagged':>15} {'top-1':>6} {'goals/text':>10} "
              f"{'balanced acc':>12}")
        for lang, r in ml.items():
            print(f"{lang:<5} {r['texts']:>5} {tagger.model_for(lang):<10} {r['recall']:15.3f} {r['top1']:6.3f} "
                  f"{r['goals_per_text']:10.2f} {r['balanced_accuracy']:12.3f}")
    if tuned:
        print("\nfeature choice by CV (mean per-goal accuracy, worst goal):")
        for m, t in tuned.items():
            print(f"  {m}: chosen {', '.join(t['chosen'])}")
            for c in t["candidates"]:
                print(f"     {c['cv_mean']:.3f} ({c['cv_min_goal']:.3f})  {', '.join(c['features'])}")
        print("\ntuned SDG_MODELS (paste into src/citybridge/enrich/sdg_model.py):")
        print(json.dumps({m: tuned[m]["weights"] if m in tuned else w for m, w in SDG_MODELS.items()}, indent=4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
