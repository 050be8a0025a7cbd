"""The command line, run in-process with typer's CliRunner against a temp data folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybridge.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_init_import_stats_list_show_export(env: Path) -> None:
    assert run("init").exit_code == 0
    (env / "orgs.csv").write_text("kind,name,country,ror\norganization,Universidade de Lisboa,PT,01c27hj86\n"
                                  "organization,Bad,Atlantis,\n", encoding="utf-8")
    res = run("import", "orgs.csv", "--report", "report.json")
    assert res.exit_code == 1  # some rows rejected
    assert "created 1" in res.stdout and "rejected 1" in res.stdout
    assert "orgs.csv:3: [country]" in res.stderr
    report = json.loads((env / "report.json").read_text())
    assert report["created"] == 1 and report["rejections"][0]["field"] == "country"
    rows = [json.loads(x) for x in (env / "report.rows.jsonl").read_text().splitlines()]
    assert {r["where"]: r["status"] for r in rows} == {"orgs.csv:2": "created", "orgs.csv:3": "rejected"}

    stats = json.loads(run("stats", "--json").stdout)
    assert stats["by_kind"] == {"organization": 1, "theme": 191}
    listing = json.loads(run("list", "--kind", "organization", "--json").stdout)
    assert [i["name"] for i in listing["items"]] == ["Universidade de Lisboa"]
    shown = run("show", "ror:01c27hj86")
    assert shown.exit_code == 0 and "Universidade de Lisboa" in shown.stdout
    shown_json = json.loads(run("show", listing["items"][0]["id"], "--json").stdout)
    assert shown_json["external_ids"] == {"ror": "01c27hj86"} and shown_json["version"] == 1

    res = run("export", "--format", "jsonl", "--kind", "organization", "-o", "out.jsonl")
    assert res.exit_code == 0 and "exported 1 items" in res.stderr
    assert json.loads((env / "out.jsonl").read_text())["name"] == "Universidade de Lisboa"
    assert run("export", "--format", "csv", "--kind", "organization").stdout.startswith("kind,")


def test_user_errors_are_one_line_with_exit_code_2(env: Path) -> None:
    for args, needle in [
        (("show", "org_doesnotexist"), "no record with id 'org_doesnotexist'"),
        (("import", "missing.csv"), "missing.csv: file not found"),
        (("list", "--kind", "spaceship"), "unknown kind 'spaceship'"),
        (("export", "--format", "xml"), "unknown format 'xml'"),
        (("import", "x.csv", "--mapping", "nomap.toml"), "mapping file not found"),
    ]:
        (env / "x.csv").write_text("name\nA\n")
        res = runner.invoke(app, list(args))
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.stderr
        assert "Traceback" not in res.output and len(res.stderr.strip().splitlines()) == 1


def test_demo_loads_a_pack(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = env / "pack"
    pack.mkdir()
    lines = [{"kind": "place", "name": "Recife", "country": "BR", "external_ids": {"simplemaps": "1076137337"}},
             {"kind": "organization", "name": "Prefeitura do Recife", "org_type": "local_government",
              "country": "BR"},
             {"kind": "relation", "type": "located_in", "source": "name:x", "target": "simplemaps:1076137337"}]
    with gzip.open(pack / "01-demo.jsonl.gz", "wt", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line) + "\n")
    monkeypatch.setenv("CITYBRIDGE_DEMO_DIR", str(pack))
    res = run("demo", "--json")
    assert res.exit_code == 0
    report = json.loads(res.stdout)
    assert report["created"] == 191 + 2 and report["rejected"] == 1
    assert "'name:x' not found" in report["rejections"][0]["reason"]
    monkeypatch.setenv("CITYBRIDGE_DEMO_DIR", str(env / "nothing-here"))
    res = runner.invoke(app, ["demo"])
    assert res.exit_code == 2 and "demo pack not found" in res.stderr
