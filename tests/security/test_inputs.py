"""Hostile input in every parameter: SQL-injection and path-traversal strings in every path and query
parameter of every API operation and page and in upload names, and oversized bodies. Nothing answers 5xx,
nothing reads or writes outside the data folder, and the store is unchanged by the attempts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from citybridge.api import create_app
from security.conftest import Network, sign_in
from security.rules import RULES
from webforms import csrf_of

HOSTILE = ["' OR '1'='1", "1; DROP TABLE records;--", "\" OR \"\"=\"", "../../../../etc/passwd",
           "..%2F..%2F..%2Fetc%2Fpasswd", "..\\..\\windows\\win.ini", "%00", "{{7*7}}", "${7*7}",
           "<script>alert(1)</script>", "%27%20OR%201%3D1--", "a" * 1500]
UPLOAD_NAMES = ["../../evil.csv", "..\\..\\evil.csv", "/etc/passwd.csv", "a/../../b.csv", "....//x.csv",
                "evil.csv\x00.txt", "%2e%2e%2fx.csv"]


def _counts(net: Network) -> tuple[int, int, int]:
    with net.hub.store.engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()  # type: ignore[return-value]
                     for t in ("records", "relations", "accounts"))


def _params(client: TestClient) -> list[tuple[str, str, list[str], list[str]]]:
    spec = client.get("/api/v1/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            out.append((method.upper(), path, [p["name"] for p in params if p["in"] == "path"],
                        [p["name"] for p in params if p["in"] == "query"]))
    return out


def _check(resp: Any, where: str, bad: list[str]) -> None:
    if resp.status_code >= 500:
        bad.append(f"{where}: {resp.status_code}")
    elif "root:x:0:0" in resp.text or "[fonts]" in resp.text:
        bad.append(f"{where}: a system file was read")


def test_injection_and_traversal_strings_in_every_parameter(writable: Network) -> None:
    before = _counts(writable)
    bad: list[str] = []
    with TestClient(create_app(writable.hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as c:
        headers = writable.headers("admin")
        for method, path, path_params, query in _params(c):
            for value in HOSTILE:
                url = path
                for name in path_params:
                    url = url.replace("{" + name + "}", value.replace("/", "%2F"))
                kwargs: dict[str, Any] = {"headers": headers, "params": {q: value for q in query}}
                if method in ("POST", "PUT"):
                    kwargs["json"] = {"text": value, "texts": [value], "name": value, "kind": "organization",
                                      "affiliations": [value], "type": "keyword", "value": value}
                if method == "DELETE" and not path_params:
                    continue
                _check(c.request(method, url, **kwargs), f"{method} {url[:80]} {value[:20]!r}", bad)
        # pages: every GET page, each query parameter and path parameter
        sign_in(c, "admin@example.org")
        for (method, path), rule in RULES.items():
            if method != "GET" or path.startswith("/api/") or rule.kind in ("static",):
                continue
            names = re.findall(r"{(\w+)}", path)
            for value in HOSTILE:
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", value.replace("/", "%2F"))
                params = {k: value for k in ("q", "text", "kind", "country", "after", "user", "since", "action",
                                             "layer", "sdg", "focus", "member", "lang", "page", "status")}
                _check(c.get(url, params=params), f"GET {url[:80]} {value[:20]!r}", bad)
    assert not bad, "\n".join(bad[:30])
    assert _counts(writable) == before


def test_upload_names_cannot_leave_the_uploads_folder(writable: Network, tmp_path: Path) -> None:
    hub = writable.hub
    data = hub.settings.data_dir.resolve()
    with TestClient(create_app(hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as c:
        sign_in(c, "curator@example.org")
        for name in UPLOAD_NAMES:
            body = b"name,kind\nUpload Probe,organization\n"
            api = c.post("/api/v1/import", files={"file": (name, body)}, headers=writable.headers("curator"))
            assert api.status_code < 500, (name, api.status_code)
            web = c.post("/import/preview", files={"file": (name, body)}, data={"csrf": csrf_of(c, "/import")})
            assert web.status_code < 500, (name, web.status_code)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(data)]
    assert not [p for p in written if "evil" in p.name or p.name in ("x.csv", "b.csv")]
    uploads = data / "uploads"
    for p in uploads.rglob("*") if uploads.exists() else []:
        assert p.resolve().is_relative_to(uploads.resolve()) and ".." not in p.name and "/" not in p.name
    assert not Path("/etc/passwd.csv").exists() and not (data.parent / "evil.csv").exists()


def test_oversized_bodies_are_refused_cleanly(tmp_path: Path) -> None:
    from citybridge.hub import Hub
    from security.conftest import build, make_settings

    hub = Hub(make_settings(tmp_path, max_upload_bytes=64 * 1024))
    net = build(hub)
    with TestClient(create_app(hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as c:
        big = b"name,kind\n" + b"x" * (200 * 1024) + b",organization\n"
        assert c.post("/api/v1/import", files={"file": ("big.csv", big)},
                      headers=net.headers("curator")).status_code == 413
        sign_in(c, "curator@example.org")
        assert c.post("/import/preview", files={"file": ("big.csv", big)},
                      data={"csrf": csrf_of(c, "/import")}).status_code == 413
        huge = {"kind": "organization", "name": "x" * 3_000_000}
        r = c.post("/api/v1/entities", json=huge, headers=net.headers("staff"))
        assert r.status_code in (413, 422), r.status_code
        r = c.post("/signin", data={"email": "staff@example.org", "password": "p" * 2_000_000,
                                    "csrf": csrf_of(c)})
        assert r.status_code in (400, 401, 413, 422)  # 400: the form part is over the parser's limit
        many = {f"f{i}": "x" for i in range(5000)}
        r = c.post("/account/tokens", data={**many, "csrf": csrf_of(c, "/account")})
        assert r.status_code in (400, 413, 422), r.status_code
    hub.close()


@pytest.mark.slow
def test_schemathesis_over_the_authenticated_api(writable: Network) -> None:
    """schemathesis-generated requests (valid and invalid) with personal tokens of a writer and of a reader:
    no 5xx anywhere."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(writable.hub, web=False))
    failures: list[str] = []

    def check(operation: Any, headers: dict[str, str], role: str) -> Any:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{role} {case.method} {case.path} -> {response.status_code}")
            case.validate_response(response, checks=[not_a_server_error])

        return run

    for role in ("staff", "partner_lab"):
        headers = writable.headers(role)
        for operation in [op.ok() for op in schema.get_all_operations()]:
            try:
                check(operation, headers, role)()
            except Exception as exc:
                failures.append(f"{role} {operation.method.upper()} {operation.path}: {str(exc)[:200]}")
    assert not failures, "\n".join(failures)
