"""Shared fixtures: a Hub on a temp-dir SQLite store, and on PostgreSQL when a URL is given."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED_DATA.exists():  # a git worktree one level deeper (../../shared)
    SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
POSTGRES_URL = os.environ.get("CITYBRIDGE_TEST_POSTGRES_URL")


def shared(*parts: str) -> Path:
    """A file under ../shared/data; the test is skipped with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    h.init()
    yield h
    h.close()


def _postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL store tests need CITYBRIDGE_TEST_POSTGRES_URL (CI starts a local server)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg not installed (pip install citybridge[postgres])")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """A Hub on SQLite, and again on PostgreSQL (in a fresh schema) when a server is configured."""
    if request.param == "sqlite":
        h = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
        h.init()
        yield h
        h.close()
        return
    from sqlalchemy import create_engine, text

    base = _postgres_url()
    db = "cbtest_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = base.rsplit("/", 1)[0] + "/" + db
    h = Hub(Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None))
    h.init()
    try:
        yield h
    finally:
        h.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
