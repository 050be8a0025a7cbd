"""The README's main job on a reduced demo pack, through the command line, the API and a web page: once on
SQLite and once on PostgreSQL, with the same counts and the same top results on both.

init, demo import, enrich (and an incremental re-run that finds nothing to do), reindex, search, link, peer
cities, partners, export, an API call and a web page. PostgreSQL needs CITYBRIDGE_TEST_POSTGRES_URL (CI starts
a server); the SQLite half alone runs everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from citybridge.api import create_app
from citybridge.cli.main import app
from citybridge.hub import Hub
from citybridge.settings import Settings
from conftest import postgres_database
from e2e.demo_pack import build_reduced_pack

pytestmark = pytest.mark.slow
runner = CliRunner()
QUERIES = ["urban heat", "flood risk", "renewable energy"]
CHALLENGE = "reduce flooding and urban heat with nature-based solutions"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pack")
    sizes = build_reduced_pack(folder)
    assert all(n > 0 for n in sizes.values()), sizes
    return folder


def _cli(env: dict[str, str], *args: str) -> Any:
    res = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert res.exit_code == 0, f"citybridge {' '.join(args)}: {res.stderr}"
    return json.loads(res.stdout) if "--json" in args else res


def _ids(items: list[dict[str, Any]], n: int = 5) -> list[str]:
    return [i["id"] for i in items[:n]]


def main_job(pack: Path, data_dir: Path, database_url: str | None) -> dict[str, Any]:
    """Run the main job; returns what must be the same on every backend."""
    env = {"CITYBRIDGE_DATA_DIR": str(data_dir), "CITYBRIDGE_DEMO_DIR": str(pack), "CITYBRIDGE_WORKERS": "1",
           "CITYBRIDGE_DATABASE_URL": database_url or ""}
    seen: dict[str, Any] = {}
    seen["init"] = {k: v for k, v in _cli(env, "init", "--json").items() if k != "database"}
    seen["demo"] = {k: v for k, v in _cli(env, "demo", "--json").items() if k != "rejections"}
    enriched = _cli(env, "enrich", "--json")
    seen["enrich"] = {k: v for k, v in enriched.items() if k != "seconds"}
    again = _cli(env, "enrich", "--json")
    assert sum(again["steps"].values()) == 0, f"an incremental re-run found work: {again['steps']}"
    seen["reindex"] = {k: v for k, v in _cli(env, "reindex", "--json").items() if k in ("documents", "vectors")}
    seen["stats"] = _cli(env, "stats", "--json")
    seen["search"] = {}
    for q in QUERIES:
        found = _cli(env, "search", q, "--json")
        seen["search"][q] = (found["total"], _ids(found["results"]))
    governments = _cli(env, "list", "--kind", "organization", "--subtype", "local_government", "--limit", "5",
                       "--json")["items"]
    city_hall = governments[0]
    linked = _cli(env, "link", CHALLENGE, "--city", city_hall["city"], "--limit", "3", "--json")
    seen["link"] = {name: _ids(items, 3) for name, items in linked["sections"].items()}
    seen["peers"] = _ids(_cli(env, "peers", city_hall["id"], "--limit", "5", "--json"))
    project = _cli(env, "list", "--kind", "project", "--limit", "1", "--json")["items"][0]
    seen["partners"] = _ids(_cli(env, "partners", "--project", project["id"], "--limit", "5", "--json"))
    out = data_dir / "export.jsonl"
    _cli(env, "export", "--format", "jsonl", "-o", str(out))
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    seen["export"] = sorted((e["kind"], e["id"]) for e in exported)

    hub = Hub(Settings(data_dir=data_dir, database_url=database_url or None, demo_dir=pack, _env_file=None))
    try:
        with TestClient(create_app(hub), raise_server_exceptions=False, client=("127.0.0.1", 5000)) as client:
            api = client.get("/api/v1/search", params={"q": QUERIES[1], "per_page": 5})
            assert api.status_code == 200, api.text
            seen["api_search"] = _ids(api.json()["results"])
            page = client.get(f"/entity/{city_hall['id']}")
            assert page.status_code == 200 and city_hall["name"] in page.text
            home = client.get("/")
            assert home.status_code == 200
    finally:
        hub.close()
    return seen


@pytest.fixture(scope="module")
def on_sqlite(pack: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return main_job(pack, tmp_path_factory.mktemp("sqlite"), None)


@pytest.fixture(scope="module")
def on_postgres(pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with postgres_database() as url:
        yield main_job(pack, tmp_path_factory.mktemp("postgres"), url)


def test_main_job_on_sqlite(on_sqlite: dict[str, Any]) -> None:
    assert on_sqlite["demo"]["created"] > 1000 and on_sqlite["demo"]["rejected"] == 0
    assert all(n > 0 for n in on_sqlite["enrich"]["steps"].values())
    assert on_sqlite["enrich"]["annotations"] > 0 and on_sqlite["enrich"]["profiles"] > 0
    assert on_sqlite["reindex"]["documents"] > 1000
    assert all(total > 0 for total, _top in on_sqlite["search"].values())
    assert on_sqlite["peers"] and on_sqlite["partners"] and on_sqlite["api_search"]
    assert any(on_sqlite["link"].values())


@pytest.mark.postgres
def test_main_job_on_postgresql_matches_sqlite(on_sqlite: dict[str, Any], on_postgres: dict[str, Any]) -> None:
    for part in on_sqlite:
        assert on_postgres[part] == on_sqlite[part], part
