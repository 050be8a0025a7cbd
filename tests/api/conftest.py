"""API fixtures: a seeded hub, the app, and in-process clients for each kind of caller."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.seed import CURATOR_TOKEN, TOKENS, seed
from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.settings import Settings

logging.getLogger("citybridge.api").setLevel(logging.ERROR)


def make_hub(tmp: Path, **settings: object) -> Hub:
    hub = Hub(Settings(data_dir=tmp / "data", _env_file=None, **settings))  # type: ignore[arg-type]
    hub.init()
    return seed(hub)


@pytest.fixture(scope="module")
def secured_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A seeded hub with tokens configured (read-mostly: tests that write use ``fresh``)."""
    hub = make_hub(tmp_path_factory.mktemp("api"), tokens=TOKENS, write_token=CURATOR_TOKEN,
                   max_upload_bytes=64 * 1024)
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def client(secured_hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(secured_hub, web=False), raise_server_exceptions=False,
                    client=("10.0.0.9", 40000)) as c:
        yield c


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[TestClient]:
    """A client on its own seeded hub with tokens, for tests that change data."""
    hub = make_hub(tmp_path, tokens=TOKENS, write_token=CURATOR_TOKEN, max_upload_bytes=64 * 1024)
    with TestClient(create_app(hub, web=False), raise_server_exceptions=False, client=("10.0.0.9", 40000)) as c:
        yield c
    hub.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
