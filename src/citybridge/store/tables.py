"""SQLAlchemy table definitions: the store's schema, kept identical to the Alembic migrations
(``tests/store/test_migrations.py`` compares them)."""

from __future__ import annotations

from sqlalchemy import (
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

# ---------------------------------------------------------------- entity resolution (migration 0005_resolve)
merges = Table(
    "merges",
    metadata,
    Column("id", String(32), primary_key=True),  # "mrg_" + 16 hex digits
    Column("kind", String(32), nullable=False),
    Column("survivor_id", String(128), nullable=False),
    Column("merged_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # proposed | applied | rejected | undone
    Column("score", Float, nullable=False),  # calibrated match probability
    Column("method", String(64), nullable=False),  # e.g. organization:ror-name, person:orcid
    Column("reasons", Text, nullable=False),  # JSON: features and evidence behind the score
    Column("snapshot", Text),  # JSON: everything the merge changed, for an exact undo
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(256)),
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_by", String(256)),
    Index("ix_merges_status", "status", "kind"),
    Index("ix_merges_survivor", "survivor_id"),
    Index("ix_merges_merged", "merged_id"),
)

redirects = Table(
    "redirects",
    metadata,
    Column("old_id", String(128), primary_key=True),  # a merged-away record id
    Column("new_id", String(128), nullable=False),  # the record that absorbed it
    Column("merge_id", String(32), nullable=False),
    Index("ix_redirects_new", "new_id"),
)

__all__ = ["metadata", "records", "external_ids", "relations", "history", "imports", "annotations", "enrich_state",
           "embeddings", "profiles", "feeds", "ingested_files", "merges", "redirects"]
