"""``citybridge import``: inferred mappings said aloud, --dry-run, --save-mapping, --header-row, --strict and
the documented exit codes (0 all imported, 1 some rows rejected, 2 the command failed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybridge.cli.main import app
from citybridge.ingest.mapping import Mapping

runner = CliRunner()
MESSY = ("Projects of the network (export 2024)\n"
         ";Projeto;;\n"
         ";título;resumen;fecha_inicio;País\n"
         "0;Telhados verdes;Cubrir los tejados de Lisboa con plantas nativas;01/02/2020;Portugal\n"
         "1;Escolas frescas;Árboles y sombra para los patios escolares de Sevilla;15/09/2021;España\n"
         "2;Sem data;Un proyecto sin fecha de inicio conocida;pronto;España\n")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "messy.csv").write_bytes(MESSY.encode("cp1252"))
    return tmp_path


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_dry_run_shows_what_was_inferred_and_writes_nothing(env: Path) -> None:
    res = run("import", "messy.csv", "--kind", "project", "--dry-run")
    assert res.exit_code == 1, res.output  # one row would be rejected
    out = res.stdout
    assert "header on row 3" in out and "delimiter ';'" in out and "encoding cp1252" in out
    for column, field in (("título", "name"), ("resumen", "description"), ("fecha_inicio", "start_date"),
                          ("País", "country")):
        assert any(column in line and field in line for line in out.splitlines()), (column, field, out)
    assert "column 1 has no name and is ignored" in out
    assert '"name": "Telhados verdes"' in out and '"start_date": "2020-02-01"' in out and '"country": "PT"' in out
    assert "would import 2 of 3 rows; 1 rejected. Nothing was written." in out
    assert "messy.csv:6: [start_date]" in res.stderr and "pronto" in res.stderr
    assert not (env / "data").exists()  # not even an empty database
    as_json = json.loads(run("import", "messy.csv", "--kind", "project", "--dry-run", "--json").stdout)
    preview = as_json["files"][0]
    assert as_json["written"] is False and (preview["ok"], preview["rejected"]) == (2, 1)
    assert preview["mapping"]["parse"] == {"start_date": "date:%d/%m/%Y", "country": "country"}


def test_saved_mapping_round_trips_and_imports_the_same(env: Path) -> None:
    res = run("import", "messy.csv", "--kind", "project", "--dry-run", "--save-mapping", "m.toml")
    assert "mapping written to m.toml" in res.stderr
    text = (env / "m.toml").read_text(encoding="utf-8")
    assert 'kind = "project"' in text and "header_row = 3" in text and 'encoding = "cp1252"' in text
    assert '"título" = "name"  # usual name' in text
    m = Mapping.load(env / "m.toml")
    assert m.columns["resumen"] == "description" and m.parse["start_date"] == "date:%d/%m/%Y"
    inferred = run("import", "messy.csv", "--kind", "project", "--json")
    assert inferred.exit_code == 1
    first = json.loads(inferred.stdout)
    assert first["created"] == 2 and first["inferred"][0]["kind"] == "project"
    again = run("import", "messy.csv", "--mapping", "m.toml", "--json")
    assert json.loads(again.stdout)["unchanged"] == 2  # same records: the mapping file says what was inferred
    assert "inferred" not in json.loads(again.stdout)


def test_exit_codes_and_where_each_output_goes(env: Path) -> None:
    (env / "good.csv").write_text("name,country\nLisbon Council,PT\n", encoding="utf-8")
    res = run("import", "good.csv", "--kind", "organization")
    assert res.exit_code == 0 and "created 1" in res.stdout and res.stderr == ""
    res = run("import", "messy.csv", "--kind", "project", "--report", "r.json")
    assert res.exit_code == 1
    assert "created 2" in res.stdout and "rejected" not in res.stdout.replace("rejected 1", "")
    assert "rejected messy.csv:6: [start_date]" in res.stderr
    assert "inferred kind project; título → name" in res.stderr
    report = json.loads((env / "r.json").read_text())
    assert report["rejections"][0]["where"] == "messy.csv:6" and report["inferred"][0]["source"] == "messy.csv"
    for args in (("import", "missing.csv"), ("import", "good.csv", "--kind", "spaceship"),
                 ("import", "good.csv", "messy.csv", "--save-mapping", "x.toml"),
                 ("import", "good.csv", "--mapping", "nope.toml"), ("import", "good.csv", "--header-row", "0"),
                 ("import", "good.csv", "--dry-run", "--save-mapping", "/nonexistent-dir/m.toml")):
        res = run(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output


def test_strict_writes_nothing_and_says_where_it_stopped(env: Path) -> None:
    (env / "broken.csv").write_text('name,country\nA,PT\n"Unclosed quote,DE\nB,FR\n', encoding="utf-8")
    res = run("import", "broken.csv", "--kind", "organization", "--strict")
    assert res.exit_code == 1
    assert "created 0" in res.stdout
    assert "broken.csv:3: unterminated quote" in res.stderr and "stopped at broken.csv:3 (--strict)" in res.stderr
    listed = json.loads(run("list", "--kind", "organization", "--json").stdout)
    assert listed["items"] == []
    res = run("import", "broken.csv", "--kind", "organization")  # without --strict the good rows go in
    assert res.exit_code == 1 and "created 2" in res.stdout


def test_header_row_option(env: Path) -> None:
    res = run("import", "messy.csv", "--kind", "project", "--header-row", "2", "--dry-run", "--json")
    preview = json.loads(res.stdout)["files"][0]
    assert preview["header_row"] == 2 and preview["ok"] == 0  # 'Projeto' is no name column
