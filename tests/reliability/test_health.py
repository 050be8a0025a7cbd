"""``GET /api/v1/health`` and ``citybridge doctor``: each check reports what it found and what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.seed import seed
from citybridge.api import create_app
from citybridge.cli.main import app
from citybridge.hub import Hub
from citybridge.settings import Settings

runner = CliRunner()


def _hub(data: Path) -> Hub:
    hub = Hub(Settings(data_dir=data, search_embedder=None, _env_file=None))
    hub.init()
    return seed(hub)


def test_health_endpoint_follows_the_index_and_store(tmp_path: Path) -> None:
    hub = _hub(tmp_path / "data")
    with TestClient(create_app(hub, web=False), raise_server_exceptions=False) as client:
        body = client.get("/api/v1/health").json()
        assert set(body["checks"]) == {"store", "migrations", "index", "disk"}
        assert body["checks"]["store"]["status"] == "ok" and body["checks"]["migrations"]["status"] == "ok"
        assert body["checks"]["index"]["status"] == "degraded" and "reindex" in body["checks"]["index"]["fix"]
        assert body["status"] == "degraded"

        hub.reindex()
        res = client.get("/api/v1/health")
        assert res.status_code == 200 and res.headers["cache-control"] == "no-store"
        assert res.json()["status"] == "ok" and res.json()["checks"]["index"]["fresh"] is True
        assert str(tmp_path) not in res.text  # no server paths to anonymous callers

        from citybridge.model import Organization

        hub.upsert([Organization(id="org_new", name="New Org", country="PT")], changed_by="t")
        index = client.get("/api/v1/health").json()["checks"]["index"]
        assert index["status"] == "ok" and index["fresh"] is False  # served with a delta until rebuilt

    hub.close()


def test_health_down_when_the_store_cannot_be_reached(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    hub = _hub(tmp_path / "data")
    from citybridge.store import Store

    live = hub.store
    hub.store = Store.open("postgresql+psycopg://nobody@127.0.0.1:1/nothing", migrate=False)  # nothing listens
    try:
        with TestClient(create_app(hub, web=False), raise_server_exceptions=False) as client:
            res = client.get("/api/v1/health")
        body = res.json()
        assert res.status_code == 503 and body["status"] == "down"
        assert body["checks"]["store"]["status"] == "down" and "cannot reach" in body["checks"]["store"]["detail"]
        assert "migrations" not in body["checks"]
    finally:
        hub.store.close()
        hub.store = live
        hub.close()


def test_doctor_finds_broken_references_and_a_damaged_index(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRIDGE_SEARCH_EMBEDDER", "")
    hub = _hub(tmp_path / "data")
    hub.reindex()
    hub.close()
    data = str(tmp_path / "data")
    res = runner.invoke(app, ["--data-dir", data, "doctor", "--json"], catch_exceptions=False)
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "ok"

    # a damaged index file: found by its checksum, and the fix named
    lexical = next((tmp_path / "data" / "index" / "lexical").glob("*.npy"))
    raw = bytearray(lexical.read_bytes())
    raw[-1] ^= 0xFF
    lexical.write_bytes(bytes(raw))
    res = runner.invoke(app, ["--data-dir", data, "doctor"], catch_exceptions=False)
    assert res.exit_code == 0 and "checksum mismatch" in res.stdout and "citybridge reindex" in res.stdout

    # a relation pointing at a record that is gone (written with foreign keys off, as a damaged copy might be)
    import sqlite3

    con = sqlite3.connect(tmp_path / "data" / "citybridge.db")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("DELETE FROM records WHERE id = 'org_porto_uni'")
    con.commit()
    con.close()
    res = runner.invoke(app, ["--data-dir", data, "doctor"], catch_exceptions=False)
    assert res.exit_code == 2
    assert "FAILED" in res.stdout and "point at missing rows" in res.stdout and "restore" in res.stdout
