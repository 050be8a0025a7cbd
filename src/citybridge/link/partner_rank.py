"""A learned ranking of the consortium builder's candidates (learning to rank over graph, expertise, type,
geography and recency features).

The hand-weighted sum of signals (:data:`citybridge.link.partners.DEFAULT_WEIGHTS`) ranks every organisation;
this ranker re-scores a *pool* of candidates, the best :data:`POOL` of a few generators (the weighted walk,
a plain walk, Adamic-Adar, collaboration), with gradient-boosted trees (LightGBM, lambdarank) over
:data:`FEATURES`. The trees were fit on hidden-partner queries of the earlier years only
(``benchmarks/eval_partners.py --fit-ranker``: graph 2014-2017 with 2018 queries and graph 2014-2018 with
2019 queries; the evaluation years 2020-2022 never seen) and ship as a versioned text artifact,
``link/data/partner_ranker.json`` (LightGBM's own text format inside JSON; no pickle).

Organisations outside the pool keep the hand-weighted order below every pool member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.errors import Invalid
from citybridge.link.partner_graph import PartnerGraph
from citybridge.link.partner_signals import SIGNALS, PartnerQuery, Signals, personalized_pagerank

RANKER_FORMAT = 1
RANKER_PATH = Path(__file__).with_name("data") / "partner_ranker.json"
#: candidates taken from each generator
POOL = 150
FEATURES = (*SIGNALS, "ppr", "ppr_far", "shared", "adamic", "linked_share", "linked", "max_pair", "degree",
            "years_since_last", "years_active", "partners", "same_type_share", "part_share")


def _aa_weights(graph: PartnerGraph) -> np.ndarray:
    cache = graph.__dict__.setdefault("_signal_cache", {})
    if "aa_log" not in cache:
        cache["aa_log"] = (1.0 / np.log(np.maximum(graph.project_size, 2.0))).astype(np.float32)
    return cache["aa_log"]  # type: ignore[no-any-return]


def generators(graph: PartnerGraph, query: PartnerQuery, sig: Signals) -> dict[str, np.ndarray]:
    """Full-length vectors that are both features and candidate generators."""
    n = graph.n_orgs
    partners = sorted(set(query.partners))
    out = {"ppr": np.zeros(n, np.float32), "ppr_far": np.zeros(n, np.float32), "adamic": np.zeros(n, np.float32)}
    if partners:
        out["ppr"] = personalized_pagerank(graph, partners, restart=0.5)
        out["ppr_far"] = personalized_pagerank(graph, partners, restart=0.15, iterations=25)
        on = np.asarray(graph.incidence[partners].sum(axis=0)).ravel().astype(np.float32)
        out["adamic"] = np.asarray(graph.incidence @ (on * _aa_weights(graph))).ravel().astype(np.float32)
    return out


def candidates(graph: PartnerGraph, query: PartnerQuery, sig: Signals, gens: dict[str, np.ndarray],
               allowed: np.ndarray, pool: int = POOL) -> np.ndarray:
    """Rows of the pool: the best ``pool`` allowed organisations of each generator, sorted."""
    picked: set[int] = set()
    for v in (sig.values["network"], gens["ppr"], gens["ppr_far"], gens["adamic"], sig.values["collab"]):
        s = np.where(allowed, v, -np.inf)
        k = min(pool, int(np.isfinite(s).sum()))
        if k:
            top = np.argpartition(-s, k - 1)[:k]
            picked.update(int(j) for j in top if s[j] > 0)
    return np.asarray(sorted(picked), dtype=np.int64)


def features(graph: PartnerGraph, query: PartnerQuery, sig: Signals, gens: dict[str, np.ndarray],
             rows: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` of the organisations at ``rows`` (one row each)."""
    partners = sorted(set(query.partners))
    cols: list[np.ndarray] = [sig.values[s][rows] for s in SIGNALS]
    cols += [gens["ppr"][rows], gens["ppr_far"][rows]]
    cols.append(sig.shared[rows])
    cols.append(gens["adamic"][rows])
    if partners and len(rows):
        co = (graph.incidence[partners] @ graph.incidence_t[:, rows]).toarray()  # partners x candidates
        linked = (co > 0).sum(axis=0).astype(np.float32)
        cols += [linked / len(partners), linked, co.max(axis=0).astype(np.float32)]
    else:
        z = np.zeros(len(rows), np.float32)
        cols += [z, z, z]
    cols.append(np.log1p(graph.org_degree[rows]))
    last = graph.org_last_year[rows].astype(np.float32)
    first = graph.org_first_year[rows].astype(np.float32)
    ref = float(sig.ref_year)
    cols.append(np.where(last >= 0, ref - last, 20.0).astype(np.float32))
    cols.append(np.where((last >= 0) & (first >= 0), last - first + 1, 0.0).astype(np.float32))
    cols.append(np.full(len(rows), float(sig.consortium_size), np.float32))
    size = max(sig.consortium_size, 1)
    types = graph.org_type[rows]
    cols.append(np.asarray([sig.type_present.get(graph.types[t], 0) / size for t in types], np.float32))
    if sig.part_counts is not None:
        cols.append((sig.part_counts[rows] / np.maximum(graph.org_degree[rows], 1.0)).astype(np.float32))
    else:
        cols.append(np.zeros(len(rows), np.float32))
    return np.stack(cols, axis=1).astype(np.float64)


@dataclass
class PartnerRanker:
    """LightGBM trees over :data:`FEATURES` (see the module docstring)."""

    model_text: str
    version: str
    features: tuple[str, ...] = FEATURES
    pool: int = POOL
    chosen_by: str = ""
    booster: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.features) != FEATURES:
            raise Invalid(f"partner ranker {self.version}: features {list(self.features)} differ from the code's "
                          f"{list(FEATURES)}; refit it (eval_partners.py --fit-ranker)", field="features")
        if self.booster is None:
            import lightgbm

            self.booster = lightgbm.Booster(model_str=self.model_text)

    def scores(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        return np.asarray(self.booster.predict(x, raw_score=True, num_threads=1))

    def rank(self, graph: PartnerGraph, query: PartnerQuery, sig: Signals, allowed: np.ndarray,
             fallback: np.ndarray) -> np.ndarray:
        """A score over every organisation: the pool by the trees, above everyone else in ``fallback`` order
        (``-inf`` where not allowed)."""
        gens = generators(graph, query, sig)
        rows = candidates(graph, query, sig, gens, allowed, self.pool)
        out = np.where(allowed, fallback, -np.inf).astype(np.float64)
        if len(rows):
            s = self.scores(features(graph, query, sig, gens, rows))
            finite = out[np.isfinite(out)]
            top = float(finite.max()) if finite.size else 0.0
            # pool members sit above every other organisation, in the trees' order
            out[rows] = top + 1.0 + (s - s.min())
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"format": RANKER_FORMAT, "version": self.version, "features": list(self.features),
                "pool": self.pool, "chosen_by": self.chosen_by, "model": self.model_text}

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict()) + "\n", "utf-8")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "partner ranker") -> PartnerRanker:
        if data.get("format") != RANKER_FORMAT:
            raise Invalid(f"{source}: format {data.get('format')!r}, expected {RANKER_FORMAT}", field="format")
        return cls(str(data["model"]), str(data.get("version", "")), tuple(data.get("features", ())),
                   int(data.get("pool", POOL)), str(data.get("chosen_by", "")))


@lru_cache(maxsize=2)
def load_ranker(path: Path = RANKER_PATH) -> PartnerRanker | None:
    """The shipped ranker, or None when there is none (the hand-weighted signals then rank alone)."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path}: unreadable partner ranker ({exc})", field="path") from exc
    return PartnerRanker.from_dict(data, str(path))


#: LightGBM settings of the ranker (few, shallow trees: ~3,000 training queries)
TREE_PARAMS = {"objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10], "learning_rate": 0.05,
               "num_leaves": 15, "min_data_in_leaf": 50, "feature_fraction": 0.8, "bagging_fraction": 0.8,
               "bagging_freq": 1, "lambdarank_truncation_level": 30, "verbose": -1, "num_threads": 1,
               "seed": 7, "deterministic": True, "force_row_wise": True}


def fit_ranker(groups: list[np.ndarray], gold: list[int], rounds: int = 300, version: str = "",
               chosen_by: str = "") -> PartnerRanker:
    """Fit the trees: one group of candidate rows per query, ``gold`` the hidden organisation's row in it."""
    import lightgbm

    x = np.vstack(groups)
    y = np.concatenate([(np.arange(len(g)) == t).astype(np.float64) for g, t in zip(groups, gold, strict=True)])
    ds = lightgbm.Dataset(x, y, group=[len(g) for g in groups])
    booster = lightgbm.train(TREE_PARAMS, ds, rounds)
    return PartnerRanker(booster.model_to_string(), version, FEATURES, POOL, chosen_by, booster)


__all__ = ["FEATURES", "POOL", "PartnerRanker", "RANKER_PATH", "candidates", "features", "fit_ranker",
           "generators", "load_ranker"]
