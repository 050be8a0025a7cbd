"""Concurrent edits without lost updates: versions, ETag / If-Match with 409, the web form's conflict, and
parallel writers on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citybridge.api import create_app
from citybridge.errors import Conflict
from citybridge.hub import Hub
from citybridge.model.entities import Organization
from conftest import postgres_database
from security.conftest import PUBLIC, Network, build, make_settings, sign_in
from webforms import csrf_of


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Network]:
    if request.param == "sqlite":
        hub = Hub(make_settings(tmp_path))
        yield build(hub)
        hub.close()
        return
    with postgres_database() as url:
        hub = Hub(make_settings(tmp_path, database_url=url))
        try:
            yield build(hub)
        finally:
            hub.close()


def test_parallel_writers_on_one_version_exactly_one_wins(net: Network) -> None:
    hub = net.hub
    version = hub.store.version_of(PUBLIC)
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[str] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        record = Organization(id=PUBLIC, name=f"Lisbon City Council (writer {i})", org_type="local_government")
        barrier.wait()
        try:
            hub.save(record, changed_by=f"api:w{i}", expected_version=version)
            outcome = f"ok:{i}"
        except Conflict:
            outcome = "conflict"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wins = [r for r in results if r.startswith("ok:")]
    assert len(wins) == 1 and results.count("conflict") == writers - 1, results
    winner = wins[0].split(":")[1]
    assert hub.store.version_of(PUBLIC) == version + 1
    assert hub.get(PUBLIC).name == f"Lisbon City Council (writer {winner})"
    assert [e.actor for e in hub.audit_log(action="update", limit=20)].count(f"w{winner}") == 1
    # without If-Match the writes still all apply, one after another (last writer wins, nothing is half-written)
    for i in range(3):
        hub.save(Organization(id=PUBLIC, name=f"plain {i}", org_type="local_government"), changed_by="api:x")
    assert hub.store.version_of(PUBLIC) == version + 4


def test_etag_and_if_match_over_the_api(net: Network) -> None:
    with TestClient(create_app(net.hub, web=False), raise_server_exceptions=False, client=("10.0.0.7", 1)) as c:
        h = net.headers("staff")
        got = c.get(f"/api/v1/entities/{PUBLIC}", headers=h)
        etag = got.headers["etag"]
        assert etag == f'"{got.json()["version"]}"'
        body = {"kind": "organization", "name": "First edit"}
        first = c.put(f"/api/v1/entities/{PUBLIC}", json=body, headers={**h, "If-Match": etag})
        assert first.status_code == 200 and first.headers["etag"] != etag
        stale = c.put(f"/api/v1/entities/{PUBLIC}", json={**body, "name": "Second edit"},
                      headers={**h, "If-Match": etag})
        assert stale.status_code == 409 and stale.json()["field"] == "version"
        assert c.get(f"/api/v1/entities/{PUBLIC}").json()["record"]["name"] == "First edit"
        assert c.put(f"/api/v1/entities/{PUBLIC}", json=body, headers={**h, "If-Match": "not-a-version"}
                     ).status_code == 422
        fresh = c.put(f"/api/v1/entities/{PUBLIC}", json={**body, "name": "Second edit"},
                      headers={**h, "If-Match": first.headers["etag"]})
        assert fresh.status_code == 200


def test_web_edit_form_shows_the_conflict(net: Network) -> None:
    hub = net.hub
    with TestClient(create_app(hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as c:
        assert c.get(f"/entity/{PUBLIC}/edit").status_code == 401  # anonymous
        sign_in(c, "staff@example.org")
        page = c.get(f"/entity/{PUBLIC}/edit").text
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        token = csrf_of(c, f"/entity/{PUBLIC}/edit")
        # meanwhile someone else saves
        hub.save(Organization(id=PUBLIC, name="Changed by a colleague", org_type="local_government"),
                 changed_by="api:colleague")
        resp = c.post(f"/entity/{PUBLIC}/edit", data={"csrf": token, "version": version, "name": "My edit",
                                                       "visibility": "public", "owner": ""})
        assert resp.status_code == 409
        assert 'id="edit-conflict"' in resp.text and "Changed by a colleague" in resp.text
        assert 'value="My edit"' in resp.text  # the user's input is kept
        assert hub.get(PUBLIC).name == "Changed by a colleague"
        new_version = re.search(r'name="version" value="(\d+)"', resp.text).group(1)
        ok = c.post(f"/entity/{PUBLIC}/edit", data={"csrf": token, "version": new_version, "name": "My edit",
                                                     "visibility": "public", "owner": ""}, follow_redirects=False)
        assert ok.status_code == 303 and hub.get(PUBLIC).name == "My edit"
        assert hub.audit_log(action="update", limit=1)[0].actor == "staff"
        assert hub.audit_log(action="update", limit=1)[0].interface == "web"
    with TestClient(create_app(hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as m:
        sign_in(m, "member@example.org")  # members read, they do not edit
        assert m.get(f"/entity/{PUBLIC}/edit").status_code == 403
