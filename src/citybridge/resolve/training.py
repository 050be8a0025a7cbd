"""Training and cross-validation of the affiliation match model on labelled strings.

Honest figures need negatives: strings whose organisation is not in the index, where the only right answer
is to abstain. Labelled sets rarely have them, so some gold organisations are held out of the index (with
their parents and children, as an organisation missing from ROR would be) and their strings become
negatives. Folds are grouped by gold organisation, so no organisation is in both the training and the test
part of a fold; thresholds and calibration come from out-of-fold predictions only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from citybridge.resolve.affiliation import FEATURES, AffiliationMatcher
from citybridge.resolve.scoring import (
    Choice,
    Isotonic,
    MatchModel,
    TreeRanker,
    confidence,
    fit_choice,
    fit_isotonic,
    fit_trees,
)

L2 = 1.0
REVIEW = 0.5
#: margin weights of the tree ranker's confidence tried by cross-validation
MARGIN_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


@dataclass(slots=True)
class Example:
    """One labelled string with its candidates' features."""

    text: str
    fold: int
    negative: bool  # its organisation was held out of the index: abstaining is right
    X: np.ndarray
    rors: list[str]
    gold: int  # row of the right candidate, -1 when none is right

    @property
    def gold_ror(self) -> str | None:
        return self.rors[self.gold] if self.gold >= 0 else None


@dataclass(slots=True)
class Outcome:
    """What the model did with one string: its best candidate, that candidate's probability, and whether
    predicting it would be right."""

    negative: bool
    predicted: str | None
    probability: float
    correct: bool


def family(matcher: AffiliationMatcher, ror: str) -> frozenset[str]:
    """An organisation with its parents and children (held out together)."""
    idx = matcher.index
    o = idx.by_ror.get(ror)
    if o is None:
        return frozenset({ror})
    members = {o, *idx.parents[o], *idx.children[o]}
    return frozenset(idx.orgs[m].ror for m in members)


def collect(matcher: AffiliationMatcher, rows: Sequence[tuple[str, str | None]], *, folds: int = 5,
            negative_share: float = 0.2, seed: int = 7,
            progress: Callable[[int], None] | None = None) -> list[Example]:
    """Candidates and labels for every ``(string, gold ROR id or None)``; a ``negative_share`` of the gold
    organisations is held out of the index to make negatives."""
    rng = random.Random(seed)
    golds = sorted({g for _, g in rows if g})
    rng.shuffle(golds)
    fold_of = {g: i % folds for i, g in enumerate(golds)}
    held = set(golds[: int(len(golds) * negative_share)])
    out: list[Example] = []
    for n, (text, gold) in enumerate(rows):
        negative = gold is None or gold in held
        exclude = family(matcher, gold) if gold in held else frozenset()
        cands = matcher.candidates(text, exclude=exclude)
        rors = [c.ror for c in cands]
        X = np.asarray([c.features for c in cands], dtype=np.float64).reshape(len(cands), len(FEATURES))
        right = -1 if negative or gold not in rors else rors.index(gold)
        fold = fold_of[gold] if gold else rng.randrange(folds)
        out.append(Example(text, fold, negative, X, rors, right))
        if progress and n % 500 == 0:
            progress(n)
    return out


def fit(examples: Sequence[Example], *, l2: float = L2) -> Choice:
    return fit_choice([e.X for e in examples], [e.gold for e in examples], FEATURES, l2=l2)


def decide(choice: Choice, e: Example) -> Outcome:
    p = choice.probabilities(e.X)
    if not len(p):
        return Outcome(e.negative, None, 0.0, False)
    i = int(np.argmax(p))
    return Outcome(e.negative, e.rors[i], float(p[i]), i == e.gold)


def cross_validate(examples: Sequence[Example], *, l2: float = L2) -> list[Outcome]:
    """Out-of-fold outcomes: each fold decided by a model fitted on the other folds."""
    folds = sorted({e.fold for e in examples})
    out: list[Outcome | None] = [None] * len(examples)
    for k in folds:
        choice = fit([e for e in examples if e.fold != k], l2=l2)
        for i, e in enumerate(examples):
            if e.fold == k:
                out[i] = decide(choice, e)
    return [o for o in out if o is not None]


def figures(outcomes: Sequence[Outcome], threshold: float) -> dict[str, float]:
    """Precision, recall, F1 of predicting the best candidate when its probability reaches ``threshold``
    (a wrong id counts against precision and recall, an abstention only against recall), and the share of
    negatives correctly left alone."""
    tp = sum(1 for o in outcomes if o.probability >= threshold and o.correct)
    fp = sum(1 for o in outcomes if o.probability >= threshold and not o.correct)
    positives = sum(1 for o in outcomes if not o.negative)
    negatives = [o for o in outcomes if o.negative]
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / positives if positives else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    abstained = sum(1 for o in negatives if o.probability < threshold)
    return {"threshold": threshold, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
            "negatives": len(negatives), "negatives_abstained": round(abstained / len(negatives), 4) if negatives
            else None, "predicted": tp + fp, "strings": len(outcomes)}


def pick_threshold(outcomes: Sequence[Outcome], *, min_precision: float, objective: str = "f1") -> float:
    """The threshold with the best ``objective`` among those reaching ``min_precision``."""
    grid = [round(x, 3) for x in np.arange(0.05, 0.995, 0.01)]
    best, best_value = grid[-1], -1.0
    for t in grid:
        fig = figures(outcomes, t)
        if fig["precision"] >= min_precision and fig[objective] > best_value:
            best, best_value = t, fig[objective]
    return best


def cross_validate_trees(examples: Sequence[Example], margin_weights: Sequence[float] = MARGIN_WEIGHTS
                         ) -> dict[float, list[Outcome]]:
    """Out-of-fold outcomes of the tree ranker, one list per margin weight (the trees do not depend on it)."""
    folds = sorted({e.fold for e in examples})
    scores: list[np.ndarray] = [np.zeros(0)] * len(examples)
    for k in folds:
        train_part = [e for e in examples if e.fold != k]
        ranker = fit_trees([e.X for e in train_part], [e.gold for e in train_part], FEATURES)
        for i, e in enumerate(examples):
            if e.fold == k:
                scores[i] = ranker.scores(e.X)
    out: dict[float, list[Outcome]] = {}
    for w in margin_weights:
        outs = []
        for e, s in zip(examples, scores, strict=True):
            if not len(s):
                outs.append(Outcome(e.negative, None, float("-inf"), False))
                continue
            c = confidence(s, w)
            j = int(np.argmax(c))
            outs.append(Outcome(e.negative, e.rors[j], float(c[j]), j == e.gold))
        out[w] = outs
    return out


def calibrate(oof: Sequence[Outcome]) -> tuple[Isotonic, list[Outcome]]:
    """Isotonic calibration of out-of-fold scores, and the outcomes with calibrated probabilities."""
    finite = [o for o in oof if np.isfinite(o.probability)]
    calibration = fit_isotonic(np.asarray([o.probability for o in finite]), np.asarray([o.correct for o in finite]))
    cal = [Outcome(o.negative, o.predicted, float(calibration(o.probability)) if np.isfinite(o.probability) else 0.0,
                   o.correct) for o in oof]
    return calibration, cal


def train(matcher: AffiliationMatcher, rows: Sequence[tuple[str, str | None]], *, folds: int = 5,
          negative_share: float = 0.2, seed: int = 7, l2: float = L2, scorer: str = "auto",
          progress: Callable[[int], None] | None = None) -> MatchModel:
    """Fit the shipped model: the scorer on every string, calibration and thresholds from cross-validation.

    Scorer: the conditional logit and gradient-boosted trees (with each margin weight of
    :data:`MARGIN_WEIGHTS`) are cross-validated on the same grouped folds; ``auto`` ships the one with the best
    F1 at its ``accept`` threshold. Thresholds: ``accept`` (an id is reported) maximises F1 with CV precision
    >= 0.95; ``auto_merge`` (records merge without review) is the lowest with CV precision >= 0.99; ``review``
    (a merge is proposed to a curator) is 0.5: a curator sees the matches more likely right than wrong.
    """
    examples = collect(matcher, rows, folds=folds, negative_share=negative_share, seed=seed, progress=progress)
    options: dict[str, tuple[Isotonic, list[Outcome], float | None]] = {}
    if scorer in ("auto", "logit"):
        iso, cal = calibrate(cross_validate(examples, l2=l2))
        options["logit"] = (iso, cal, None)
    if scorer in ("auto", "trees"):
        for w, oof in cross_validate_trees(examples).items():
            iso, cal = calibrate(oof)
            options[f"trees_margin_{w}"] = (iso, cal, w)
    compared = {name: figures(cal, pick_threshold(cal, min_precision=0.95)) for name, (_, cal, _) in options.items()}
    chosen = max(compared, key=lambda name: compared[name]["f1"])
    calibration, cal, margin = options[chosen]
    accept = pick_threshold(cal, min_precision=0.95)
    auto = pick_threshold(cal, min_precision=0.99, objective="recall")
    ranker: TreeRanker | None = None
    if margin is not None:
        ranker = fit_trees([e.X for e in examples], [e.gold for e in examples], FEATURES, margin_weight=margin)
    model = MatchModel(fit(examples, l2=l2), calibration,
                       {"accept": accept, "auto_merge": max(auto, accept), "review": min(REVIEW, accept)},
                       ranker=ranker)
    pos_only = [o for o in cal if not o.negative]
    model.report = {
        "strings": len(examples), "negatives": sum(e.negative for e in examples), "folds": folds,
        "negative_share": negative_share, "seed": seed, "l2": l2, "scorer": chosen,
        "candidate_recall": round(sum(1 for e in examples if not e.negative and e.gold >= 0)
                                  / max(1, sum(1 for e in examples if not e.negative)), 4),
        "cv_scorers_at_accept": compared,
        "cv_with_negatives": {k: figures(cal, t) for k, t in model.thresholds.items()},
        "cv_positives_only": {k: figures(pos_only, t) for k, t in model.thresholds.items()},
    }
    return model


__all__ = ["Example", "Outcome", "calibrate", "collect", "cross_validate", "cross_validate_trees", "decide", "family",
           "figures", "fit", "pick_threshold", "train"]
