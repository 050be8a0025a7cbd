"""Who matters in a theme: excellence, brokers and pioneers, each with the records behind the figure.

* **excellence** = theme-restricted centrality x volume x recency, as one recency-weighted volume: the agent's
  theme activities, each weighted ``0.5 ** ((ref_year - year) / HALF_LIFE)`` and counted twice when the agent
  leads (coordinates) it, times ``centrality ** CENTRALITY_EXPONENT`` (exponent 1; centrality = PageRank in
  the theme's own graph divided by the theme's highest). Summing decayed activities (rather than multiplying
  a count by their *mean* recency) does not favour a newcomer with one recent activity over an agent with
  many. The variants (mean recency vs decayed count, coordinator weight, exponent 0 / 0.1 / 0.25 / 0.5 / 1)
  were compared only on earlier CORDIS splits (rank 2014-2015, hits 2016-2017; rank 2014, hits 2015-2016),
  never on the 2018-2020 outcome; ``benchmarks/eval_analytics.py`` prints that table. The half-life (2 years)
  was set before any evaluation.
* **brokers**: betweenness percentile x the mean of three mixes of the agent's tie weight: across Leiden
  communities (participation coefficient), across sectors (university, company, public body ...) and across
  countries; a research institute tying cities to companies in several countries scores high.
* **pioneers**: active in the theme's first years (first activity within the first quarter of its span, at
  least the first two years) and central since: earliness x mean PageRank percentile in the theme's yearly
  graphs from the first activity on (a year the theme is active and the agent is not counts 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from citybridge.analyze.activity import Activities
from citybridge.analyze.graph import (
    AgentGraph,
    betweenness,
    build_graph,
    communities,
    mix_diversity,
    pagerank,
    percentile,
)

HALF_LIFE = 2.0
CENTRALITY_EXPONENT = 1.0  # chosen on the earlier splits (best mean; 0.1-1 within 0.001)
LEAD_WEIGHT = 2.0  # a led (coordinated) activity counts this many times in the weighted volume
EVIDENCE = 10  # record ids listed behind each figure


def theme_mask(acts: Activities, theme: str | None, years: tuple[int | None, int | None] = (None, None),
               theme_acts: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the activities in ``theme`` (all when None) within ``years`` (inclusive)."""
    mask = np.zeros(acts.n_acts, dtype=bool)
    if theme is None:
        mask[:] = True
    elif theme_acts is not None:
        mask[theme_acts] = True
    else:
        mask[[i for i, th in enumerate(acts.act_themes) if theme in th]] = True
    y = acts.years()
    lo, hi = years
    if lo is not None:
        mask &= y >= lo
    if hi is not None:
        mask &= (y <= hi) & (y > 0)
    return mask


def _records(acts: Activities, agent: int, mask: np.ndarray, part_idx: dict[int, np.ndarray]) -> list[str]:
    """The agent's activities in the mask, most recent first (at most EVIDENCE)."""
    mine = part_idx.get(agent, np.zeros(0, dtype=np.int32))
    mine = mine[mask[mine]]
    years = acts.years()[mine]
    order = np.lexsort((mine, -years))
    return [acts.act_ids[i] for i in mine[order][:EVIDENCE]]


def participation_index(acts: Activities) -> dict[int, np.ndarray]:
    """Agent -> its activity indices."""
    order = np.argsort(acts.part_agent, kind="stable")
    agents = acts.part_agent[order]
    acts_sorted = acts.part_act[order]
    starts = np.r_[0, np.flatnonzero(np.diff(agents)) + 1]
    ends = np.r_[starts[1:], len(agents)]
    return {int(agents[s]): acts_sorted[s:e] for s, e in zip(starts, ends, strict=True) if e > s}


def theme_scores(acts: Activities, mask: np.ndarray, *, ref_year: int | None = None,
                 half_life: float = HALF_LIFE, ag: AgentGraph | None = None, lead_weight: float = LEAD_WEIGHT,
                 centrality_exponent: float = CENTRALITY_EXPONENT) -> dict[str, np.ndarray]:
    """Per vertex of the masked activities' graph: agent index, PageRank, volume, leads, recency (mean decay
    weight), weighted volume (decayed, leads counted ``lead_weight`` times) and excellence. ``ref_year``
    defaults to the latest year in the mask."""
    ag = ag or build_graph(acts, mask)
    years = acts.years()
    if ref_year is None:
        ref_year = int(years[mask].max()) if mask.any() else 0
    keep = mask[acts.part_act]
    pa, pt, lead = acts.part_agent[keep], acts.part_act[keep], acts.part_lead[keep]
    local = np.searchsorted(ag.agents, pa)
    volume = np.bincount(local, minlength=ag.n).astype(float)
    leads = np.bincount(local, weights=lead.astype(float), minlength=ag.n)
    decay = 0.5 ** (np.maximum(ref_year - years[pt], 0) / half_life)
    recency = np.bincount(local, weights=decay, minlength=ag.n) / np.maximum(volume, 1)
    weighted = np.bincount(local, weights=decay * np.where(lead, lead_weight, 1.0), minlength=ag.n)
    pr = pagerank(ag)
    central = pr / pr.max() if ag.n and pr.max() > 0 else pr
    return {"agents": ag.agents, "pagerank": pr, "centrality": central, "volume": volume, "leads": leads,
            "recency": recency, "weighted_volume": weighted,
            "excellence": weighted * central ** centrality_exponent}


def pioneer_scores(acts: Activities, mask: np.ndarray, agents: np.ndarray) -> dict[str, Any]:
    """Per agent of ``agents`` (sorted): first year in the masked activities, earliness, centrality since."""
    years = acts.years()
    keep = mask[acts.part_act] & (years[acts.part_act] > 0)
    pa, py = acts.part_agent[keep], years[acts.part_act[keep]]
    if len(py) == 0:
        z = np.zeros(len(agents))
        return {"first_year": z.astype(int), "earliness": z, "since": z, "pioneer": z, "start": None,
                "early_until": None}
    start, end = int(py.min()), int(py.max())
    first = np.full(len(agents), 10**6)
    local = np.searchsorted(agents, pa)
    np.minimum.at(first, local, py)
    span = end - start + 1
    early_until = start + max(1, int(np.ceil(span / 4))) if span > 1 else start
    earliness = np.where(first <= early_until, 1.0 - (first - start) / span, 0.0)
    # mean PageRank percentile in each yearly theme graph from the first year on
    since = np.zeros(len(agents))
    count = np.zeros(len(agents))  # years with theme activity from the agent's first year on
    for y in range(start, end + 1):
        ymask = mask & (years == y)
        if not ymask.any():
            continue
        count += first <= y
        yg = build_graph(acts, ymask)
        pct = percentile(pagerank(yg))
        pos = np.searchsorted(agents, yg.agents)
        ok = (pos < len(agents)) & (agents[np.minimum(pos, len(agents) - 1)] == yg.agents)
        since[pos[ok]] += pct[ok]
    since = np.where(count > 0, since / np.maximum(count, 1), 0.0)
    return {"first_year": first, "earliness": earliness, "since": since, "pioneer": earliness * since,
            "start": start, "early_until": early_until}


def broker_scores(acts: Activities, ag: AgentGraph, comm: np.ndarray, *, btw: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:
    """Per vertex: betweenness, community / sector / country mix of its ties, broker score."""
    if btw is None:
        btw, _ = betweenness(ag)
    sectors = np.array([acts.agent_sector[i] for i in ag.agents], dtype=object)
    countries = np.array([acts.agent_country[i] or "?" for i in ag.agents], dtype=object)
    p_comm = mix_diversity(ag, comm)
    p_sector = mix_diversity(ag, sectors)
    p_country = mix_diversity(ag, countries)
    score = percentile(btw) * (p_comm + p_sector + p_country) / 3.0
    return {"betweenness": btw, "communities_mix": p_comm, "sectors_mix": p_sector, "countries_mix": p_country,
            "broker": score}


def analyse(acts: Activities, *, theme: str | None = None, years: tuple[int | None, int | None] = (None, None),
            top: int = 20, graph_nodes: int = 60, half_life: float = HALF_LIFE) -> dict[str, Any]:
    """Everything the network view shows for one theme (or the whole graph): see
    :meth:`citybridge._hub.analytics.AnalyticsMixin.network_metrics` for the shape."""
    mask = theme_mask(acts, theme, years)
    ag = build_graph(acts, mask)
    scores = theme_scores(acts, mask, half_life=half_life, ag=ag)
    comm = communities(ag)
    btw, method = betweenness(ag)
    brokers = broker_scores(acts, ag, comm, btw=btw)
    pioneers = pioneer_scores(acts, mask, ag.agents)
    part_idx = participation_index(acts)
    deg = np.asarray(ag.graph.degree()) if ag.n else np.zeros(0)
    strength = np.asarray(ag.graph.strength(weights="weight")) if ag.n and len(ag.weights) else np.zeros(ag.n)

    def node(v: int, **extra: Any) -> dict[str, Any]:
        a = int(ag.agents[v])
        return {"id": acts.agent_ids[a], "name": acts.agent_names[a], "kind": acts.agent_kind[a],
                "sector": acts.agent_sector[a], "country": acts.agent_country[a],
                "degree": int(deg[v]), "strength": round(float(strength[v]), 4),
                "pagerank": round(float(scores["pagerank"][v]), 6),
                "betweenness": round(float(btw[v]), 6), "community": int(comm[v]),
                "n_records": int(scores["volume"][v]), "records": _records(acts, a, mask, part_idx), **extra}

    ids = np.array([acts.agent_ids[int(a)] for a in ag.agents], dtype=object)

    def ranked(values: np.ndarray, n: int) -> list[int]:
        # ties (to 9 digits: the solvers' last bits vary) broken by record id, so every caller ranks alike
        rounded = np.round(values, 9)
        order = sorted(np.flatnonzero(rounded > 0), key=lambda v: (-rounded[v], ids[v]))
        return [int(v) for v in order[:n]]

    excellence = [node(v, score=round(float(scores["excellence"][v]), 6),
                       centrality=round(float(scores["centrality"][v]), 4), volume=int(scores["volume"][v]),
                       leads=int(scores["leads"][v]), recency=round(float(scores["recency"][v]), 4),
                       weighted_volume=round(float(scores["weighted_volume"][v]), 4))
                  for v in ranked(scores["excellence"], top)]
    broker_list = [node(v, score=round(float(brokers["broker"][v]), 6),
                        communities_mix=round(float(brokers["communities_mix"][v]), 4),
                        sectors_mix=round(float(brokers["sectors_mix"][v]), 4),
                        countries_mix=round(float(brokers["countries_mix"][v]), 4))
                   for v in ranked(brokers["broker"], top)]
    pioneer_list = [node(v, score=round(float(pioneers["pioneer"][v]), 6), first_year=int(pioneers["first_year"][v]),
                         earliness=round(float(pioneers["earliness"][v]), 4),
                         centrality_since=round(float(pioneers["since"][v]), 4))
                    for v in ranked(pioneers["pioneer"], top)]
    central = [node(v) for v in ranked(scores["pagerank"], top)]
    sizes = np.bincount(comm) if ag.n else np.zeros(0, dtype=int)
    comm_list = []
    for c in range(min(len(sizes), 12)):
        members = np.flatnonzero(comm == c)
        pr = np.round(scores["pagerank"][members], 9)
        best = [members[i] for i in sorted(range(len(members)), key=lambda i: (-pr[i], ids[members[i]]))[:5]]
        ctry: dict[str, int] = {}
        for v in members:
            cc = acts.agent_country[int(ag.agents[v])]
            if cc:
                ctry[cc] = ctry.get(cc, 0) + 1
        comm_list.append({"id": c, "size": int(sizes[c]),
                          "countries": dict(sorted(ctry.items(), key=lambda kv: -kv[1])[:5]),
                          "top": [acts.agent_ids[int(ag.agents[v])] for v in best]})
    return {
        "theme": theme, "years": [int(acts.years()[mask & (acts.years() > 0)].min()) if (acts.years()[mask] > 0).any()
                                  else None, int(acts.years()[mask].max()) if (acts.years()[mask] > 0).any() else None],
        "nodes": ag.n, "edges": len(ag.weights), "activities": int(mask.sum()),
        "communities": comm_list, "n_communities": int(len(sizes)),
        "central": central, "excellence": excellence, "brokers": broker_list, "pioneers": pioneer_list,
        "graph": _drawing(acts, ag, mask, scores, comm, excellence, broker_list, pioneer_list, graph_nodes),
        "by_year": _by_year(acts, mask),
        "method": {"weights": "Newman collaboration weight 1/(k-1)", "pagerank_damping": 0.85,
                   "betweenness": method, "communities": "leiden modularity (igraph), seed 42",
                   "half_life_years": half_life,
                   "excellence": f"decayed volume (leads x{LEAD_WEIGHT:g}) x centrality^{CENTRALITY_EXPONENT:g}",
                   "pioneer_start": pioneers["start"],
                   "pioneer_early_until": pioneers["early_until"]},
    }


def _by_year(acts: Activities, mask: np.ndarray) -> list[dict[str, int]]:
    years = acts.years()
    out = []
    for y in sorted({int(v) for v in years[mask] if v > 0}):
        ym = mask & (years == y)
        keep = ym[acts.part_act]
        out.append({"year": y, "activities": int(ym.sum()), "agents": int(len(np.unique(acts.part_agent[keep])))})
    return out


def _drawing(acts: Activities, ag: AgentGraph, mask: np.ndarray, scores: dict[str, np.ndarray], comm: np.ndarray,
             excellence: list[dict[str, Any]], brokers: list[dict[str, Any]], pioneers: list[dict[str, Any]],
             limit: int) -> dict[str, Any]:
    """A drawable subgraph: the marked agents plus the most central, with the ties among them and the
    records each tie stands for."""
    marked = {e["id"] for e in excellence} | {e["id"] for e in brokers} | {e["id"] for e in pioneers}
    index = {acts.agent_ids[int(a)]: v for v, a in enumerate(ag.agents)}
    chosen = [index[i] for i in marked if i in index]
    pr = np.round(scores["pagerank"], 9)
    taken = set(chosen)
    for v in np.lexsort((ag.agents, -pr)):
        if len(chosen) >= limit:
            break
        if int(v) not in taken:
            chosen.append(int(v))
            taken.add(int(v))
    chosen = sorted(set(chosen[:max(limit, len(marked))]))
    sub = set(chosen)
    broker_ids, pioneer_ids, excellent_ids = ({e["id"] for e in lst} for lst in (brokers, pioneers, excellence))
    nodes = []
    for v in chosen:
        a = int(ag.agents[v])
        aid = acts.agent_ids[a]
        nodes.append({"id": aid, "name": acts.agent_names[a], "community": int(comm[v]),
                      "pagerank": round(float(scores["pagerank"][v]), 6), "country": acts.agent_country[a],
                      "sector": acts.agent_sector[a], "broker": aid in broker_ids, "pioneer": aid in pioneer_ids,
                      "excellent": aid in excellent_ids})
    # shared activities between chosen agents
    keep = mask[acts.part_act]
    by_act: dict[int, list[int]] = {}
    agent_to_v = {int(ag.agents[v]): v for v in chosen}
    for a, act in zip(acts.part_agent[keep], acts.part_act[keep], strict=True):
        v = agent_to_v.get(int(a))
        if v is not None:
            by_act.setdefault(int(act), []).append(v)
    ties: dict[tuple[int, int], list[int]] = {}
    for act, vs in by_act.items():
        vs = sorted(set(vs))
        for i in range(len(vs)):
            for j in range(i + 1, len(vs)):
                ties.setdefault((vs[i], vs[j]), []).append(act)
    edges = []
    for (u, v), shared in sorted(ties.items(), key=lambda kv: -len(kv[1])):
        if u in sub and v in sub:
            eid = ag.graph.get_eid(u, v, error=False)
            edges.append({"source": acts.agent_ids[int(ag.agents[u])], "target": acts.agent_ids[int(ag.agents[v])],
                          "weight": round(float(ag.weights[eid]), 4) if eid >= 0 else 0.0,
                          "shared": len(shared), "records": [acts.act_ids[i] for i in shared[:EVIDENCE]]})
    return {"nodes": nodes, "edges": edges[: limit * 6]}


def full_metrics(acts: Activities) -> dict[str, Any]:
    """Node metrics on the whole graph (for the cached artifact and the benchmark): arrays by vertex."""
    ag = build_graph(acts)
    comm = communities(ag)
    btw, method = betweenness(ag)
    scores = theme_scores(acts, np.ones(acts.n_acts, dtype=bool), ag=ag)
    brokers = broker_scores(acts, ag, comm, btw=btw)
    return {"graph": ag, "communities": comm, "betweenness": btw, "betweenness_method": method, **scores,
            **{k: v for k, v in brokers.items() if k != "betweenness"},
            "degree": np.asarray(ag.graph.degree()) if ag.n else np.zeros(0)}


__all__ = ["CENTRALITY_EXPONENT", "HALF_LIFE", "LEAD_WEIGHT", "analyse", "broker_scores", "full_metrics",
           "participation_index", "pioneer_scores",
           "theme_mask", "theme_scores"]
