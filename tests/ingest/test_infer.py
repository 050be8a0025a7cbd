"""Inferred mappings: header synonyms across languages and portals, values (dates, numbers, countries,
URLs, identifiers), header rows below titles and question groups, and mapping files that round-trip."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybridge.errors import Invalid
from citybridge.ingest.infer import (
    choose,
    find_header_row,
    infer_mapping,
    is_unnamed,
    name_columns,
    table_layout,
)
from citybridge.ingest.mapping import Mapping, build_record
from citybridge.ingest.values import country_code, date_format, number_format, parse_value


def targets(columns: list[str], rows: list[dict[str, Any]], kind: str | None = None) -> dict[str, str | None]:
    return {g.column: g.target for g in infer_mapping(columns, rows, kind=kind).columns}


def rows_of(columns: list[str], *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(zip(columns, v, strict=True)) for v in values]


@pytest.mark.parametrize(("header", "field"), [
    ("title", "name"), ("Titre", "name"), ("título", "name"), ("Nome", "name"), ("Project name", "name"),
    ("objective", "description"), ("Abstract", "description"), ("Resumen", "description"),
    ("Résumé", "description"), ("summary", "description"),
    ("startDate", "start_date"), ("Start date", "start_date"), ("fecha_inicio", "start_date"),
    ("Date de début", "start_date"), ("endDate", "end_date"), ("Data de término", "end_date"),
    ("totalCost", "total_cost"), ("ecMaxContribution", "funding"), ("Presupuesto", "total_cost"),
])
def test_project_headers_in_several_languages(header: str, field: str) -> None:
    sample = {"name": "Cool Cities", "description": "Shade for the school streets of Lisbon and Porto, with trees",
              "start_date": "2020-01-01", "end_date": "2023-12-31", "total_cost": "1200000.5", "funding": "1000000"}
    rows = [{header: sample[field]}, {header: sample[field]}]
    assert targets([header], rows, "project") == {header: field}


@pytest.mark.parametrize(("header", "value", "field", "parsed"), [
    ("country", "PT", "country", "PT"), ("País", "Portugal", "country", "PT"), ("pays", "Allemagne", "country", "DE"),
    ("country_code", "EL", "country", "GR"), ("Ciudad", "Sevilla", "city", "Sevilla"),
    ("ville", "Lyon", "city", "Lyon"), ("cidade", "Recife", "city", "Recife"),
    ("website", "https://www.lisboa.pt", "website", "https://www.lisboa.pt"),
    ("URL", "http://x.org", "website", None), ("Sitio web", "www.sevilla.org", "website", None),
    ("ROR ID", "https://ror.org/01c27hj86", "external_ids.ror", None),
    ("Type", "City council", "org_type", "local_government"), ("Tipo", "Universidad", "org_type", "university"),
])
def test_organisation_headers_and_value_parsers(header: str, value: str, field: str, parsed: str | None) -> None:
    inf = infer_mapping([header, "name"], [{header: value, "name": "A"}, {header: value, "name": "B"}],
                        kind="organization")
    assert inf.columns[0].target == field
    if parsed is not None:
        row = (inf.mapping() or Mapping()).apply({header: value, "name": "A"})
        assert row[field] == parsed


def test_person_names_e_mail_and_orcid_by_value() -> None:
    cols = ["Nombre", "Apellidos", "Correo electrónico", "id_investigador"]
    rows = rows_of(cols, ("Ana", "Silva", "ana@uni.pt", "0000-0002-1825-0097"),
                   ("Rui", "Costa", "rui@uni.pt", "https://orcid.org/0000-0001-5109-3700"))
    inf = infer_mapping(cols, rows, kind="person")
    assert [g.target for g in inf.columns] == ["given_name", "family_name", "email", "external_ids.orcid"]
    assert inf.columns[3].how == "values"
    person = build_record(inf.mapping().apply(rows[1]), "person")
    assert person.name == "Rui Costa"  # composed from the given and family names
    assert person.external_ids == {"orcid": "0000-0001-5109-3700"}


@pytest.mark.parametrize(("values", "scheme", "kind"), [
    (["https://ror.org/01c27hj86", "05abcde12"], "ror", "organization"),
    (["10.1038/nphys1170", "https://doi.org/10.1000/xyz"], "doi", "document"),
    (["Q90", "https://www.wikidata.org/wiki/Q64"], "wikidata", "place"),
    (["https://www.geonames.org/2267057", "http://sws.geonames.org/2988507/"], "geonames", "place"),
    (["999993856", "999984059"], "pic", "organization"), (["grid.10772.33", "grid.5808.5"], "grid", "organization"),
    (["0000-0002-1825-0097", "0000-0001-5109-3700"], "orcid", "person"),
])
def test_identifiers_are_recognised_by_their_values_in_any_column(values: list[str], scheme: str, kind: str) -> None:
    rows = [{"name": f"Record {i}", "code": v} for i, v in enumerate(values)]
    inf = infer_mapping(["name", "code"], rows, kind=kind)
    assert inf.columns[1].target == f"external_ids.{scheme}" and inf.columns[1].how == "values"
    record = build_record(inf.mapping().apply(rows[0]), kind)
    assert scheme in record.external_ids


def test_identifiers_of_other_records_stay_attributes() -> None:
    rows = [{"name": "Ana Silva", "affiliation": "https://ror.org/01c27hj86"},
            {"name": "Rui Costa", "affiliation": "https://ror.org/043pwc612"}]
    inf = infer_mapping(["name", "affiliation"], rows, kind="person")
    assert inf.columns[1].target == "attributes.affiliation"
    assert "ROR ids of other records (they do not identify a person)" in inf.columns[1].reason


def test_unknown_header_with_urls_dates_and_iso_codes() -> None:
    cols = ["Nom du projet", "Lien", "Début", "Fin", "Land2"]
    rows = rows_of(cols, ("Ville verte", "https://a.eu", "01/02/2020", "31/12/2022", "FR"),
                   ("Toits frais", "https://b.eu", "15/03/2021", "30/06/2024", "BE"))
    inf = infer_mapping(cols, rows, kind="project")
    got = {g.column: (g.target, g.parse) for g in inf.columns}
    assert got["Nom du projet"] == ("name", None)
    assert got["Lien"][0] == "url"
    assert got["Début"] == ("start_date", "date:%d/%m/%Y") and got["Fin"] == ("end_date", "date:%d/%m/%Y")
    assert got["Land2"][0] == "country"
    project = build_record(inf.mapping().apply(rows[1]), "project")
    assert str(project.start_date) == "2021-03-15" and str(project.end_date) == "2024-06-30"


def test_two_unnamed_date_columns_become_start_and_end_when_ordered() -> None:
    cols = ["name", "a", "b"]
    rows = rows_of(cols, ("P1", "2020-01-01", "2021-01-01"), ("P2", "2019-05-01", "2019-06-01"))
    assert targets(cols, rows, "project") == {"name": "name", "a": "start_date", "b": "end_date"}
    swapped = rows_of(cols, ("P1", "2021-01-01", "2020-01-01"), ("P2", "2019-05-01", "2019-06-01"))
    assert targets(cols, swapped, "project")["a"] == "attributes.a"


def test_values_decide_between_candidates_and_decline_what_does_not_fit() -> None:
    cols = ["country", "iso2", "Link", "Provide a link to the programme page", "budget"]
    rows = rows_of(cols, ("Japan", "JP", "Go to the page", "https://a.jp", "n/a"),
                   ("Portugal", "PT", "Go to the page", "https://b.pt", "tbd"))
    inf = infer_mapping(cols, rows, kind="project")
    got = {g.column: g for g in inf.columns}
    assert got["country"].target == "country" and got["country"].parse == "country"  # the column named so wins
    assert got["iso2"].target == "attributes.iso2"
    assert got["Link"].target == "attributes.Link" and "web address" in got["Link"].reason
    assert got["Provide a link to the programme page"].target == "url"
    assert got["budget"].target == "attributes.budget" and "not numbers" in got["budget"].reason


def test_kind_is_guessed_from_columns_and_said() -> None:
    cols = ["title", "startDate", "endDate", "totalCost"]
    rows = rows_of(cols, ("P", "2020-01-01", "2021-01-01", "10"), ("Q", "2020-02-01", "2021-02-01", "20"))
    inf = infer_mapping(cols, rows)
    assert inf.kind == "project" and inf.kind_source == "columns" and "start_date" in (inf.kind_reason or "")
    assert infer_mapping(["title", "notes"], [{"title": "x", "notes": "y"}]).kind is None
    # a kind column with one kind sets it; with several, the columns keep their names
    mixed = infer_mapping(["kind", "title"], [{"kind": "organization", "title": "A"}, {"kind": "place", "title": "B"}])
    assert mixed.mapping() is None
    single = infer_mapping(["kind", "title"], [{"kind": "organisation", "title": "A"}])
    assert single.kind == "organization" and single.columns[1].target == "name"


def test_citybridge_files_keep_their_meaning() -> None:
    cols = ["kind", "name", "org_type", "country", "ror", "external_ids.pic", "attributes.note"]
    rows = rows_of(cols, ("organization", "A", "university", "PT", "01c27hj86", "999993856", "x"),
                   ("place", "Lisbon", "", "PT", "", "", ""))
    assert infer_mapping(cols, rows).mapping() is None
    native = ["name", "start_date", "funding"]
    assert infer_mapping(native, rows_of(native, ("P", "2020-01-01", "5")), kind="project").mapping() is None


def test_repeated_names_without_an_id_are_explained_with_a_better_column() -> None:
    cols = ["Worksheet", "Programme name"]
    rows = rows_of(cols, ("HR - ERDF 2.1", "ERDF"), ("HR - ERDF 2.3", "ERDF"), ("BG RRF", "RRF"))
    inf = infer_mapping(cols, rows, kind="opportunity")
    assert inf.columns[1].target == "name"
    assert any("1 rows repeat a name" in n and "'Worksheet'" in n for n in inf.notes)


def test_choose_refits_a_column_and_rejects_unknown_fields() -> None:
    cols = ["Label", "When"]
    rows = rows_of(cols, ("A", "31.12.2020"), ("B", "01.01.2021"))
    inf = infer_mapping(cols, rows, kind="opportunity")
    chosen = choose(inf, rows, {"Label": "name", "When": "deadline"})
    got = {g.column: (g.target, g.parse, g.how) for g in chosen.columns}
    assert got["When"] == ("deadline", "date:%d.%m.%Y", "chosen")
    assert chosen.mapping().apply(rows[0])["deadline"] == "2020-12-31"
    assert [g.target for g in choose(inf, rows, {"When": "-"}).columns][1] is None
    with pytest.raises(Invalid, match="not a field"):
        choose(inf, rows, {"When": "start_date"})  # opportunities have no start date


# ------------------------------------------------------------------------------------------ header rows
def test_header_below_title_rows_and_question_groups() -> None:
    rows = [["Funding programmes 2024", "", "", ""], ["", "", "", ""],
            ["", "", "Who is eligible?", ""],
            ["Worksheet", "Name", "Cities", "Other"],
            ["A", "Fund A", "YES", "NO"], ["B", "Fund B", "NO", "NO"]]
    assert find_header_row(rows) == 3
    layout = table_layout(rows)
    assert layout.header_row == 4 and layout.columns.kept == ["Worksheet", "Name", "Cities", "Other"]
    assert "header found on row 4" in layout.notes[0]
    assert table_layout(rows, header_row=1).columns.kept == ["Funding programmes 2024"]
    assert "past the end" in (table_layout(rows, header_row=9).problem or "")


def test_plain_tables_keep_their_first_row() -> None:
    assert find_header_row([["name", "country"], ["Lisbon", "PT"], ["Porto", "PT"]]) == 0
    assert find_header_row([["name"], ["Lisbon"]]) == 0
    assert find_header_row([["id", "city", "lat", "lng"], ["1", "Tokyo", "35.6", "139.6"]]) == 0


def test_unnamed_and_repeated_columns() -> None:
    cols = name_columns(["", "Unnamed: 0", "rcn", "Other", "Other", "Note", "Note"],
                        ["", "", "", "Sectors", "Funding", "", ""])
    assert cols.names == [None, None, "rcn", "Sectors: Other", "Funding: Other", "Note", "Note (2)"]
    assert cols.unnamed == [0, 1]
    assert is_unnamed("  ") and is_unnamed("Column3") and not is_unnamed("Column of cities")
    layout = table_layout([["", "name"], ["6", "A"], ["32", "B"]])
    assert "column 1 has no name and is ignored (values such as '6', '32'" in layout.notes[0]


# ------------------------------------------------------------------------------------------ values
def test_date_and_number_formats() -> None:
    assert date_format(["31/12/2020", "01/02/2021"])[:2] == ("%d/%m/%Y", 1.0)
    assert date_format(["12/31/2020", "01/02/2021"])[:2] == ("%m/%d/%Y", 1.0)
    fmt, _, ambiguous = date_format(["01/02/2021", "03/04/2021"])
    assert fmt == "%d/%m/%Y" and ambiguous
    assert date_format(["2019-12-01 00:00:00"])[0] == "%Y-%m-%d %H:%M:%S"
    assert date_format(["soon", "later"])[0] is None
    assert number_format(["1.234,5", "7,25"])[0] == "comma" and number_format(["1,234,567.5"])[0] == "dot"
    assert number_format(["12", "3.5"]) == (None, 1.0)
    assert parse_value("number:comma", "€ 1.234,50") == "1234.50"
    assert parse_value("date:%d/%m/%Y", "31/31/2020") == "31/31/2020"  # left for validation to name
    assert country_code("Vereinigtes Königreich") == "GB" and country_code("USA") == "US"


# ------------------------------------------------------------------------------------------ mapping files
def test_inferred_mapping_saves_and_loads(tmp_path: Path) -> None:
    cols = ["titre", "pays", "Type", "Début"]
    rows = rows_of(cols, ("Ville de Lyon", "France", "Mairie", "01/01/2001"), ("Uni X", "Suisse", "Université", ""))
    inf = infer_mapping(cols, rows, kind="organization")
    m = inf.mapping(complete=True)
    assert m is not None
    for suffix in (".toml", ".json", ".yaml"):
        path = m.save(tmp_path / f"m{suffix}", comments={g.column: g.reason for g in inf.columns},
                      header="made by a test\nsecond line")
        back = Mapping.load(path)
        assert back.to_dict() == m.to_dict()
        assert [back.apply(r) for r in rows] == [m.apply(r) for r in rows]
    assert m.values["org_type"] == {"Mairie": "local_government", "Université": "university"}


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                max_size=30)


@settings(max_examples=60, deadline=None)
@given(columns=st.dictionaries(_TEXT, st.sampled_from(["name", "-", "attributes.x y", "external_ids.ror"]),
                               max_size=5),
       values=st.dictionaries(_TEXT, _TEXT, max_size=3), header_row=st.none() | st.integers(1, 50),
       delimiter=st.sampled_from([None, ";", "\t", "|"]),
       default=st.text(alphabet=string.printable, max_size=20))
def test_any_mapping_round_trips_through_toml(tmp_path_factory: pytest.TempPathFactory, columns: dict[str, str],
                                              values: dict[str, str], header_row: int | None, delimiter: str | None,
                                              default: str) -> None:
    m = Mapping(kind="organization", columns=columns, values={"org_type": values} if values else {},
                parse={"country": "country"}, defaults={"country": default} if default else {},
                header_row=header_row, delimiter=delimiter)
    path = m.save(tmp_path_factory.mktemp("m") / "m.toml", comments={c: "why\nnot" for c in columns})
    assert Mapping.load(path).to_dict() == m.to_dict()


def test_mapping_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[parse]\nstart_date = "date"\n', encoding="utf-8")
    with pytest.raises(Invalid, match="unknown parser 'date'") as exc:
        Mapping.load(bad)
    assert exc.value.field == "parse.start_date" and exc.value.where == str(bad)
    bad.write_text("header_row = 0\n", encoding="utf-8")
    with pytest.raises(Invalid, match="header_row"):
        Mapping.load(bad)
    bad.write_text('columns = "title"\n', encoding="utf-8")
    with pytest.raises(Invalid, match="'columns' must be a table"):
        Mapping.load(bad)


def test_doctests_of_the_inference_modules() -> None:
    import doctest

    from citybridge.ingest import infer, values
    from citybridge.ingest.infer import guess, header, synonyms

    for module in (infer, guess, header, synonyms, values):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
