"""Backup -> restore drill: the restored store is the same, table by table (counts and SHA-256 digests), it
answers the same queries, and a damaged backup or an occupied target is refused with nothing put in place."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.seed import seed
from citybridge.cli.main import app
from citybridge.errors import Conflict, Invalid
from citybridge.hub import Hub
from citybridge.model import Organization, Relation
from citybridge.settings import Settings
from citybridge.store.backup import read_manifest, restore, table_digests
from conftest import postgres_database

runner = CliRunner()


def _hub(data: Path, url: str | None = None, *, init: bool = True) -> Hub:
    hub = Hub(Settings(data_dir=data, database_url=url, search_embedder=None, _env_file=None))
    if init:
        hub.init()
    return hub


def _digests(hub: Hub) -> dict[str, dict[str, object]]:
    with hub.store.engine.connect() as conn:
        return table_digests(conn)


def _snapshot(hub: Hub) -> tuple[object, ...]:
    """What a user sees: stats, every record with its content hash, every relation, one search."""
    records = sorted((r["id"], r["name"], r.get("country")) for r in hub.store.iter_record_dicts())
    rels = sorted((r.source, r.target, r.type.value) for r in hub.store.iter_relations())
    hits = [r["id"] for r in hub.search("urban heat", per_page=20)["results"]]
    return hub.stats(), records, rels, hits


def test_restore_drill_sqlite(tmp_path: Path) -> None:
    hub = seed(_hub(tmp_path / "live"))
    before = _snapshot(hub)
    digests = _digests(hub)
    report = hub.backup(tmp_path / "bk")
    assert report.verified and report.records == digests["records"]["rows"] > 10
    assert report.tables == digests  # the manifest describes the live store exactly
    assert "reindex" in (tmp_path / "bk" / "RESTORE.md").read_text()
    # changes after the backup are not in it
    hub.upsert([Organization(id="org_after_backup", name="Added After Backup", country="PT")], changed_by="t")
    hub.close()

    out = restore(f"sqlite:///{tmp_path / 'new' / 'citybridge.db'}", tmp_path / "bk")
    assert out.verified and out.mismatches == []
    restored = _hub(tmp_path / "new", init=False)
    assert _digests(restored) == digests
    assert _snapshot(restored) == before
    with pytest.raises(Exception, match="no record"):
        restored.get("org_after_backup")
    restored.close()


def test_backup_during_writes_is_a_consistent_snapshot(tmp_path: Path) -> None:
    hub = seed(_hub(tmp_path / "live"))
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            hub.upsert([Organization(id=f"org_w{i}", name=f"Writer Org {i}", country="PT")], changed_by="w")
            hub.relate([Relation(source=f"org_w{i}", target="org_network", type="member_of")],
                       changed_by="w")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = hub.backup(tmp_path / "bk")
    finally:
        stop.set()
        thread.join()
    restore(f"sqlite:///{tmp_path / 'new' / 'citybridge.db'}", tmp_path / "bk")
    restored = _hub(tmp_path / "new", init=False)
    assert _digests(restored) == report.tables
    with restored.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    restored.close()
    hub.close()


def test_restore_refuses_occupied_target_and_damaged_backup(tmp_path: Path) -> None:
    hub = seed(_hub(tmp_path / "live"))
    hub.backup(tmp_path / "bk")
    with pytest.raises(Conflict, match="new or empty"):
        hub.backup(tmp_path / "bk")
    live_url = hub.settings.resolved_database_url
    live = _digests(hub)
    with pytest.raises(Conflict, match="already has a database"):
        restore(live_url, tmp_path / "bk")
    assert _digests(hub) == live
    hub.close()

    # a flipped byte in the copy: refused before anything is put in place
    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "bk", damaged)
    db = damaged / "citybridge.db"
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    db.write_bytes(bytes(raw))
    target = tmp_path / "new" / "citybridge.db"
    with pytest.raises(Conflict, match="does not match its manifest"):
        restore(f"sqlite:///{target}", damaged)
    assert not target.exists()

    # a manifest that lies about the content (rows changed inside a consistent file): digests catch it
    lying = tmp_path / "lying"
    shutil.copytree(tmp_path / "bk", lying)
    con = sqlite3.connect(lying / "citybridge.db")
    con.execute("UPDATE records SET name = 'Tampered' WHERE id = (SELECT min(id) FROM records)")
    con.commit()
    con.close()
    manifest = read_manifest(lying)
    import hashlib

    manifest["file_sha256"] = hashlib.sha256((lying / "citybridge.db").read_bytes()).hexdigest()
    (lying / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Conflict, match="table records: content differs"):
        restore(f"sqlite:///{target}", lying)
    assert not target.exists() and not list(target.parent.glob("*.restoring"))

    with pytest.raises(Invalid, match="postgresql"):
        restore("postgresql+psycopg://u@127.0.0.1:1/x", tmp_path / "bk")


def test_cli_backup_restore_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRIDGE_SEARCH_EMBEDDER", "")
    monkeypatch.chdir(tmp_path)
    seed(_hub(tmp_path / "live")).close()
    res = runner.invoke(app, ["--data-dir", "live", "backup", "bk", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    made = json.loads(res.stdout)
    res = runner.invoke(app, ["--data-dir", "new", "restore", "bk", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["tables"] == made["tables"]
    res = runner.invoke(app, ["--data-dir", "new", "restore", "bk"], catch_exceptions=False)
    assert res.exit_code == 2 and "already has a database" in res.stderr and "Traceback" not in res.stderr
    res = runner.invoke(app, ["--data-dir", "new", "doctor"], catch_exceptions=False)
    assert res.exit_code == 0 and "citybridge reindex" in res.stdout  # no index yet: says what to do
    assert runner.invoke(app, ["--data-dir", "new", "reindex"], catch_exceptions=False).exit_code == 0
    res = runner.invoke(app, ["--data-dir", "new", "doctor", "--json"], catch_exceptions=False)
    report = json.loads(res.stdout)
    assert report["status"] == "ok" and report["checks"]["index"]["fresh"] is True
    assert report["checks"]["integrity"]["status"] == "ok"


@pytest.mark.postgres
def test_restore_drill_postgres(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore not installed")
    with postgres_database() as src_url, postgres_database() as dst_url:
        hub = seed(_hub(tmp_path / "a", src_url))
        before = _snapshot(hub)
        report = hub.backup(tmp_path / "bk")
        assert report.backend == "postgresql" and report.tables == _digests(hub)
        hub.close()
        out = restore(dst_url, tmp_path / "bk")
        assert out.verified
        restored = _hub(tmp_path / "b", dst_url, init=False)
        assert _digests(restored) == report.tables
        assert _snapshot(restored) == before
        with pytest.raises(Conflict, match="already has tables"):
            restore(dst_url, tmp_path / "bk")
        restored.close()
