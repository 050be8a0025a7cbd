"""Analytics fixtures: a small hand-checkable network, and a real CORDIS subset imported by the real importer."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.ingest import ExactIdResolver, Importer
from citybridge.ingest.cordis import H2020ParticipationSource
from citybridge.settings import Settings
from conftest import shared


def _org(i: str, name: str, country: str, org_type: str = "university", **kw: object) -> dict:
    return {"kind": "organization", "id": i, "name": name, "country": country, "org_type": org_type, **kw}


def _prj(i: str, year: int, parts: tuple[str, ...] = ("SC5",), **kw: object) -> dict:
    return {"kind": "project", "id": i, "name": f"Project {i}", "start_date": f"{year}-03-01",
            "attributes": {"programme_parts": [{"code": p} for p in parts]}, **kw}


def _rel(src: str, dst: str, role: str = "participant", **kw: object) -> dict:
    return {"kind": "relation", "type": "partner_in", "source": src, "target": dst, "role": role, **kw}


#: A (ES university), B (PT company), C (DE research institute), D (FR public body), E (private, only in P4)
#: P1 2016 {A, B, C}, P2 2018 {C, D}, P3 2020 {A, B}, P4 2020 {D, E} (private project, owner lab)
#: Newman weights: A-B 1/2 + 1 = 1.5, A-C 0.5, B-C 0.5, C-D 1 (+ D-E 1 for who sees P4)
SMALL = [
    _org("org_a", "Alpha University", "ES"),
    _org("org_b", "Beta Energy Company", "PT", "company"),
    _org("org_c", "Gamma Research Institute", "DE", "research_institute"),
    _org("org_d", "Delta City Council", "FR", "local_government"),
    _org("org_e", "Epsilon Secret Lab", "FR", "company", visibility="private", owner="lab"),
    _prj("prj_p1", 2016), _prj("prj_p2", 2018), _prj("prj_p3", 2020, ("SC5", "SC3")),
    _prj("prj_p4", 2020, visibility="private", owner="lab"),
    {"kind": "opportunity", "id": "opp_c1", "name": "Call on urban heat in Spain", "opp_type": "funding_call",
     "deadline": "2020-05-01", "attributes": {"countries": ["ES"]}},
    {"kind": "opportunity", "id": "opp_c2", "name": "Call on urban heat in Portugal", "opp_type": "funding_call",
     "deadline": "2020-09-01", "attributes": {"countries": ["PT"]}},
    {"kind": "opportunity", "id": "opp_c3", "name": "Heat plan support for Spanish cities",
     "opp_type": "funding_programme", "deadline": "2020-10-01", "attributes": {"countries": ["ES"]}},
    {"kind": "document", "id": "doc_n1", "name": "News: heatwaves in Seville", "doc_type": "news",
     "published": "2019-07-01"},
    {"kind": "place", "id": "plc_seville", "name": "Seville", "place_type": "city", "country": "ES"},
    {"kind": "place", "id": "plc_lisbon", "name": "Lisbon", "place_type": "city", "country": "PT"},
    {"kind": "person", "id": "per_x", "name": "Ana Costa"}, {"kind": "person", "id": "per_y", "name": "Bruno Silva"},
    {"kind": "person", "id": "per_z", "name": "Carla Dias"},
    {"kind": "document", "id": "doc_r1", "name": "Cooling Seville", "doc_type": "paper", "year": 2019},
    {"kind": "document", "id": "doc_r2", "name": "Cooling Lisbon", "doc_type": "paper", "year": 2020},
    {"kind": "relation", "type": "authored", "source": "per_x", "target": "doc_r1"},
    {"kind": "relation", "type": "authored", "source": "per_y", "target": "doc_r1"},
    {"kind": "relation", "type": "authored", "source": "per_y", "target": "doc_r2"},
    {"kind": "relation", "type": "authored", "source": "per_z", "target": "doc_r2"},
    {"kind": "relation", "type": "located_in", "source": "org_a", "target": "plc_seville"},
    {"kind": "relation", "type": "located_in", "source": "org_b", "target": "plc_lisbon"},
    {"kind": "relation", "type": "located_in", "source": "org_d", "target": "plc_lisbon"},
    _rel("org_a", "prj_p1", "coordinator"), _rel("org_b", "prj_p1"), _rel("org_c", "prj_p1"),
    _rel("org_c", "prj_p2", "coordinator"), _rel("org_d", "prj_p2"),
    _rel("org_a", "prj_p3"), _rel("org_b", "prj_p3", "coordinator"),
    _rel("org_d", "prj_p4", "coordinator", visibility="private", owner="lab"),
    _rel("org_e", "prj_p4", visibility="private", owner="lab"),
]
#: theme annotations (as the tags step would write them): SDG 11 on the calls, the news and P1
SDG11 = ["opp_c1", "opp_c2", "opp_c3", "doc_n1", "prj_p1"]


def annotate(hub: Hub, ids: list[str], label: str) -> None:
    from citybridge.store.enrichment import EnrichmentStore

    with hub.store.engine.begin() as conn:
        EnrichmentStore(hub.store).replace_annotations(conn, "tags", {
            i: [{"label": label, "target_id": None, "score": 1.0, "evidence": "[]"}] for i in ids})


def load_small(hub: Hub, tmp: Path) -> Hub:
    path = tmp / "small.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in SMALL) + "\n", encoding="utf-8")
    report = hub.import_files([path])
    assert report.rejected == 0, report.rejections[:3]
    annotate(hub, SDG11, "sdg:11.1")  # a target: rolls up to goal 11
    from citybridge.store.enrichment import EnrichmentStore

    with hub.store.engine.begin() as conn:  # the news is about Seville (as the places step would say)
        EnrichmentStore(hub.store).replace_annotations(conn, "places", {"doc_n1": [
            {"label": "place:plc_seville", "target_id": "plc_seville", "score": 1.0, "evidence": "[]"}]})
    return hub


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    h.init()
    yield load_small(h, tmp_path)
    h.close()


def sc5_subset(folder: Path, part: str = "SC5", years: tuple[int, int] = (2014, 2016)) -> Path:
    """The real CORDIS rows of one programme part and a few start years (a few hundred projects)."""
    parts_file = shared("cordis", "programme_parts.csv.gz")
    parts = {}
    with gzip.open(parts_file, "rt") as f:
        next(f)
        for line in f:
            rcn, p = line.rstrip("\n").split(",", 1)
            parts[rcn] = p
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(shared("cordis", "h2020.csv.gz"), "rt") as fin, \
            gzip.open(folder / "h2020.csv.gz", "wt") as fout:
        header = next(fin)
        year_col = header.split(",").index("start_year")
        fout.write(header)
        for line in fin:
            cols = line.split(",")
            if parts.get(cols[0]) == part and cols[year_col].isdigit() and \
                    years[0] <= int(cols[year_col]) <= years[1]:
                fout.write(line)
    with gzip.open(folder / "programme_parts.csv.gz", "wt") as f:
        f.write("rcn,programme_part\n" + "".join(f"{r},{p}\n" for r, p in parts.items() if p == part))
    return folder


@pytest.fixture(scope="module")
def cordis_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Path]]:
    tmp = tmp_path_factory.mktemp("cordis")
    folder = sc5_subset(tmp / "cordis")
    h = Hub(Settings(data_dir=tmp / "data", _env_file=None))
    h.init()
    report = Importer(h.store, resolver=ExactIdResolver()).run(H2020ParticipationSource(folder / "h2020.csv.gz"))
    assert report.rejected == 0
    yield h, folder
    h.close()
