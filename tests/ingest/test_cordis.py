from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from citybridge.errors import Invalid
from citybridge.ingest import ExactIdResolver, Importer, registry
from citybridge.ingest.cordis import (
    CordisExportSource,
    H2020ParticipationSource,
    amount,
    country_code,
    open_cordis,
)
from citybridge.model.entities import OrganizationType

from .conftest import DATA, need

FIX = Path(__file__).parent / "fixtures" / "cordis"
H2020 = DATA / "cordis" / "h2020.csv.gz"
PARTS = DATA / "cordis" / "programme_parts.csv.gz"


def _head(src: Path, dst: Path, n: int) -> Path:
    with gzip.open(src, "rt") as fin, gzip.open(dst, "wt") as fout:
        for i, line in enumerate(fin):
            if i > n:
                break
            fout.write(line)
    return dst


def _run(store, source):
    return Importer(store, resolver=ExactIdResolver()).run(source)


def test_helpers():
    assert country_code("UK") == "GB" and country_code("EL") == "GR" and country_code("XYZ") is None
    assert amount("12768931,25") == 12768931.25 and amount("1 234,5") == 1234.5 and amount("NA") is None
    assert amount("1,234.5") == 1234.5 and amount("") is None and amount("abc") is None


def test_h2020_participation_graph(store, tmp_path):
    sample = _head(need(H2020), tmp_path / "h2020.csv.gz", 1000)
    report = _run(store, H2020ParticipationSource(sample, programme_parts=need(PARTS)))
    assert report.rejected == 0, report.rejections[:3]
    prj = store.find_by_external("cordis", "221856")
    assert prj.name == "H2020 project 221856"
    assert prj.programme == "H2020-SC4"
    assert prj.attributes["programme_description"] == "Smart, green and integrated transport"
    assert (str(prj.start_date), str(prj.end_date)) == ("2019-05-01", "2022-04-30")
    assert prj.total_cost == 2928125 and prj.funding == 2927875 and prj.currency == "EUR"
    coord = store.find_by_external("pic", "984516342")
    assert coord.org_type == OrganizationType.company and coord.country == "ES"
    rels = store.relations_of(prj.id, rel_type="partner_in")
    assert len(rels) == 12
    roles = {r.source: (r.role, r.attributes.get("contribution")) for r in rels}
    assert roles[coord.id] == ("coordinator", 376750.0)
    greek = store.find_by_external("pic", "998802502")
    assert greek.country == "GR" and greek.org_type == OrganizationType.research_institute
    stats = store.stats()
    assert stats["by_relation"]["partner_in"] == 1000


def test_public_bodies_are_tagged(store, tmp_path):
    lines = ["rcn,role,pic,type,contribution,country,start_date,end_date,max_contribution,total_cost",
             "1,coordinator,11,PUB,NA,UK,2020-01-01,2021-01-01,10,NA",
             "1,participant,12,OTH,5,ZZZ,2020-01-01,2021-01-01,10,NA",
             ",participant,13,HES,5,DE,2020-01-01,2021-01-01,10,NA"]
    path = tmp_path / "h2020-mini.csv"
    path.write_text("\n".join(lines) + "\n")
    report = _run(store, open_cordis(path))
    assert report.rejected == 1 and report.rejections[0]["field"] == "rcn"
    pub = store.find_by_external("pic", "11")
    assert pub.org_type == OrganizationType.other and pub.tags == ["public body"] and pub.country == "GB"
    assert store.find_by_external("pic", "12").country is None
    assert store.find_by_external("cordis", "1").programme == "H2020"


def test_project_export_layout(store):
    source = open_cordis(FIX / "project.csv")
    assert isinstance(source, CordisExportSource)
    report = _run(store, source)
    reasons = {r["reason"] for r in report.rejections}
    assert report.rejected == 3, report.rejections  # no title, end before start, no PIC
    assert any("end_date" in r for r in reasons)
    unalab = store.find_by_external("cordis", "211485")
    assert unalab.name == "Urban Nature Labs" and unalab.acronym == "UNaLab"
    assert unalab.funding == 12768931.25 and unalab.programme == "H2020-SC5"  # legal basis H2020-EU.3.5.2.
    assert unalab.attributes["grant_id"] == "776783" and "nature-based" in unalab.description
    eindhoven = store.find_by_external("pic", "999886054")
    assert eindhoven.name == "GEMEENTE EINDHOVEN" and eindhoven.tags == ["public body"]
    assert eindhoven.lat == pytest.approx(51.4371)
    projects = {r.target for r in store.relations_of(eindhoven.id, rel_type="partner_in")}
    assert len(projects) == 2
    vtt = store.find_by_external("pic", "999975623")
    (rel,) = store.relations_of(vtt.id)
    assert rel.role == "coordinator" and rel.attributes["contribution"] == 1541875
    assert store.find_by_external("pic", "999900127").country == "GR"


def test_layouts_merge_on_pic_and_rcn(store, tmp_path):
    lines = ["rcn,role,pic,type,contribution,country,start_date,end_date,max_contribution,total_cost",
             "211485,coordinator,999975623,REC,1541875,FI,2017-06-01,2022-11-30,12768931.25,14158460"]
    path = tmp_path / "h2020.csv"
    path.write_text("\n".join(lines) + "\n")
    _run(store, open_cordis(path))
    _run(store, open_cordis(FIX / "project.csv"))
    prj = store.find_by_external("cordis", "211485")
    assert prj.name == "Urban Nature Labs"
    assert {p.source for p in prj.provenance} == {"cordis:h2020", "cordis:project"}
    assert store.stats()["by_kind"]["organization"] == 3


def test_not_cordis(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(Invalid):
        open_cordis(path)
    with pytest.raises(Invalid, match="project.csv"):
        open_cordis(FIX / "organization.csv")


def test_registry_scores():
    assert registry.best_for("h2020.csv.gz") == "cordis"
    assert registry.best_for("project.csv") == "cordis"
