"""Web fixtures: a seeded hub, an in-process client, and a live server on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.conftest import make_hub
from citybridge.api import create_app
from citybridge.hub import Hub

logging.getLogger("citybridge.api").setLevel(logging.ERROR)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = make_hub(tmp_path_factory.mktemp("web"))  # development, no tokens: local curator may import
    yield hub
    hub.close()


@pytest.fixture(scope="session")
def web(web_hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(web_hub), raise_server_exceptions=False, client=("127.0.0.1", 5000)) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(web_hub: Hub) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free 127.0.0.1 port; yields its base URL."""
    yield from serve(web_hub)


def serve(hub: Hub) -> Iterator[str]:
    """Serve ``hub``'s app with uvicorn in a thread on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
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


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    yield from open_page(browser, live_server)


def open_page(browser: object, live_server: str) -> Iterator[object]:
    """A page on ``live_server`` that fails the test on browser errors and on requests leaving the app."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)  # type: ignore[attr-defined]
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    # the app must work offline: any request leaving 127.0.0.1 fails the test
    outside: list[str] = []
    pg.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(live_server)
                                    else (outside.append(route.request.url), route.abort())))
    pg.js_errors = errors  # type: ignore[attr-defined]
    pg.outside = outside  # type: ignore[attr-defined]
    yield pg
    ctx.close()
    assert not outside, f"requests left the app: {outside[:3]}"
    assert not errors, f"browser errors: {errors[:3]}"


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
