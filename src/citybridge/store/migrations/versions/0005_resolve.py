"""Entity resolution: merges (proposed, applied, rejected, undone) with their undo snapshots, and redirects
from merged-away record ids to the records that absorbed them.

Revision ID: 0005_resolve
Revises: 0004_sized_keys
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_resolve"
down_revision = "0004_sized_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("survivor_id", sa.String(128), nullable=False),
        sa.Column("merged_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("snapshot", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(256)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(256)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.String(256)),
    )
    op.create_index("ix_merges_status", "merges", ["status", "kind"])
    op.create_index("ix_merges_survivor", "merges", ["survivor_id"])
    op.create_index("ix_merges_merged", "merges", ["merged_id"])
    op.create_table(
        "redirects",
        sa.Column("old_id", sa.String(128), primary_key=True),
        sa.Column("new_id", sa.String(128), nullable=False),
        sa.Column("merge_id", sa.String(32), nullable=False),
    )
    op.create_index("ix_redirects_new", "redirects", ["new_id"])


def downgrade() -> None:
    op.drop_index("ix_redirects_new", table_name="redirects")
    op.drop_table("redirects")
    op.drop_index("ix_merges_merged", table_name="merges")
    op.drop_index("ix_merges_survivor", table_name="merges")
    op.drop_index("ix_merges_status", table_name="merges")
    op.drop_table("merges")
