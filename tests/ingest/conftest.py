"""Fixtures for intake tests: a temp-dir SQLite store, the shared real data, small dump writers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citybridge.store import Store

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
if not DATA.exists():  # worktrees live one level deeper than the main checkout
    DATA = Path("/work/shared/data")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'cb.db'}")
    yield s
    s.close()


def first_records(path: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` records of a (gzipped) JSON-array dump, read with the streaming reader."""
    from citybridge.ingest.jsonstream import iter_json_array, open_binary

    out: list[dict[str, Any]] = []
    with open_binary(path) as fh:
        for el in iter_json_array(fh):
            out.append(el.value)
            if len(out) >= n:
                break
    return out


def write_json_gz(path: Path, obj: Any) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(obj, fh)
    return path


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 (port 0).

    ``routes[path] = fn(handler) -> (status, headers, body)``;
    every request is logged as (path, query, headers)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.routes: dict[str, Any] = {}
        self.log: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                self.query = parse_qs(parts.query)
                server.log.append((parts.path, self.query, dict(self.headers)))
                fn = server.routes.get(parts.path)
                status, headers, body = fn(self) if fn else (404, {}, b"not found")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()
