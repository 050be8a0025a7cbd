"""Match scoring: gradient-boosted trees (LightGBM) or a conditional-logit choice among a string's candidates
and "none of them", isotonic calibration of the chosen candidate's probability, stored as JSON.

The trees score each candidate on its own features; a candidate's confidence adds how far it stands above
the best other candidate (``margin_weight``), so a string with two equally good candidates is not accepted.
Which of the two scorers ships is decided by grouped cross-validation (``scripts/train_affiliation_model.py``).

The models ship in ``resolve/data/affiliation-model.json``, written by ``scripts/train_affiliation_model.py``
together with the thresholds chosen by cross-validation and the figures they gave.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FORMAT = "citybridge-match-model 2"
_READABLE = ("citybridge-match-model 1", MODEL_FORMAT)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass(slots=True)
class Logistic:
    """A logistic model: ``p = sigmoid(X @ w)`` (the last feature is the constant 1)."""

    features: tuple[str, ...]
    weights: np.ndarray

    def logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.weights

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "weights": [round(float(w), 6) for w in self.weights]}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Logistic:
        return cls(tuple(body["features"]), np.asarray(body["weights"], dtype=np.float64))


def fit_logistic(X: np.ndarray, y: np.ndarray, features: Sequence[str], *, l2: float = 1.0,
                 sample_weight: np.ndarray | None = None) -> Logistic:
    """L2-regularised logistic regression (L-BFGS); the last column is the unpenalised intercept."""
    from scipy.optimize import minimize

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    penal = np.ones(X.shape[1])
    penal[-1] = 0.0

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = X @ w
        p = sigmoid(z)
        # log(1 + e^z) - y z, stable
        ll = np.logaddexp(0.0, z) - y * z
        f = float(np.sum(sw * ll) + 0.5 * l2 * np.sum(penal * w * w))
        g = X.T @ (sw * (p - y)) + l2 * penal * w
        return f, g

    res = minimize(loss, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return Logistic(tuple(features), res.x)


@dataclass(slots=True)
class Isotonic:
    """A monotone step function from a score to a probability (pool-adjacent-violators)."""

    x: np.ndarray
    y: np.ndarray

    def __call__(self, s: np.ndarray | float) -> np.ndarray:
        return np.interp(s, self.x, self.y, left=self.y[0], right=self.y[-1])

    def to_json(self) -> dict[str, Any]:
        return {"x": [round(float(v), 5) for v in self.x], "y": [round(float(v), 5) for v in self.y]}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Isotonic:
        return cls(np.asarray(body["x"], dtype=np.float64), np.asarray(body["y"], dtype=np.float64))


def fit_isotonic(scores: np.ndarray, correct: np.ndarray, *, min_bin: int = 20) -> Isotonic:
    """Isotonic regression of ``correct`` (0/1) on ``scores``; blocks hold at least ``min_bin`` samples so
    the curve is not a staircase of single points. The end points are shrunk towards 0.5 by one sample."""
    order = np.argsort(scores, kind="mergesort")
    s = np.asarray(scores, dtype=np.float64)[order]
    c = np.asarray(correct, dtype=np.float64)[order]
    # start from blocks of min_bin samples, then pool adjacent violators
    blocks: list[list[float]] = []  # [sum_correct, count, sum_score]
    for i in range(0, len(s), min_bin):
        blocks.append([float(c[i:i + min_bin].sum()), float(len(c[i:i + min_bin])), float(s[i:i + min_bin].sum())])
    merged: list[list[float]] = []
    for b in blocks:
        merged.append(b)
        while len(merged) > 1 and merged[-2][0] / merged[-2][1] >= merged[-1][0] / merged[-1][1]:
            top = merged.pop()
            merged[-1] = [merged[-1][0] + top[0], merged[-1][1] + top[1], merged[-1][2] + top[2]]
    xs = np.asarray([b[2] / b[1] for b in merged])
    ys = np.asarray([(b[0] + 0.5) / (b[1] + 1.0) for b in merged])
    return Isotonic(xs, ys)


@dataclass(slots=True)
class Choice:
    """A conditional-logit choice among a string's candidates and "none of them":
    ``P(candidate i) = e^(x_i w) / (e^b + sum_j e^(x_j w))``, ``P(none) = e^b / (...)``."""

    model: Logistic
    abstain: float

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """Probability of each candidate (rows of X); the rest, ``1 - sum``, is "none of them"."""
        if len(X) == 0:
            return np.zeros(0)
        z = self.model.logits(X)
        top = max(float(z.max()), self.abstain)
        e = np.exp(z - top)
        return e / (e.sum() + np.exp(self.abstain - top))

    def to_json(self) -> dict[str, Any]:
        return {**self.model.to_json(), "abstain": round(float(self.abstain), 6)}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Choice:
        return cls(Logistic.from_json(body), float(body["abstain"]))


def fit_choice(groups: Sequence[np.ndarray], gold: Sequence[int], features: Sequence[str], *,
               l2: float = 1.0) -> Choice:
    """Fit a :class:`Choice` by maximum likelihood: ``groups[g]`` holds the candidate features of string g,
    ``gold[g]`` the row of the right candidate or -1 when none is right (abstaining is the right answer)."""
    from scipy.optimize import minimize

    d = len(features)
    sizes = np.asarray([len(x) for x in groups])
    X = np.vstack([x for x in groups if len(x)]) if sizes.sum() else np.zeros((0, d))
    G = len(groups)
    grp = np.repeat(np.arange(G), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gold_arr = np.asarray(gold)
    has = gold_arr >= 0
    rows = (starts + np.maximum(gold_arr, 0))[has]
    penal = np.ones(d)
    penal[-1] = 0.0

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:d], params[d]
        z = X @ w
        zmax = np.full(G, b)
        np.maximum.at(zmax, grp, z)
        ez = np.exp(z - zmax[grp])
        e0 = np.exp(b - zmax)
        total = e0 + np.bincount(grp, weights=ez, minlength=G)
        lse = zmax + np.log(total)
        target = np.full(G, b)
        target[has] = z[rows]
        value = float(np.sum(lse - target) + 0.5 * l2 * np.sum(penal * w * w))
        gz = ez / total[grp]
        np.subtract.at(gz, rows, 1.0)
        gw = X.T @ gz + l2 * penal * w
        gb = float(np.sum(e0 / total) - np.sum(~has))
        return value, np.concatenate([gw, [gb]])

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    return Choice(Logistic(tuple(features), res.x[:d]), float(res.x[d]))


#: LightGBM settings of the shipped ranker (binary objective on candidate rows)
TREE_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1,
    "num_threads": 1, "seed": 7, "deterministic": True, "force_row_wise": True}
TREE_ROUNDS = 300


@dataclass(slots=True)
class TreeRanker:
    """Gradient-boosted trees scoring each candidate; ``confidence`` turns the scores of one string's candidates
    into the number that is calibrated: ``s_i + margin_weight * clip(s_i - max_{j != i} s_j, -10, 10)``."""

    features: tuple[str, ...]
    model_text: str
    margin_weight: float = 0.5
    booster: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.booster is None:
            import lightgbm

            self.booster = lightgbm.Booster(model_str=self.model_text)

    def scores(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(np.asarray(X, dtype=np.float64), raw_score=True, num_threads=1))

    def confidence(self, s: np.ndarray) -> np.ndarray:
        return confidence(s, self.margin_weight)

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "margin_weight": self.margin_weight, "model": self.model_text}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TreeRanker:
        return cls(tuple(body["features"]), body["model"], float(body.get("margin_weight", 0.5)))


def confidence(s: np.ndarray, margin_weight: float) -> np.ndarray:
    """Each score plus ``margin_weight`` times its lead over the best other score of the same string."""
    s = np.asarray(s, dtype=np.float64)
    if len(s) == 0:
        return s
    if len(s) == 1:
        return s + margin_weight * 10.0
    order = np.argsort(-s, kind="stable")
    first, second = s[order[0]], s[order[1]]
    other = np.where(np.arange(len(s)) == order[0], second, first)
    return s + margin_weight * np.clip(s - other, -10.0, 10.0)


def fit_trees(groups: Sequence[np.ndarray], gold: Sequence[int], features: Sequence[str], *,
              margin_weight: float = 0.5, rounds: int = TREE_ROUNDS,
              params: dict[str, Any] | None = None) -> TreeRanker:
    """Fit a :class:`TreeRanker`: every candidate row is an example, the gold row (if any) the positive one."""
    import lightgbm

    used = [(x, g) for x, g in zip(groups, gold, strict=True) if len(x)]
    X = np.vstack([x for x, _ in used]) if used else np.zeros((0, len(features)))
    y = np.concatenate([(np.arange(len(x)) == g).astype(np.float64) for x, g in used]) if used else np.zeros(0)
    booster = lightgbm.train({**TREE_PARAMS, **(params or {})}, lightgbm.Dataset(X, y), rounds)
    return TreeRanker(tuple(features), booster.model_to_string(), margin_weight, booster)


@dataclass(slots=True)
class MatchModel:
    """The scorer (trees when ``ranker`` is set, else the choice model), the calibration of its confidence,
    and the thresholds chosen on dev data."""

    choice: Choice
    calibration: Isotonic
    thresholds: dict[str, float] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    ranker: TreeRanker | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return self.ranker.features if self.ranker is not None else self.choice.model.features

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Ranking score of each candidate (higher is better)."""
        if self.ranker is not None:
            return self.ranker.scores(X)
        return self.choice.model.logits(X)

    def probabilities(self, X: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probability of each candidate being the organisation meant."""
        if self.ranker is not None:
            s = self.ranker.scores(X) if scores is None else scores
            return np.asarray(self.calibration(self.ranker.confidence(s))) if len(s) else s
        raw = self.choice.probabilities(X)
        return np.asarray(self.calibration(raw)) * (raw > 0) if len(raw) else raw

    def to_json(self) -> dict[str, Any]:
        body = {"format": MODEL_FORMAT, "choice": self.choice.to_json(), "calibration": self.calibration.to_json(),
                "thresholds": self.thresholds, "report": self.report}
        if self.ranker is not None:
            body["ranker"] = self.ranker.to_json()
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> MatchModel:
        if body.get("format") not in _READABLE:
            raise ValueError(f"match model has format {body.get('format')!r}, expected {MODEL_FORMAT!r}")
        ranker = TreeRanker.from_json(body["ranker"]) if body.get("ranker") else None
        return cls(Choice.from_json(body["choice"]), Isotonic.from_json(body["calibration"]),
                   dict(body.get("thresholds") or {}), dict(body.get("report") or {}), ranker)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def shipped_model(name: str = "affiliation-model.json") -> MatchModel:
    """A model shipped inside the package (``citybridge/resolve/data``)."""
    text = resources.files("citybridge.resolve").joinpath("data", name).read_text(encoding="utf-8")
    return MatchModel.from_json(json.loads(text))


__all__ = ["Choice", "Isotonic", "Logistic", "MODEL_FORMAT", "MatchModel", "TREE_PARAMS", "TREE_ROUNDS", "TreeRanker",
           "confidence", "fit_choice", "fit_isotonic", "fit_logistic", "fit_trees", "shipped_model", "sigmoid"]
