"""Security fixtures: the seeded test graph (public, network and private records) with one account per role,
each with a personal API token, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.seed import seed
from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.settings import Settings
from conftest import postgres_database

logging.getLogger("citybridge.api").setLevel(logging.ERROR)

PASSWORD = "correct horse battery"
#: role name -> (account role, groups): "partner_lab" is a partner in the group that owns the restricted records
PEOPLE = {
    "partner": ("partner", ()),
    "partner_lab": ("partner", ("lisbon-lab",)),
    "member": ("member", ()),
    "staff": ("staff", ()),
    "curator": ("curator", ()),
    "admin": ("admin", ()),
}
#: ids of the seed's records by visibility
PUBLIC, NETWORK, PRIVATE = "org_lisbon", "org_network", "org_private"
#: which of them each caller may see
SEES = {
    "anonymous": {PUBLIC},
    "partner": {PUBLIC},
    "partner_lab": {PUBLIC, NETWORK, PRIVATE},
    "member": {PUBLIC, NETWORK},
    "staff": {PUBLIC, NETWORK},
    "curator": {PUBLIC, NETWORK, PRIVATE},
    "admin": {PUBLIC, NETWORK, PRIVATE},
}
ROLES = tuple(SEES)


@dataclass
class Network:
    hub: Hub
    tokens: dict[str, str] = field(default_factory=dict)  # role -> personal API token (read,write,curate)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}


def build(hub: Hub) -> Network:
    hub.init()
    seed(hub)
    net = Network(hub)
    for name, (role, groups) in PEOPLE.items():
        acc = hub.create_account(f"{name}@example.org", name.title(), role, account_id=name, groups=groups,
                                 password=PASSWORD, changed_by="cli:setup")
        net.tokens[name], _ = hub.create_token(acc.id, "all", ["read", "write", "curate"], changed_by="cli:setup")
    return net


def make_settings(tmp: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp / "data", _env_file=None, write_token="tok-ops-0123456789abcdef",  # type: ignore[arg-type]
                    **kw)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The seeded graph with accounts (read-only use: tests that write build their own)."""
    tmp = tmp_path_factory.mktemp("sec")
    if request.param == "sqlite":
        hub = Hub(make_settings(tmp))
        yield build(hub)
        hub.close()
        return
    with postgres_database() as url:
        hub = Hub(make_settings(tmp, database_url=url))
        try:
            yield build(hub)
        finally:
            hub.close()


@pytest.fixture(scope="module")
def app_client(network: Network) -> Iterator[TestClient]:
    with TestClient(create_app(network.hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 5000)) as c:
        yield c


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[Network]:
    hub = Hub(make_settings(tmp_path))
    yield build(hub)
    hub.close()


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> object:
    from webforms import csrf_of

    return client.post("/signin", data={"email": email, "password": password, "csrf": csrf_of(client)},
                       follow_redirects=False)
