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
CITYBRIDGE_WORKERS           processes for enrichment                                       number of cores
==========================  ============================================================  ===================
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from citybridge.errors import Invalid


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
    workers: int | None = Field(default=None, ge=1, le=64, description="processes for enrichment (default: cores)")

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        weak = not self.write_token or len(self.write_token) < 16 or self.write_token in {"changethis", "secret"}
        if self.environment == "production" and weak:
            raise Invalid(
                "production needs CITYBRIDGE_WRITE_TOKEN set to a secret of 16+ characters", field="write_token"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citybridge.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
