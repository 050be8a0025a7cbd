"""The CLI and the API give the same analytics figures as the Hub, in JSON and CSV; visibility holds on the API."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from analyze.conftest import load_small
from citybridge.api import create_app
from citybridge.cli.main import app
from citybridge.hub import Hub
from citybridge.settings import Settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    hub = Hub(Settings(data_dir=folder, _env_file=None))
    hub.init()
    load_small(hub, tmp_path)
    hub.close()
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(folder))
    return folder


def cli(*args: str) -> str:
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res.stdout


def test_api_filters_what_the_cli_operator_sees(data_dir: Path) -> None:
    """The local CLI sees everything; the anonymous API caller not the private project and its partner."""
    hub = Hub(Settings(data_dir=data_dir, _env_file=None))
    try:
        with TestClient(create_app(hub, web=False)) as client:
            api = client.get("/api/v1/analytics/network?theme=programme:SC5&top=5")
            assert api.status_code == 200, api.text
            shown = json.loads(cli("network", "--theme", "programme:SC5", "--top", "5", "--json"))
            assert (shown["nodes"], api.json()["nodes"]) == (5, 4)
            assert "org_e" in json.dumps(shown) and "org_e" not in api.text and "prj_p4" not in api.text
            for route in ("trends", "gaps"):
                api_csv = client.get(f"/api/v1/analytics/{route}?format=csv")
                assert api_csv.headers["content-type"].startswith("text/csv")
                rows = list(csv.reader(io.StringIO(api_csv.text)))
                assert rows[0][0] == "theme" and len(rows) > 1 and "prj_p4" not in api_csv.text
    finally:
        hub.close()


def test_same_caller_same_figures(data_dir: Path) -> None:
    """With the private records made public, the CLI (all) and the anonymous API see the same store: the
    JSON and the CSV agree to the last figure."""
    hub = Hub(Settings(data_dir=data_dir, _env_file=None))
    try:
        for rid in ("org_e", "prj_p4"):
            rec = hub.get(rid)
            hub.store.upsert_records([rec.model_copy(update={"visibility": "public", "owner": None})])
        for rel in hub.store.relations_of("prj_p4"):
            hub.store.upsert_relations([rel.model_copy(update={"visibility": "public", "owner": None})])
        with TestClient(create_app(hub, web=False)) as client:
            for command, args, query in (
                ("network", ["--theme", "programme:SC5", "--top", "5"], "theme=programme:SC5&top=5"),
                ("network", ["--level", "organization"], ""),
                ("trends", ["--scheme", "sdg"], "scheme=sdg"),
                ("gaps", [], ""),
            ):
                api = client.get(f"/api/v1/analytics/{command}?{query}")
                assert api.status_code == 200, api.text
                assert json.loads(cli(command, *args, "--json")) == api.json()
                assert cli(command, *args, "--csv") == client.get(
                    f"/api/v1/analytics/{command}?{query}&format=csv").text
    finally:
        hub.close()


def test_cli_text_and_errors(data_dir: Path) -> None:
    text = cli("network", "--theme", "programme:SC5")
    assert "Brokers" in text and "Gamma Research Institute" in text
    assert "Southern Europe" in cli("gaps")
    assert "SDG 11" in cli("trends")
    res = runner.invoke(app, ["network", "--theme", "colour:blue"])
    assert res.exit_code == 2 and "unknown theme" in res.stderr and "Traceback" not in res.stderr


def test_api_rejects_bad_input(data_dir: Path) -> None:
    hub = Hub(Settings(data_dir=data_dir, _env_file=None))
    try:
        with TestClient(create_app(hub, web=False)) as client:
            bad = client.get("/api/v1/analytics/network?theme=colour:blue")
            assert bad.status_code == 422
            bad = client.get("/api/v1/analytics/trends?year_from=2020&year_to=2010")
            assert bad.status_code == 422 and bad.json()["field"] == "year_from"
            bad = client.get("/api/v1/analytics/gaps?by=planet")
            assert bad.status_code == 422
    finally:
        hub.close()
