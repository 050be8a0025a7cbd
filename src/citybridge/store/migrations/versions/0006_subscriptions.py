"""Dissemination: members who receive digests, their subscriptions, digests sent and the items in them.

Revision ID: 0006_subscriptions
Revises: 0005_resolve
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_subscriptions"
down_revision = "0005_resolve"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_members",
        sa.Column("member_id", sa.String(128), sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("principal", sa.String(128)),
        sa.Column("groups", sa.Text, nullable=False, server_default="[]"),
        sa.Column("network", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(256)),
    )
    op.create_index("ix_notify_members_principal", "notify_members", ["principal"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("member_id", sa.String(128), sa.ForeignKey("notify_members.member_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("target", sa.String(512)),
        sa.Column("query", sa.Text),
        sa.Column("filters", sa.Text, nullable=False, server_default="{}"),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False, server_default="weekly"),
        sa.Column("channel", sa.String(8), nullable=False, server_default="email"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True)),
        sa.Column("changed_by", sa.String(256)),
    )
    op.create_index("ix_subscriptions_member", "subscriptions", ["member_id"])
    op.create_table(
        "digests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("member_id", sa.String(128), sa.ForeignKey("notify_members.member_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("subscriptions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
        sa.Column("changed_by", sa.String(256)),
    )
    op.create_index("ix_digests_member", "digests", ["member_id", "status"])
    op.create_table(
        "digest_items",
        sa.Column("member_id", sa.String(128), sa.ForeignKey("notify_members.member_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("item_key", sa.String(160), nullable=False),
        sa.Column("digest_id", sa.String(40), sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("section", sa.String(16), nullable=False),
        sa.UniqueConstraint("member_id", "item_key", name="uq_digest_items_member_item"),
    )
    op.create_index("ix_digest_items_digest", "digest_items", ["digest_id"])


def downgrade() -> None:
    op.drop_table("digest_items")
    op.drop_table("digests")
    op.drop_table("subscriptions")
    op.drop_table("notify_members")
