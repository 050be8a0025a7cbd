"""The signals of the consortium builder, each a vector over every organisation of a :class:`PartnerGraph`.

All signals are in 0..1 (scaled per query or by a graph-wide maximum) so their weights can be read as
relative importance. They are computed with sparse matrix-vector products, never by looping over
organisations, so one query over 36,000 organisations costs a few milliseconds.

Signals:

- ``collab``: prior collaboration with the current partners - shared projects, each weighted like
  Adamic-Adar by ``1 / log(1 + project size)`` (a 5-partner project says more than a 60-partner one) and by
  recency.
- ``network``: graph proximity beyond direct partners - personalised PageRank on the organisation-project
  bipartite graph, restarting at the current partners (2-hop and longer ties); the walk steps to recent
  projects and to projects of the query's programme parts more readily (recency half-life, :data:`PART_BOOST`).
- ``consortium``: the most current partners the organisation shared one project with (a consortium that
  forms again), log-scaled against the number of current partners.
- ``expertise``: share of the organisation's projects in the query's programme parts, cosine of its
  expertise profile labels (SDGs, pathways, keywords) with the query's, cosine of its profile vector with the
  query's embedding - the mean of those available.
- ``type_fit``: how much the consortium lacks the organisation's type, against the type mix usual in the
  query's programme parts.
- ``geo_home``: share of the consortium based in the organisation's country.
- ``geo_balance``: 1 when the organisation adds a country the consortium does not have yet.
- ``experience``, ``coordination``, ``recent``: capacity - number of projects, of coordinated projects,
  and of projects started in the last three years before the reference year (log-scaled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citybridge.link.partner_graph import PartnerGraph

SIGNALS = ("collab", "network", "consortium", "expertise", "type_fit", "geo_home", "geo_balance", "experience",
           "coordination", "recent")
RECENT_YEARS = 3
PART_BOOST = 3.0  # a project in the query's programme parts weighs this much more in the network walk
RESTART = 0.5  # restart probability of the network walk (chosen on the development split with the weights)


@dataclass
class PartnerQuery:
    """What the consortium builder knows about the project being put together.

    Args:
        partners: graph rows of the current partners.
        parts: programme parts (e.g. ``SC5``) or programmes of the project or call.
        countries: countries of current partners that are not in the graph (the graph's own are added).
        types: organisation types of current partners that are not in the graph.
        labels: expertise labels of the text (``sdg:11``, ``pathway:resilient``, ``kw:heat``) with scores.
        vector: an embedding of the text, in the model of the graph's profile vectors.
        year: the project's start year; "recent" counts the years before it (default: after the graph's last).
    """

    partners: Sequence[int] = ()
    parts: Sequence[str] = ()
    countries: Sequence[str] = ()
    types: Sequence[str] = ()
    labels: Mapping[str, float] = field(default_factory=dict)
    vector: np.ndarray | None = None
    year: int | None = None


@dataclass
class Signals:
    """Signal name -> values over all organisations, plus what the explanations need."""

    values: dict[str, np.ndarray]
    shared: np.ndarray  # number of projects shared with the current partners (unweighted)
    part_counts: np.ndarray | None  # projects in the query's parts, per org
    type_prior: dict[str, float]
    type_present: dict[str, int]
    country_counts: dict[str, int]
    consortium_size: int
    label_query: dict[str, float]
    ref_year: int


def _cache(graph: PartnerGraph) -> dict[Any, Any]:
    cache = graph.__dict__.setdefault("_signal_cache", {})
    if not cache:
        from scipy import sparse

        inc = graph.incidence
        deg = np.maximum(graph.org_degree, 1.0)
        size = np.maximum(graph.project_size, 1.0)
        # row-stochastic org->project and project->org steps, stored transposed for fast mat-vecs
        cache["o2p_t"] = (sparse.diags(1.0 / deg) @ inc).T.tocsr().astype(np.float32)
        cache["p2o_t"] = (sparse.diags(1.0 / size) @ graph.incidence_t).T.tocsr().astype(np.float32)
        cache["aa"] = (1.0 / np.log1p(size)).astype(np.float32)
        cache["exp"] = _log_scaled(graph.org_degree)
        cache["coord"] = _log_scaled(graph.org_coordinated)
    return cache


def _log_scaled(x: np.ndarray) -> np.ndarray:
    top = float(np.log1p(x.max())) if x.size else 0.0
    return (np.log1p(x) / top).astype(np.float32) if top > 0 else np.zeros_like(x, dtype=np.float32)


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return (x / top).astype(np.float32) if top > 0 else np.zeros(x.shape, np.float32)


def recent_counts(graph: PartnerGraph, ref_year: int) -> np.ndarray:
    """Projects each organisation started in the ``RECENT_YEARS`` years before ``ref_year``."""
    cache = _cache(graph)
    key = f"recent:{ref_year}"
    if key not in cache:
        y = graph.project_year
        recent = ((y >= ref_year - RECENT_YEARS) & (y < ref_year)).astype(np.float32)
        cache[key] = np.asarray(graph.incidence @ recent).ravel()
    return cache[key]


def project_weights(graph: PartnerGraph, ref_year: int, half_life: float) -> np.ndarray:
    """Adamic-Adar weight of each project times a recency decay (``half_life`` years; <=0: no decay)."""
    w = _cache(graph)["aa"]
    if half_life > 0:
        age = np.where(graph.project_year >= 0, np.maximum(ref_year - graph.project_year, 0), 5)
        w = w * np.power(0.5, age / half_life).astype(np.float32)
    return w


def personalized_pagerank(graph: PartnerGraph, seeds: Sequence[int], *, restart: float = RESTART,
                          iterations: int = 15, step_weights: np.ndarray | None = None) -> np.ndarray:
    """Personalised PageRank over organisations on the bipartite graph, restarting at ``seeds``.

    One step goes organisation -> one of its projects (uniformly, or in proportion to ``project_weights``)
    -> one of that project's organisations (uniformly); with probability ``restart`` the walk jumps back to
    a seed.
    """
    n = graph.n_orgs
    if not len(seeds):
        return np.zeros(n, np.float32)
    cache = _cache(graph)
    start = np.zeros(n, np.float32)
    start[list(seeds)] = 1.0 / len(seeds)
    if step_weights is None:
        step = cache["o2p_t"]
    else:
        pw = np.asarray(step_weights, np.float32)
        out_weight = np.asarray(graph.incidence @ pw).ravel()
        inv = np.divide(1.0, out_weight, out=np.zeros_like(out_weight), where=out_weight > 0).astype(np.float32)
        inc_t = graph.incidence_t
        step = None
    v = start.copy()
    for _ in range(iterations):
        projects = step @ v if step is not None else pw * (inc_t @ (v * inv))
        v = restart * start + (1.0 - restart) * (cache["p2o_t"] @ projects)
    return v


def walk_weights(graph: PartnerGraph, ref_year: int, half_life: float, part_cols: Sequence[int]) -> np.ndarray:
    """Project weights of the network walk: recency decay times :data:`PART_BOOST` for the query's parts."""
    w = np.ones(len(graph.project_ids), np.float32)
    if half_life > 0:
        age = np.where(graph.project_year >= 0, np.maximum(ref_year - graph.project_year, 0), 5)
        w *= np.power(0.5, age / half_life).astype(np.float32)
    if part_cols:
        in_parts = _cache(graph).setdefault(("in_parts", tuple(sorted(part_cols))), None)
        if in_parts is None:
            wanted = {graph.parts[c] for c in part_cols}
            in_parts = np.fromiter((any(p in wanted for p in ps) for ps in graph.project_parts), bool,
                                   count=len(graph.project_parts))
            _cache(graph)[("in_parts", tuple(sorted(part_cols)))] = in_parts
        w = np.where(in_parts, w * PART_BOOST, w).astype(np.float32)
    return w


def consortium_overlap(graph: PartnerGraph, on_project: np.ndarray) -> np.ndarray:
    """Per organisation, the largest number of current partners on one of its projects (``on_project``:
    current partners per project)."""
    inc = graph.incidence
    vals = on_project[inc.indices]
    out = np.zeros(graph.n_orgs, np.float32)
    rows = np.flatnonzero(np.diff(inc.indptr) > 0)
    if vals.size:
        out[rows] = np.maximum.reduceat(vals, inc.indptr[rows])
    return out


def compute_signals(graph: PartnerGraph, query: PartnerQuery, *, half_life: float = 4.0) -> Signals:
    """Every signal for every organisation of the graph (see the module docstring)."""
    n = graph.n_orgs
    cache = _cache(graph)
    partners = np.asarray(sorted(set(query.partners)), dtype=np.int64)
    ref_year = query.year if query.year is not None else graph.last_year + 1
    values: dict[str, np.ndarray] = {}
    parts_wanted = [graph.parts.index(p) for p in query.parts if p in graph.parts]

    # prior collaboration: direct (shared projects) and through the network
    if partners.size:
        on_project = np.asarray(graph.incidence[partners].sum(axis=0)).ravel()
        shared = np.asarray(graph.incidence @ (on_project > 0).astype(np.float32)).ravel()
        weighted = np.asarray(graph.incidence @ (on_project * project_weights(graph, ref_year, half_life))).ravel()
        values["collab"] = _scaled(np.log1p(weighted))
        ppr = personalized_pagerank(graph, partners.tolist(),
                                    step_weights=walk_weights(graph, ref_year, half_life, parts_wanted))
        ppr[partners] = 0.0
        values["network"] = _scaled(np.sqrt(ppr))
        overlap = consortium_overlap(graph, on_project.astype(np.float32))
        overlap[partners] = 0.0
        values["consortium"] = (np.log1p(overlap) / np.log1p(len(partners))).astype(np.float32)
    else:
        shared = np.zeros(n, np.float32)
        values["collab"] = np.zeros(n, np.float32)
        values["network"] = np.zeros(n, np.float32)
        values["consortium"] = np.zeros(n, np.float32)

    # expertise: programme parts, profile labels, profile vectors
    expert: list[np.ndarray] = []
    part_counts = None
    if parts_wanted:
        part_counts = np.asarray(graph.part_matrix[:, parts_wanted].sum(axis=1)).ravel()
        expert.append((part_counts / (graph.org_degree + 1.0)).astype(np.float32))
    label_query: dict[str, float] = {}
    if query.labels and graph.label_matrix is not None:
        index = {name: k for k, name in enumerate(graph.label_names)}
        label_query = {lab: float(s) for lab, s in query.labels.items() if lab in index and s > 0}
        if label_query:
            q = np.zeros(len(graph.label_names), np.float32)
            for lab, s in label_query.items():
                q[index[lab]] = s
            q /= float(np.linalg.norm(q))
            expert.append(np.clip(np.asarray(graph.label_matrix @ q).ravel(), 0, 1).astype(np.float32))
    if query.vector is not None and graph.vectors is not None and graph.vectors.shape[1] == len(query.vector):
        qv = np.asarray(query.vector, np.float32)
        qv = qv / max(float(np.linalg.norm(qv)), 1e-9)
        expert.append(np.clip(graph.vectors @ qv, 0, 1).astype(np.float32))
    values["expertise"] = np.mean(expert, axis=0).astype(np.float32) if expert else np.zeros(n, np.float32)

    # consortium make-up: types and countries
    present: dict[str, int] = {}
    for t in [graph.type_of(int(i)) for i in partners] + list(query.types):
        present[t] = present.get(t, 0) + 1
    countries: dict[str, int] = {}
    for c in [graph.country_of(int(i)) for i in partners] + [c.upper() for c in query.countries]:
        if c:
            countries[c] = countries.get(c, 0) + 1
    size = len(partners) + len(query.types)
    prior = type_prior(graph, parts_wanted)
    gap = np.array([max((size + 1) * prior.get(t, 0.0) - present.get(t, 0), 0.0) + 0.1 * prior.get(t, 0.0)
                    for t in graph.types], np.float32)
    values["type_fit"] = _scaled(gap)[graph.org_type]
    share = np.zeros(len(graph.countries) + 1, np.float32)  # last slot: unknown country
    balance = np.zeros(len(graph.countries) + 1, np.float32)
    members = max(sum(countries.values()), 1)
    for k, c in enumerate(graph.countries):
        share[k] = countries.get(c, 0) / members
        balance[k] = 0.0 if c in countries or not countries else 1.0  # no consortium yet: nothing to balance
    values["geo_home"] = share[graph.org_country]
    values["geo_balance"] = balance[graph.org_country]

    # capacity
    values["experience"] = cache["exp"]
    values["coordination"] = cache["coord"]
    values["recent"] = _log_scaled(recent_counts(graph, ref_year))
    return Signals(values=values, shared=shared, part_counts=part_counts, type_prior=prior, type_present=present,
                   country_counts=countries, consortium_size=size, label_query=label_query, ref_year=ref_year)


def type_prior(graph: PartnerGraph, part_cols: Sequence[int]) -> dict[str, float]:
    """Share of each organisation type among participations (in projects of these parts, when given)."""
    cache = _cache(graph)
    key = ("prior", tuple(sorted(part_cols)))
    if key not in cache:
        if part_cols:
            per_org = np.asarray(graph.part_matrix[:, list(part_cols)].sum(axis=1)).ravel()
        else:
            per_org = graph.org_degree
        totals = np.bincount(graph.org_type, weights=per_org, minlength=len(graph.types))
        total = float(totals.sum())
        cache[key] = {t: float(totals[k]) / total if total else 0.0 for k, t in enumerate(graph.types)}
    return dict(cache[key])


def combine(values: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The weighted sum of the signals named in ``weights``."""
    out: np.ndarray | None = None
    for name, w in weights.items():
        if w == 0 or name not in values:
            continue
        out = values[name] * np.float32(w) if out is None else out + values[name] * np.float32(w)
    if out is None:
        return np.zeros(len(next(iter(values.values()))), np.float32)
    return out


__all__ = ["PART_BOOST", "RESTART", "PartnerQuery", "SIGNALS", "Signals", "combine", "compute_signals",
           "consortium_overlap", "personalized_pagerank", "project_weights", "recent_counts", "type_prior",
           "walk_weights"]
