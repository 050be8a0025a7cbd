"""Real files as users bring them (read from ../shared/data, skipped when absent) and generated variants:
each imports with the inferred mapping, no mapping file, and the expected counts, or says why not."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from citybridge.hub import Hub
from citybridge.ingest.preview import Choices
from conftest import shared

ENERGY = ("knowledge", "cordis-h2020-energy-communities", "projects.csv")
CLEANTECH = ("knowledge", "cordis-h2020-cleantech", "projects.csv")
ADAPTATION = ("knowledge", "eu-adaptation-funding", "mission_funding.csv")


def inferred(report: Any) -> dict[str, str]:
    return {c["column"]: c["target"] for c in report.inferred[0]["columns"]}


def check_projects(hub: Hub, n: int, no_end: int = 0) -> None:
    """``n`` projects, each with a name, a description and a start date; all but ``no_end`` with an end."""
    projects = list(hub.store.iter_records("project"))
    assert len(projects) == n
    assert all(p.name and p.description and p.start_date for p in projects)  # type: ignore[attr-defined]
    assert sum(1 for p in projects if p.end_date is None) == no_end  # type: ignore[attr-defined]


@pytest.mark.slow
def test_cordis_energy_communities_as_a_newcomer_would(hub: Hub) -> None:
    report = hub.import_files([shared(*ENERGY)], kind="project")
    assert (report.created, report.rejected) == (1229, 0), report.rejections[:3]
    assert {"title": "name", "objective": "description", "startDate": "start_date", "endDate": "end_date",
            "ecMaxContribution": "funding", "totalCost": "total_cost"}.items() <= inferred(report).items()
    check_projects(hub, 1229, no_end=1)  # grant 657925 has no end date in the file
    again = hub.import_files([shared(*ENERGY)], kind="project")
    assert (again.created, again.unchanged) == (0, 1229)


@pytest.mark.slow
def test_cordis_cleantech_with_its_pandas_index(hub: Hub) -> None:
    report = hub.import_files([shared(*CLEANTECH)])  # the kind comes from the file name
    assert (report.created, report.rejected) == (1732, 0), report.rejections[:3]
    assert any("column 1 has no name and is ignored" in n for n in report.inferred[0]["notes"])
    got = inferred(report)
    assert got["rcn"] == "external_ids.cordis" and got["projectUrl"] == "url" and got["coordinatorCountry"] == "country"
    check_projects(hub, 1732)
    naima = hub.get("cordis:225983")
    assert naima.acronym == "NAIMA" and naima.country == "FR" and naima.funding == 7999897.03  # type: ignore[attr-defined]
    assert "" not in naima.attributes and naima.attributes["fundingScheme"] == "RIA"


def test_adaptation_sheet_header_on_row_3_and_its_repeated_names(hub: Hub) -> None:
    path = shared(*ADAPTATION)
    preview = hub.preview_import(path, kind="opportunity")
    plan = preview.plan
    assert plan.source.layout().header_row == 3 and preview.rows == 191
    assert any("header found on row 3" in n for n in plan.notes)
    assert any("'Which sectors can receive funding?: Other'" in n for n in plan.notes)
    assert (preview.ok, preview.rejected) == (180, 11)  # programmes that share a name, and say so
    assert all("same name as" in p["reason"] for p in preview.problems)
    assert any("'Worksheet' has a different value on every row" in n for n in plan.notes)
    # the curator follows the hint: every programme is imported
    choices = Choices(columns={"Worksheet": "name", "Name of the funding programme": "attributes.programme"},
                      defaults={"opp_type": "funding_call"})
    report = hub.import_files([path], kind="opportunity", choices=choices)
    assert (report.created, report.rejected) == (191, 0)
    cohesion = next(o for o in hub.list("opportunity", limit=200) if o.name == "EU Cohesion Fund")
    assert cohesion.attributes["programme"] == "Cohesion Fund" and cohesion.opp_type.value == "funding_call"  # type: ignore[attr-defined]
    assert cohesion.url and cohesion.url.startswith("https://")  # type: ignore[attr-defined]
    assert cohesion.description and cohesion.funder  # type: ignore[attr-defined]


@pytest.mark.slow
def test_world_cities(hub: Hub) -> None:
    report = hub.import_files([shared("cities", "worldcities.csv")], kind="place")
    assert (report.created, report.rejected) == (44690, 1)
    assert "duplicate of worldcities.csv:7565" in report.rejections[0]["reason"]  # the file repeats an id
    tokyo = hub.get("1392685764")
    assert (tokyo.name, tokyo.country, tokyo.admin1, tokyo.lon) == ("Tokyo", "JP", "Tōkyō", 139.6922)  # type: ignore[attr-defined]
    assert tokyo.attributes["iso3"] == "JPN"


def ror_csv(path: Path, n: int) -> list[dict[str, Any]]:
    """A slice of the ROR registry written as ROR's CSV dump lays it out (v2 column names)."""
    with gzip.open(shared("ror", "ror-v2-records.json.gz"), "rt", encoding="utf-8") as fh:
        records = json.load(fh)[:n]

    def names(r: dict[str, Any], t: str) -> str:
        return "; ".join(x["value"] for x in r["names"] if t in x["types"])

    def ext(r: dict[str, Any], t: str, key: str) -> str:
        found = [x[key] for x in r["external_ids"] if x["type"] == t]
        return "; ".join(found[0]) if found and isinstance(found[0], list) else (found[0] or "" if found else "")

    rows = []
    for r in records:
        loc = (r["locations"] or [{}])[0]
        geo = loc.get("geonames_details", {})
        rows.append({
            "id": r["id"], "admin.created.date": r["admin"]["created"]["date"], "domains": "; ".join(r["domains"]),
            "established": r.get("established") or "", "external_ids.type.grid.preferred": ext(r, "grid", "preferred"),
            "external_ids.type.isni.all": ext(r, "isni", "all"),
            "external_ids.type.wikidata.preferred": ext(r, "wikidata", "preferred"),
            "links.type.website": "; ".join(x["value"] for x in r["links"] if x["type"] == "website"),
            "locations.geonames_details.country_code": geo.get("country_code", ""),
            "locations.geonames_details.country_name": geo.get("country_name", ""),
            "locations.geonames_details.lat": geo.get("lat", ""), "locations.geonames_details.lng": geo.get("lng", ""),
            "locations.geonames_details.name": geo.get("name", ""), "locations.geonames_id": loc.get("geonames_id", ""),
            "names.types.acronym": names(r, "acronym"), "names.types.alias": names(r, "alias"),
            "names.types.ror_display": names(r, "ror_display"), "status": r["status"], "types": "; ".join(r["types"]),
        })
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return records


def test_a_ror_slice_in_rors_csv_layout(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "ror-slice.csv"
    records = ror_csv(path, 300)
    report = hub.import_files([path], kind="organization")
    assert (report.created, report.rejected) == (300, 0), report.rejections[:3]
    got = inferred(report)
    assert got["id"] == "external_ids.ror" and got["names.types.ror_display"] == "name"
    assert got["types"] == "org_type" and got["links.type.website"] == "website"
    first = records[0]
    org = hub.get(first["id"].replace("https://ror.org/", "ror:"))
    assert org.name == next(x["value"] for x in first["names"] if "ror_display" in x["types"])
    assert org.country == first["locations"][0]["geonames_details"]["country_code"]  # type: ignore[attr-defined]
    assert org.attributes["locations.geonames_id"] == str(first["locations"][0]["geonames_id"])  # the city's
    assert org.website  # type: ignore[attr-defined]
    from citybridge.ingest.ror import org_type_of

    single = {r["id"].rsplit("/", 1)[1]: r["types"] for r in records if len(r["types"]) == 1
              and r["types"] != ["government"]}  # the ROR importer reads a city's name for government
    for o in hub.store.iter_records("organization"):
        types = single.get(o.external_ids["ror"])
        if types:
            assert o.org_type == org_type_of(types, o.name), (o.name, types)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ generated variants
def energy_rows(n: int) -> tuple[list[str], list[list[str]]]:
    with shared(*ENERGY).open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [row for _, row in zip(range(n), reader, strict=False)]


@pytest.mark.parametrize(("delimiter", "encoding"), [(";", "cp1252"), ("\t", "utf-8-sig"), ("|", "latin-1")])
def test_delimiters_and_encodings(hub: Hub, tmp_path: Path, delimiter: str, encoding: str) -> None:
    header, rows = energy_rows(150)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([header, *rows])
    path = tmp_path / "export.csv"
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    report = hub.import_files([path], kind="project")
    assert (report.created, report.rejected) == (150, 0), report.rejections[:3]
    check_projects(hub, 150)
    names = {p.name for p in hub.store.iter_records("project")}
    expected = {r[2].encode(encoding, errors="replace").decode(encoding) for r in rows}
    assert names == expected


def test_excel_with_a_title_and_merged_group_cells(hub: Hub, tmp_path: Path) -> None:
    from openpyxl import Workbook

    header, rows = energy_rows(120)
    wb = Workbook()
    ws = wb.active
    ws.title = "Export"
    ws["A1"] = "CORDIS H2020 energy communities: exported 2024-05-01"
    groups = {"Project": ("id", "objective"), "Dates": ("startDate", "status"), "Money": ("ecMaxContribution",
                                                                                         "totalCost")}
    for label, (first, last) in groups.items():
        a, b = header.index(first) + 1, header.index(last) + 1
        ws.cell(row=3, column=a, value=label)
        ws.merge_cells(start_row=3, start_column=a, end_row=3, end_column=b)
    ws.append([])
    for c, name in enumerate(header, start=1):
        ws.cell(row=4, column=c, value=name)
    for r, row in enumerate(rows, start=5):
        for c, value in enumerate(row, start=1):
            name = header[c - 1]
            if name in ("startDate", "endDate"):
                value = dt.datetime.fromisoformat(value)  # type: ignore[assignment]
            elif name in ("ecMaxContribution", "totalCost", "durationM") and value:
                value = float(value)  # type: ignore[assignment]
            ws.cell(row=r, column=c, value=value)
    path = tmp_path / "energy.xlsx"
    wb.save(path)
    preview = hub.preview_import(path, kind="project")
    assert preview.plan.source.layout().header_row == 4 and (preview.ok, preview.rejected) == (120, 0)
    report = hub.import_files([path], kind="project")
    assert (report.created, report.rejected) == (120, 0), report.rejections[:3]
    assert report.rejections == [] and hub.list("project", limit=1)[0].start_date is not None  # type: ignore[attr-defined]
    check_projects(hub, 120)
    assert hub.import_files([path], kind="project", header_row=3).created == 0  # the group row as header: no name


def test_a_spreadsheet_of_people_in_portuguese(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "equipe.csv"
    path.write_text(
        "Lista da equipe (atualizada em março)\n\n"
        "Nome;Sobrenome;E-mail;Cidade;País;ORCID;Início\n"
        "Ana;Silva;ana@ufpe.br;Recife;Brasil;0000-0002-1825-0097;01/03/2019\n"
        "João;Souza;joao@usp.br;São Paulo;Brasil;;15/08/2021\n", encoding="cp1252")
    report = hub.import_files([path])
    assert report.inferred[0]["kind"] == "person" and (report.created, report.rejected) == (2, 0)
    ana = hub.get("orcid:0000-0002-1825-0097")
    assert (ana.name, ana.email, ana.country) == ("Ana Silva", "ana@ufpe.br", "BR")  # type: ignore[attr-defined]
    assert ana.attributes["Cidade"] == "Recife" and ana.attributes["Início"] == "01/03/2019"
