"""SQLAlchemy table definitions: the store's schema, kept identical to the Alembic migrations
(``tests/store/test_migrations.py`` compares them, on SQLite and on PostgreSQL).

Every ``String(n)`` is sized for the longest value the code can write, and the comment beside it says what
bounds it (a validator, a fixed format, a clip at the write); a value with no natural bound is ``Text``. SQLite
does not enforce ``n``: the guards of :mod:`citybridge.store.guards`, generated from these definitions, make it
refuse what PostgreSQL refuses. Columns marked ``JSON_TEXT`` hold JSON written by ``json``/``orjson``, which
escape control characters, so the guards skip their NUL check.
"""

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
JSON_TEXT = {"json": True}

records = Table(
    "records",
    metadata,
    Column("id", String(128), primary_key=True),  # Record.id validator (1-128), derive_id/new_id ~22
    Column("kind", String(32), nullable=False),  # Kind enum
    Column("subtype", String(64)),  # the kinds' type enums
    Column("name", Text, nullable=False),
    Column("country", String(2)),  # ISO 3166-1 alpha-2 validator
    Column("year", Integer),  # Document.year 1000-2200, or a date's year
    Column("visibility", String(16), nullable=False, server_default="public"),  # Visibility enum
    Column("owner", String(128)),  # Record.owner max_length
    Column("data", Text, nullable=False, info=JSON_TEXT),
    Column("hash", String(40), nullable=False),  # SHA-1 hex
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(256)),  # clipped by the store (repository.who)
    Index("ix_records_kind_subtype", "kind", "subtype"),
    Index("ix_records_country", "country"),
    Index("ix_records_updated_at", "updated_at"),
)

external_ids = Table(
    "external_ids",
    metadata,
    Column("scheme", String(32), primary_key=True),  # Record.external_ids validator
    Column("value", String(512), primary_key=True),  # Record.external_ids validator
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Index("ix_external_ids_record", "record_id"),
)

relations = Table(
    "relations",
    metadata,
    Column("id", String(64), primary_key=True),  # Relation.id validator; Relation.key() is 24
    Column("type", String(32), nullable=False),  # RelationType enum
    Column("source_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("target_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(64)),  # Relation.role max_length; enrichment's "enrich:<step>" (step names <= 57)
    Column("visibility", String(16), nullable=False, server_default="public"),
    Column("owner", String(128)),  # Relation.owner max_length
    Column("data", Text, nullable=False, info=JSON_TEXT),
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
    Column("entity_id", String(128), nullable=False),  # a record or relation id
    Column("version", Integer, nullable=False),
    Column("change", String(16), nullable=False),  # 'update' | 'delete'
    Column("data", Text, nullable=False, info=JSON_TEXT),  # the version that was replaced or deleted
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(256)),  # clipped by the store (repository.who)
    Index("ix_history_entity", "entity", "entity_id"),
    Index("ix_history_changed_at", "changed_at"),  # what changed since a time (search delta; 0008)
)

imports = Table(
    "imports",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),  # a file name, path or URL: no natural bound (0004_sized_keys)
    Column("sha256", String(64)),  # SHA-256 hex
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="running"),  # running | done | failed
)


# ---------------------------------------------------------------- enrichment (migration 0003_enrich)
annotations = Table(
    "annotations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    Column("step", String(64), nullable=False),  # step names are checked by the Enricher
    Column("label", String(512), nullable=False),  # sdg:11, pathway:resilient, place:<id>, kw:<phrase>; clipped
    Column("target_id", String(128)),  # theme or place record the label points to, when there is one
    Column("score", Float, nullable=False),
    Column("evidence", Text, info=JSON_TEXT),  # JSON list of {field, start, end, text, kind}
    Index("ix_annotations_record_step", "record_id", "step"),
    Index("ix_annotations_label", "label"),
    Index("ix_annotations_target", "target_id"),
)

enrich_state = Table(
    "enrich_state",
    metadata,
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("step", String(64), primary_key=True),
    # the key of the step's version (store.enrichment.version_key: 32 hex digits); the text is in step_versions
    Column("step_version", String(32), nullable=False),
    Column("record_hash", String(40), nullable=False),  # records.hash
    Column("done_at", DateTime(timezone=True), nullable=False),
    Index("ix_enrich_state_done_at", "done_at"),  # what changed since a time (search delta; 0008)
)

# a step's version text (it names the code, model, data and weights, and may be long) by its short key
step_versions = Table(
    "step_versions",
    metadata,
    Column("key", String(32), primary_key=True),  # version_key(version)
    Column("step", String(64), nullable=False),
    Column("version", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("record_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(128), primary_key=True),  # an embedder's model_id, checked by the Enricher
    Column("passage", Integer, primary_key=True),  # -1: the whole record; 0..n: passages in text order
    Column("field", String(32)),  # a text field name (name, description, body)
    Column("start", Integer),
    Column("end", Integer),
    Column("vector", LargeBinary, nullable=False),  # float32, L2-normalised
)

profiles = Table(
    "profiles",
    metadata,
    Column("entity_id", String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(64), nullable=False),  # PROFILE_VERSION
    Column("n_records", Integer, nullable=False),
    Column("data", Text, nullable=False, info=JSON_TEXT),  # JSON: sdg/pathway scores, keywords, places, contributors
    Column("model", String(128)),  # embeddings.model
    Column("vector", LargeBinary),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),  # FeedRegistry.add refuses longer URLs
    Column("title", Text),
    Column("themes", Text, nullable=False, server_default="[]", info=JSON_TEXT),  # JSON list of theme codes
    # the rest is given by users or servers, with no natural bound (0004_sized_keys made them Text)
    Column("organization", Text),  # record id or scheme:value of the publishing organisation
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_polled", DateTime(timezone=True)),
    Column("last_status", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ingested_files = Table(
    "ingested_files",
    metadata,
    Column("path", String(2048), primary_key=True),  # the Watcher fails longer paths without remembering them
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
           "step_versions", "embeddings", "profiles", "feeds", "ingested_files", "merges", "redirects",
           "notify_members", "subscriptions", "digests", "digest_items", "JSON_TEXT"]


# ---------------------------------------------------------------- accounts and audit (migration 0007_accounts)
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),  # the Caller's user id: checked by the accounts store (1-64)
    Column("email", String(320), nullable=False, unique=True),  # RFC 5321 bound, checked, stored lower-case
    Column("display_name", Text, nullable=False),
    Column("record_id", String(128)),  # the person / organisation / city record the account stands for
    Column("role", String(16), nullable=False),  # admin | curator | staff | member | partner
    Column("password_hash", Text),  # argon2id PHC string; NULL until an invitation is accepted
    Column("status", String(16), nullable=False, server_default="active"),  # active | disabled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

account_groups = Table(
    "account_groups",
    metadata,
    Column("id", String(128), primary_key=True),  # a group id, usable as a record owner (Record.owner bound)
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(128), ForeignKey("account_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_members_account", "account_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # tok_ + 16 hex
    Column("account_id", String(64), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),  # checked by the accounts store
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the secret
    Column("scopes", String(64), nullable=False),  # comma list of read, write, curate
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_tokens_account", "account_id"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 hex of the cookie value
    Column("account_id", String(64), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_web_sessions_account", "account_id"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 hex of the link's secret
    Column("email", String(320), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("groups", Text, nullable=False, server_default="[]"),
    Column("record_id", String(128)),
    Column("invited_by", String(256)),  # clipped like changed_by
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),  # "email:<address>" or "ip:<address>"
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_key_at", "key", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(256), nullable=False),  # clipped like changed_by
    Column("interface", String(16), nullable=False),  # api | web | cli | system
    Column("action", String(32), nullable=False),  # a fixed vocabulary (citybridge.store.accounts.ACTIONS)
    Column("entity_ids", Text, nullable=False, server_default="[]"),
    Column("fields", Text, nullable=False, server_default="[]"),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index("ix_audit_log_actor", "actor"),
    Index("ix_audit_log_at", "at"),
)
