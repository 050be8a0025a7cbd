"""The tree ranker behind the affiliation model: fitting, the margin in its confidence, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citybridge.resolve.scoring import (
    Choice,
    Isotonic,
    Logistic,
    MatchModel,
    confidence,
    fit_trees,
    shipped_model,
)


def _groups(n: int, seed: int = 3) -> tuple[list[np.ndarray], list[int]]:
    """Strings with 4 candidates each; the gold one has the highest first feature, 20% have no gold."""
    rng = np.random.default_rng(seed)
    groups, gold = [], []
    for _ in range(n):
        X = np.column_stack([rng.uniform(0, 0.6, 4), rng.normal(size=4), np.ones(4)])
        g = int(rng.integers(4)) if rng.uniform() > 0.2 else -1
        if g >= 0:
            X[g, 0] = rng.uniform(0.7, 1.0)
        groups.append(X)
        gold.append(g)
    return groups, gold


def test_confidence_rewards_a_clear_lead() -> None:
    lead = confidence(np.array([3.0, -1.0]), 0.5)
    tie = confidence(np.array([3.0, 3.0]), 0.5)
    assert lead[0] == pytest.approx(3.0 + 0.5 * 4.0)
    assert lead[1] == pytest.approx(-1.0 - 0.5 * 4.0)
    assert tie.tolist() == [3.0, 3.0]
    assert confidence(np.array([1.0]), 0.0).tolist() == [1.0]
    assert confidence(np.zeros(0), 0.5).shape == (0,)


def test_trees_learn_the_gold_candidate_and_round_trip(tmp_path) -> None:
    groups, gold = _groups(400)
    ranker = fit_trees(groups, gold, ("strength", "noise", "bias"), rounds=40, params={"min_data_in_leaf": 5})
    test_groups, test_gold = _groups(200, seed=11)
    hits = [int(np.argmax(ranker.scores(X))) == g for X, g in zip(test_groups, test_gold, strict=True) if g >= 0]
    assert sum(hits) / len(hits) > 0.9
    model = MatchModel(Choice(Logistic(("strength", "noise", "bias"), np.zeros(3)), 0.0),
                       Isotonic(np.array([-5.0, 5.0]), np.array([0.0, 1.0])), {"accept": 0.5}, ranker=ranker)
    path = tmp_path / "model.json"
    model.save(path)
    again = MatchModel.load(path)
    assert again.ranker is not None and again.features == ("strength", "noise", "bias")
    X = test_groups[0]
    assert np.allclose(again.scores(X), model.scores(X))
    assert np.allclose(again.probabilities(X), model.probabilities(X))
    # a string whose best two candidates are identical is less certain than one with a single strong candidate
    one = np.array([[0.95, 0.0, 1.0], [0.1, 0.0, 1.0]])
    two = np.array([[0.95, 0.0, 1.0], [0.95, 0.0, 1.0]])
    assert model.probabilities(one)[0] > model.probabilities(two)[0]


def test_older_or_foreign_model_formats(tmp_path) -> None:
    body = shipped_model().to_json()
    body["format"] = "citybridge-match-model 1"
    body.pop("ranker", None)
    assert MatchModel.from_json(json.loads(json.dumps(body))).ranker is None
    body["format"] = "something else 7"
    with pytest.raises(ValueError, match="format"):
        MatchModel.from_json(body)
