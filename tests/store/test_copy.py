"""``citybridge migrate-store``: an SQLite store copied to PostgreSQL, verified by counts and checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from api.seed import seed
from citybridge.errors import Conflict
from citybridge.hub import Hub
from citybridge.settings import Settings
from citybridge.store import Store
from citybridge.store.copy import copy_store, table_digest
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.tables import metadata
from conftest import postgres_database


def _source(tmp_path: Path) -> Hub:
    hub = Hub(Settings(data_dir=tmp_path / "src", _env_file=None))
    hub.init()
    seed(hub)  # records, relations, a history entry, annotations
    acc = hub.create_account("ada@example.org", "Ada", "admin", groups=["lisbon-lab"], password="a long password 1",
                             changed_by="cli:test")
    hub.create_token(acc.id, "sync", ["read", "write"], changed_by="cli:test")
    vector = np.arange(8, dtype=np.float32).tobytes()
    with hub.store.engine.begin() as conn:
        EnrichmentStore(hub.store).replace_vectors(conn, "test-model", {"org_lisbon": [
            {"passage": -1, "field": None, "start": None, "end": None, "vector": vector}]})
    return hub


@pytest.mark.postgres
def test_sqlite_store_copied_to_postgres_and_verified(tmp_path: Path) -> None:
    hub = _source(tmp_path)
    with postgres_database() as url:
        report = copy_store(hub.store, url)
        assert report.verified
        for name in ("records", "relations", "history", "annotations", "accounts", "api_tokens", "audit_log",
                     "group_members", "embeddings"):
            assert report.tables[name]["rows"] > 0, name
        with pytest.raises(Conflict):
            copy_store(hub.store, url)  # never into a database that holds data
        target = Hub(Settings(data_dir=tmp_path / "pg", database_url=url, _env_file=None))
        try:
            assert target.get("org_private").name == "Lisbon Lab Internal Unit"
            assert target.store.history("org_lisbon") == hub.store.history("org_lisbon")
            assert target.accounts.verify_password("ada@example.org", "a long password 1") is not None
            before = len(target.audit_log(limit=1000))
            target.audit("cli:test", "update", ["org_lisbon"])  # the serial key continues after the copied rows
            assert len(target.audit_log(limit=1000)) == before + 1
        finally:
            target.close()
        # a changed row is caught by the checksum
        pg = Store.open(url)
        with pg.engine.begin() as conn:
            conn.execute(text("UPDATE records SET name = 'tampered' WHERE id = 'org_lisbon'"))
        table = metadata.tables["records"]
        assert table_digest(pg.engine, table) != table_digest(hub.store.engine, table)
        pg.close()
    hub.close()
