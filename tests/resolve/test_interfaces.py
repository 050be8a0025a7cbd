"""The REST API and the command line over the Hub's resolution methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from citybridge.api import create_app
from citybridge.cli.main import app as cli
from citybridge.hub import Hub
from citybridge.settings import Settings

from .conftest import ror_orgs

CURATOR = "t-curator-0123456789abcdef"
READER = "t-reader-0123456789abcdefgh"
TOKENS = {CURATOR: {"user": "cur", "member": True, "curator": True, "write": True},
          READER: {"user": "reader", "member": True}}


@pytest.fixture
def secured(tmp_path: Path):  # type: ignore[no-untyped-def]
    hub = Hub(Settings(data_dir=tmp_path / "data", tokens=TOKENS, _env_file=None))  # type: ignore[arg-type]
    hub.init()
    hub.upsert(ror_orgs())
    from citybridge.model.entities import Organization

    hub.upsert([Organization(name="Universidade do Minho", country="PT", external_ids={"pic": "77"})])
    with TestClient(create_app(hub, web=False), raise_server_exceptions=False, client=("10.0.0.9", 4000)) as c:
        yield hub, c
    hub.close()


def test_match_affiliation_batch(secured) -> None:  # type: ignore[no-untyped-def]
    _, c = secured
    r = c.post("/api/v1/match/affiliation", json={"affiliations": [
        "Dept. of Civil Eng., Univ. of Porto, Portugal", {"text": "TU München", "country": "DE"}], "limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["candidates"][0]["ror"] for x in body["results"]] == ["043pwc612", "02kkvpp62"]
    assert body["results"][0]["best"]["unit"] == "Dept. of Civil Eng."
    assert set(body["thresholds"]) == {"accept", "auto_merge", "review"}
    bad = c.post("/api/v1/match/affiliation", json={"affiliations": []})
    assert bad.status_code == 422 and "affiliations" in bad.text


def test_merges_are_for_curators_and_round_trip(secured) -> None:  # type: ignore[no-untyped-def]
    hub, c = secured
    cur = {"Authorization": f"Bearer {CURATOR}"}
    assert c.get("/api/v1/merges").status_code == 401
    assert c.get("/api/v1/merges", headers={"Authorization": f"Bearer {READER}"}).status_code == 403
    hub.resolve("organization", apply=True, changed_by="test")
    rows = c.get("/api/v1/merges", headers=cur).json()
    assert len(rows) == 1 and rows[0]["survivor_id"] == hub.get("ror:037wpkx04").id
    mid = rows[0]["id"]
    detail = c.get(f"/api/v1/merges/{mid}", headers=cur).json()
    assert detail["merged"]["name"] == "Universidade do Minho"
    if rows[0]["status"] == "proposed":
        assert c.post(f"/api/v1/merges/{mid}/accept", headers=cur).json()["status"] == "applied"
    undone = c.post(f"/api/v1/merges/{mid}/undo", headers=cur)
    assert undone.status_code == 200 and undone.json()["undone_by"] == "api:cur"
    again = c.post(f"/api/v1/merges/{mid}/undo", headers=cur)
    assert again.status_code == 409 and again.json()["field"] == "merge_id"
    assert c.post("/api/v1/merges/mrg_0000000000000000/accept", headers=cur).status_code == 404
    assert c.get("/api/v1/merges?status=nope", headers=cur).status_code == 422


runner = CliRunner()


def test_cli_resolve_match_and_merges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    hub = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    hub.init()
    hub.upsert(ror_orgs())
    from citybridge.model.entities import Organization

    hub.upsert([Organization(name="Universidade do Minho", country="PT", external_ids={"pic": "77"})])
    hub.close()
    res = runner.invoke(cli, ["match", "Dept. of Civil Eng., Univ. of Porto, Portugal", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["candidates"][0]["ror"] == "043pwc612"
    res = runner.invoke(cli, ["match", "Univ. Minho", "TU München", "--country", "PT"])
    assert "ror:037wpkx04" in res.stdout
    dry = runner.invoke(cli, ["resolve", "--kind", "organization"])
    assert dry.exit_code == 0 and "dry run" in dry.stdout
    done = json.loads(runner.invoke(cli, ["resolve", "--kind", "organization", "--apply", "--json"]).stdout)
    mid = (done["applied"] + done["queued"])[0]
    listed = json.loads(runner.invoke(cli, ["merges", "list", "--json"]).stdout)
    assert [m["id"] for m in listed] == [mid]
    if done["queued"]:
        assert runner.invoke(cli, ["merges", "accept", mid]).exit_code == 0
    out = runner.invoke(cli, ["merges", "undo", mid])
    assert out.exit_code == 0 and "undone" in out.stdout
    again = runner.invoke(cli, ["merges", "undo", mid])
    assert again.exit_code == 2 and "is undone, not applied" in again.stderr
    bad = runner.invoke(cli, ["resolve", "--kind", "theme"])
    assert bad.exit_code == 2 and "cannot resolve kind 'theme'" in bad.stderr
