"""The consortium builder: organisations that complete a consortium, ranked and explained.

:func:`suggest_partners` is the pure core. It takes a :class:`PartnerGraph` (arrays, no store) and a
:class:`PartnerQuery` and returns :class:`PartnerSuggestion` objects, each with its score, the value and
weighted contribution of every signal (see :mod:`citybridge.link.partner_signals`) and a plain-language
explanation built from the graph's records ("partnered with X in 3 projects (SC5); coordinated 2 projects").
``Hub.suggest_partners`` builds the graph from the store (:mod:`citybridge.link.partner_store`) and calls it.

>>> graph = graph_from_h2020(*read_h2020("h2020.csv.gz"))                 # doctest: +SKIP
>>> q = PartnerQuery(partners=[graph.index_of("999999999")], parts=["SC5"])  # doctest: +SKIP
>>> suggest_partners(graph, q, PartnerConstraints(countries=["PT"]))[0].explanation  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citybridge.errors import Invalid
from citybridge.link.partner_graph import TYPE_GROUPS, TYPE_NOUNS, PartnerGraph
from citybridge.link.partner_signals import SIGNALS, PartnerQuery, Signals, combine, compute_signals

#: Signal weights, chosen by ``benchmarks/eval_partners.py --tune`` on its development split (graph from H2020
#: projects started 2014-2018, 400 hidden-partner queries from 2019; the evaluation years 2020-2022 were never
#: used), by coordinate ascent on MRR. ``experience`` (raw project count) adds nothing once ``network`` (which
#: favours well-connected organisations) is in. The network walk's restart (0.5) and programme-part boost (3)
#: were chosen on the same development split.
DEFAULT_WEIGHTS: dict[str, float] = {
    "collab": 0.5, "network": 8.0, "consortium": 4.0, "expertise": 4.0, "type_fit": 0.25, "geo_home": 0.25,
    "geo_balance": 1.0, "experience": 0.0, "coordination": 1.0, "recent": 0.5,
}
DEFAULT_HALF_LIFE = 4.0


@dataclass
class PartnerConstraints:
    """Hard limits on the suggestions.

    Args:
        countries: only organisations based in these countries (ISO 3166-1 alpha-2).
        exclude_countries: never organisations based in these countries.
        org_types: only these organisation types (``university``, ``company``...) or groups (``city``,
            ``research``, ``company``, ``ngo``, ``public``).
        exclude: organisation ids never to suggest.
        min_projects: only organisations with at least this many projects in the graph.
        max_results: how many suggestions (1-200).
    """

    countries: Sequence[str] = ()
    exclude_countries: Sequence[str] = ()
    org_types: Sequence[str] = ()
    exclude: Sequence[str] = ()
    min_projects: int = 0
    max_results: int = 10

    def check(self) -> None:
        if not 1 <= self.max_results <= 200:
            raise Invalid("max_results must be between 1 and 200", field="max_results")
        if self.min_projects < 0:
            raise Invalid("min_projects must be >= 0", field="min_projects")
        for c in [*self.countries, *self.exclude_countries]:
            if not (isinstance(c, str) and len(c) == 2 and c.isalpha()):
                raise Invalid(f"country '{c}' is not an ISO 3166-1 alpha-2 code", field="countries")

    @classmethod
    def of(cls, value: PartnerConstraints | Mapping[str, Any] | None) -> PartnerConstraints:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise Invalid("constraints must be a mapping", field="constraints")
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise Invalid(f"unknown constraint(s): {', '.join(sorted(unknown))}", field="constraints")
        return cls(**dict(value))


@dataclass
class PartnerSuggestion:
    """One suggested organisation."""

    id: str
    name: str
    score: float
    country: str | None
    org_type: str
    components: dict[str, float]  # signal -> value in 0..1
    contributions: dict[str, float]  # signal -> weight * value (they sum to the score)
    explanation: str
    reasons: list[str] = field(default_factory=list)  # the explanation's sentences, strongest first
    evidence: dict[str, Any] = field(default_factory=dict)  # shared projects, counts behind the reasons
    #: what ordered the list: "signals" (the weighted sum ``score``) or "ranker" (the learned ranker's
    #: ``rank_score``; ``score`` and ``contributions`` then still show the signals behind the explanation)
    ranked_by: str = "signals"
    rank_score: float | None = None


def candidate_mask(graph: PartnerGraph, query: PartnerQuery, constraints: PartnerConstraints) -> np.ndarray:
    """Organisations that may be suggested: not a current partner and within the constraints."""
    allowed = np.ones(graph.n_orgs, bool)
    allowed[list(query.partners)] = False
    if constraints.countries:
        allowed &= graph.country_mask(constraints.countries)
    if constraints.exclude_countries:
        allowed &= ~graph.country_mask(constraints.exclude_countries)
    if constraints.org_types:
        unknown = [t for t in constraints.org_types if t not in TYPE_GROUPS and t not in TYPE_NOUNS]
        if unknown:
            raise Invalid(f"unknown organisation type(s): {', '.join(unknown)}", field="org_types")
        allowed &= graph.type_mask(constraints.org_types)
    if constraints.min_projects:
        allowed &= graph.org_degree >= constraints.min_projects
    for oid in constraints.exclude:
        if graph.has_org(oid):
            allowed[graph.index_of(oid)] = False
    return allowed


def suggest_partners(graph: PartnerGraph, query: PartnerQuery,
                     constraints: PartnerConstraints | Mapping[str, Any] | None = None, *,
                     weights: Mapping[str, float] | None = None, half_life: float = DEFAULT_HALF_LIFE,
                     label_names: Mapping[str, str] | None = None, ranker: Any = "shipped"
                     ) -> list[PartnerSuggestion]:
    """Organisations that complete the consortium of ``query``, best first.

    Args:
        graph: the participation graph (see :class:`PartnerGraph`).
        query: current partners (graph rows), programme parts, text labels/vector, start year.
        constraints: hard limits (countries, types, exclusions, number of results).
        weights: signal -> weight, overriding :data:`DEFAULT_WEIGHTS` for the names given.
        half_life: years after which a shared project counts half in ``collab``.
        label_names: display names of expertise labels (``sdg:11`` -> "SDG 11 ...") for explanations.
        ranker: "shipped" (the learned ranker of :mod:`citybridge.link.partner_rank` orders the candidates
            when a consortium is given and no ``weights``), None (the weighted signals alone) or a ranker.

    Returns:
        Up to ``constraints.max_results`` suggestions; organisations with a zero score are left out.
    """
    cons = PartnerConstraints.of(constraints)
    cons.check()
    w = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in SIGNALS:
            raise Invalid(f"unknown signal '{name}' (one of: {', '.join(SIGNALS)})", field="weights")
        if not value >= 0:
            raise Invalid(f"weight of '{name}' must be >= 0", field="weights")
        w[name] = float(value)
    # weights given by the caller ask for that weighting: the learned ranker then stays out
    sig, score, learned = partner_scores(graph, query, cons, w, half_life, ranker=None if weights else ranker)
    k = min(cons.max_results, int(np.isfinite(score).sum()))
    if k == 0:
        return []
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.lexsort((top, -score[top]))]
    out = [_suggestion(graph, query, sig, w, int(j), label_names or {}) for j in top]
    if learned:
        for s, j in zip(out, top, strict=True):
            s.ranked_by = "ranker"
            s.rank_score = round(float(score[j]), 4)
    return out


def partner_scores(graph: PartnerGraph, query: PartnerQuery, constraints: PartnerConstraints,
                   weights: Mapping[str, float], half_life: float = DEFAULT_HALF_LIFE, *,
                   ranker: Any = "shipped") -> tuple[Signals, np.ndarray, bool]:
    """(signals, a score per organisation with ``-inf`` where it may not be suggested, whether the learned
    ranker ordered them): the ranking :func:`suggest_partners` shows and ``benchmarks/eval_partners.py``
    measures. ``ranker``: "shipped" (the artifact, when present), None (hand weights only) or a
    :class:`citybridge.link.partner_rank.PartnerRanker`."""
    from citybridge.link.partner_rank import load_ranker

    sig = compute_signals(graph, query, half_life=half_life)
    hand = combine(sig.values, weights)
    allowed = candidate_mask(graph, query, constraints) & (hand > 0)
    model = load_ranker() if ranker == "shipped" else ranker
    if model is None or not query.partners:
        return sig, np.where(allowed, hand, -np.inf), False
    return sig, model.rank(graph, query, sig, allowed, hand), True


# ---------------------------------------------------------------------- explanations
def _suggestion(graph: PartnerGraph, query: PartnerQuery, sig: Signals, weights: dict[str, float], j: int,
                label_names: Mapping[str, str]) -> PartnerSuggestion:
    comps = {s: round(float(sig.values[s][j]), 4) for s in SIGNALS}
    contrib = {s: round(weights.get(s, 0.0) * comps[s], 4) for s in SIGNALS}
    reasons: list[tuple[float, str]] = []
    evidence: dict[str, Any] = {}
    partners = sorted(set(query.partners))
    mine = set(graph.projects_of(j).tolist())

    together = []
    for p in partners:
        common = sorted(mine & set(graph.projects_of(p).tolist()), key=lambda x: -graph.project_year[x])
        if common:
            together.append((p, common))
    if together:
        together.sort(key=lambda pc: -len(pc[1]))
        evidence["shared_projects"] = {graph.org_ids[p]: [graph.project_ids[x] for x in c] for p, c in together}
        bits = []
        for p, common in together[:3]:
            parts = Counter(code for x in common for code in graph.project_parts[x])
            part_txt = f"; {', '.join(c for c, _n in parts.most_common(2))}" if parts else ""
            names = ", ".join(graph.project_names[x] for x in common[:3]) + (" ..." if len(common) > 3 else "")
            bits.append(f"partnered with {graph.org_names[p]} in {_n(len(common), 'project')} ({names}{part_txt})")
        reasons.append((contrib["collab"] + contrib["network"] + contrib["consortium"] + 1e-3, "; ".join(bits)))
    elif comps["network"] > 0 and partners:
        bridge = _bridge(graph, j, partners)
        if bridge is not None:
            b, p, n_jb, n_bp = bridge
            evidence["bridge"] = {"via": graph.org_ids[b], "partner": graph.org_ids[p]}
            reasons.append((contrib["network"], f"2 steps from the consortium: worked with {graph.org_names[b]} "
                                                f"({_n(n_jb, 'project')}), who worked with {graph.org_names[p]} "
                                                f"({_n(n_bp, 'project')})"))
    if comps["expertise"] > 0:
        bits = []
        if sig.part_counts is not None and sig.part_counts[j] > 0:
            wanted = ", ".join(p for p in query.parts if p in graph.parts)
            bits.append(f"{int(sig.part_counts[j])} of its {graph.n_projects_of(j)} projects in {wanted}")
            evidence["projects_in_parts"] = int(sig.part_counts[j])
        if sig.label_query and graph.label_matrix is not None:
            row = graph.label_matrix.getrow(j)
            hits = sorted(((float(v) * sig.label_query.get(graph.label_names[c], 0.0), graph.label_names[c])
                           for c, v in zip(row.indices, row.data, strict=True)
                           if graph.label_names[c] in sig.label_query), reverse=True)[:3]
            if hits:
                evidence["matching_labels"] = [lab for _s, lab in hits]
                bits.append("profile matches " + ", ".join(label_names.get(lab, lab) for _s, lab in hits))
        if bits:
            reasons.append((contrib["expertise"], "; ".join(bits)))
    t = graph.type_of(j)
    have = sig.type_present.get(t, 0)
    if contrib["type_fit"] > 0:
        share = sig.type_prior.get(t, 0.0)
        txt = (f"{TYPE_NOUNS.get(t, t)}: the consortium has none yet" if have == 0 else
               f"{TYPE_NOUNS.get(t, t)}: the consortium has {have}")
        reasons.append((contrib["type_fit"], f"{txt} ({share:.0%} of participations in such projects)"))
    country = graph.country_of(j)
    if country and contrib["geo_home"] > 0:
        n = sig.country_counts.get(country, 0)
        reasons.append((contrib["geo_home"], f"based in {country} like {_n(n, 'current partner')}"))
    if country and contrib["geo_balance"] > 0:
        reasons.append((contrib["geo_balance"], f"adds a country the consortium lacks ({country})"))
    n_prj, n_coord = graph.n_projects_of(j), graph.n_coordinated_of(j)
    cap = contrib["experience"] + contrib["coordination"] + contrib["recent"]
    if n_prj:
        first, last = int(graph.org_first_year[j]), int(graph.org_last_year[j])
        span = f" {first}-{last}" if first >= 0 and last > first else (f" in {first}" if first >= 0 else "")
        bits = [f"{_n(n_prj, 'project')}{span}"]
        if n_coord:
            bits.append(f"coordinated {_n(n_coord, 'project')}")
        from citybridge.link.partner_signals import RECENT_YEARS, recent_counts

        recent = int(recent_counts(graph, sig.ref_year)[j])
        if recent:
            bits.append(f"{recent} started since {sig.ref_year - RECENT_YEARS}")
        evidence.update(projects=n_prj, coordinated=n_coord, recent=recent)
        reasons.append((cap, "; ".join(bits)))
    reasons.sort(key=lambda r: -r[0])
    texts = [r for _w, r in reasons]
    return PartnerSuggestion(
        id=graph.org_ids[j], name=graph.org_names[j], score=round(sum(contrib.values()), 4), country=country,
        org_type=t, components=comps, contributions=contrib, explanation="; ".join(texts[:4]), reasons=texts,
        evidence=evidence)


def _bridge(graph: PartnerGraph, j: int, partners: list[int]) -> tuple[int, int, int, int] | None:
    """(bridge org, partner, projects j shares with it, projects it shares with the partner), strongest."""
    inc = graph.incidence
    with_j = np.asarray(inc @ inc.getrow(j).T.toarray().ravel()).ravel()
    best: tuple[float, int, int, int, int] | None = None
    for p in partners:
        with_p = np.asarray(inc @ inc.getrow(p).T.toarray().ravel()).ravel()
        both = np.minimum(with_j, with_p)
        both[[j, *partners]] = 0
        b = int(np.argmax(both))
        if both[b] > 0 and (best is None or both[b] > best[0]):
            best = (float(both[b]), b, p, int(with_j[b]), int(with_p[b]))
    return best[1:] if best else None  # type: ignore[return-value]


def _n(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


__all__ = ["DEFAULT_HALF_LIFE", "DEFAULT_WEIGHTS", "PartnerConstraints", "PartnerQuery", "PartnerSuggestion",
           "candidate_mask", "partner_scores", "suggest_partners"]
