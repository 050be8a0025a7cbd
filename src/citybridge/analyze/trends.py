"""Theme volumes per year for supply and demand, growth, bursts, and emerging themes.

* **volume**: activities per theme and year on each side (supply: research and projects; demand: calls,
  news, policies and plans, members' stated challenges; see :func:`citybridge.analyze.activity.side_of`).
* **burst**: Kleinberg's two-state automaton for batched arrivals (Kleinberg 2002, "Bursty and hierarchical
  structure in streams", KDD, section 4.1): in year t, d_t of the side's r_t activities are about the theme;
  the base state emits at the theme's overall share p0, the burst state at s*p0 (s = 2); entering the burst
  state costs gamma*ln(n) (gamma = 1, n = years); the cheapest state sequence (Viterbi) marks burst years.
* **growth**: the slope of the log share of the theme (d_t + 0.5) / (r_t + 1) over the last ``WINDOW`` years,
  per year (0.1 = the share grows ~10% a year).
* **rising**: the last year's count is significantly above what the previous ``WINDOW`` years' share predicts,
  by the exact conditional test of two Poisson rates (given the two periods' combined count, the last year's
  count is binomial with p = its share of the side's records; one-sided p < ``ALPHA``), and the previous
  years hold at least ``MIN_BASE`` of the theme's records (no flag from 0 -> 2). Kleinberg bursts and the
  z-score are reported beside it but no longer flag on their own: the earlier flag (burst or z >= 1.645 with
  positive growth, no minimum) was replaced after comparing both on the CORDIS back-test at t = 2015 only
  (outcome 2016-2017; ``benchmarks/eval_analytics.py`` prints the table), never on later outcomes. A final
  year with fewer than half the records of the median year before it (a year still being filled) is left
  out of the flags (``flag_year`` says which year was tested).
* **emerging**: demand rising while supply is thin (the theme's share of supply below half its share of
  demand over the window, or fewer than ``THIN`` supply records).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from citybridge.analyze.activity import Activities

WINDOW = 3
S_BURST = 2.0
GAMMA = 1.0
Z_RISING = 1.645
ALPHA = 0.05
MIN_BASE = 5
THIN = 3
EVIDENCE = 10


def kleinberg_bursts(d: np.ndarray, r: np.ndarray, *, s: float = S_BURST, gamma: float = GAMMA) -> np.ndarray:
    """Burst state (0/1) per batch of Kleinberg's two-state batched model; ``d`` relevant of ``r`` per batch."""
    d = np.asarray(d, dtype=float)
    r = np.asarray(r, dtype=float)
    n = len(d)
    if n == 0 or r.sum() <= 0 or d.sum() <= 0:
        return np.zeros(n, dtype=int)
    p0 = d.sum() / r.sum()
    p = [p0, min(s * p0, 0.9999)]
    if p[1] <= p[0]:
        return np.zeros(n, dtype=int)

    def cost(i: int, t: int) -> float:
        rt, dt = r[t], min(d[t], r[t])
        if rt <= 0:
            return 0.0
        return -(dt * math.log(p[i]) + (rt - dt) * math.log(1 - p[i]))  # the binomial coefficient cancels

    up = gamma * math.log(max(n, 2))
    best = [cost(0, 0), cost(1, 0) + up]
    back: list[list[int]] = []
    for t in range(1, n):
        stay0, from1 = best[0], best[1]
        b0 = (stay0, 0) if stay0 <= from1 else (from1, 1)
        stay1, from0 = best[1], best[0] + up
        b1 = (stay1, 1) if stay1 <= from0 else (from0, 0)
        back.append([b0[1], b1[1]])
        best = [b0[0] + cost(0, t), b1[0] + cost(1, t)]
    state = int(np.argmin(best))
    states = [state]
    for t in range(n - 2, -1, -1):
        state = back[t][state]
        states.append(state)
    return np.array(states[::-1], dtype=int)


def growth(d: np.ndarray, r: np.ndarray, window: int = WINDOW) -> float:
    """Slope of the log share over the last ``window`` years (per year)."""
    d, r = np.asarray(d[-window:], dtype=float), np.asarray(r[-window:], dtype=float)
    if len(d) < 2:
        return 0.0
    share = np.log((d + 0.5) / (r + 1.0))
    x = np.arange(len(d), dtype=float)
    return float(np.polyfit(x, share, 1)[0])


def poisson_z(d: np.ndarray, r: np.ndarray, window: int = WINDOW) -> float:
    """z of the last year's count against the share of the ``window`` years before it."""
    if len(d) < 2:
        return 0.0
    prev_d, prev_r = float(np.sum(d[-window - 1:-1])), float(np.sum(r[-window - 1:-1]))
    expected = r[-1] * (prev_d + 0.5) / (prev_r + 1.0)
    return float((d[-1] - expected) / math.sqrt(max(expected, 0.5)))


def rate_ratio_p(d: np.ndarray, r: np.ndarray, window: int = WINDOW) -> float:
    """One-sided exact p-value that the last year's rate d/r exceeds the previous ``window`` years' rate:
    conditional on the combined count n, the last year's count is Binomial(n, r_last / (r_last + r_prev))."""
    if len(d) < 2:
        return 1.0
    x, n1 = int(d[-1]), float(r[-1])
    y, n0 = int(np.sum(d[-window - 1:-1])), float(np.sum(r[-window - 1:-1]))
    n = x + y
    if n == 0 or n1 <= 0 or n0 <= 0:
        return 1.0
    return float(stats.binom.sf(x - 1, n, n1 / (n1 + n0)))


def is_rising(d: np.ndarray, r: np.ndarray) -> tuple[bool, dict[str, Any]]:
    """Whether the series is rising at its last year, with the figures that say so."""
    bursts = kleinberg_bursts(d, r)
    g = growth(d, r)
    z = poisson_z(d, r)
    p = rate_ratio_p(d, r)
    base = int(np.sum(d[-WINDOW - 1:-1])) if len(d) else 0
    rising = bool(len(d) >= 2 and base >= MIN_BASE and p < ALPHA)
    return rising, {"growth": round(g, 4), "z": round(z, 3), "p": round(p, 5), "base": base,
                    "burst_now": bool(len(bursts) and bursts[-1])}


def complete_years(total: np.ndarray) -> int:
    """How many leading years to test: a last year with < half the records of the median year before it
    (one still being filled) is left out; at least three earlier years are needed to judge."""
    total = np.asarray(total, dtype=float)
    n = len(total)
    if n >= 4 and total[-1] < 0.5 * float(np.median(total[:-1])):
        return n - 1
    return n


def volumes(acts: Activities, themes: list[str] | None = None, years: tuple[int, int] | None = None
            ) -> tuple[list[int], dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """(years, theme -> side -> counts per year, side -> all activities per year)."""
    y = acts.years()
    known = y[y > 0]
    if years is None:
        years = (int(known.min()), int(known.max())) if len(known) else (0, -1)
    span = list(range(years[0], years[1] + 1))
    pos = {yr: i for i, yr in enumerate(span)}
    totals = {s: np.zeros(len(span), dtype=int) for s in ("supply", "demand")}
    series: dict[str, dict[str, np.ndarray]] = {}
    wanted = set(themes) if themes is not None else None
    for yr, side, ths in zip(y, acts.act_side, acts.act_themes, strict=True):
        if side not in totals or int(yr) not in pos:
            continue
        k = pos[int(yr)]
        totals[side][k] += 1
        for th in ths:
            if wanted is not None and th not in wanted:
                continue
            sides = series.get(th)
            if sides is None:
                sides = series[th] = {s: np.zeros(len(span), dtype=int) for s in ("supply", "demand")}
            sides[side][k] += 1
    return span, series, totals


def trends(acts: Activities, *, themes: list[str] | None = None, scheme: str | None = None,
           years: tuple[int, int] | None = None, min_records: int = 3, top: int = 30) -> dict[str, Any]:
    """Theme series with growth, bursts, rising flags and emerging themes (shape: see ``Hub.trends``)."""
    span, series, totals = volumes(acts, themes, years)
    if scheme:
        series = {k: v for k, v in series.items() if k.startswith(scheme + ":")}
    y = acts.years()
    by_theme: dict[str, list[int]] = {}
    wanted = set(series)
    for i, ths in enumerate(acts.act_themes):
        for th in ths:
            if th in wanted:
                by_theme.setdefault(th, []).append(i)
    upto = complete_years(totals["supply"] + totals["demand"])  # flags on complete years only
    flag_year = span[upto - 1] if span and upto else None
    out = []
    for th, sides in series.items():
        n = int(sides["supply"].sum() + sides["demand"].sum())
        if n < min_records:
            continue
        entry: dict[str, Any] = {"theme": th, "total": n}
        for side in ("supply", "demand"):
            d, r = sides[side], totals[side]
            rising, figs = is_rising(d[:upto], r[:upto]) if d[:upto].sum() else (
                False, {"growth": 0.0, "z": 0.0, "p": 1.0, "base": 0, "burst_now": False})
            bursts = kleinberg_bursts(d, r)
            entry[side] = {"counts": {str(yr): int(c) for yr, c in zip(span, d, strict=True)},
                           "total": int(d.sum()), "rising": rising,
                           "bursts": [span[i] for i in np.flatnonzero(bursts)], **figs}
        w = slice(-WINDOW, None)
        s_share = sides["supply"][w].sum() / max(totals["supply"][w].sum(), 1)
        d_share = sides["demand"][w].sum() / max(totals["demand"][w].sum(), 1)
        thin = sides["supply"][w].sum() < THIN or s_share < 0.5 * d_share
        entry["emerging"] = bool(entry["demand"]["rising"] and thin)
        idx = np.array(by_theme.get(th, []), dtype=np.int64)
        recent = idx[np.argsort(-y[idx], kind="stable")] if len(idx) else idx
        entry["records"] = {side: [acts.act_ids[i] for i in recent if acts.act_side[i] == side][:EVIDENCE]
                            for side in ("supply", "demand")}
        if entry["emerging"]:
            entry["reason"] = (f"demand for {th} rose to {int(sides['demand'][upto - 1])} records in {flag_year} "
                               f"(growth {entry['demand']['growth']:+.2f}/year, p {entry['demand']['p']:.3f}); "
                               f"{int(sides['supply'][w].sum())} research and project records in "
                               f"{span[-WINDOW] if len(span) >= WINDOW else span[0]}-{span[-1]}")
        out.append(entry)
    out.sort(key=lambda e: (-e["emerging"], -(e["demand"]["rising"] or e["supply"]["rising"]), -e["total"],
                            e["theme"]))
    return {"years": span, "totals": {s: {str(yr): int(c) for yr, c in zip(span, v, strict=True)}
                                      for s, v in totals.items()},
            "series": out[:top], "emerging": [e["theme"] for e in out if e["emerging"]],
            "rising": [e["theme"] for e in out if e["supply"]["rising"] or e["demand"]["rising"]],
            "method": {"burst": "Kleinberg 2002 two-state batched (s=2, gamma=1)", "window": WINDOW,
                       "rising": f"exact Poisson rate-ratio test, last year vs {WINDOW} before, p < {ALPHA}, "
                                 f">= {MIN_BASE} records before", "flag_year": flag_year, "thin_supply": THIN}}


__all__ = ["complete_years", "growth", "is_rising", "kleinberg_bursts", "poisson_z", "rate_ratio_p", "trends",
           "volumes"]
