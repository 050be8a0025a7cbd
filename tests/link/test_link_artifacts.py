"""The link indexes as memory-mapped artifacts shared by processes (citybridge.link.artifacts), and link's
per-record passage cache (citybridge.link.passages): answers from them equal answers computed directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from citybridge.enrich.gazetteer import place_records
from citybridge.hub import Hub
from citybridge.link import artifacts, passages
from citybridge.link.challenge import city_index, profile_index
from citybridge.link.city_index import CityIndex
from citybridge.link.partner_store import graph_from_store, partner_graph
from citybridge.link.profile_index import ProfileIndex
from citybridge.model import Document, Organization, Person, Project, Relation
from citybridge.model.access import ANONYMOUS
from citybridge.search.service import _best_snippet
from citybridge.settings import Settings

TODAY = date(2026, 12, 1)
HEAT = ("Urban heat in dense neighbourhoods: cool roofs, shade trees and a heat early warning system protect "
        "older residents during heatwaves. " * 6)
WATER = "Water squares and green roofs store stormwater; flood resilience for the port city. " * 4
CHALLENGES = [("reduce urban heat in dense neighbourhoods", None), ("flood resilience with water squares", "Lisbon"),
              ("reducir el calor urbano en barrios densos", None)]


def _hub(data: Path) -> Hub:
    return Hub(Settings(data_dir=data, _env_file=None))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = Path(tmp_path_factory.mktemp("linkart")) / "data"
    h = _hub(data)
    h.init()
    places = [p for p in place_records() if ((p.ascii_name or p.name), p.country) in
              {("Lisbon", "PT"), ("Porto", "PT"), ("Rotterdam", "NL")} and p.place_type.value == "city"]
    city = {(p.ascii_name or p.name): p.id for p in places}
    docs = [Document(id="doc_heat", name="Cooling dense neighbourhoods against urban heat", description=HEAT,
                     doc_type="report", year=2022),
            Document(id="doc_case", name="Case study: cool roofs in Porto", description=HEAT, doc_type="case_study",
                     year=2020, body=WATER + HEAT),
            Document(id="doc_flood", name="Water squares for flood resilience", description=WATER,
                     doc_type="report", year=2019)]
    orgs = [Organization(id="org_cml", name="Câmara Municipal de Lisboa", org_type="local_government",
                         country="PT", city="Lisbon"),
            Organization(id="org_cool", name="Cool Cities Institute", description=HEAT,
                         org_type="research_institute", country="PT", city="Lisbon"),
            Organization(id="org_water", name="Water Squares Lab", description=WATER, org_type="company",
                         country="NL", city="Rotterdam")]
    projects = [Project(id="prj_cool", name="COOL-LISBOA heat plan", description=HEAT, start_date=date(2019, 1, 1),
                        programme="H2020-SC5"),
                Project(id="prj_water", name="WATERSQUARE", description=WATER, start_date=date(2020, 1, 1),
                        programme="H2020-SC5")]
    people = [Person(id="per_heat", name="Ana Calor")]
    assert h.upsert([*places, *docs, *orgs, *projects, *people]).rejected == 0
    rels = [Relation(type="partner_in", source=o, target=p) for o, p in
            [("org_cml", "prj_cool"), ("org_cool", "prj_cool"), ("org_water", "prj_water"),
             ("org_cool", "prj_water")]]
    rels += [Relation(type="located_in", source="org_cml", target=city["Lisbon"]),
             Relation(type="authored", source="per_heat", target="doc_heat"),
             Relation(type="authored", source="org_cool", target="doc_heat")]
    assert h.relate(rels).rejected == 0
    h.enrich(workers=1)
    h.close()
    yield data


def _answers(hub: Hub) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for text, place in CHALLENGES:
        res = hub.link(text, place=place, today=TODAY).to_dict()
        res.pop("took_ms"), res.pop("timings")
        out.append(res)
    return out


def _same_arrays(a: object, b: object) -> None:
    from scipy import sparse

    for name, value in vars(a).items():
        other = getattr(b, name)
        if sparse.issparse(value):
            assert (value != other).nnz == 0, name
        elif isinstance(value, np.ndarray):
            assert np.array_equal(value, other, equal_nan=True), name
        elif not name.startswith("_by_"):
            assert value == other, name


def test_artifacts_equal_the_indexes_built_from_the_store(data_dir: Path) -> None:
    hub = _hub(data_dir)
    try:
        idx, cities, graph = profile_index(hub), city_index(hub, ANONYMOUS), partner_graph(hub, ANONYMOUS)
        assert isinstance(idx.vectors, np.memmap)  # mapped from the artifact, not built in this process
        root = artifacts.artifact_root(hub)
        assert root is not None and len(list(root.glob("profile_index-*"))) == 1
        _same_arrays(idx, ProfileIndex.from_store(hub.store))
        _same_arrays(cities, CityIndex.from_store(hub.store, ANONYMOUS))
        direct = graph_from_store(hub.store, ANONYMOUS)
        _same_arrays(graph, direct)
        assert graph.has_org("org_cool") and graph.n_projects_of(graph.index_of("org_cool")) == 2
    finally:
        hub.close()


def test_answers_from_artifacts_equal_answers_computed_directly(data_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hub = _hub(data_dir)
    try:
        shared = _answers(hub)
    finally:
        hub.close()
    monkeypatch.setattr(artifacts, "artifact_root", lambda _hub: None)  # every index built in memory
    passages.clear()
    hub = _hub(data_dir)
    try:
        assert not isinstance(profile_index(hub).vectors, np.memmap)
        direct = _answers(hub)
    finally:
        hub.close()
    assert shared == direct
    assert any(shared[0]["sections"][s] for s in ("evidence", "organisations", "projects"))


def test_link_snippets_equal_the_search_snippets(data_dir: Path) -> None:
    hub = _hub(data_dir)
    try:
        passages.clear()
        recs = hub.store.get_many(["doc_heat", "doc_case", "doc_flood", "org_cool", "prj_water"])
        for query in ("urban heat warning", "stormwater flood resilience port", "nothing matches here", "heat*"):
            for rec in recs.values():
                for _ in range(2):  # analysed, then from the cache
                    assert passages.best_snippet(hub, rec, query) == (_best_snippet(rec, query) or {})
    finally:
        hub.close()


PROBE = """
import json, sys
from citybridge.hub import Hub
from citybridge.settings import Settings
from citybridge.link import challenge
from citybridge.link.profile_index import ProfileIndex
builds = []
original = ProfileIndex.from_store.__func__
ProfileIndex.from_store = classmethod(lambda cls, store: builds.append(1) or original(cls, store))
hub = Hub(Settings(data_dir=sys.argv[1], _env_file=None))
idx = challenge.profile_index(hub)
maps = [line.split()[-1] for line in open("/proc/self/maps") if "link-index" in line]
f = getattr(idx.vectors, "filename", None)
print(json.dumps({"builds": len(builds), "file": str(f) if f else None, "maps": sorted(set(maps)),
                  "n": len(idx.ids)}))
hub.close()
"""


def _probe(data: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen([sys.executable, "-c", PROBE, str(data)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


@pytest.mark.slow
def test_two_processes_map_the_same_file_and_one_builds_it(data_dir: Path) -> None:
    root = data_dir / "link-index"
    for old in root.glob("profile_index-*"):
        import shutil

        shutil.rmtree(old)
    procs = [_probe(data_dir), _probe(data_dir)]  # at once: one builds under the lock, the other maps its files
    outs = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o["builds"] for o in outs) == 1
    assert outs[0]["file"] == outs[1]["file"] and outs[0]["file"] is not None
    assert outs[0]["file"] in outs[0]["maps"] and outs[1]["file"] in outs[1]["maps"]
    assert outs[0]["n"] == outs[1]["n"] > 0


def test_artifact_rebuilt_after_a_write(data_dir: Path) -> None:
    hub = _hub(data_dir)
    try:
        graph = partner_graph(hub, ANONYMOUS)
        before = {d.name for d in (data_dir / "link-index").glob("partner_graph-*")}
        assert not graph.has_org("org_new")
        hub.upsert([Organization(id="org_new", name="New Heat Partners", country="PT")])
        hub.relate([Relation(type="partner_in", source="org_new", target="prj_cool")])
        graph2 = partner_graph(hub, ANONYMOUS)  # sync mode: the next answer follows the write
        assert graph2.has_org("org_new") and graph2.n_projects_of(graph2.index_of("org_new")) == 1
        after = {d.name for d in (data_dir / "link-index").glob("partner_graph-*")}
        assert after - before and len(after) <= artifacts.KEEP
        other = _hub(data_dir)  # another process's view: maps the new artifact, builds nothing
        try:
            assert partner_graph(other, ANONYMOUS).has_org("org_new")
            assert isinstance(partner_graph(other, ANONYMOUS).org_country, np.memmap)
        finally:
            other.close()
    finally:
        hub.close()


def test_a_damaged_artifact_is_built_again(data_dir: Path) -> None:
    hub = _hub(data_dir)
    try:
        profile_index(hub)
        folder = max((data_dir / "link-index").glob("profile_index-*"), key=lambda d: d.stat().st_mtime)
        (folder / "vectors.npy").write_bytes(b"broken")
    finally:
        hub.close()
    hub = _hub(data_dir)
    try:
        idx = profile_index(hub)
        _same_arrays(idx, ProfileIndex.from_store(hub.store))
    finally:
        hub.close()


def test_an_unwritable_artifact_folder_falls_back_to_memory(data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    hub = _hub(data_dir)
    try:
        idx = artifacts.shared(blocker / "link-index", "profile_index", ("fp",), ProfileIndex,
                               lambda: ProfileIndex.from_store(hub.store))
        assert not isinstance(idx.vectors, np.memmap) and len(idx.ids) > 0
    finally:
        hub.close()
