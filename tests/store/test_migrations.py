from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from citybridge.store import Store, make_engine
from citybridge.store.enrichment import EnrichmentStore, version_key
from citybridge.store.guards import PREFIX, guard_triggers
from citybridge.store.migrate import current_revision, downgrade, head_revision, upgrade
from citybridge.store.tables import metadata
from conftest import postgres_database


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    downgrade(engine, "base")
    assert "records" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "records" in inspect(engine).get_table_names()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: a SQLite file, or a fresh PostgreSQL database when configured."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_upgrade_from_empty_matches_the_table_definitions(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    with empty_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert set(metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_0004_keys_existing_step_versions_without_re_enriching(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0003_enrich")
    now = datetime(2026, 11, 30, tzinfo=UTC)
    # SQLite never enforced VARCHAR(128): a store enriched there holds the tagger's full 144-character version
    long_version = "tags/sdg-tagger/1 " + "w" * 126 if empty_engine.dialect.name == "sqlite" else "tags/short"
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO records (id, kind, name, data, hash, created_at, updated_at) "
                          "VALUES ('doc_1', 'document', 'D', '{}', 'h1', :now, :now)"), {"now": now})
        conn.execute(text("INSERT INTO imports (source, started_at) VALUES (:s, :now)"), {"s": "a.csv", "now": now})
        for step, version in (("language", "language/1"), ("tags", long_version)):
            conn.execute(text("INSERT INTO enrich_state (record_id, step, step_version, record_hash, done_at) "
                              "VALUES ('doc_1', :step, :v, 'h1', :now)"), {"step": step, "v": version, "now": now})
    upgrade(empty_engine)
    store = Store(empty_engine)
    es = EnrichmentStore(store)
    assert list(es.pending("tags", long_version, ["document"])) == []  # still done: not run again
    assert list(es.pending("language", "language/1", ["document"])) == []
    assert es.state_summary() == {"language": {"language/1": 1}, "tags": {long_version: 1}}
    with empty_engine.connect() as conn:
        keys = set(conn.execute(text("SELECT step_version FROM enrich_state")).scalars())
        assert keys == {version_key("language/1"), version_key(long_version)}
        assert conn.execute(text("SELECT source FROM imports")).scalar() == "a.csv"
    downgrade(empty_engine, "0003_enrich")
    with empty_engine.connect() as conn:
        back = dict(conn.execute(text("SELECT step, step_version FROM enrich_state")).all())
    # a version longer than the old column is dropped: that step runs again after a downgrade
    assert back == ({"language": "language/1"} if len(long_version) > 128
                    else {"language": "language/1", "tags": long_version})


def test_sqlite_guards_follow_the_table_definitions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(engine)
    wanted = set(guard_triggers(metadata))
    assert wanted and _guards(engine) == wanted
    with engine.begin() as conn:  # a stale guard (older definitions) and a missing one
        conn.exec_driver_sql(f'CREATE TRIGGER "{PREFIX}records_i_00000000" BEFORE INSERT ON records '
                             "BEGIN SELECT 1; END")
        conn.exec_driver_sql(f'DROP TRIGGER "{sorted(wanted)[0]}"')
    upgrade(engine)  # every open checks them
    assert _guards(engine) == wanted
    downgrade(engine, "0003_enrich")
    assert _guards(engine) == set()  # an older schema gets no guards generated from newer definitions


def _guards(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(f"SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                        f"AND name LIKE '{PREFIX}%'").scalars())
