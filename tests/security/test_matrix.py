"""The authorisation matrix: every route of the app (from its route table) x every role x public / network /
private records, each answer checked against the route's rule in :mod:`security.rules`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Mount
from starlette.testclient import TestClient

from citybridge.api import create_app
from security.conftest import ROLES, SEES, Network, sign_in
from security.rules import RULES, Rule
from webforms import csrf_of

WRITERS = {"staff", "curator", "admin"}
CURATORS = {"curator", "admin"}
ADMINS = {"admin"}
RECORD_PARAMS = ("{entity_id}", "{city_id}")


def routes_of(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, nested routers included; mounts as ("MOUNT", path)."""
    def leaves(routes: Any) -> Iterator[Any]:
        for r in routes:
            nested = getattr(r, "effective_route_contexts", None)
            yield from (nested() if nested is not None else (r,))

    out: set[tuple[str, str]] = set()
    for r in leaves(app.router.routes):
        if isinstance(r, Mount):
            out.add(("MOUNT", r.path))
            continue
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD":
                out.add((m, r.path))
    return out


def test_every_route_has_a_rule(network: Network) -> None:
    served = routes_of(create_app(network.hub))
    missing = sorted(served - set(RULES))
    assert not missing, f"routes without an authorisation rule in tests/security/rules.py: {missing}"
    stale = sorted(set(RULES) - served)
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def clients(network: Network) -> Iterator[dict[str, TestClient]]:
    """One client per role: signed in (session cookie) for the pages; the API gets the role's bearer token."""
    app = create_app(network.hub)
    made: dict[str, TestClient] = {}
    for role in ROLES:
        c = TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.7", 5000))
        c.__enter__()
        if role != "anonymous":
            assert sign_in(c, f"{role}@example.org").status_code == 303
        made[role] = c
    yield made
    for c in made.values():
        c.__exit__(None, None, None)


def _expect(kind: str, rule: Rule, role: str, target: str | None, *, api: bool, record_route: bool) -> set[int]:
    sees = target is None or target in SEES[role] or target not in set().union(*SEES.values())
    ok = set(rule.ok)
    anon = role == "anonymous"
    if kind == "open":
        return ok
    if kind == "record":
        return ok if sees else {404}
    if kind == "write":
        if anon:
            return {401}
        if role not in WRITERS:
            return {403}
        return ok if (sees or not record_route) else {404}
    if kind == "curator":
        if anon:
            return {401} if api else {401, 403}
        return ok if role in CURATORS else {403}
    if kind == "personal":
        return {401} if anon else {200, 201, 403, 404, 422}
    if kind == "signed_in":
        return {401} if anon else ok
    if kind == "admin":
        return {401} if anon else (ok if role in ADMINS else {403})
    if kind == "edit":
        if anon:
            return {401}
        if role not in WRITERS:
            return {403}
        return ok if sees else {404}
    raise AssertionError(f"unknown rule kind {kind}")


CHECKED = sorted(k for k, r in RULES.items() if r.kind not in ("static", "capability"))


@pytest.mark.parametrize("route", CHECKED, ids=[f"{m} {p}" for m, p in CHECKED])
def test_route_x_role_x_visibility(route: tuple[str, str], network: Network, clients: dict[str, TestClient]) -> None:
    method, path = route
    rule = RULES[route]
    api = path.startswith("/api/")
    record_route = any(p in path for p in RECORD_PARAMS)
    targets = list(rule.targets.values()) if record_route else [None]
    failures = []
    for role in ROLES:
        client = clients[role]
        for target in targets:
            url = path
            for p in RECORD_PARAMS:
                url = url.replace(p, target or "")
            for name, value in rule.params.items():
                url = url.replace("{" + name + "}", value)
            url += f"?{rule.query}" if rule.query else ""
            headers = network.headers(role) if api else {}
            if rule.kind == "form":
                refused = client.request(method, url, data=rule.data, follow_redirects=False)
                if refused.status_code not in (401, 403):
                    failures.append(f"{role} {url} without CSRF token: {refused.status_code}")
                data = {**rule.data, "csrf": csrf_of(client, "/signin")}
                resp = client.request(method, url, data=data, follow_redirects=False)
                want = _expect(rule.then or "open", rule, role, target, api=False, record_route=record_route)
            else:
                kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
                if rule.json is not None:
                    kwargs["json"] = rule.json
                resp = client.request(method, url, **kwargs)
                want = _expect(rule.kind, rule, role, target, api=api, record_route=record_route)
            if resp.status_code not in want:
                failures.append(f"{role} {method} {url}: {resp.status_code} (want {sorted(want)}) {resp.text[:120]}")
            if route == ("POST", "/signout") and role != "anonymous":
                assert sign_in(client, f"{role}@example.org").status_code == 303  # back in for the next routes
    assert not failures, "\n".join(failures)
