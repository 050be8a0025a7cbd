"""Evaluate the consortium builder on the CORDIS Horizon 2020 participation graph (hidden-partner task).

    PYTHONPATH=src python benchmarks/eval_partners.py [--data DIR] [--sample N] [--seed 7] [--tune]
        [--fit-ranker [--train-sample 800] [--ranker-out FILE]] [--no-ranker] [--json]

Protocol (no future information):

- projects are split by start year: the graph and every count come from projects that started before the
  first evaluation year; evaluation projects are those starting in the evaluation years (default: the last
  two start years with at least 100 projects, 2020-2021, plus any later stragglers);
- for each evaluation project with >= 3 distinct participants one participant is hidden (chosen with
  ``random.Random(f"{seed}:{rcn}")``); the rest are the current partners (their countries and types are
  known even when they are new organisations), together with the project's programme parts and start year;
- every organisation of the training graph is ranked (current partners excluded); a hidden organisation
  that never took part in a training project cannot be found and counts as a miss (its share is printed);
- recall@10, recall@50 and MRR are computed for citybridge and for baselines in the same run; ties are broken
  by the organisation's row in the graph (order of first appearance in the file), the same for all methods.

Every run also scores the *development* split inside the training years (graph from projects before the last
training year, queries from the last training year) and prints it beside the test split. ``--tune`` first
picks the signal weights by coordinate ascent on that development split; the shipped ``DEFAULT_WEIGHTS`` in
``citybridge/link/partners.py`` were chosen this way, never on the evaluation years.
``--fit-ranker`` fits the learned ranker of ``citybridge/link/partner_rank.py`` on the two years before the
evaluation years (graph up to the year before each), scores the development year with a ranker fit on the year
before it only, and writes the one fit on both (``--ranker-out``, default the shipped artifact path). Rows:
``citybridge`` = ``partner_scores`` (what ``suggest_partners`` shows: the ranker when one is shipped or fit in
this run), ``citybridge signals`` = the hand-weighted signals alone.
CORDIS data: (c) European Union, CC BY 4.0.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.link.partner_graph import CORDIS_TYPES, PartnerGraph, graph_from_h2020, read_h2020
from citybridge.link.partner_signals import SIGNALS, PartnerQuery, combine, compute_signals, personalized_pagerank
from citybridge.link.partners import DEFAULT_WEIGHTS, PartnerConstraints, candidate_mask, partner_scores

ROOT = Path(__file__).resolve().parents[1]
GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def default_data() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared/data/cordis/h2020.csv.gz").exists():
            return base / "shared/data/cordis"
    return ROOT.parent / "shared/data/cordis"


# ---------------------------------------------------------------------- queries
def projects_by_year(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        y = row.get("start_year", "")
        if not y.isdigit():
            continue
        p = out.setdefault(row["rcn"], {"year": int(y), "members": {}})
        p["members"].setdefault(row["pic"], (row.get("country") or "", CORDIS_TYPES.get(row.get("type", ""), "other")))
    return out


def make_queries(graph: PartnerGraph, projects: dict[str, dict[str, Any]], parts: dict[str, list[str]],
                 years: tuple[int, int], n: int, seed: int) -> list[tuple[PartnerQuery, int, str]]:
    """(query, hidden row or -1, rcn) for a seeded sample of projects starting in ``years`` with >= 3 members."""
    from citybridge.ingest.cordis import country_code

    eligible = sorted(rcn for rcn, p in projects.items()
                      if years[0] <= p["year"] <= years[1] and len(p["members"]) >= 3)
    rng = random.Random(seed)
    chosen = sorted(rng.sample(eligible, min(n, len(eligible)))) if n > 0 else eligible
    out = []
    for rcn in chosen:
        members = sorted(projects[rcn]["members"])
        hidden = random.Random(f"{seed}:{rcn}").choice(members)
        rows, countries, types = [], [], []
        for pic in members:
            if pic == hidden:
                continue
            if graph.has_org(pic):
                rows.append(graph.index_of(pic))
            else:
                c, t = projects[rcn]["members"][pic]
                if country_code(c):
                    countries.append(country_code(c))
                types.append(t)
        q = PartnerQuery(partners=rows, parts=parts.get(rcn, []), countries=countries, types=types,
                         year=projects[rcn]["year"])
        out.append((q, graph.index_of(hidden) if graph.has_org(hidden) else -1, rcn))
    return out


# ---------------------------------------------------------------------- ranking and metrics
def rank_of(scores: np.ndarray, hidden: int, excluded: list[int]) -> float:
    """1-based rank of ``hidden`` among non-excluded rows, ties broken by row; inf when not rankable."""
    if hidden < 0:
        return float("inf")
    s = scores.astype(np.float64)
    s[excluded] = -np.inf
    h = s[hidden]
    return float(1 + np.count_nonzero(s > h) + np.count_nonzero(s[:hidden] == h))


def metrics(ranks: list[float]) -> dict[str, float]:
    r = np.asarray(ranks)
    return {"recall@10": float(np.mean(r <= 10)), "recall@50": float(np.mean(r <= 50)),
            "mrr": float(np.mean(np.where(np.isfinite(r), 1.0 / r, 0.0)))}


def baseline_scores(graph: PartnerGraph, q: PartnerQuery) -> dict[str, np.ndarray]:
    deg = graph.org_degree.astype(np.float64)
    tiebreak = deg / (deg.max() + 1.0)
    counts: Counter[str] = Counter(c for c in (graph.country_of(i) for i in q.partners) if c)
    counts.update(q.countries)
    share = np.zeros(len(graph.countries) + 1)
    for k, c in enumerate(graph.countries):
        share[k] = counts.get(c, 0)
    shared, adamic, ppr = np.zeros(graph.n_orgs), np.zeros(graph.n_orgs), np.zeros(graph.n_orgs)
    if q.partners:
        on = np.asarray(graph.incidence[list(q.partners)].sum(axis=0)).ravel()
        shared = np.asarray(graph.incidence @ (on > 0).astype(np.float32)).ravel()
        aa = 1.0 / np.log(np.maximum(graph.project_size, 2.0))
        adamic = np.asarray(graph.incidence @ (on * aa)).ravel()
        ppr = personalized_pagerank(graph, sorted(set(q.partners)))
    return {"popular": deg, "popular same-country": share[graph.org_country] + tiebreak,
            "co-participation count": shared + tiebreak, "adamic-adar": adamic + 1e-3 * tiebreak,
            "personalised pagerank": ppr + 1e-9 * tiebreak}


BASELINE_DEFS = {
    "popular": "all training organisations by number of training projects",
    "popular same-country": "organisations ranked first by how many current partners share their country, "
                            "then by number of training projects",
    "co-participation count": "organisations ranked by the number of training projects shared with the "
                              "current partners, then by number of training projects",
    "adamic-adar": "shared training projects with the current partners, each weighted 1 / log(project size) "
                   "(a partner on a project counts once per partner), then by number of training projects",
    "personalised pagerank": "random walk with restart (probability 0.5) at the current partners on the "
                             "organisation-project graph, uniform steps, 15 iterations",
}


def evaluate(graph: PartnerGraph, queries: list[tuple[PartnerQuery, int, str]], weights: dict[str, float],
             half_life: float, ranker: Any = "shipped") -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """citybridge = ``partner_scores``, the ranking ``suggest_partners`` shows (the learned ranker when one is
    given or shipped), and "citybridge signals" = the hand-weighted signals alone; baselines beside them."""
    ranks: dict[str, list[float]] = defaultdict(list)
    secs: dict[str, float] = defaultdict(float)
    cons = PartnerConstraints()
    for q, hidden, _rcn in queries:
        t0 = time.perf_counter()
        sig, score, _learned = partner_scores(graph, q, cons, weights, half_life, ranker=ranker)
        ranks["citybridge"].append(rank_of(score, hidden, list(q.partners)))
        secs["citybridge"] += time.perf_counter() - t0
        ranks["citybridge signals"].append(rank_of(combine(sig.values, weights), hidden, list(q.partners)))
        t0 = time.perf_counter()
        for name, s in baseline_scores(graph, q).items():
            ranks[name].append(rank_of(s, hidden, list(q.partners)))
        secs["baselines"] += time.perf_counter() - t0
    return {k: metrics(v) for k, v in ranks.items()}, dict(secs)


# ---------------------------------------------------------------------- tuning on the development split
def tune(graph: PartnerGraph, queries: list[tuple[PartnerQuery, int, str]], half_life: float,
         pool: int = 300) -> tuple[dict[str, float], float]:
    """Coordinate ascent on MRR over a candidate pool (top ``pool`` of each signal per query)."""
    feats, targets = [], []
    for q, hidden, _rcn in queries:
        if hidden < 0:
            continue
        sig = compute_signals(graph, q, half_life=half_life)
        cand: set[int] = {hidden}
        for name in SIGNALS:
            v = sig.values[name].copy()
            v[list(q.partners)] = -1
            cand.update(np.argpartition(-v, pool)[:pool].tolist())
        cand -= set(q.partners)
        idx = np.fromiter(sorted(cand), dtype=np.int64)
        feats.append(np.stack([sig.values[s][idx] for s in SIGNALS], axis=1).astype(np.float64))
        targets.append(int(np.searchsorted(idx, hidden)))
    total = len(queries)

    def mrr(w: np.ndarray) -> float:
        acc = 0.0
        for f, t in zip(feats, targets, strict=True):
            s = f @ w
            acc += 1.0 / (1 + np.count_nonzero(s > s[t]) + np.count_nonzero(s[:t] == s[t]))
        return acc / total

    w = np.array([DEFAULT_WEIGHTS.get(s, 0.0) for s in SIGNALS])
    best = mrr(w)
    for _round in range(2):
        improved = False
        for k in range(len(SIGNALS)):
            for value in GRID:
                trial = w.copy()
                trial[k] = value
                if not trial.any():
                    continue
                m = mrr(trial)
                if m > best + 1e-6:
                    best, w, improved = m, trial, True
        if not improved:
            break
    return {s: float(v) for s, v in zip(SIGNALS, w, strict=True)}, best


# ---------------------------------------------------------------------- the learned ranker
def ranker_examples(graph: PartnerGraph, queries: list[tuple[PartnerQuery, int, str]], weights: dict[str, float],
                    half_life: float) -> tuple[list[np.ndarray], list[int], dict[str, int]]:
    """Feature groups of the candidate pools of ``queries`` (the product's pool and features) and the hidden
    organisation's row in each; queries whose hidden organisation is absent or outside the pool are skipped."""
    from citybridge.link.partner_rank import candidates, features, generators

    groups, gold = [], []
    stats: Counter[str] = Counter()
    cons = PartnerConstraints()
    for q, hidden, _rcn in queries:
        stats["queries"] += 1
        if hidden < 0 or not q.partners:
            stats["not_rankable"] += 1
            continue
        sig = compute_signals(graph, q, half_life=half_life)
        allowed = candidate_mask(graph, q, cons) & (combine(sig.values, weights) > 0)
        gens = generators(graph, q, sig)
        rows = candidates(graph, q, sig, gens, allowed)
        pos = int(np.searchsorted(rows, hidden))
        if pos >= len(rows) or rows[pos] != hidden:
            stats["outside_pool"] += 1
            continue
        groups.append(features(graph, q, sig, gens, rows))
        gold.append(pos)
    stats["examples"] = len(groups)
    return groups, gold, dict(stats)


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default_data(), help="folder with h2020.csv.gz")
    ap.add_argument("--sample", type=int, default=0, help="evaluation projects to sample (0: all eligible)")
    ap.add_argument("--dev-sample", type=int, default=400, help="development projects (tuning and dev figures)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--half-life", type=float, default=4.0, help="recency half-life of shared projects (years)")
    ap.add_argument("--tune", action="store_true", help="choose weights on the development split first")
    ap.add_argument("--fit-ranker", action="store_true",
                    help="fit the learned ranker on the two years before the evaluation years (graph up to the "
                         "year before each), report the development year with a ranker fit on the year before "
                         "it only, and write the ranker fit on both (--ranker-out)")
    ap.add_argument("--train-sample", type=int, default=1000, help="queries per training year (--fit-ranker)")
    ap.add_argument("--ranker-out", type=Path, default=None,
                    help="where --fit-ranker writes the ranker (default: the shipped artifact)")
    ap.add_argument("--no-ranker", action="store_true", help="the hand-weighted signals only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    path = args.data / "h2020.csv.gz"
    if not path.exists():
        sys.exit(f"{path}: not found (pass --data DIR with h2020.csv.gz and programme_parts.csv.gz)")
    t0 = time.perf_counter()
    rows, parts = read_h2020(path)
    projects = projects_by_year(rows)
    per_year = Counter(p["year"] for p in projects.values())
    big_years = sorted(y for y, n in per_year.items() if n >= 100)
    eval_years = (big_years[-2], max(per_year))
    train_years = (min(per_year), eval_years[0] - 1)
    dev_year = train_years[1]
    timings = {"load": time.perf_counter() - t0}

    weights = dict(DEFAULT_WEIGHTS)
    t0 = time.perf_counter()
    dev_graph = graph_from_h2020(rows, parts, years=(train_years[0], dev_year - 1))
    dev_q = make_queries(dev_graph, projects, parts, (dev_year, dev_year), args.dev_sample, args.seed)
    dev: dict[str, Any] = {"graph_years": [train_years[0], dev_year - 1], "query_year": dev_year,
                           "queries": len(dev_q)}
    if args.tune:
        weights, dev["pool_mrr"] = tune(dev_graph, dev_q, args.half_life)
        timings["tune"] = time.perf_counter() - t0
    ranker: Any = None if args.no_ranker else "shipped"
    dev_ranker: Any = ranker
    if args.fit_ranker:
        from citybridge.link.partner_rank import RANKER_PATH, fit_ranker

        t1 = time.perf_counter()
        prev_graph = graph_from_h2020(rows, parts, years=(train_years[0], dev_year - 2))
        prev_q = make_queries(prev_graph, projects, parts, (dev_year - 1, dev_year - 1), args.train_sample,
                              args.seed)
        g_prev, y_prev, st_prev = ranker_examples(prev_graph, prev_q, weights, args.half_life)
        own_q = make_queries(dev_graph, projects, parts, (dev_year, dev_year), args.train_sample, args.seed + 1)
        g_own, y_own, st_own = ranker_examples(dev_graph, own_q, weights, args.half_life)
        dev_ranker = fit_ranker(g_prev, y_prev, version=f"holdout-{dev_year - 1}")
        ranker = fit_ranker(g_prev + g_own, y_prev + y_own,
                            version=time.strftime("%Y-%m-%d") + f"-h2020-{dev_year - 1}-{dev_year}",
                            chosen_by=f"benchmarks/eval_partners.py --fit-ranker: lambdarank on hidden-partner "
                                      f"queries of {dev_year - 1} (graph {train_years[0]}-{dev_year - 2}) and "
                                      f"{dev_year} (graph {train_years[0]}-{dev_year - 1}), seed {args.seed}; "
                                      f"{eval_years[0]}-{eval_years[1]} never used")
        out_path = args.ranker_out or RANKER_PATH
        ranker.save(out_path)
        dev["ranker"] = {"train": {str(dev_year - 1): st_prev, str(dev_year): st_own}, "written": str(out_path),
                         "dev_figures": f"citybridge on dev = the ranker fit on {dev_year - 1} only (held out)"}
        timings["fit_ranker"] = time.perf_counter() - t1
    elif ranker == "shipped":
        dev["ranker_note"] = "the shipped ranker saw the development year: dev figures of citybridge are in-sample"
    dev["results"], _ = evaluate(dev_graph, dev_q, weights, args.half_life, ranker=dev_ranker)
    timings["dev"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    graph = graph_from_h2020(rows, parts, years=train_years)
    timings["graph"] = time.perf_counter() - t0
    eligible = sum(1 for p in projects.values()
                   if eval_years[0] <= p["year"] <= eval_years[1] and len(p["members"]) >= 3)
    queries = make_queries(graph, projects, parts, eval_years, args.sample, args.seed)
    t0 = time.perf_counter()
    results, secs = evaluate(graph, queries, weights, args.half_life, ranker=ranker)
    timings["evaluate"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    known = sum(1 for _q, h, _r in queries if h >= 0)

    def strongest(res: dict[str, dict[str, float]]) -> tuple[str, float]:
        name = max((b for b in res if not b.startswith("citybridge")), key=lambda b: res[b]["recall@10"])
        return name, res["citybridge"]["recall@10"] / max(res[name]["recall@10"], 1e-9)

    report = {
        "data": str(args.data), "train_years": list(train_years), "eval_years": list(eval_years),
        "graph": {"organisations": graph.n_orgs, "projects": len(graph.project_ids),
                  "participations": int(graph.incidence.nnz)},
        "eligible_projects": eligible, "evaluated_projects": len(queries), "seed": args.seed,
        "hidden_in_train_graph": known / max(len(queries), 1), "weights": weights, "half_life": args.half_life,
        "results": results, "baselines": BASELINE_DEFS,
        "strongest_baseline": dict(zip(("name", "recall10_ratio"), strongest(results), strict=True)),
        "recall10_ratio": {b: results["citybridge"]["recall@10"] / max(m["recall@10"], 1e-9)
                           for b, m in results.items() if not b.startswith("citybridge")},
        "ms_per_query": {k: 1000 * v / max(len(queries), 1) for k, v in secs.items()},
        "timings_s": timings, "dev": dev,
    }
    dev["strongest_baseline"] = dict(zip(("name", "recall10_ratio"), strongest(dev["results"]), strict=True))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"CORDIS H2020 hidden-partner evaluation ({args.data})")
    print(f"test:  graph of projects starting {train_years[0]}-{train_years[1]} ({graph.n_orgs:,} organisations, "
          f"{len(graph.project_ids):,} projects, {graph.incidence.nnz:,} participations)")
    taken = f"all {len(queries):,} evaluated" if len(queries) == eligible else f"{len(queries):,} sampled"
    print(f"       projects starting {eval_years[0]}-{eval_years[1]} with >= 3 participants: {eligible:,}; "
          f"{taken}, one participant hidden each (seed {args.seed})")
    print(f"       hidden organisation present in the training graph: {known / max(len(queries), 1):.1%} "
          "(the ceiling of any method)")
    print(f"dev:   graph {dev['graph_years'][0]}-{dev['graph_years'][1]}, {dev['queries']} queries from {dev_year}"
          + (" (weights tuned here)" if args.tune else " (where the shipped weights were tuned)"))
    print("weights: " + ", ".join(f"{k}={v:g}" for k, v in weights.items() if v))
    print()
    print(f"| {'method':<24} | dev R@10 | dev MRR | test R@10 | test R@50 | test MRR | ms/query |")
    print(f"|{'-' * 26}|----------|---------|-----------|-----------|----------|----------|")
    n_base = len(results) - 1
    for name, m in results.items():
        d = dev["results"][name]
        ms = report["ms_per_query"]["citybridge" if name == "citybridge" else "baselines"]
        ms_txt = f"{ms:8.1f}" if name == "citybridge" else f"{ms / n_base:8.1f}"  # the baselines share a timer
        print(f"| {name:<24} | {d['recall@10']:8.3f} | {d['mrr']:.4f} | {m['recall@10']:9.3f} | "
              f"{m['recall@50']:9.3f} | {m['mrr']:8.4f} | {ms_txt} |")
    print()
    for name, text in BASELINE_DEFS.items():
        print(f"  {name}: {text}")
    print("\nrecall@10 citybridge / baseline (test): "
          + ", ".join(f"{b} {r:.2f}x" for b, r in report["recall10_ratio"].items()))
    sb, sd = report["strongest_baseline"], dev["strongest_baseline"]
    print(f"strongest baseline: test {sb['name']} ({sb['recall10_ratio']:.2f}x), "
          f"dev {sd['name']} ({sd['recall10_ratio']:.2f}x)")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
