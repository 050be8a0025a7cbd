"""Validate the analytics on the real CORDIS Horizon 2020 participation graph (35,871 organisations, 31,451
projects; CC BY 4.0, European Commission / CORDIS, via zambujo/eunets).

(a) **communities**: Leiden communities of the organisation graph (Newman-weighted, modularity, resolution 1,
    seed 42) against each organisation's programme part (the part of most of its projects): normalised mutual
    information (arithmetic normalisation), against igraph's label propagation on the same graph. Organisations
    without a tie (only single-partner grants) are left out of both: each would be a community of its own.
(b) **excellence / pioneers back-test**: per programme part, organisations ranked on its 2014-2017 projects
    only; a hit = takes part (coordinates or joins) in >= 2 projects of that part starting 2018-2020.
    precision@20 (its expectation under random tie-breaking) macro-averaged over the parts with >= 20
    organisations, against ranking by degree in the same 2014-2017 graph. The excellence variants were
    compared only on earlier splits (rank 2014-2015 -> hits 2016-2017; rank 2014 -> hits 2015-2016), never on
    the 2018-2020 outcome; that table is printed first, then the test runs the shipped score only.
(c) **trend back-test**: a theme is a programme part in a country (projects with a partner from it), as the
    gap map counts them (headline); programme part alone and country alone are printed too. For t = 2016,
    2017, 2018 the rising flag of :mod:`citybridge.analyze.trends` is computed on the years <= t; the outcome
    is the growth of the theme's share of all projects from t-2..t to t+1..t+2. rate = share of flagged themes
    growing more than the median theme; baseline = the same share among unflagged themes (printed beside: the
    previous flag and a naive one, last year's count above the year before). The flag was chosen at t = 2015
    (outcome 2016-2017) only; that table is printed first.

    .venv/bin/python benchmarks/eval_analytics.py [--data ../shared/data/cordis] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.analyze.activity import Activities, activities_from_cordis
from citybridge.analyze.excellence import CENTRALITY_EXPONENT, HALF_LIFE, LEAD_WEIGHT, theme_mask, theme_scores
from citybridge.analyze.graph import build_graph, communities, label_propagation
from citybridge.analyze.trends import Z_RISING, complete_years, growth, is_rising, kleinberg_bursts, poisson_z

ROOT = Path(__file__).resolve().parents[1]


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information, arithmetic mean of the entropies (sklearn's default)."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    n = len(ai)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1)
    pij = joint / n
    pi, pj = pij.sum(1), pij.sum(0)
    nz = pij > 0
    mi = float((pij[nz] * np.log(pij[nz] / np.outer(pi, pj)[nz])).sum())
    hi = -float((pi[pi > 0] * np.log(pi[pi > 0])).sum())
    hj = -float((pj[pj > 0] * np.log(pj[pj > 0])).sum())
    return 0.0 if hi + hj == 0 else 2 * mi / (hi + hj)


def dominant_part(acts: Activities) -> np.ndarray:
    parts = sorted({th for ths in acts.act_themes for th in ths})
    pos = {p: i for i, p in enumerate(parts)}
    act_part = np.array([pos[ths[0]] if ths else -1 for ths in acts.act_themes])
    counts = np.zeros((acts.n_agents, len(parts)))
    ok = act_part[acts.part_act] >= 0
    np.add.at(counts, (acts.part_agent[ok], act_part[acts.part_act][ok]), 1)
    return np.where(counts.sum(1) > 0, counts.argmax(1), -1)


def eval_communities(acts: Activities) -> dict[str, float]:
    t0 = time.perf_counter()
    ag = build_graph(acts)
    deg = np.asarray(ag.graph.degree())
    labels = dominant_part(acts)[ag.agents]
    keep = (deg > 0) & (labels >= 0)
    leiden = communities(ag)
    lpa = label_propagation(ag)
    out = {"nmi": nmi(leiden[keep], labels[keep]), "baseline_nmi": nmi(lpa[keep], labels[keep]),
           "organisations": int(keep.sum()), "leiden_communities": int(len(np.unique(leiden[keep]))),
           "lpa_communities": int(len(np.unique(lpa[keep]))), "seconds": round(time.perf_counter() - t0, 1)}
    log(f"(a) communities vs programme parts, {out['organisations']:,} organisations with ties: "
        f"Leiden NMI {out['nmi']:.4f} ({out['leiden_communities']:,} communities) vs label propagation "
        f"{out['baseline_nmi']:.4f} ({out['lpa_communities']:,})")
    return out


def _hits(acts: Activities, theme_acts: np.ndarray, years: tuple[int, int]) -> np.ndarray:
    mask = theme_mask(acts, "x", years, theme_acts=theme_acts)
    return np.bincount(acts.part_agent[mask[acts.part_act]], minlength=acts.n_agents) >= 2


def expected_precision(score: np.ndarray, hits: np.ndarray, k: int = 20) -> float:
    """precision@k when ties are broken uniformly at random (its expectation): the tied group at the cut-off
    contributes its hit rate per remaining slot. Breaking ties by row index instead leaks the outcome: the
    CSV lists recent projects first, so agents active later have lower indices (ranking by index alone scores
    0.54 on the earlier split)."""
    score = np.round(np.asarray(score, dtype=float), 9)  # the solvers' last bits vary
    if len(score) < k:
        return float(hits.mean()) if len(hits) else 0.0
    cut = np.sort(score)[::-1][k - 1]
    above, tied = score > cut, score == cut
    return float((hits[above].sum() + (k - above.sum()) * hits[tied].mean()) / k)


#: the excellence variants compared on the earlier splits (name -> theme_scores keyword arguments)
VARIANTS: dict[str, dict[str, float]] = {
    "shipped: decayed volume, leads x2, x centrality": {},
    "decayed volume, leads x2, x centrality^0.1": {"centrality_exponent": 0.1},
    "decayed volume, leads x2, x centrality^0.25": {"centrality_exponent": 0.25},
    "decayed volume, leads x2, x centrality^0.5": {"centrality_exponent": 0.5},
    "decayed volume, leads x1, x centrality": {"lead_weight": 1.0},
    "decayed volume, leads x1, no centrality": {"lead_weight": 1.0, "centrality_exponent": 0.0},
}


def _precision(acts: Activities, train: tuple[int, int], test: tuple[int, int], variants: dict[str, dict[str, float]],
               k: int = 20) -> dict[str, float]:
    themes = acts.theme_index()
    years = acts.years()
    res: dict[str, list[float]] = {}
    parts = 0
    for th, idx in sorted(themes.items()):
        mask = theme_mask(acts, th, train, theme_acts=idx)
        ag = build_graph(acts, mask)
        if ag.n < k:
            continue
        parts += 1
        hits = _hits(acts, idx, test)[ag.agents]
        base = theme_scores(acts, mask, ref_year=train[1], ag=ag)
        # the previous score: PageRank / max x log(1 + count) x MEAN recency (favoured one-project newcomers)
        keep = mask[acts.part_act]
        local = np.searchsorted(ag.agents, acts.part_agent[keep])
        decay = 0.5 ** (np.maximum(train[1] - years[acts.part_act[keep]], 0) / HALF_LIFE)
        mean_rec = np.bincount(local, weights=decay, minlength=ag.n) / np.maximum(base["volume"], 1)
        scores = {"degree": np.asarray(ag.graph.degree(), dtype=float), "volume only": base["volume"],
                  "PageRank only": base["pagerank"],
                  PREVIOUS: base["centrality"] * np.log1p(
                      base["volume"]) * mean_rec}
        for name, kw in variants.items():
            scores[name] = base["excellence"] if not kw else theme_scores(
                acts, mask, ref_year=train[1], ag=ag, **kw)["excellence"]  # type: ignore[arg-type]
        for name, score in scores.items():
            res.setdefault(name, []).append(expected_precision(score, hits, k))
    return {name: float(np.mean(v)) for name, v in res.items()} | {"parts": parts}


SHIPPED = next(iter(VARIANTS))
PREVIOUS = "previous: centrality x log1p(count) x mean recency"
VALIDATION = (((2014, 2015), (2016, 2017)), ((2014, 2014), (2015, 2016)))


def eval_pioneers(acts: Activities) -> dict[str, float]:
    t0 = time.perf_counter()
    log("(b) variants on the earlier splits only (rank 2014-2015 -> hits 2016-2017; rank 2014 -> hits 2015-2016);"
        " expected precision@20 with random tie-breaking:")
    val = [_precision(acts, tr, te, VARIANTS) for tr, te in VALIDATION]
    names = [n for n in val[0] if n != "parts"]
    for n in names:
        log(f"    {n:55s} {val[0][n]:.4f} ({val[0]['parts']} parts)  {val[1][n]:.4f} ({val[1]['parts']} parts)"
            f"  mean {(val[0][n] + val[1][n]) / 2:.4f}")
    p = _precision(acts, (2014, 2017), (2018, 2020), {SHIPPED: {}})
    out = {"precision_at_20": p[SHIPPED], "baseline": p["degree"], "volume_only": p["volume only"],
           "pagerank_only": p["PageRank only"], "previous_score": p[PREVIOUS],
           "parts": p["parts"], "half_life": HALF_LIFE, "centrality_exponent": CENTRALITY_EXPONENT,
           "lead_weight": LEAD_WEIGHT,
           "validation": [{"train": list(tr), "hits": list(te), "precision_at_20": v[SHIPPED],
                           "baseline": v["degree"], "parts": v["parts"],
                           "variants": {n: round(v[n], 4) for n in names}}
                          for (tr, te), v in zip(VALIDATION, val, strict=True)],
           "seconds": round(time.perf_counter() - t0, 1)}
    log(f"(b) test: rank on 2014-2017, hit = >= 2 projects of the part in 2018-2020, {p['parts']} parts: "
        f"excellence precision@20 {out['precision_at_20']:.4f} vs degree {out['baseline']:.4f} "
        f"(volume only {out['volume_only']:.4f}, PageRank only {out['pagerank_only']:.4f}, previous score "
        f"{out['previous_score']:.4f})")
    return out


def theme_series(acts: Activities) -> tuple[list[int], dict[str, dict[str, np.ndarray]], np.ndarray]:
    """Projects per year for three meanings of "theme": programme part x country (the gap map's cells;
    a project counts in each of its partners' countries), programme part alone, country alone."""
    years = sorted({y for y in acts.act_year if y})
    pos = {y: i for i, y in enumerate(years)}
    series: dict[str, dict[str, np.ndarray]] = {"part x country": {}, "part": {}, "country": {}}
    total = np.zeros(len(years))

    def add(kind: str, key: str, i: int) -> None:
        series[kind].setdefault(key, np.zeros(len(years)))[i] += 1

    for y, ths, ctry in zip(acts.act_year, acts.act_themes, acts.act_countries, strict=True):
        if not y:
            continue
        i = pos[y]
        total[i] += 1
        for th in ths:
            add("part", th, i)
            for c in ctry:
                add("part x country", f"{th}@{c}", i)
        for c in ctry:
            add("country", c, i)
    return years, series, total


def previous_flag(d: np.ndarray, r: np.ndarray) -> bool:
    """The flag before this change: Kleinberg burst now or Poisson z >= 1.645, with positive growth."""
    return bool(growth(d, r) > 0 and (kleinberg_bursts(d, r)[-1] == 1 or poisson_z(d, r) >= Z_RISING))


def _flags(d: np.ndarray, r: np.ndarray) -> dict[str, bool]:
    shipped, figs = is_rising(d, r)
    p, base = figs["p"], figs["base"]
    prev = previous_flag(d, r)
    return {"shipped: rate-ratio p<0.05, base>=5": shipped, "previous: burst or z>=1.645, growth>0": prev,
            "previous, base>=5": prev and base >= 5, "rate-ratio p<0.05, base>=10": p < 0.05 and base >= 10,
            "rate-ratio p<0.05, base>=20": p < 0.05 and base >= 20,
            "rate-ratio p<0.01, base>=10": p < 0.01 and base >= 10,
            "naive: last year up": bool(d[-1] > d[-2])}


def _trend_rows(series: dict[str, np.ndarray], total: np.ndarray, years: list[int], t: int, min_total: int
                ) -> list[tuple[dict[str, bool], float]]:
    i = years.index(t)
    upto = complete_years(total[: i + 1])  # as the product does: a year still being filled is not tested
    rows = []
    for d in series.values():
        if d[: i + 1].sum() < min_total:
            continue
        before = d[max(i - 2, 0): i + 1].sum() / total[max(i - 2, 0): i + 1].sum()
        after = d[i + 1: i + 3].sum() / total[i + 1: i + 3].sum()
        rows.append((_flags(d[:upto], total[:upto]), float(np.log((after + 1e-6) / (before + 1e-6)))))
    return rows


def _rates(rows: list[tuple[dict[str, bool], float]]) -> dict[str, tuple[int, int, int, int]]:
    """flag -> (flagged that grew more than the median, flagged, unflagged that did, unflagged)."""
    med = float(np.median([g for _, g in rows])) if rows else 0.0
    out = {}
    for name in rows[0][0] if rows else ():
        f = [g > med for fl, g in rows if fl[name]]
        o = [g > med for fl, g in rows if not fl[name]]
        out[name] = (sum(f), len(f), sum(o), len(o))
    return out


def eval_trends(acts: Activities, ts: tuple[int, ...] = (2016, 2017, 2018), min_total: int = 10
                ) -> dict[str, Any]:
    t0 = time.perf_counter()
    years, series, total = theme_series(acts)
    shipped, prev = "shipped: rate-ratio p<0.05, base>=5", "previous: burst or z>=1.645, growth>0"
    log("(c) flags compared on t = 2015 only (outcome 2016-2017, before the test's outcome years); share of "
        "flagged / unflagged themes that grew more than the median theme:")
    pooled: dict[str, list[int]] = {}
    validation = {}
    for kind, s in series.items():
        rates = _rates(_trend_rows(s, total, years, 2015, min_total))
        validation[kind] = {n: {"rate": round(v[0] / max(v[1], 1), 4), "flagged": v[1],
                                "baseline": round(v[2] / max(v[3], 1), 4)} for n, v in rates.items()}
        for n, v in rates.items():
            acc = pooled.setdefault(n, [0, 0, 0, 0])
            for j in range(4):
                acc[j] += v[j]
            log(f"    {kind:15s} {n:40s} flagged {v[0] / max(v[1], 1):.3f} (n={v[1]:3d}) "
                f"unflagged {v[2] / max(v[3], 1):.3f}")
    for n, v in pooled.items():
        log(f"    {'pooled':15s} {n:40s} flagged {v[0] / max(v[1], 1):.3f} (n={v[1]:3d}) "
            f"unflagged {v[2] / max(v[3], 1):.3f}  difference {v[0] / max(v[1], 1) - v[2] / max(v[3], 1):+.3f}")
    test: dict[str, Any] = {}
    for kind, s in series.items():
        acc: dict[str, list[int]] = {}
        per_t = []
        for t in ts:
            rates = _rates(_trend_rows(s, total, years, t, min_total))
            per_t.append({"t": t, **{n: {"rate": round(rates[n][0] / max(rates[n][1], 1), 4), "flagged": rates[n][1],
                                         "baseline": round(rates[n][2] / max(rates[n][3], 1), 4)}
                                     for n in (shipped, prev)}})
            for n, v in rates.items():
                a = acc.setdefault(n, [0, 0, 0, 0])
                for j in range(4):
                    a[j] += v[j]
        test[kind] = {n: {"rate": v[0] / max(v[1], 1), "flagged": v[1], "baseline": v[2] / max(v[3], 1)}
                      for n, v in acc.items()} | {"per_t": per_t}
        for n in (shipped, prev, "naive: last year up"):
            v = test[kind][n]
            log(f"(c) test, {kind}, pooled t={list(ts)}: {n:40s} flagged {v['rate']:.3f} (n={v['flagged']}) vs "
                f"unflagged {v['baseline']:.3f}")
        for row in per_t:
            log(f"    t={row['t']}: shipped {row[shipped]['rate']:.3f} (n={row[shipped]['flagged']}) vs "
                f"{row[shipped]['baseline']:.3f}; previous {row[prev]['rate']:.3f} (n={row[prev]['flagged']}) "
                f"vs {row[prev]['baseline']:.3f}")
    head = test["part x country"][shipped]
    return {"rate": head["rate"], "baseline": head["baseline"], "flagged": head["flagged"], "theme": "part x country",
            "validation_t2015": validation, "test": test, "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cordis",
                    help="folder with h2020.csv.gz and programme_parts.csv.gz")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()
    if not (args.data / "h2020.csv.gz").exists():
        sys.exit(f"error: {args.data / 'h2020.csv.gz'} not found (--data names the CORDIS folder)")
    t0 = time.perf_counter()
    acts = activities_from_cordis(args.data)
    log(f"CORDIS H2020: {acts.n_agents:,} organisations, {acts.n_acts:,} projects, "
        f"{len(acts.part_act):,} participations ({time.perf_counter() - t0:.1f} s)")
    comm = eval_communities(acts)
    pio = eval_pioneers(acts)
    tr = eval_trends(acts)
    result = {"communities": {"nmi": round(comm["nmi"], 4), "baseline_nmi": round(comm["baseline_nmi"], 4)},
              "pioneers": {"precision_at_20": round(pio["precision_at_20"], 4), "baseline": round(pio["baseline"], 4)},
              "trends": {"rate": round(tr["rate"], 4), "baseline": round(tr["baseline"], 4)}}
    if args.json:
        print(json.dumps(result))
    else:
        log(json.dumps({"communities": comm, "pioneers": pio, "trends": tr}, indent=1))
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
