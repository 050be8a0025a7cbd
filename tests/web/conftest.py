"""Web fixtures: a seeded hub, an in-process client, and a live server on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.conftest import make_hub
from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.settings import Settings

logging.getLogger("citybridge.api").setLevel(logging.ERROR)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = make_hub(tmp_path_factory.mktemp("web"))  # development, no tokens: local curator may import
    yield hub
    hub.close()


@pytest.fixture(scope="session")
def web(web_hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(web_hub), raise_server_exceptions=False, client=("127.0.0.1", 5000)) as c:
        yield c


@contextmanager
def serve(app: object, port: int | None = None) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on 127.0.0.1 (a free port unless given); yields its base URL."""
    import uvicorn

    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(web_hub: Hub) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free 127.0.0.1 port; yields its base URL."""
    with serve(create_app(web_hub)) as url:
        yield url


@contextmanager
def open_page(browser: object, base_url: str) -> Iterator[object]:
    """A page on ``base_url`` that fails the test on browser errors and on any request leaving the app."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url)  # type: ignore[attr-defined]
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    # the app must work offline: any request leaving 127.0.0.1 fails the test
    outside: list[str] = []
    pg.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(base_url)
                                    else (outside.append(route.request.url), route.abort())))
    pg.js_errors = errors  # type: ignore[attr-defined]
    pg.outside = outside  # type: ignore[attr-defined]
    yield pg
    ctx.close()
    assert not outside, f"requests left the app: {outside[:3]}"
    assert not errors, f"browser errors: {errors[:3]}"


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    with open_page(browser, live_server) as pg:
        yield pg


AXE = Path(__file__).parent / "assets" / "axe.min.js"


def axe_violations(page: object) -> list[dict[str, object]]:
    """Serious and critical axe-core violations (WCAG 2.1 A/AA and best practice) on the page as it is."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")  # type: ignore[attr-defined]
    return [v for v in result if v["impact"] in ("serious", "critical")]


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.fixture(scope="session")
def pack_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The demo-pack slice (web/pack.py) imported and enriched once per session; read-only for the tests using it."""
    from web.pack import DAY, pack_slice

    tmp = Path(tmp_path_factory.mktemp("pack"))
    (tmp / "slice.jsonl").write_bytes(pack_slice())
    hub = Hub(Settings(data_dir=tmp / "data", _env_file=None))
    hub.init()
    report = hub.import_files([tmp / "slice.jsonl"])
    assert report.rejected == 0, report.rejections[:3]
    hub.enrich(workers=1)
    hub.clock = lambda: DAY  # type: ignore[method-assign]
    yield hub
    hub.close()


@pytest.fixture(scope="session")
def pack_server(pack_hub: Hub) -> Iterator[str]:
    with serve(create_app(pack_hub)) as url:
        yield url


@pytest.fixture
def pack_page(browser: object, pack_server: str) -> Iterator[object]:
    with open_page(browser, pack_server) as page:
        yield page
