"""Initial schema: records, external ids, relations, history, imports.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subtype", sa.String(64)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("year", sa.Integer),
        sa.Column("visibility", sa.String(16), nullable=False, server_default="public"),
        sa.Column("owner", sa.String(128)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("hash", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(256)),
    )
    op.create_index("ix_records_kind_subtype", "records", ["kind", "subtype"])
    op.create_index("ix_records_country", "records", ["country"])
    op.create_index("ix_records_updated_at", "records", ["updated_at"])
    op.create_table(
        "external_ids",
        sa.Column("scheme", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(512), primary_key=True),
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_external_ids_record", "external_ids", ["record_id"])
    op.create_table(
        "relations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(64)),
        sa.Column("visibility", sa.String(16), nullable=False, server_default="public"),
        sa.Column("owner", sa.String(128)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("hash", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_relations_source", "relations", ["source_id", "type"])
    op.create_index("ix_relations_target", "relations", ["target_id", "type"])
    op.create_table(
        "history",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(256)),
    )
    op.create_index("ix_history_entity", "history", ["entity", "entity_id"])
    op.create_table(
        "imports",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
    )


def downgrade() -> None:
    op.drop_table("imports")
    op.drop_index("ix_history_entity", table_name="history")
    op.drop_table("history")
    op.drop_index("ix_relations_target", table_name="relations")
    op.drop_index("ix_relations_source", table_name="relations")
    op.drop_table("relations")
    op.drop_index("ix_external_ids_record", table_name="external_ids")
    op.drop_table("external_ids")
    op.drop_index("ix_records_updated_at", table_name="records")
    op.drop_index("ix_records_country", table_name="records")
    op.drop_index("ix_records_kind_subtype", table_name="records")
    op.drop_table("records")
