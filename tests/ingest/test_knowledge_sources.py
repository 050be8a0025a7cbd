"""The knowledge-pack sources: EU calls, Climate-ADAPT funding programmes, Commission news, CORDIS exports with
names - on the real files in ../shared/data/knowledge and on small files written here with their messy parts."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date
from pathlib import Path

import pytest

from citybridge.errors import Invalid
from citybridge.ingest import ExactIdResolver, Importer, registry
from citybridge.ingest.climate_adapt import ClimateAdaptFundingSource, budget_bounds, countries_of
from citybridge.ingest.cordis import open_cordis
from citybridge.ingest.ec_news import EcNewsSource, parse_news
from citybridge.ingest.eu_calls import EuCallsSource, eligible_countries
from citybridge.ingest.jsonstream import iter_json_values
from citybridge.ingest.watch import open_source

from .conftest import DATA, need

KNOW = DATA / "knowledge"


def _run(store, source):
    return Importer(store, resolver=ExactIdResolver()).run(source)


def _call(topic: str, **kw) -> dict:
    base = {"topicId": topic, "title": "Urban heat resilience", "programme": "Horizon Europe",
            "callIdentifier": "HORIZON-MISS-2026", "deadline": "2026-10-08", "callStatus": "open",
            "budgetMin": 1000000, "budgetMax": 3000000, "expectedGrants": 2, "keywords": f"{topic}, Climate change",
            "portalUrl": f"https://example.org/{topic}",
            "description": "Expected Outcome:Cities cool down.Scope:Trees.",
            "topicConditions": '">General conditions1. Admissibility conditions: see annex.2. Eligible countries'
                               "described in Annex B.3. Other eligible conditionsAt least three cities must take part."}
    return {**base, **kw}


# ---------------------------------------------------------------------------------------------- EU calls
def test_concatenated_json_values_with_bom_and_a_truncated_tail():
    raw = "\ufeff".encode() + b'{"a": 1}{"a": 2}\n\n  [3] 4.5 {"b"'
    els = list(iter_json_values(io.BytesIO(raw), chunk=3))
    assert [e.value for e in els[:4]] == [{"a": 1}, {"a": 2}, [3], 4.5]
    assert els[4].index == 5 and "truncated JSON in value 5" in els[4].error
    assert [e.error for e in iter_json_values(io.BytesIO(b"  "))] == ["empty file: expected JSON values"]


def test_eu_calls_file_with_mojibake(store, tmp_path):
    mojibake = "The beneficiariesâ€™ costs and â€œcitiesâ€\x9d"
    objs = [_call("HORIZON-MISS-2026-04-CIT-01", description=f"Expected Outcome:{mojibake}.Scope:Trees."),
            _call("BAD ID WITH SPACES"), _call("LIFE-2026-X", deadline="next year"),
            _call("LIFE-2026-Y", title=""), _call("EuropeAid/1/DD/ACT/NG", programme="EU External Action",
                                                   deadline="", budgetMax=None, budgetMin=None, callStatus="closed")]
    path = tmp_path / "calls.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf" + "".join(json.dumps(o) for o in objs).encode("utf-8"))
    assert registry.best_for(str(path)) == "eu-calls" and isinstance(open_source(path), EuCallsSource)
    report = _run(store, EuCallsSource(path))
    assert report.created == 2 and report.rejected == 3
    fields = {r["where"].split(" ")[1]: r["field"] for r in report.rejections}
    assert fields == {"2": "topicId", "3": "deadline", "4": "title"}, report.rejections
    call = store.find_by_external("eu_topic", "HORIZON-MISS-2026-04-CIT-01")
    assert "beneficiaries’ costs and “cities”" in call.description and "â€" not in call.description
    assert call.description.startswith("Expected Outcome: ") and "\n\nScope: Trees." in call.description
    assert call.deadline == date(2026, 10, 8) and call.amount == 3_000_000 and call.currency == "EUR"
    assert call.attributes["status"] == "open" and call.attributes["text_repaired"] is True
    assert call.tags == ["Climate change"]  # the topic id repeated in the keywords is not a keyword
    assert "At least three cities" in call.eligibility and call.attributes["eligible_groups"] == ["EU"]
    aid = store.find_by_external("eu_topic", "EuropeAid/1/DD/ACT/NG")
    assert aid.deadline is None and aid.amount is None and aid.attributes["status"] == "closed"
    again = _run(store, EuCallsSource(path))  # re-runnable, idempotent
    assert again.unchanged == 2 and again.created == again.updated == 0


def test_eligibility_sections():
    para, groups = eligible_countries('">1. Admissibility: x.2. Eligible countries: EU Member States and '
                                      "associated countries.3. Other eligibility conditions: none. 4.5 kg")
    assert para.startswith("Eligible countries: EU Member States") and "Other eligibility conditions: none" in para
    assert groups == ["EU", "associated"]


def test_real_eu_calls_export(store, tmp_path):
    """The real export, cut to the 40 topics up to the Cities Mission's first one (all 629 take ~10 s)."""
    with gzip.open(need(KNOW / "eu-calls" / "calls.jsonl.gz"), "rb") as fh:
        values = [e.value for e in iter_json_values(fh)]
    assert len(values) == 629
    cut = next(i for i, v in enumerate(values) if v["topicId"] == "HORIZON-MISS-2026-04-CIT-01") + 1
    path = tmp_path / "calls.json"
    values = values[cut - 40:cut]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(v) for v in values).encode())
    report = _run(store, EuCallsSource(path))
    assert report.created == 40 and report.rejected == 0
    opps = store.list_records("opportunity", limit=1000)
    assert sum(1 for o in opps if o.attributes.get("text_repaired")) > 25
    assert not any("â€" in (o.description or "") + o.name for o in opps)
    cit = store.find_by_external("eu_topic", "HORIZON-MISS-2026-04-CIT-01")
    assert cit.deadline == date(2026, 10, 8) and "public transport" in cit.name


# ------------------------------------------------------------------------------------- Climate-ADAPT
SHEET = (",,,,,,,,\n"
         ",,,Who is eligible to receive funding?,,Which sectors can receive funding?,,"
         "What is the expected budget range of proposals?,,,\n"
         "Worksheet,Name of the funding programme,For which country is this funding opportunity offered?,"
         "Local authorities and administrative bodies,NGOs,Buildings,Water management, < 50.000 €,"
         "1M € - 10M €,How high is the funding rate?,Summarise the objective of the programme\n"
         'PT Fundo,Fundo Ambiental,Portugal,YES,NO,YES,NO,NO,YES,80%,"Adaptation of\nbuildings"\n'
         "EU X,Programme X,\"EU-27, Bosnia and Herzegovina, Atlantis\",NO,YES,NO,YES,YES,NO,0,0\n"
         "EU Y,,Spain,YES,YES,YES,YES,NO,NO,0,no name\n")


def test_climate_adapt_sheet_header_below_question_rows(store, tmp_path):
    path = tmp_path / "funding.csv"
    path.write_text(SHEET, encoding="utf-8")
    assert registry.best_for(str(path)) == "climate-adapt-funding"
    report = _run(store, ClimateAdaptFundingSource(path))
    assert report.created == 2 and report.rejected == 1
    rej = report.rejections[0]
    assert rej["field"] == "Name of the funding programme" and rej["where"].endswith(":7")
    pt = store.find_by_external("climate_adapt", "PT Fundo")
    assert pt.opp_type.value == "funding_programme" and pt.country == "PT"
    assert pt.description == "Adaptation of\nbuildings\n\nSectors: Buildings."
    assert pt.attributes["eligible_applicants"] == ["Local authorities and administrative bodies"]
    assert pt.attributes["funding_rate"] == "80%" and (pt.attributes["budget_min"], pt.amount) == (1e6, 1e7)
    x = store.find_by_external("climate_adapt", "EU X")
    assert len(x.attributes["countries"]) == 28 and "BA" in x.attributes["countries"]
    assert x.attributes["countries_unresolved"] == ["Atlantis"] and x.country is None
    assert "funding_rate" not in x.attributes  # "0" is an empty answer


def test_climate_adapt_not_a_funding_sheet(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(Invalid, match="no header row"):
        list(ClimateAdaptFundingSource(path).items())


def test_budget_and_countries_helpers():
    assert budget_bounds(["50.000 - 100.000 €", "> 10M €"]) == (50000.0, None)
    assert budget_bounds(["< 50.000 €"]) == (0.0, 50000.0)
    assert countries_of("Iceland and Norway, Czechia ")[0] == ["IS", "NO", "CZ"]


def test_real_climate_adapt_export(store):
    report = _run(store, ClimateAdaptFundingSource(need(KNOW / "eu-adaptation-funding" / "mission_funding.csv")))
    assert report.created == 191 and report.rejected == 0
    coh = store.find_by_external("climate_adapt", "EU Cohesion Fund")
    assert coh.name == "Cohesion Fund" and "PT" in coh.attributes["countries"]


# -------------------------------------------------------------------------------------------- news
NEWS = ("* 9 July 2025\n  * Directorate-General for Climate Action\n  * 2 min read\n\n\n"
        "# 5 things you should know about extreme weather \nHeatwaves hit [cities](https://example.org/c) hard.\n\n"
        "## Background\nMore text.\n")


def test_ec_news_folder(store, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "2025-07-09__extreme_weather.md").write_text(NEWS, encoding="utf-8")
    (folder / "broken.md").write_text("# no date\ntext\n", encoding="utf-8")
    assert registry.score("ec-news", str(folder / "2025-07-09__extreme_weather.md")) == 3.0
    report = _run(store, EcNewsSource(folder))
    assert report.created == 1 and report.rejected == 1 and "no date line" in report.rejections[0]["reason"]
    doc = store.find_by_external("ec_news", "2025-07-09__extreme_weather")
    assert doc.doc_type.value == "news" and doc.published == date(2025, 7, 9) and doc.year == 2025
    assert doc.name == "5 things you should know about extreme weather"
    assert doc.body.startswith("Heatwaves hit cities hard.") and doc.attributes["links"][0]["url"] == "https://example.org/c"
    assert doc.publisher == "European Commission, Directorate-General for Climate Action"
    with pytest.raises(ValueError, match="no title"):
        parse_news("* 9 July 2025\ntext")


def test_real_news_folder_is_recognised(store):
    folder = need(KNOW / "ec-news")
    assert isinstance(open_source(folder), EcNewsSource)
    report = _run(store, open_source(folder))
    assert report.created == 86 and report.rejected == 0


# ------------------------------------------------------------------------------ CORDIS exports + graph
def _graph(tmp_path: Path) -> Path:
    lines = ["rcn,role,pic,type,contribution,country,start_date,end_date,max_contribution,total_cost",
             "500,participant,11,HES,10,PT,2019-01-01,2021-12-31,90,100",
             "500,coordinator,12,REC,50,ES,2019-01-01,2021-12-31,90,100",
             "500,participant,13,PRC,30,PT,2019-01-01,2021-12-31,90,100",
             "500,participant,14,PUB,30,FR,2019-01-01,2021-12-31,90,100",
             "501,coordinator,11,HES,10,PT,2020-01-01,2022-12-31,90,100",
             "501,participant,15,HES,10,DE,2020-01-01,2022-12-31,90,100",
             "502,coordinator,16,PUB,10,DK,2020-01-01,2022-12-31,90,100"]
    path = tmp_path / "h2020.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


EXPORT = (",rcn,id,acronym,status,programme,topics,frameworkProgramme,title,startDate,endDate,objective,totalCost,"
          "ecMaxContribution,call,fundingScheme,coordinator,coordinatorCountry,participants,participantCountries\n"
          '0,500,800,COOL,SIGNED,H2020-EU.3.3.;H2020-EU.2.1.,LC-1,H2020,Cool cities,2019-01-01,2021-12-31,'
          'District heating for cool cities.,100,90,H2020-LC,IA,INSTITUTO ES,ES,"UNIV PORTO;EMPRESA PT;VILLE DE X",'
          "PT;FR\n"
          "1,501,801,HEAT,SIGNED,H2020-EU.3.3.,LC-2,H2020,Heat maps,2020-01-01,2022-12-31,Heat.,100,90,H2020-LC,RIA,"
          'UNIV PORTO,PT,"UNI BERLIN",DE\n')
SMALLER = ("id,acronym,title,objective,startDate,endDate,durationM,status,ecMaxContribution,totalCost\n"
           "800,COOL,Cool cities,District heating for cool cities (v2).,2019-01-01,2021-12-31,36.0,SIGNED,90,100\n"
           "900,NEW,Energy communities,Citizens own solar.,2020-01-01,2021-01-01,12.0,SIGNED,5,5\n")


def test_exports_join_the_graph_and_name_its_organisations(any_hub, tmp_path):
    hub = any_hub  # SQLite, and PostgreSQL when a server is configured
    graph = _graph(tmp_path)
    hub.cordis([graph])
    export, smaller = tmp_path / "projects.csv", tmp_path / "energy-communities.csv"
    export.write_text(EXPORT)
    smaller.write_text(SMALLER)
    assert open_cordis(export).__class__.__name__ == "CordisExportSource"
    assert registry.best_for(str(smaller)) == "cordis"
    r1, r2 = hub.cordis([export]), hub.cordis([smaller])
    assert (r1.updated, r1.created, r2.updated, r2.created) == (2, 0, 1, 1)
    cool = hub.store.find_by_external("cordis", "500")
    assert cool.name == "Cool cities" and cool.external_ids["eu_grant"] == "800"
    assert cool.description == "District heating for cool cities (v2)."
    assert cool.programme == "H2020-SC3" and cool.attributes["duration_months"] == 36
    assert cool.attributes["coordinator"] == {"name": "INSTITUTO ES", "country": "ES"}  # kept from the first file
    assert [p["code"] for p in cool.attributes["programme_parts"]] == ["SC3", "LEIT"]
    assert hub.store.find_by_external("eu_grant", "900").name == "Energy communities"
    report = hub.join_cordis()
    naming = report["naming"]
    assert naming["coordinators"] == 2 and naming["aligned_by_order"] == 2 and naming["organisations_named"] == 5
    names = {pic: hub.store.find_by_external("pic", pic).name for pic in ("11", "12", "13", "14", "15", "16")}
    assert names == {"11": "UNIV PORTO", "12": "INSTITUTO ES", "13": "EMPRESA PT", "14": "VILLE DE X",
                     "15": "UNI BERLIN", "16": "Organisation PIC 16"}  # 16 is listed by no export
    porto = hub.store.find_by_external("pic", "11")
    ev = porto.attributes["cordis_name"]
    assert ev["votes"] == 2 and {e["rule"] for e in ev["evidence"]} == {"order", "coordinator"}
    # the project known by number only now reads as its programme and partners
    lonely = hub.store.find_by_external("cordis", "502")
    assert not lonely.name.startswith("H2020 project") and "coordinated by" in lonely.name
    assert "a organisation" not in lonely.name and "DK" in lonely.name
    # re-importing the graph keeps names, titles and the attributes other sources added
    again = hub.cordis([graph])
    assert again.rejected == 0
    assert hub.store.find_by_external("pic", "11").name == "UNIV PORTO"
    cool = hub.store.find_by_external("cordis", "500")
    assert cool.name == "Cool cities" and cool.attributes["participants"][0] == "UNIV PORTO"
    assert hub.store.find_by_external("cordis", "502").name == lonely.name
    assert hub.join_cordis()["naming"]["organisations_updated"] == 0  # nothing new: nothing written


def test_naming_votes_and_gaps():
    from citybridge.ingest.cordis_names import ListedProject, Member, name_organisations

    def members(*rows):
        return [Member(org, role, country, i) for i, (org, role, country) in enumerate(rows, 1)]

    # A is named as coordinator of p1; in p2 the graph lists one participant more than the export names: the only
    # way to skip one that keeps the country sequence (PT, ES) and A's known name aligns B and leaves X out
    p1 = ListedProject("p1", "1", "ALPHA", "PT", [], [], members(("A", "coordinator", "PT")))
    p2 = ListedProject("p2", "2", "GAMMA", "FR", ["ALPHA", "BETA"], ["PT", "ES"],
                       members(("G", "coordinator", "FR"), ("A", "participant", "PT"), ("X", "participant", "DE"),
                               ("B", "participant", "ES")))
    # a contested organisation: two projects, two different names, no majority of 60%
    p3 = ListedProject("p3", "3", "ONE", None, [], [], members(("C", "coordinator", "IT")))
    p4 = ListedProject("p4", "4", "TWO", None, [], [], members(("C", "coordinator", "IT")))
    namings, stats = name_organisations([p1, p2, p3, p4])
    assert {k: v.name for k, v in namings.items()} == {"A": "ALPHA", "G": "GAMMA", "B": "BETA"}
    assert stats["aligned_with_gaps"] == 1 and stats["organisations_contested"] == 1
    assert namings["B"].evidence[0]["rule"] == "order_with_gaps" and namings["A"].total == 2


def test_cli_ingest_source_and_cordis_join(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from citybridge.cli.main import app

    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "item.md").write_text(NEWS, encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(folder), "--source", "ec-news", "--json"], catch_exceptions=False)
    assert res.exit_code == 0 and json.loads(res.stdout)["created"] == 1
    bad = runner.invoke(app, ["ingest", str(folder), "--source", "no-such-source"], catch_exceptions=False)
    assert bad.exit_code != 0 and "unknown source 'no-such-source'" in bad.stderr
    graph = _graph(tmp_path)
    (tmp_path / "projects.csv").write_text(EXPORT)
    assert runner.invoke(app, ["cordis", str(graph), str(tmp_path / "projects.csv")]).exit_code == 0
    dry = runner.invoke(app, ["cordis-join", "--dry-run", "--json"], catch_exceptions=False)
    report = json.loads(dry.stdout)
    assert report["naming"]["organisations_named"] == 5 and report["naming"]["organisations_updated"] == 5
    assert "projects list participant names" in dry.stderr
    done = runner.invoke(app, ["cordis-join"], catch_exceptions=False)
    assert done.exit_code == 0 and "organisations named 5" in done.stdout
    again = json.loads(runner.invoke(app, ["cordis-join", "--json"]).stdout)
    assert again["naming"]["organisations_updated"] == 0
