"""Indexes on the times the search index's delta reads: enrichment done and history changed since a time.

Without them every refresh of the search delta (after each write, in each server worker) scanned the whole
``enrich_state`` and ``history`` tables (~40 ms of CPU each on the demo pack).

Revision ID: 0008_change_indexes
Revises: 0007_accounts
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008_change_indexes"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enrich_state_done_at", "enrich_state", ["done_at"])
    op.create_index("ix_history_changed_at", "history", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_history_changed_at", table_name="history")
    op.drop_index("ix_enrich_state_done_at", table_name="enrich_state")
