"""The Alembic migrations and ``store/tables.py`` describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from citybridge.store import tables as t
from citybridge.store.migrate import current_revision, downgrade


def test_migrations_match_tables(store):
    assert current_revision(store.engine) == "0002_feeds"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_feeds_migration_downgrades(store):
    downgrade(store.engine, "0001")
    assert current_revision(store.engine) == "0001"
    store.migrate()
    assert current_revision(store.engine) == "0002_feeds"
