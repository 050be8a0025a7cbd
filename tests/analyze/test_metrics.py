"""Network metrics, trends and gaps on hand-checkable stores and on a real CORDIS subset."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from citybridge.analyze.activity import activities_from_cordis, activities_from_store
from citybridge.analyze.cache import FORMAT, VERSION
from citybridge.analyze.graph import betweenness, build_graph, mix_diversity, pagerank, percentile
from citybridge.analyze.trends import complete_years, growth, is_rising, kleinberg_bursts, poisson_z, rate_ratio_p
from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.model.access import ANONYMOUS, CURATOR, Caller


def _by_id(items: list[dict]) -> dict[str, dict]:
    return {n["id"]: n for n in items}


# ---------------------------------------------------------------- graph metrics, by hand
def test_weights_degree_betweenness_by_hand(small: Hub) -> None:
    acts = activities_from_store(small.store, ANONYMOUS)
    assert sorted(acts.agent_ids) == ["org_a", "org_b", "org_c", "org_d"]  # E and P4 are private
    ag = build_graph(acts)
    ids = [acts.agent_ids[a] for a in ag.agents]
    ties = {tuple(sorted((ids[e.source], ids[e.target]))): round(w, 6)
            for e, w in zip(ag.graph.es, ag.weights, strict=True)}
    # Newman: P1 has 3 partners (1/2 per pair), P2 and P3 two (1 each)
    assert ties == {("org_a", "org_b"): 1.5, ("org_a", "org_c"): 0.5, ("org_b", "org_c"): 0.5,
                    ("org_c", "org_d"): 1.0}
    btw, method = betweenness(ag)
    assert method == "exact"
    # only C lies on shortest paths (D-A, D-B), of (4-1)(4-2)/2 = 3 pairs
    assert dict(zip(ids, np.round(btw, 4), strict=True)) == {"org_a": 0, "org_b": 0, "org_c": 0.6667, "org_d": 0}
    pr = dict(zip(ids, pagerank(ag), strict=True))
    assert pytest.approx(sum(pr.values())) == 1.0 and max(pr, key=pr.get) == "org_c"
    # the pivot estimate with every vertex as a pivot is the exact value
    est, how = betweenness(ag, exact_limit=1, pivots=10)
    assert how == "pivots:4" and np.allclose(est, btw)


def test_curator_sees_private_ties(small: Hub) -> None:
    m = small.network_metrics(caller=CURATOR)
    assert m["nodes"] == 5 and m["edges"] == 5
    nodes = _by_id(m["central"])
    assert nodes["org_c"]["betweenness"] == pytest.approx(4 / 6, abs=1e-4)  # D-A, D-B, E-A, E-B of 6 pairs
    assert nodes["org_d"]["betweenness"] == pytest.approx(3 / 6, abs=1e-4)  # E-A, E-B, E-C
    anon = small.network_metrics(caller=ANONYMOUS)
    text = json.dumps(anon)
    assert anon["nodes"] == 4 and "org_e" not in text and "prj_p4" not in text and "Epsilon" not in text
    lab = small.network_metrics(caller=Caller(user="u1", groups=frozenset({"lab"})))
    assert lab["nodes"] == 5  # the owner group sees its own records


def test_theme_excellence_pioneers_records(small: Hub) -> None:
    m = small.network_metrics(theme="programme:SC5", caller=ANONYMOUS)
    assert (m["nodes"], m["activities"], m["years"]) == (4, 3, [2016, 2020])
    exc = _by_id(m["excellence"])
    # A: 2 projects (2016, 2020), recency = mean(0.5 ** (4/2), 1) = 0.625
    assert exc["org_a"]["volume"] == 2 and exc["org_a"]["recency"] == 0.625
    assert exc["org_a"]["records"] == ["prj_p3", "prj_p1"]  # most recent first
    assert exc["org_a"]["leads"] == 1
    # weighted volume: P1 (2016, coordinated: counts twice) 2 x 0.25 + P3 (2020) 1 = 1.5; score x centrality
    assert exc["org_a"]["weighted_volume"] == 1.5
    assert exc["org_a"]["score"] == pytest.approx(exc["org_a"]["centrality"] * 1.5, abs=1e-4)  # centrality has 4 digits
    pio = _by_id(m["pioneers"])
    # early = within the first ceil(5/4) = 2 years after 2016; D starts 2018: earliness 1 - 2/5 = 0.6;
    # central since: PageRank percentile 1.0 in each active year it takes part, 0 when absent
    assert (pio["org_a"]["first_year"], pio["org_a"]["earliness"]) == (2016, 1.0)
    assert pio["org_a"]["centrality_since"] == pytest.approx(2 / 3, abs=1e-4)
    assert pio["org_d"]["earliness"] == 0.6 and pio["org_d"]["centrality_since"] == 0.5
    assert pio["org_d"]["score"] == pytest.approx(0.3)
    assert m["pioneers"][-1]["id"] == "org_d"
    brokers = _by_id(m["brokers"])
    assert list(brokers) == ["org_c"]  # the only one with betweenness; ties to ES, PT and FR, three sectors
    assert brokers["org_c"]["sectors_mix"] > 0.5 and brokers["org_c"]["countries_mix"] > 0.5
    drawn = {n["id"]: n for n in m["graph"]["nodes"]}
    assert drawn["org_c"]["broker"] and drawn["org_a"]["pioneer"]
    edge = next(e for e in m["graph"]["edges"] if {e["source"], e["target"]} == {"org_a", "org_b"})
    assert edge["shared"] == 2 and sorted(edge["records"]) == ["prj_p1", "prj_p3"] and edge["weight"] == 1.5
    other = small.network_metrics(theme="programme:SC3", caller=ANONYMOUS)
    assert other["nodes"] == 2 and other["activities"] == 1


def test_mix_and_percentile() -> None:
    assert list(percentile(np.array([0.0, 2.0, 1.0, 2.0]))) == [0.0, 1.0, 0.5, 1.0]


def test_bad_input_is_a_domain_error(small: Hub) -> None:
    with pytest.raises(Invalid) as e:
        small.network_metrics(theme="colour:blue")
    assert e.value.field == "theme"
    with pytest.raises(Invalid):
        small.network_metrics(level="planet")
    with pytest.raises(Invalid):
        small.trends(year_from=2020, year_to=2010)
    with pytest.raises(Invalid) as e:
        small.gaps(by="planet")
    assert e.value.field == "by"


# ---------------------------------------------------------------- trends
def test_kleinberg_bursts_by_hand() -> None:
    r = np.array([100, 100, 100, 100, 100])
    assert list(kleinberg_bursts(np.array([2, 2, 2, 20, 20]), r)) == [0, 0, 0, 1, 1]
    assert list(kleinberg_bursts(np.array([5, 5, 5, 5, 5]), r)) == [0, 0, 0, 0, 0]
    assert growth(np.array([2, 4, 8]), np.array([100, 100, 100])) > 0.5
    assert poisson_z(np.array([10, 10, 10, 30]), np.array([100, 100, 100, 100])) > 5
    rising, figs = is_rising(np.array([2, 2, 2, 20]), np.array([100, 100, 100, 100]))
    # 20 of the 26 records in the last of four equal years: P(X >= 20 | Bin(26, 1/4)) ~ 4e-8
    assert rising and figs["burst_now"] and figs["base"] == 6 and figs["p"] < 1e-6
    assert rate_ratio_p(np.array([2, 2, 2, 20]), np.array([100, 100, 100, 100])) == pytest.approx(
        sum(math.comb(26, k) * 0.25**k * 0.75 ** (26 - k) for k in range(20, 27)))
    assert not is_rising(np.array([20, 20, 20, 2]), np.array([100, 100, 100, 100]))[0]
    # too thin a base: 0 -> 1 -> 3 is not evidence, however steep
    assert not is_rising(np.array([0, 0, 1, 3]), np.array([100, 100, 100, 100]))[0]
    # not significant: 6, 6, 6 -> 9 (p ~ 0.2)
    assert not is_rising(np.array([6, 6, 6, 9]), np.array([100, 100, 100, 100]))[0]
    # a final year still being filled is left out of the flags
    assert complete_years(np.array([100, 110, 90, 30])) == 3 and complete_years(np.array([100, 110, 90, 60])) == 4
    assert complete_years(np.array([100, 10])) == 2


def test_trend_counts_and_evidence(small: Hub) -> None:
    tr = small.trends(caller=ANONYMOUS, top=50)
    assert tr["years"] == [2016, 2017, 2018, 2019, 2020]
    assert tr["totals"]["demand"] == {"2016": 0, "2017": 0, "2018": 0, "2019": 1, "2020": 3}
    assert tr["totals"]["supply"] == {"2016": 1, "2017": 0, "2018": 1, "2019": 1, "2020": 2}  # + 2 papers
    s = {x["theme"]: x for x in tr["series"]}["sdg:11"]  # sdg:11.1 rolls up to the goal
    assert s["theme_name"].startswith("SDG 11")
    assert s["demand"]["counts"] == {"2016": 0, "2017": 0, "2018": 0, "2019": 1, "2020": 3}
    assert s["supply"]["total"] == 1 and s["records"]["supply"] == ["prj_p1"]
    assert set(s["records"]["demand"]) == {"opp_c1", "opp_c2", "opp_c3", "doc_n1"}


# ---------------------------------------------------------------- gaps
def test_gap_map_by_hand(small: Hub) -> None:
    g = small.gaps(caller=ANONYMOUS)
    cells = {(c["theme"], c["area"]): c for c in g["cells"]}
    heat = cells[("sdg:11", "Southern Europe")]
    assert (heat["demand"], heat["supply"], heat["experts"]) == (4, 1, 2)  # A (ES) and B (PT) in P1
    assert sorted(heat["expert_ids"]) == ["org_a", "org_b"]
    # supply cells: sdg:11 S/W Europe 1+1, SC5 S 2 (P1, P3), SC5 W 2 (P1, P2), SC3 S 1 -> 7; demand 4
    assert g["totals"] == {"supply": 7, "demand": 4} and g["balance"] == round(4 / 7, 4)
    assert heat["gap"] == pytest.approx(4 - 4 / 7, abs=1e-3)
    top = g["ranked"][0]
    assert (top["theme"], top["area"]) == ("sdg:11", "Southern Europe")
    assert top["reason"] == ("3 calls and 1 document name SDG 11: Sustainable cities and communities in "
                             "Southern Europe; 1 research or project record and 2 experts in the network "
                             "address it there")
    by_country = small.gaps(by="country", caller=ANONYMOUS)
    es = {(c["theme"], c["area"]): c for c in by_country["cells"]}[("sdg:11", "ES")]
    assert (es["demand"], es["supply"], es["experts"]) == (3, 1, 1)


# ---------------------------------------------------------------- cache
def test_cached_artifact_refreshes_when_the_store_changes(small: Hub, tmp_path: Path) -> None:
    first = small.network_metrics(theme="programme:SC5")
    files = list((small.settings.data_dir / "analytics").glob("network-*.json"))
    assert len(files) == 1
    body = json.loads(files[0].read_text())
    assert (body["format"], body["version"]) == (FORMAT, VERSION) and body["result"]["nodes"] == first["nodes"]
    # a stale version is recomputed, not trusted
    body["version"] = VERSION - 1
    body["result"]["nodes"] = -1
    files[0].write_text(json.dumps(body))
    assert small.network_metrics(theme="programme:SC5")["nodes"] == first["nodes"]
    # a new participation changes the store: the figures follow
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps({"kind": "relation", "type": "partner_in", "source": "org_d", "target": "prj_p3",
                                "role": "participant"}) + "\n")
    small.import_files([path])
    after = small.network_metrics(theme="programme:SC5")
    assert _by_id(first["central"])["org_d"]["degree"] == 2  # C and E (the local CLI sees everything)
    assert _by_id(after["central"])["org_d"]["degree"] == 4


# ---------------------------------------------------------------- real data
def test_store_and_cordis_files_give_the_same_graph(cordis_hub: tuple[Hub, Path]) -> None:
    hub, folder = cordis_hub
    from_files = activities_from_cordis(folder)
    ag = build_graph(from_files)
    m = hub.network_metrics(theme="programme:SC5", top=20)
    pics = set()
    with gzip.open(folder / "h2020.csv.gz", "rt") as f:
        next(f)
        pics = {line.split(",")[2] for line in f}
    assert m["nodes"] == ag.n == len(pics)
    assert m["edges"] == len(ag.weights)
    assert m["activities"] == from_files.n_acts
    assert m["n_communities"] >= 2 and sum(c["size"] for c in m["communities"]) <= m["nodes"]
    # every ranked organisation lists projects it really took part in
    for node in m["excellence"][:5] + m["brokers"][:5] + m["pioneers"][:5]:
        rels = {r["other_id"] for r in hub.relations(node["id"], rel_type="partner_in")}
        assert set(node["records"]) <= rels and node["n_records"] == len(rels)
    # the most central organisation by PageRank has the highest weighted PageRank in an independent run
    pr = pagerank(ag)
    best = from_files.agent_ids[int(ag.agents[int(np.argmax(pr))])]
    assert hub.get(m["central"][0]["id"]).external_ids["pic"] == best.removeprefix("pic:")
    assert mix_diversity(ag, np.zeros(ag.n, dtype=int)).max() == 0  # one group: no mix


def test_person_and_city_levels(small: Hub) -> None:
    people = small.network_metrics(level="person", caller=ANONYMOUS)
    # co-authors: X-Y on R1, Y-Z on R2; Y is the bridge
    assert (people["nodes"], people["edges"]) == (3, 2)
    figures = _by_id(people["central"])
    assert figures["per_y"]["betweenness"] == 1.0 and figures["per_x"]["betweenness"] == 0
    assert figures["per_y"]["records"] == ["doc_r2", "doc_r1"] and figures["per_y"]["degree"] == 2
    cities = small.network_metrics(level="city", caller=ANONYMOUS)
    # A (Seville) with B (Lisbon) on P1 and P3; D (Lisbon) with C (no city) on P2: Seville-Lisbon only
    assert (cities["nodes"], cities["edges"]) == (2, 1)
    tie = cities["graph"]["edges"][0]
    assert {tie["source"], tie["target"]} == {"plc_seville", "plc_lisbon"} and tie["shared"] == 2
    assert {n["kind"] for n in cities["central"]} == {"place"}
