"""SQLAlchemy table definitions: the store's schema, kept identical to the Alembic migrations
(``tests/store/test_migrations.py`` compares them)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

records = Table(
    "records",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subtype", String(64)),
    Column("name", Text, nullable=False),
    Column("country", String(2)),
    Column("year", Integer),
    Column("visibility", String(16), nullable=False, server_default="public"),
    Column("owner", String(128)),
    Column("data", Text, nullable=False),
    Column("hash", String(40), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(256)),
    Index("ix_records_kind_subtype", "kind", "subtype"),
    Index("ix_records_country", "country"),
    Index("ix_records_updated_at", "updated_at"),
)

external_ids = Table(
    "external_ids",
    metadata,
    Column("scheme", String(32), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Index("ix_external_ids_record", "record_id"),
)

relations = Table(
    "relations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("source_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("target_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(64)),
    Column("visibility", String(16), nullable=False, server_default="public"),
    Column("owner", String(128)),
    Column("data", Text, nullable=False),
    Column("hash", String(40), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_relations_source", "source_id", "type"),
    Index("ix_relations_target", "target_id", "type"),
)

history = Table(
    "history",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(16), nullable=False),  # 'record' | 'relation'
    Column("entity_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("change", String(16), nullable=False),  # 'update' | 'delete'
    Column("data", Text, nullable=False),  # the version that was replaced or deleted
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(256)),
    Index("ix_history_entity", "entity", "entity_id"),
)

imports = Table(
    "imports",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("source", String(1024), nullable=False),
    Column("sha256", String(64)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="running"),
)


# ---------------------------------------------------------------- enrichment (migration 0003_enrich)
annotations = Table(
    "annotations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("step", String(64), nullable=False),
    Column("label", String(512), nullable=False),  # e.g. sdg:11, pathway:resilient, place:<id>, kw:<phrase>
    Column("target_id", String(128)),  # theme or place record the label points to, when there is one
    Column("score", Float, nullable=False),
    Column("evidence", Text),  # JSON list of {field, start, end, text, kind}
    Index("ix_annotations_record_step", "record_id", "step"),
    Index("ix_annotations_label", "label"),
    Index("ix_annotations_target", "target_id"),
)

enrich_state = Table(
    "enrich_state",
    metadata,
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("step", String(64), primary_key=True),
    Column("step_version", String(128), nullable=False),
    Column("record_hash", String(40), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(128), primary_key=True),
    Column("passage", Integer, primary_key=True),  # -1: the whole record; 0..n: passages in text order
    Column("field", String(32)),
    Column("start", Integer),
    Column("end", Integer),
    Column("vector", LargeBinary, nullable=False),  # float32, L2-normalised
)

profiles = Table(
    "profiles",
    metadata,
    Column("entity_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("n_records", Integer, nullable=False),
    Column("data", Text, nullable=False),  # JSON: sdg/pathway scores, keywords, places, contributors
    Column("model", String(128)),
    Column("vector", LargeBinary),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("title", Text),
    Column("themes", Text, nullable=False, server_default="[]"),  # JSON list of theme codes or labels
    Column("organization", String(256)),  # record id or scheme:value of the publishing organisation
    Column("etag", String(512)),
    Column("last_modified", String(128)),
    Column("last_polled", DateTime(timezone=True)),
    Column("last_status", String(256)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ingested_files = Table(
    "ingested_files",
    metadata,
    Column("path", String(2048), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # 'done' | 'failed'
    Column("record_id", String(128)),
    Column("reason", Text),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)


# ---------------------------------------------------------------- dissemination (migration 0006_subscriptions)
notify_members = Table(
    "notify_members",
    metadata,
    # a member is a person record, or an organisation / city record acting as contact
    Column("member_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(320), nullable=False),  # RFC 5321: 64 local + @ + 255 domain
    Column("language", String(8), nullable=False, server_default="en"),
    Column("principal", String(128)),  # the caller user whose view the digests take (default: member id)
    Column("groups", Text, nullable=False, server_default="[]"),  # JSON list of owner groups
    Column("network", Boolean, nullable=False, server_default="0"),  # may see network records
    Column("status", String(16), nullable=False, server_default="active"),  # active | unsubscribed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(256)),
    Index("ix_notify_members_principal", "principal"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(32), primary_key=True),  # sub_ + 20 hex digits, derived from what is followed
    Column("member_id", String(128), ForeignKey("notify_members.member_id", ondelete="CASCADE"), nullable=False),
    Column("type", String(16), nullable=False),  # theme | keyword | place | search | record | profile
    Column("target", String(512)),  # theme label, place or record id
    Column("query", Text),  # keyword or saved-search words
    Column("filters", Text, nullable=False, server_default="{}"),  # JSON saved-search filters
    Column("label", Text, nullable=False),  # what the member sees ("SDG 7: Affordable and clean energy")
    Column("frequency", String(8), nullable=False, server_default="weekly"),  # daily | weekly | monthly
    Column("channel", String(8), nullable=False, server_default="email"),  # email | feed | both
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_digest_at", DateTime(timezone=True)),  # cut-off of the last digest that covered it
    Column("changed_by", String(256)),
    Index("ix_subscriptions_member", "member_id"),
)

digests = Table(
    "digests",
    metadata,
    Column("id", String(40), primary_key=True),  # dg_ + 32 hex digits
    Column("member_id", String(128), ForeignKey("notify_members.member_id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # pending (items claimed, not yet accepted) | sent | failed
    Column("cutoff", DateTime(timezone=True), nullable=False),  # the clock when it was built
    Column("items", Integer, nullable=False),
    Column("subscriptions", Text, nullable=False, server_default="[]"),  # JSON ids of the subscriptions it covers
    Column("message_id", String(255), nullable=False),
    Column("message", Text, nullable=False),  # the whole RFC 5322 message, sent again as is after a crash
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("changed_by", String(256)),
    Index("ix_digests_member", "member_id", "status"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("member_id", String(128), ForeignKey("notify_members.member_id", ondelete="CASCADE"), nullable=False),
    Column("item_key", String(160), nullable=False),  # <record id (128)>@<version>
    Column("digest_id", String(40), ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("section", String(16), nullable=False),
    UniqueConstraint("member_id", "item_key", name="uq_digest_items_member_item"),
    Index("ix_digest_items_digest", "digest_id"),
)

__all__ = ["metadata", "records", "external_ids", "relations", "history", "imports", "annotations", "enrich_state",
           "embeddings", "profiles", "feeds", "ingested_files", "notify_members", "subscriptions", "digests",
           "digest_items"]
