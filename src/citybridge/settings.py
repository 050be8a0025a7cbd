"""One typed settings object, read from the environment (prefix ``CITYBRIDGE_``) or a ``.env`` file.

==========================  ============================================================  ===================
setting                      meaning                                                       default
==========================  ============================================================  ===================
CITYBRIDGE_DATA_DIR          folder for the embedded database, indexes and models           ./citybridge-data
CITYBRIDGE_DATABASE_URL      SQLAlchemy URL; PostgreSQL e.g. postgresql+psycopg://u:p@h/db  SQLite in data dir
CITYBRIDGE_ENVIRONMENT       development | production                                       development
CITYBRIDGE_WRITE_TOKEN       token a caller must send to change data over the API           none (dev only)
CITYBRIDGE_IMPORT_BATCH      rows per import transaction                                     2000
CITYBRIDGE_MAX_FIELD_CHARS   longest accepted text field                                     2000000
CITYBRIDGE_DEMO_DIR          folder of the demo knowledge pack                              <repo>/data/demo
CITYBRIDGE_ENRICH_STEPS      JSON list of enrichment steps run by default                   all built-ins
CITYBRIDGE_CROSSLINGUAL_EMBEDDER  e5: cross-lingual channel of search and link (README)    none (off)
CITYBRIDGE_WORKERS           processes for enrichment                                       number of cores
CITYBRIDGE_TOKENS            JSON: API token -> caller, e.g. (see "API callers" below)       {}
CITYBRIDGE_MAX_UPLOAD_BYTES  largest file accepted by the import upload (API and web)         52428800 (50 MiB)
CITYBRIDGE_REQUEST_TIMEOUT   seconds a served request may take before it is cut off           120
CITYBRIDGE_PUBLIC_URL        base URL of the web app, for links in e-mails and feeds        http://127.0.0.1:8000
CITYBRIDGE_LINKED_DATA_BASE  base IRI of records and the citybridge vocabulary in exports    CITYBRIDGE_PUBLIC_URL
CITYBRIDGE_NOTIFY_SECRET     key signing unsubscribe and feed links (16+ chars in prod.)     none (dev only)
CITYBRIDGE_SMTP_HOST         SMTP server digests are sent through                           127.0.0.1
CITYBRIDGE_SMTP_PORT         its port                                                        25
CITYBRIDGE_SMTP_SECURITY     none | starttls | ssl                                           none
CITYBRIDGE_SMTP_USER         SMTP user (with CITYBRIDGE_SMTP_PASSWORD from the environment)  none
CITYBRIDGE_MAIL_FROM         From address of digests                                         citybridge@localhost
CITYBRIDGE_MAIL_RATE         digests sent per second at most (0: no throttle)                5
CITYBRIDGE_DIGEST_ITEMS      items per digest section at most                                8
CITYBRIDGE_DIGEST_DEADLINE_DAYS  calls closing within this many days are always surfaced    42
CITYBRIDGE_DIGEST_HOUR       hour (UTC) of ``citybridge serve --digests daily``              6
==========================  ============================================================  ===================

API callers: the REST API and the web pages see an anonymous caller unless a bearer token (header
``Authorization: Bearer TOKEN``; the web pages also accept the token as a sign-in cookie) maps to one.
``CITYBRIDGE_WRITE_TOKEN`` maps to a curator who may write. ``CITYBRIDGE_TOKENS`` adds more callers::

    CITYBRIDGE_TOKENS='{"tok-alice-0123456789": {"user": "alice", "groups": ["lisbon-lab"], "member": true},
                        "tok-bob-0123456789ab": {"user": "bob", "curator": true, "write": true}}'

``member`` callers see ``network`` records, owners (user or group) see their ``private`` ones, curators
see everything; ``write`` lets a caller create, change and delete records and relations (imports need a
curator with ``write``). In development with no token configured at all, writes are accepted from
127.0.0.1 only, as a local curator, and every such response says so in the ``X-Citybridge-Dev-Write`` header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from citybridge.errors import Invalid


class TokenGrant(BaseModel):
    """What a bearer token stands for: a caller (see :class:`citybridge.model.access.Caller`) and write rights."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = None
    groups: list[str] = Field(default_factory=list)
    member: bool = False
    curator: bool = False
    admin: bool = False
    write: bool = False


class Settings(BaseSettings):
    """Everything configurable about a citybridge instance."""

    model_config = SettingsConfigDict(env_prefix="CITYBRIDGE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("citybridge-data"), description="where the store and indexes live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir if unset")
    environment: Literal["development", "production"] = "development"
    write_token: str | None = Field(default=None, description="bearer token required for API writes")
    import_batch: int = Field(default=2000, ge=1, le=100_000)
    max_field_chars: int = Field(default=2_000_000, ge=1000)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    demo_dir: Path | None = Field(default=None, description="folder of the demo pack (default: data/demo)")
    enrich_steps: list[str] = Field(default=["language", "tags", "places", "keywords", "embed:wordllama"],
                                    description="enrichment steps run by default, in order")
    search_embedder: str | None = Field(default="wordllama", description="embedder of the semantic index; "
                                        "none for lexical only")
    crosslingual_embedder: str | None = Field(
        default=None, description="multilingual embedder of short fields (e5) for cross-lingual search and link; "
        "none: off")
    workers: int | None = Field(default=None, ge=1, le=64, description="processes for enrichment (default: cores)")
    tokens: dict[str, TokenGrant] = Field(default_factory=dict, description="API token -> caller (JSON)")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="largest accepted upload")
    request_timeout: float = Field(default=120.0, gt=0, le=3600, description="seconds per served request")
    link_refresh: Literal["sync", "background"] = Field(
        default="sync", description="after a write, rebuild the link indexes (profiles, cities, partners) before "
        "the next link answer (sync), or keep answering from the previous ones while a background thread rebuilds "
        "them (background: what `citybridge serve` uses, so writes never put a rebuild on a reader's path)")
    link_refresh_seconds: float = Field(default=30.0, ge=0, le=3600, description="background mode: rebuild the "
                                        "link indexes at most this often; link answers are at most this much plus "
                                        "a rebuild behind the store (search results are never behind)")
    search_refresh: Literal["sync", "background"] = Field(
        default="sync", description="other processes' writes: the search request that notices them brings the "
        "index up to date (sync), or one background thread does while readers keep the loaded index (background: "
        "what `citybridge serve` uses; writes through the same process are always seen at once)")
    search_refresh_seconds: float = Field(default=0.5, ge=0, le=60, description="background mode: refresh the "
                                          "search index at most this often (results at most this plus one "
                                          "incremental refresh behind other processes' writes)")
    view_stale_seconds: float = Field(default=0.0, ge=0, le=3600, description="derived views (home counts, map "
                                      "layers, peer cities) after a write: recompute before answering (0), or "
                                      "keep answering the previous view while one thread recomputes it, at most "
                                      "this often (what `citybridge serve` uses: 30)")
    # dissemination (citybridge.notify)
    public_url: str = Field(default="http://127.0.0.1:8000", description="base URL of the web app for links")
    linked_data_base: str | None = Field(default=None, description="base IRI of exported records and of the "
                                         "citybridge vocabulary (<base>/vocab#); default: public_url")
    notify_secret: SecretStr | None = Field(default=None, description="key signing unsubscribe and feed links")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    mail_from: str = "citybridge@localhost"
    mail_rate: float = Field(default=5.0, ge=0, description="digests sent per second at most (0: unthrottled)")
    digest_items: int = Field(default=8, ge=1, le=100, description="items per digest section at most")
    digest_deadline_days: int = Field(default=42, ge=0, le=366, description="calls closing this soon always shown")
    digest_workers: int = Field(default=1, ge=1, le=64,
                                description="processes building digest batches while one sends (1: build inline)")
    digest_hour: int = Field(default=6, ge=0, le=23, description="hour (UTC) of the daily digest run")

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        weak = not self.write_token or len(self.write_token) < 16 or self.write_token in {"changethis", "secret"}
        if self.environment == "production" and weak:
            raise Invalid(
                "production needs CITYBRIDGE_WRITE_TOKEN set to a secret of 16+ characters", field="write_token"
            )
        secret = self.notify_secret.get_secret_value() if self.notify_secret else ""
        if self.environment == "production" and (len(secret) < 16 or secret in {"changethis", "secret"}):
            raise Invalid("production needs CITYBRIDGE_NOTIFY_SECRET set to a secret of 16+ characters",
                          field="notify_secret")
        if self.environment == "production" and any(len(tok) < 16 for tok in self.tokens):
            raise Invalid("production needs every CITYBRIDGE_TOKENS token to be 16+ characters", field="tokens")
        return self

    @property
    def signing_key(self) -> bytes:
        """The key of signed unsubscribe and feed links: the configured secret, or in development (only) one
        derived from the data folder, so links keep working across restarts of one local instance."""
        if self.notify_secret is not None and self.notify_secret.get_secret_value():
            return self.notify_secret.get_secret_value().encode("utf-8")
        if self.environment != "development":  # pragma: no cover - refused by the validator already
            raise Invalid("CITYBRIDGE_NOTIFY_SECRET is not set", field="notify_secret")
        return b"citybridge-development:" + str(self.data_dir.resolve()).encode("utf-8")

    @property
    def iri_base(self) -> str:
        """The base IRI of linked data: records are ``<base>/entity/<id>``, the vocabulary ``<base>/vocab#``."""
        return (self.linked_data_base or self.public_url).rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citybridge.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
