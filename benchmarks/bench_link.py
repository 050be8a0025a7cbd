"""Latency of a full ``Hub.link`` (all sections) on a store, and of its profile matching at 1M-record scale.

    CITYBRIDGE_DATA_DIR=/tmp/demo-copy PYTHONPATH=src python benchmarks/bench_link.py [--profiles 250000]

Phase 1 runs ~30 varied challenges (en/es/pt/fr, some with a focus city) twice: the first pass warms the
caches (profile, city and partner indexes, search index, tagger), the second is measured (p50/p95 per call and
per section). Phase 2 builds a synthetic profile index of ``--profiles`` profiles (the demo pack has 30k
profiles for 250k records, so 1M records give ~120k; 250k is the default to leave margin) with 256-d vectors,
theme and keyword matrices of the demo's density, and times the per-query profile matching of the three
profile sections. The search part at 1M is measured by ``bench_search.py`` (phase 2, 1M documents); the
1M estimate printed here is: demo link p95 - demo profile matching + 1M profile matching + 4 searches x
(1M search p95 - demo search p95), with the search figures passed in (``--search-1m-p95-ms``).
``--cpu [--json]`` runs only the per-section CPU phase (:func:`cpu_phase`: uncached, uncached with the
per-record caches of a running worker, repeated), CPU ms of the calling thread beside wall ms.
Never asserted on; a measurement.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

import numpy as np

CHALLENGES = [
    ("reduce urban heat in dense neighbourhoods", None),
    ("reduce urban heat in dense neighbourhoods", "Lisbon"),
    ("flood resilience for coastal cities with nature-based solutions", None),
    ("affordable housing and informal settlements upgrading", "Nairobi"),
    ("circular economy for construction and demolition waste", None),
    ("air pollution from traffic and clean public transport", "Paris"),
    ("energy efficiency retrofits of social housing", None),
    ("drought and water scarcity in growing cities", "Cape Town"),
    ("urban forests and tree canopy for biodiversity", None),
    ("early warning systems for heatwaves and older residents", None),
    ("food waste reduction and composting in schools", None),
    ("gender equality in urban planning and safe public spaces", "Barcelona"),
    ("renewable energy communities and solar rooftops", None),
    ("sustainable mobility: cycling lanes and walkability", "Copenhagen"),
    ("climate adaptation plan for a medium-sized city", None),
    ("reducir el calor urbano en barrios densos", None),
    ("gestión de residuos sólidos y reciclaje en la ciudad", "Bogotá"),
    ("inundaciones urbanas y drenaje sostenible", None),
    ("vivienda asequible y asentamientos informales", "Lima"),
    ("movilidad sostenible y transporte público eléctrico", None),
    ("reduzir o calor urbano em bairros densos", None),
    ("gestão de resíduos e economia circular nas cidades", "São Paulo"),
    ("enchentes e drenagem urbana sustentável", None),
    ("habitação acessível e favelas", "Rio de Janeiro"),
    ("energia renovável e eficiência energética em edifícios públicos", None),
    ("réduire les îlots de chaleur urbains dans les quartiers denses", None),
    ("gestion des déchets et économie circulaire", "Lyon"),
    ("inondations et adaptation au changement climatique", None),
    ("logement abordable et inclusion sociale", "Dakar"),
    ("qualité de l'air et transports en commun", None),
]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def cpu_phase(limit: int) -> dict[str, Any]:
    """CPU ms (this thread) and wall ms per section of one link call, three ways: ``uncached`` - every challenge
    with a random suffix, in a process whose link indexes are loaded but whose per-record caches (passages,
    records, annotations) are empty; ``uncached_warm`` - another random suffix, per-record caches filled by
    the first pass (what a long-running worker sees: no answer can come from a cache, the records of related
    challenges can); ``repeat`` - the same texts again."""
    import random

    from citybridge.hub import Hub
    from citybridge.settings import Settings

    try:
        from citybridge.link import passages
    except ImportError:  # a checkout from before link.passages (for the "before" figures)
        passages = None  # type: ignore[assignment]
    hub = Hub(Settings())
    t0, c0 = time.perf_counter(), time.process_time()
    hub.link("urban heat", limit=limit)  # maps (or builds) the link indexes, loads the search index and models
    print(f"first call (link indexes mapped or built, search index and models loaded): "
          f"{time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} CPU-s")
    if passages is not None:
        passages.clear()
    hub.__dict__.pop("_link_reads", None)
    rng = random.Random(16)
    out: dict[str, Any] = {}
    for label, suffix in (("uncached", True), ("uncached_warm", True), ("repeat", False)):
        cpu: dict[str, list[float]] = {}
        wall: dict[str, list[float]] = {}
        for text, place in CHALLENGES:
            query = f"{text} {rng.randint(0, 10**9)}" if suffix else text
            t, c = time.perf_counter(), time.thread_time()
            res = hub.link(query, place=place, limit=limit)
            wall.setdefault("total", []).append((time.perf_counter() - t) * 1000)
            # a LinkResult without cpu_ms (before it existed): the call's total only
            per = getattr(res, "cpu_ms", None) or {"total": (time.thread_time() - c) * 1000}
            for name, ms in per.items():
                cpu.setdefault(name, []).append(ms)
            for name, ms in res.timings.items():
                wall.setdefault(name, []).append(ms)
        out[label] = {name: {"cpu_mean": round(float(np.mean(v)), 1), "cpu_p95": round(pct(v, 95), 1),
                             "wall_mean": round(float(np.mean(wall[name])), 1)} for name, v in cpu.items()}
        print(f"{label}: per call CPU ms mean / p95 (wall ms mean), {len(CHALLENGES)} challenges")
        for name, f in out[label].items():
            print(f"  {name:<14} {f['cpu_mean']:7.1f} / {f['cpu_p95']:7.1f}  ({f['wall_mean']:7.1f})")
    hub.close()
    return out


def demo_phase(limit: int) -> dict[str, float]:
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    hub = Hub(Settings())
    t0 = time.perf_counter()
    hub.link(CHALLENGES[0][0])
    print(f"first call (builds profile/city/partner indexes, loads search index and models): "
          f"{time.perf_counter() - t0:.1f} s")
    for text, place in CHALLENGES:  # warm: partner graph, tagger languages, city names
        hub.link(text, place=place, limit=limit)
    totals: list[float] = []
    per: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for text, place in CHALLENGES:
        t = time.perf_counter()
        res = hub.link(text, place=place, limit=limit)
        totals.append((time.perf_counter() - t) * 1000)
        for name, ms in res.timings.items():
            per.setdefault(name, []).append(ms)
        for name, items in res.sections.items():
            sizes[name] = sizes.get(name, 0) + len(items)
    print(f"demo store: {len(CHALLENGES)} challenges, full link (7 sections, limit {limit}): "
          f"p50 {pct(totals, 50):.0f} ms  p95 {pct(totals, 95):.0f} ms  max {max(totals):.0f} ms")
    for name, values in per.items():
        print(f"  {name:<14} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms"
              + (f"  items/challenge {sizes[name] / len(CHALLENGES):.1f}" if name in sizes else ""))
    # profile matching alone on the demo (the part that grows with the number of profiles)
    from citybridge.link.challenge import from_text, profile_index
    from citybridge.link.profile_index import Scores, match

    idx = profile_index(hub)
    ch = from_text(hub, CHALLENGES[0][0], idx.vector_model)
    rows = np.arange(len(idx.ids))
    ms = []
    for _ in range(20):
        t = time.perf_counter()
        scores = Scores(idx, ch.labels, ch.terms, ch.vector)
        for k in range(3):
            match(idx, rows[idx.kind == k], labels=ch.labels, terms=ch.terms, vector=ch.vector,
                  ref_year=date.today().year, scores=scores)
        ms.append((time.perf_counter() - t) * 1000)
    search_ms = []
    for text, _p in CHALLENGES:
        t = time.perf_counter()
        hub.searcher.search(text, filters={"kind": "document"}, facets=(), per_page=20, fuzzy=False)
        search_ms.append((time.perf_counter() - t) * 1000)
    print(f"  profile matching ({len(idx.ids):,} profiles): p50 {pct(ms, 50):.1f} ms; one section search "
          f"p95 {pct(search_ms, 95):.1f} ms")
    hub.close()
    return {"p95": pct(totals, 95), "match": pct(ms, 50), "search_p95": pct(search_ms, 95)}


def synthetic_phase(n: int, demo: dict[str, float] | None, search_1m_p95: float | None) -> None:
    from scipy import sparse

    from citybridge.link.profile_index import ProfileIndex, Scores, match

    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    dim, n_themes, n_terms = 256, 22, 200_000
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    per_row_themes, per_row_terms = 4, 40
    th = sparse.csr_matrix((rng.random(n * per_row_themes).astype(np.float32),
                            (np.repeat(np.arange(n), per_row_themes), rng.integers(0, n_themes, n * per_row_themes))),
                           shape=(n, n_themes))
    zipf = np.minimum(rng.zipf(1.3, n * per_row_terms), n_terms) - 1
    tr = sparse.csr_matrix((np.ones(n * per_row_terms, np.float32),
                            (np.repeat(np.arange(n), per_row_terms), zipf)), shape=(n, n_terms))
    tr.data[:] = 1.0
    labels = [f"sdg:{i}" for i in range(1, 18)] + [f"pathway:{p}" for p in "abcde"]
    idx = ProfileIndex(ids=[f"e{i}" for i in range(n)], kind=rng.integers(0, 3, n).astype(np.int8),
                       subtype=[None] * n, names=[""] * n, country=[None] * n, public=np.ones(n, bool),
                       restricted={}, themes=th, theme_labels=labels, theme_idf=np.ones(n_themes, np.float32),
                       terms=tr, term_index={f"t{i}": i for i in range(n_terms)},
                       term_idf=np.ones(n_terms, np.float32), vectors=vecs, has_vector=np.ones(n, bool),
                       vector_model="m", last_year=rng.integers(2010, 2025, n).astype(np.int32),
                       n_records=rng.integers(1, 50, n).astype(np.int32),
                       theme_mass=rng.random(n).astype(np.float32) * 5)
    idx._theme_col = {lab: i for i, lab in enumerate(labels)}
    print(f"synthetic index of {n:,} profiles built in {time.perf_counter() - t0:.1f} s "
          f"({vecs.nbytes / 1e6:.0f} MB vectors)")
    q = rng.standard_normal(dim).astype(np.float32)
    q /= np.linalg.norm(q)
    ms = []
    for _ in range(20):
        t = time.perf_counter()
        allowed = idx.allowed(__import__("citybridge.model.access", fromlist=["ANONYMOUS"]).ANONYMOUS)
        labels, terms = {"sdg:11": 1.0, "pathway:d": 0.5}, ["t1", "t5", "t90"]
        scores = Scores(idx, labels, terms, q)  # once per request, shared by the sections (as in link)
        for k in range(3):
            rows = np.flatnonzero((idx.kind == k) & allowed)
            m = match(idx, rows, labels=labels, terms=terms, vector=q, ref_year=2025, scores=scores)
            rel = 0.35 * m.themes + 0.3 * m.semantic + 0.25 * m.keywords
            np.argsort(-rel)[:300]
        ms.append((time.perf_counter() - t) * 1000)
    p50, p95 = pct(ms, 50), pct(ms, 95)
    print(f"profile matching for 3 sections over {n:,} profiles: p50 {p50:.0f} ms  p95 {p95:.0f} ms")
    if demo is not None:
        est = demo["p95"] - demo["match"] + p95
        if search_1m_p95 is not None:
            est += 4 * max(0.0, search_1m_p95 - demo["search_p95"])
            print(f"estimated full link p95 at 1M records: {est:.0f} ms (search p95 at 1M: {search_1m_p95:.0f} ms, "
                  "from bench_search.py)")
        else:
            print(f"estimated full link p95 at 1M records, search latency as on the demo: {est:.0f} ms "
                  "(add 4 x the 1M search p95 increase from bench_search.py)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--profiles", type=int, default=250_000)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--search-1m-p95-ms", type=float, default=None)
    ap.add_argument("--cpu", action="store_true", help="only the per-section CPU phase (see cpu_phase)")
    ap.add_argument("--json", action="store_true", help="with --cpu: the figures as JSON on stdout")
    args = ap.parse_args()
    if args.cpu:
        import contextlib
        import json
        import sys

        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            figures = cpu_phase(args.limit)
        if args.json:
            print(json.dumps(figures, indent=1))
        return
    demo = None if args.skip_demo else demo_phase(args.limit)
    synthetic_phase(args.profiles, demo, args.search_1m_p95_ms)


if __name__ == "__main__":
    main()
