"""How the SDG tagger turns its signals into goal scores: the features, the fitted weights, and which weight
set a text's language gets.

The tagger measures four signals per goal (:data:`FEATURES`, see :mod:`citybridge.enrich.sdg`). Not every
language has all of them: Aurora queries are English, the hand-written keywords cover five languages and the
wordllama model is an English one. A weight set fitted with a signal the text's language lacks would score
that text too low, so each text is scored by the model of the signals its language has (:func:`model_for`):

- ``en``: lexical, semantic, Aurora and keyword signals (English with wordllama);
- ``en-lexical``: the same without the semantic signal (wordllama not installed);
- ``keywords``: lexical and keyword signals (Spanish, French, Portuguese, German);
- ``lexical``: the lexical signal alone, from the UN goal/target/indicator texts in the text's language
  (the 26 languages of the UN table; other languages use the English texts).

A feature named ``<signal>_margin`` is the goal's signal minus the strongest *other* goal's, i.e. how much
this goal stands out in the text. Goal score = logistic(bias + sum(weight * feature)); tagged at >= 0.5.

Every weight set was fitted on the development half of the SDG benchmark only, with the features of each
model chosen by repeated 5-fold cross-validation on that half (``python benchmarks/eval_sdg.py --tune``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from citybridge.enrich.sdg_keywords import SDG_KEYWORDS

__all__ = ["FEATURES", "MARGINS", "SDG_MODELS", "THRESHOLD", "design", "goal_scores", "model_for",
           "model_signals"]

FEATURES: tuple[str, ...] = ("lexical", "semantic", "aurora", "keywords")
MARGINS: tuple[str, ...] = tuple(f"{f}_margin" for f in FEATURES)
THRESHOLD = 0.5

# Fitted by `python benchmarks/eval_sdg.py --tune` (dev half only; see the module docstring).
SDG_MODELS: dict[str, dict[str, float]] = {
    "en": {"bias": -2.0342, "lexical": 6.0578, "semantic": 1.3407, "aurora": 1.4069, "keywords": 1.3759,
           "keywords_margin": 0.8908},
    "en-lexical": {"bias": -1.8803, "lexical": 15.2569, "aurora": 2.4073, "keywords": 1.6486,
                   "keywords_margin": 0.5315},
    "keywords": {"bias": -2.0627, "lexical": 17.3909, "keywords": 1.7905, "keywords_margin": 0.4633},
    "lexical": {"bias": -1.7293, "lexical": 33.8305},
}

_KEYWORD_LANGS = frozenset(lang for by_lang in SDG_KEYWORDS.values() for lang in by_lang)
_MODEL_SIGNALS: dict[str, tuple[str, ...]] = {
    "en": FEATURES,
    "en-lexical": ("lexical", "aurora", "keywords"),
    "keywords": ("lexical", "keywords"),
    "lexical": ("lexical",),
}


def model_for(lang: str, embeddings: bool) -> str:
    """The weight set for a text in ``lang`` (ISO 639-1), given whether the semantic signal is on."""
    if lang == "en":
        return "en" if embeddings else "en-lexical"
    return "keywords" if lang in _KEYWORD_LANGS else "lexical"


def model_signals(model: str) -> tuple[str, ...]:
    """The signals a model may use (its candidate features are these and their margins)."""
    return _MODEL_SIGNALS[model]


def design(features: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The named features from raw signals ``features`` (n_texts, 17, 4): shape (n_texts, 17, len(names))."""
    out = np.zeros((*features.shape[:2], len(names)), dtype=np.float64)
    for k, name in enumerate(names):
        signal = name.removesuffix("_margin")
        values = features[..., FEATURES.index(signal)].astype(np.float64)
        if name == signal:
            out[..., k] = values
            continue
        # strongest other goal: the best goal's runner-up for the best goal, the best goal for the others
        order = np.sort(values, axis=1)
        best, second = order[:, -1:], order[:, -2:-1]
        out[..., k] = values - np.where(values >= best, second, best)
    return out


def goal_scores(features: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """0..1 goal scores (n_texts, 17) of raw signals ``features`` (n_texts, 17, 4) under one weight set."""
    names = [k for k in weights if k != "bias"]
    logit = weights.get("bias", 0.0) + design(features, names) @ np.array([weights[k] for k in names])
    return 1.0 / (1.0 + np.exp(-logit))
