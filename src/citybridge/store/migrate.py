"""Run the store's Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from citybridge.store.guards import drop_guards, install_guards
from citybridge.store.tables import metadata


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("citybridge.store").joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest); on SQLite, (re)install the guards that make it
    refuse what PostgreSQL refuses (see :mod:`citybridge.store.guards`)."""
    if current_revision(engine) == head_revision(engine) and revision == "head":
        install_guards(engine, metadata)
        return
    drop_guards(engine)  # migrations see the tables exactly as they define them
    command.upgrade(alembic_config(engine), revision)
    if revision == "head":
        install_guards(engine, metadata)


def downgrade(engine: Engine, revision: str) -> None:
    drop_guards(engine)  # generated from the newest table definitions: they do not fit an older schema
    command.downgrade(alembic_config(engine), revision)
