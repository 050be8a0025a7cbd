"""Sized keys: a step's version is stored under a short key (the text in ``step_versions``); free-form log
columns (an import's source, a feed's organisation, ETag, Last-Modified and last status) become TEXT.

PostgreSQL enforces ``VARCHAR(n)``: the SDG tagger's version (144 characters) did not fit
``enrich_state.step_version VARCHAR(128)``. Existing states keep their meaning: each stored version text is
replaced by its key, so nothing is re-enriched. SQLite tables are rebuilt in batch mode (only these small
tables and ``enrich_state``, which no other table references).

Revision ID: 0004_sized_keys
Revises: 0003_enrich
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004_sized_keys"
down_revision = "0003_enrich"
branch_labels = None
depends_on = None

# (table, column, length before) of the columns that become TEXT
TO_TEXT = [("imports", "source", 1024), ("feeds", "organization", 256), ("feeds", "etag", 512),
           ("feeds", "last_modified", 128), ("feeds", "last_status", 256)]


def _key(version: str) -> str:
    # frozen copy of citybridge.store.enrichment.version_key: a migration must not change with the code
    return hashlib.blake2b(version.encode("utf-8"), digest_size=16).hexdigest()


def upgrade() -> None:
    step_versions = op.create_table(
        "step_versions",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    )
    conn = op.get_bind()
    state = sa.table("enrich_state", sa.column("step", sa.String), sa.column("step_version", sa.String))
    found = conn.execute(sa.select(state.c.step, state.c.step_version).distinct()).all()
    now = datetime.now(UTC).replace(microsecond=0)
    keys: dict[str, tuple[str, str]] = {}
    for step, version in found:
        keys.setdefault(_key(version), (step, version))
        conn.execute(sa.update(state).where(state.c.step == step, state.c.step_version == version)
                     .values(step_version=_key(version)))
    if keys:
        op.bulk_insert(step_versions, [{"key": k, "step": s, "version": v, "first_seen": now}
                                       for k, (s, v) in keys.items()])
    with op.batch_alter_table("enrich_state") as batch:
        batch.alter_column("step_version", type_=sa.String(32), existing_type=sa.String(128),
                           existing_nullable=False)
    for table in ("imports", "feeds"):
        with op.batch_alter_table(table) as batch:
            for name, column, length in TO_TEXT:
                if name == table:
                    batch.alter_column(column, type_=sa.Text, existing_type=sa.String(length),
                                       existing_nullable=column != "source")


def downgrade() -> None:
    conn = op.get_bind()
    for table in ("imports", "feeds"):
        with op.batch_alter_table(table) as batch:
            for name, column, length in TO_TEXT:
                if name == table:
                    batch.alter_column(column, type_=sa.String(length), existing_type=sa.Text,
                                       existing_nullable=column != "source",
                                       postgresql_using=f"left({column}, {length})")
    with op.batch_alter_table("enrich_state") as batch:
        batch.alter_column("step_version", type_=sa.String(128), existing_type=sa.String(32),
                           existing_nullable=False)
    state = sa.table("enrich_state", sa.column("step_version", sa.String))
    for key, version in conn.execute(sa.text("SELECT key, version FROM step_versions")).all():
        if len(version) <= 128:
            conn.execute(sa.update(state).where(state.c.step_version == key).values(step_version=version))
        else:  # cannot be stored in the old column: the step will run again for these records
            conn.execute(sa.delete(state).where(state.c.step_version == key))
    op.drop_table("step_versions")
