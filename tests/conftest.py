"""Shared fixtures: a Hub on a temp-dir SQLite store, and on PostgreSQL when a URL is given."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.settings import Settings


def _shared_data() -> Path:
    """``$CITYBRIDGE_SHARED_DATA``, else the first ``shared/data`` beside the repository or a folder above
    it (a git worktree sits one level deeper than the main checkout)."""
    if os.environ.get("CITYBRIDGE_SHARED_DATA"):
        return Path(os.environ["CITYBRIDGE_SHARED_DATA"])
    root = Path(__file__).resolve().parents[1]
    for folder in root.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return root.parent / "shared" / "data"


SHARED_DATA = _shared_data()
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


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named database on the test server (skips without one); dropped afterwards."""
    from citybridge.store.engine import temporary_database

    with temporary_database(_postgres_url(), prefix="cbtest_") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """A Hub on SQLite, and again on PostgreSQL (in a fresh database) when a server is configured."""
    if request.param == "sqlite":
        h = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
        h.init()
        yield h
        h.close()
        return
    with postgres_database() as url:
        h = Hub(Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None))
        h.init()
        try:
            yield h
        finally:
            h.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Debian Chromium for the whole session, driven by Playwright (never ``playwright install``). Defined
    here, once: a second session-scoped copy would start a second Playwright whose loop is still running."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright package (pip install playwright; no browser download)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
