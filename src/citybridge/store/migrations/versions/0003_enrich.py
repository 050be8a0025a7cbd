"""Enrichment results: annotations, per-step state, embeddings, expertise profiles.

Revision ID: 0003_enrich
Revises: 0002_feeds
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_enrich"
down_revision = "0002_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("label", sa.String(512), nullable=False),
        sa.Column("target_id", sa.String(128)),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text),
    )
    op.create_index("ix_annotations_record_step", "annotations", ["record_id", "step"])
    op.create_index("ix_annotations_label", "annotations", ["label"])
    op.create_index("ix_annotations_target", "annotations", ["target_id"])
    op.create_table(
        "enrich_state",
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step", sa.String(64), primary_key=True),
        sa.Column("step_version", sa.String(128), nullable=False),
        sa.Column("record_hash", sa.String(40), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "embeddings",
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("passage", sa.Integer, primary_key=True),
        sa.Column("field", sa.String(32)),
        sa.Column("start", sa.Integer),
        sa.Column("end", sa.Integer),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "profiles",
        sa.Column("entity_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("n_records", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("model", sa.String(128)),
        sa.Column("vector", sa.LargeBinary),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profiles")
    op.drop_table("embeddings")
    op.drop_table("enrich_state")
    op.drop_index("ix_annotations_target", table_name="annotations")
    op.drop_index("ix_annotations_label", table_name="annotations")
    op.drop_index("ix_annotations_record_step", table_name="annotations")
    op.drop_table("annotations")
